import { lazy, Suspense, useEffect, useEffectEvent, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { Avatar, Button, Empty, Result, Spin, Tag, Tooltip } from 'antd';
import { useToast } from '../components/Toast';
import { ArrowLeftOutlined, CheckOutlined, IdcardOutlined, QuestionOutlined, RobotOutlined, SwapOutlined, UserAddOutlined, UserDeleteOutlined } from '@ant-design/icons';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type Conversation, type User } from '../api';
import { assignConversation, reopenConversation, resolveConversation, unassignConversation } from './actions';

import { useRealtime } from '../stores/realtime';
import { useUi } from '../stores/ui';
import { useUnread } from '../stores/unread';
import { useStreams } from '../stores/streams';
import { visitorName } from '../lib/format';
import { tabHidden } from '../lib/notify';
import { useAgents, useConversation, useEvents, useMessages } from './useThread';
import { MessageBubble } from './MessageBubble';
import { Composer } from './Composer';
import { RoutingEventLine } from './RoutingEventLine';
import { interleave, isRoutingEvent } from './routing';

// The transfer dialog (antd's modal, form and select) loads when first opened.
const TransferModal = lazy(() => import('./TransferModal'));

export function Thread({ id, me }: { id: string; me: User }) {
  const { t } = useTranslation();
  const conv = useConversation(id);
  const msgs = useMessages(id);
  const events = useEvents(id);
  const client = useRealtime((s) => s.client);
  const ready = useRealtime((s) => s.status === 'open');
  const markRead = useUnread((s) => s.markRead);
  const listRef = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  const c = conv.data;
  const watching = !!c && !(c.status === 'assigned' && c.assignee_id === me.id);

  // Staff opening someone else's (or an unassigned) conversation subscribe to its live messages.
  useEffect(() => {
    if (!client || !ready || !watching) return;
    client.subscribe(id);
    return () => client.unsubscribe(id);
  }, [client, ready, watching, id]);

  // Mark what is on screen as read (locally, and on the server when it moves forward).
  const lastSeq = (msgs.data ?? []).reduce((n, m) => (m.seq > n ? m.seq : n), 0);
  // Per conversation: the pane stays mounted while the agent switches.
  const posted = useRef(new Map<string, number>());
  useEffect(() => {
    if (lastSeq <= 0) return;
    const mark = () => {
      if (tabHidden()) return;
      markRead(id, lastSeq);
      if (lastSeq > (posted.current.get(id) ?? 0)) {
        posted.current.set(id, lastSeq);
        if (client?.ready) client.read(id, lastSeq);
        else void api.conversations.read(id, lastSeq).catch(() => undefined);
      }
    };
    mark();
    document.addEventListener('visibilitychange', mark);
    return () => document.removeEventListener('visibilitychange', mark);
  }, [id, lastSeq, client, markRead]);

  // Messages and routing decisions, in the order they happened.
  const items = useMemo(() => interleave(msgs.data ?? [], (events.data ?? []).filter(isRoutingEvent)), [msgs.data, events.data]);

  // Keep the newest message in view unless the agent scrolled up to read.
  useLayoutEffect(() => {
    const el = listRef.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [items]);
  useEffect(() => {
    stick.current = true;
  }, [id]);

  if (conv.isError && !c) {
    return (
      <section className="thread">
        <Result status="warning" title={t('thread.loadError')} subTitle={errorMessage(conv.error, '')} extra={<Link to="/app">{t('app.back')}</Link>} />
      </section>
    );
  }

  return (
    <section className="thread" aria-label={c ? visitorName(c.visitor, (x) => t('inbox.visitor', { id: x })) : undefined} data-testid="thread">
      {c ? <ThreadHeader key={c.id} c={c} me={me} /> : <div className="thread-head" />}
      <div
        className="thread-messages"
        ref={listRef}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
        }}
        role="log"
        aria-live="polite"
        data-testid="thread-messages"
      >
        {msgs.isPending ? (
          <div className="pane-center">
            <Spin />
          </div>
        ) : msgs.isError && !msgs.data ? (
          <Empty description={errorMessage(msgs.error, t('thread.loadError'))}>
            <Button onClick={() => void msgs.refetch()}>{t('app.retry')}</Button>
          </Empty>
        ) : (
          items.map((it) =>
            it.kind === 'event' ? <RoutingEventLine key={it.key} event={it.event} /> : <MessageBubble key={it.key} m={it.message} meId={me.id} conversationId={id} />,
          )
        )}
        <BotStreams id={id} />
        <TypingLine id={id} />
      </div>
      {c ? <Composer conversation={c} me={me} /> : null}
    </section>
  );
}

/** The bot's answers still arriving (message.delta), shown as they stream until the stored message replaces them. */
function BotStreams({ id }: { id: string }) {
  const { t } = useTranslation();
  const streams = useStreams((s) => s.byConversation[id]);
  if (!streams?.length) return null;
  return (
    <>
      {streams.map((st) => (
        <div key={st.id} className="msg msg-left msg-bot msg-streaming" data-testid="bot-stream" aria-busy="true">
          <Avatar size={28} className="msg-avatar" icon={<RobotOutlined />} aria-label={t('inbox.bot')} />
          <div className="msg-col">
            <div className="msg-meta">{t('thread.botThinking')}</div>
            <div className="msg-bubble">{st.text}</div>
          </div>
        </div>
      ))}
    </>
  );
}

function TypingLine({ id }: { id: string }) {
  const { t } = useTranslation();
  const entry = useUi((s) => s.typing[id]);
  // The entry whose time has passed: hidden until a newer one arrives.
  const [expired, setExpired] = useState<typeof entry | null>(null);
  useEffect(() => {
    if (!entry) return;
    const ms = entry.until - Date.now();
    const timer = setTimeout(() => setExpired(entry), Math.max(0, ms) + 50);
    return () => clearTimeout(timer);
  }, [entry]);
  if (!entry || expired === entry) return null;
  return (
    <div className="typing-line" data-testid="typing">
      <span className="typing-dots" aria-hidden>
        <i />
        <i />
        <i />
      </span>
      {entry.name ? t('thread.typing', { name: entry.name }) : t('thread.visitorTyping')}
    </div>
  );
}

function ThreadHeader({ c, me }: { c: Conversation; me: User }) {
  const { t } = useTranslation();
  const message = useToast();
  const qc = useQueryClient();
  const agents = useAgents(c.status === 'assigned' && c.assignee_id !== me.id);
  const detailsOpen = useUi((s) => s.detailsOpen);
  const setDetailsOpen = useUi((s) => s.setDetailsOpen);
  const [busy, setBusy] = useState<'resolve' | 'assign' | 'unassign' | null>(null);
  const [transfer, setTransfer] = useState(false);
  const name = visitorName(c.visitor, (x) => t('inbox.visitor', { id: x }));
  const staff = me.role !== 'agent';
  const mine = c.status === 'assigned' && c.assignee_id === me.id;

  let state: string;
  if (c.status === 'resolved') state = t('thread.resolved');
  else if (c.status === 'bot') state = t('thread.withBot');
  else if (c.status === 'queued' || !c.assignee_id) state = t('thread.unassigned');
  else if (mine) state = t('thread.assignedToYou');
  else state = t('thread.assignedTo', { name: agents.data?.find((a) => a.id === c.assignee_id)?.name ?? '…' });

  async function resolve() {
    setBusy('resolve');
    try {
      await resolveConversation(c.id, qc);
      // Resolving is undoable for a few seconds: the toast's Undo reopens it.
      const key = `resolved-${c.id}`;
      message.open({
        key,
        type: 'success',
        duration: 8,
        content: (
          <span data-testid="resolve-toast">
            {t('console.resolvedUndo')}{' '}
            <Button
              size="small"
              type="link"
              data-testid="resolve-undo"
              onClick={() => {
                message.destroy(key);
                reopenConversation(c.id, qc).then(
                  () => message.success(t('console.reopenedOk')),
                  (err: unknown) => message.error(errorMessage(err, t('app.error'))),
                );
              }}
            >
              {t('console.undo')}
            </Button>
          </span>
        ),
      });
    } catch (err) {
      message.error(errorMessage(err, t('app.error')));
    } finally {
      setBusy(null);
    }
  }

  async function act(kind: 'assign' | 'unassign') {
    setBusy(kind);
    try {
      if (kind === 'assign') await assignConversation(c.id, me.id, qc);
      else await unassignConversation(c.id, qc);
      message.success(t(kind === 'assign' ? 'thread.assignedOk' : 'console.unassignOk'));
    } catch (err) {
      message.error(errorMessage(err, t('app.error')));
    } finally {
      setBusy(null);
    }
  }

  // Alt+Shift+R resolves (never a send-like chord; undoable).
  const resolveByKey = useEffectEvent(() => void resolve());
  useEffect(() => {
    if (c.status === 'resolved') return;
    function onKey(e: KeyboardEvent) {
      if (e.altKey && e.shiftKey && !e.ctrlKey && !e.metaKey && (e.code === 'KeyR' || e.key === 'R')) {
        e.preventDefault();
        resolveByKey();
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [c.status]);

  return (
    <header className="thread-head">
      <Link to="/app" className="thread-back" aria-label={t('app.back')}>
        <ArrowLeftOutlined />
      </Link>
      <div className="thread-title">
        <span className="thread-name" data-testid="thread-name">
          {name}
        </span>
        <Tag color={c.status === 'resolved' ? 'default' : c.status === 'assigned' ? 'blue' : c.status === 'queued' ? 'orange' : 'purple'} data-testid="thread-status">
          {state}
        </Tag>
      </div>
      <div className="thread-actions">
        {c.status !== 'resolved' && !mine ? (
          <Button icon={<UserAddOutlined />} loading={busy === 'assign'} onClick={() => void act('assign')} data-testid="assign-me">
            <span className="hide-narrow">{t('thread.assignMe')}</span>
          </Button>
        ) : null}
        {c.status !== 'resolved' && (staff || mine) ? (
          <Tooltip title={t('console.transfer')}>
            <Button icon={<SwapOutlined />} onClick={() => setTransfer(true)} data-testid="transfer" aria-label={t('console.transfer')}>
              <span className="hide-narrow">{t('console.transfer')}</span>
            </Button>
          </Tooltip>
        ) : null}
        {c.status === 'assigned' && (staff || mine) ? (
          <Tooltip title={t('console.unassign')}>
            <Button icon={<UserDeleteOutlined />} loading={busy === 'unassign'} onClick={() => void act('unassign')} data-testid="unassign" aria-label={t('console.unassign')} />
          </Tooltip>
        ) : null}
        {c.status !== 'resolved' ? (
          <Tooltip title="Alt+Shift+R">
            <Button type="primary" ghost icon={<CheckOutlined />} loading={busy === 'resolve'} onClick={() => void resolve()} data-testid="resolve">
              <span className="hide-narrow">{t('thread.resolve')}</span>
            </Button>
          </Tooltip>
        ) : null}
        <Tooltip title={t('console.shortcutsOpen')}>
          <Button
            className="hide-narrow"
            icon={<QuestionOutlined />}
            aria-label={t('console.shortcutsOpen')}
            onClick={() => window.dispatchEvent(new Event('kefu:shortcuts'))}
            data-testid="shortcuts-open"
          />
        </Tooltip>
        <Button className="details-toggle" icon={<IdcardOutlined />} aria-pressed={detailsOpen} aria-label={t('thread.showDetails')} onClick={() => setDetailsOpen(!detailsOpen)} />
      </div>
      {transfer ? (
        <Suspense fallback={null}>
          <TransferModal c={c} open={transfer} onClose={() => setTransfer(false)} />
        </Suspense>
      ) : null}
    </header>
  );
}
