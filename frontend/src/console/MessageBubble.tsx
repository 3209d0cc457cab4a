import { memo } from 'react';
import { Avatar, Button } from 'antd';
import { CheckOutlined, ClockCircleOutlined, ExclamationCircleOutlined, LockOutlined, RobotOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import type { ThreadMessage } from '../realtime/cache';
import { clockTime, dateTime } from '../lib/format';
import { useMeQueryData } from './useMeData';
import { useSend } from './useSend';
import { Attachments } from './Attachments';
import { Linkified } from '../lib/Linkified';
import { systemText } from '../lib/systemNote';
import { useReads } from '../stores/reads';

/** One message in the agent's thread: visitor and bot left, agents and notes right, system centred. */
export const MessageBubble = memo(function MessageBubble({ m, meId, conversationId }: { m: ThreadMessage; meId: string; conversationId: string }) {
  const { t, i18n } = useTranslation();
  const type = m.author?.type ?? 'system';
  const when = clockTime(m.created_at, i18n.language);
  if (type === 'system') {
    return (
      <div className="msg-system" data-testid="message" data-author="system" data-seq={m.seq} data-code={m.system?.code}>
        {systemText(m, t)}
        <span className="msg-system-time">{when}</span>
      </div>
    );
  }
  const right = type === 'agent';
  const note = !!m.private;
  const other = right && m.author.id && m.author.id !== meId;
  const cls = ['msg', right ? 'msg-right' : 'msg-left', `msg-${type}`, note ? 'msg-note' : '', m.pending ? 'msg-pending' : '', m.failed ? 'msg-failed' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div className={cls} data-testid="message" data-author={type} data-seq={m.seq} data-pending={m.pending ? 'true' : undefined} data-private={note ? 'true' : undefined}>
      {type === 'bot' ? <Avatar size={28} className="msg-avatar" icon={<RobotOutlined />} aria-label={t('inbox.bot')} /> : null}
      <div className="msg-col">
        {note || other || type === 'bot' ? (
          <div className="msg-meta">
            {note ? (
              <>
                <LockOutlined /> {t('thread.privateNote')}
                {other ? ` · ${m.author.name ?? ''}` : ''}
              </>
            ) : (
              m.author.name || (type === 'bot' ? t('inbox.bot') : '')
            )}
          </div>
        ) : null}
        {m.attachments?.length ? <Attachments list={m.attachments} conversationId={conversationId} /> : null}
        {m.body || !m.attachments?.length ? (
          // A native title, not antd's Tooltip: one trigger per bubble made switching conversations slow.
          <div className="msg-bubble" data-testid="message-body" title={dateTime(m.created_at, i18n.language)}>
            <Linkified text={m.body} />
          </div>
        ) : null}
        <div className="msg-foot">
          <span>{when}</span>
          {right ? <Status m={m} conversationId={conversationId} /> : null}
        </div>
      </div>
    </div>
  );
});

function Status({ m, conversationId }: { m: ThreadMessage; conversationId: string }) {
  const { t } = useTranslation();
  const me = useMeQueryData();
  const send = useSend(conversationId, me ?? { id: '', name: '', email: '', role: 'agent' });
  if (m.failed) {
    return (
      <span className="msg-status failed" data-testid="message-failed">
        <ExclamationCircleOutlined /> {m.failed}{' '}
        <Button size="small" type="link" onClick={() => send(m.body, !!m.private, m.client_id ?? undefined, m.attachments)}>
          {t('thread.retry')}
        </Button>
      </span>
    );
  }
  if (m.pending) {
    return (
      <span className="msg-status" aria-label={t('thread.sending')} data-testid="message-pending">
        <ClockCircleOutlined />
      </span>
    );
  }
  return <Sent m={m} conversationId={conversationId} />;
}

/** One tick when stored, two ("seen") once the visitor has read it; notes are never seen by the visitor. */
function Sent({ m, conversationId }: { m: ThreadMessage; conversationId: string }) {
  const { t } = useTranslation();
  const seen = useReads((s) => !m.private && (s.visitor[conversationId] ?? 0) >= m.seq);
  if (seen) {
    return (
      <span className="msg-status seen" aria-label={t('console.seen')} title={t('console.seen')} data-testid="message-sent" data-seen="true">
        <CheckOutlined />
        <CheckOutlined className="tick2" />
      </span>
    );
  }
  return (
    <span className="msg-status sent" aria-label={t('thread.sent')} title={t('thread.sent')} data-testid="message-sent">
      <CheckOutlined />
    </span>
  );
}
