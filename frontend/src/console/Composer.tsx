import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { Button, Input, Tooltip } from 'antd';
import { useToast } from '../components/Toast';
import { LockOutlined, SendOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQueryClient } from '@tanstack/react-query';
import { errorMessage, type Conversation, type User } from '../api';
import { useRealtime } from '../stores/realtime';
import { MAX_BODY, useSend } from './useSend';
import { resolveConversation } from './actions';

/** Unsent text per conversation, kept while the agent moves between conversations. */
const drafts = new Map<string, string>();

export function Composer({ conversation, me }: { conversation: Conversation; me: User }) {
  const { t } = useTranslation();
  const message = useToast();
  const qc = useQueryClient();
  const id = conversation.id;
  const [text, setText] = useState(() => drafts.get(id) ?? '');
  const [note, setNote] = useState(false);
  const send = useSend(id, me);
  const typingSentAt = useRef(0);
  const typingOff = useRef<ReturnType<typeof setTimeout> | null>(null);
  const ref = useRef<HTMLTextAreaElement | null>(null);

  useEffect(() => {
    setText(drafts.get(id) ?? '');
    setNote(false);
    ref.current?.focus();
  }, [id]);

  useEffect(
    () => () => {
      if (typingOff.current) clearTimeout(typingOff.current);
    },
    [],
  );

  function change(v: string) {
    setText(v);
    drafts.set(id, v);
    // Typing indicators are for replies only: a note must not hint anything to the visitor.
    if (note) return;
    const client = useRealtime.getState().client;
    if (!client) return;
    const now = Date.now();
    if (now - typingSentAt.current > 3000) {
      typingSentAt.current = now;
      client.typing(id, true);
    }
    if (typingOff.current) clearTimeout(typingOff.current);
    typingOff.current = setTimeout(() => {
      typingSentAt.current = 0;
      client.typing(id, false);
    }, 4000);
  }

  function submit() {
    const body = text.trim();
    if (!body) return;
    if (body.length > MAX_BODY) {
      message.error(t('thread.tooLong'));
      return;
    }
    send(body, note);
    setText('');
    drafts.delete(id);
    if (typingOff.current) clearTimeout(typingOff.current);
    if (typingSentAt.current) {
      typingSentAt.current = 0;
      useRealtime.getState().client?.typing(id, false);
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key !== 'Enter' || e.nativeEvent.isComposing || e.keyCode === 229) return;
    if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      if (conversation.status !== 'resolved')
        resolveConversation(id, qc).then(
          () => message.success(t('thread.resolvedOk')),
          (err: unknown) => message.error(errorMessage(err, t('app.error'))),
        );
      return;
    }
    if (e.shiftKey || e.altKey) return;
    e.preventDefault();
    submit();
  }

  return (
    <div className={`composer ${note ? 'composer-note' : ''}`} data-testid="composer">
      {conversation.status === 'resolved' ? <div className="composer-hint">{t('thread.readOnlyResolved')}</div> : null}
      <Input.TextArea
        ref={(el) => {
          ref.current = el?.resizableTextArea?.textArea ?? null;
        }}
        value={text}
        onChange={(e) => change(e.target.value)}
        onKeyDown={onKeyDown}
        placeholder={note ? t('thread.notePlaceholder') : t('thread.composerPlaceholder')}
        autoSize={{ minRows: 2, maxRows: 8 }}
        variant="borderless"
        aria-label={note ? t('thread.notePlaceholder') : t('thread.composerPlaceholder')}
        data-testid="composer-input"
      />
      <div className="composer-bar">
        <Tooltip title={t('thread.noteTooltip')}>
          <Button
            size="small"
            type={note ? 'primary' : 'text'}
            className={note ? 'note-on' : ''}
            icon={<LockOutlined />}
            aria-pressed={note}
            onClick={() => setNote(!note)}
            data-testid="composer-note"
          >
            {t('thread.note')}
          </Button>
        </Tooltip>
        <span className="composer-spacer" />
        <Button type="primary" icon={<SendOutlined />} onClick={submit} disabled={!text.trim()} data-testid="composer-send">
          {t('thread.send')}
        </Button>
      </div>
    </div>
  );
}
