import { useEffect } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import i18n from '../i18n';
import type { Agent, User } from '../api/types';
import { RealtimeClient, wsUrl } from '../ws/client';
import { useAuth } from '../stores/auth';
import { usePresence } from '../stores/presence';
import { useRealtime } from '../stores/realtime';
import { useUi } from '../stores/ui';
import { useUnread } from '../stores/unread';
import { useReads } from '../stores/reads';
import { useStreams } from '../stores/streams';
import { applyMessage, findConversation, upsertConversation } from './cache';
import { keys } from './keys';
import { chime, desktopNotify, tabHidden } from '../lib/notify';
import { visitorName } from '../lib/format';

const TYPING_TTL_MS = 6000;
/**
 * The server may send conversation.updated a moment before it logs the
 * routing run that caused it, so an open thread asks for its events once
 * more after this delay.
 */
const EVENTS_RECHECK_MS = 1500;

/**
 * Owns the console's WebSocket for as long as the signed-in shell is mounted
 * and turns its frames into react-query cache updates, unread counts, typing
 * indicators and notifications. Renders nothing.
 */
export function RealtimeBridge({ me }: { me: User }) {
  const qc = useQueryClient();
  const token = useAuth((s) => s.token);
  const navigate = useNavigate();
  const t = i18n.t.bind(i18n);

  useEffect(() => {
    if (!token) return;
    const client = new RealtimeClient({
      url: () => wsUrl(window.location.origin),
      token: () => useAuth.getState().token,
    });
    const store = useRealtime.getState();
    store.set({ client, status: client.status });
    let welcomes = 0;
    const rechecks = new Map<string, ReturnType<typeof setTimeout>>();
    const refreshEvents = (id: string) => {
      // Only an open thread has an active events query; others refetch when opened.
      void qc.invalidateQueries({ queryKey: keys.events(id) });
      clearTimeout(rechecks.get(id));
      rechecks.set(
        id,
        setTimeout(() => {
          rechecks.delete(id);
          void qc.invalidateQueries({ queryKey: keys.events(id) });
        }, EVENTS_RECHECK_MS),
      );
    };
    // Counts come from the server: refresh them (at most every 2 s) when conversations change.
    let countsTimer: ReturnType<typeof setTimeout> | null = null;
    const refreshCounts = () => {
      if (countsTimer) return;
      countsTimer = setTimeout(() => {
        countsTimer = null;
        void qc.invalidateQueries({ queryKey: keys.counts });
      }, 2000);
    };
    const offs = [
      client.on('status', (status) => {
        useRealtime.getState().set({ status });
        if (status !== 'open') usePresence.getState().confirm(null);
      }),
      client.on('welcome', (w) => {
        welcomes++;
        // The server closes a socket whose user's role changed; the new one
        // says the new role, and what the console shows follows it.
        if (w.principal?.role && w.principal.role !== me.role) void qc.invalidateQueries({ queryKey: keys.me });
        for (const c of w.conversations ?? []) upsertConversation(qc, c);
        // After a reconnect the lists may have missed changes for conversations
        // this user does not receive frames for: refresh them once.
        if (welcomes > 1) void qc.invalidateQueries({ queryKey: keys.conversationLists });
      }),
      client.on('presence', (p) => {
        if (!p.user_id || p.user_id === me.id) usePresence.getState().confirm(p.status);
        // Keep the agents table's status dots current.
        if (p.user_id) qc.setQueryData<Agent[]>(keys.agents, (cur) => cur?.map((a) => (a.id === p.user_id ? { ...a, status: p.status } : a)));
      }),
      client.on('conversation', ({ conversation }) => {
        const known = findConversation(qc, conversation.id);
        upsertConversation(qc, conversation);
        refreshCounts();
        refreshEvents(conversation.id);
        const newlyMine = conversation.status === 'assigned' && conversation.assignee_id === me.id && (!known || known.assignee_id !== me.id || known.status !== 'assigned');
        if (newlyMine && tabHidden()) {
          chime();
          desktopNotify(
            t('notify.newConversation'),
            visitorName(conversation.visitor, (id) => t('inbox.visitor', { id })),
            () => navigate(`/app/conversations/${conversation.id}`),
          );
        }
      }),
      client.on('delta', (d) => {
        if (d.done) useStreams.getState().end(d.conversation_id, d.stream_id);
        else useStreams.getState().append(d.conversation_id, d.stream_id, d.text);
      }),
      client.on('message', ({ message, conversation_id, seq }) => {
        applyMessage(qc, { ...message, conversation_id, seq });
        if (message.client_id && message.author?.type === 'bot') useStreams.getState().end(conversation_id, message.client_id);
        useUi.getState().setTyping(conversation_id, null);
        if (message.author?.type !== 'visitor') return;
        const open = useUi.getState().openConversationId === conversation_id;
        if (open && !tabHidden()) {
          useUnread.getState().markRead(conversation_id, seq);
          return;
        }
        const before = useUnread.getState().count(conversation_id);
        useUnread.getState().noteIncoming(conversation_id, seq);
        const counted = useUnread.getState().count(conversation_id) > before;
        const conv = findConversation(qc, conversation_id);
        const live = Date.now() - Date.parse(message.created_at) < 60_000;
        if (counted && live && tabHidden() && (!conv || conv.assignee_id === me.id || conv.status !== 'assigned')) {
          chime();
          const name = visitorName(conv?.visitor, (id) => t('inbox.visitor', { id }));
          desktopNotify(t('notify.newMessage', { name }), message.body || (message.attachments ?? []).map((a) => a.name).join(', '), () =>
            navigate(`/app/conversations/${conversation_id}`),
          );
        }
      }),
      client.on('typing', (f) => {
        if (f.author?.type !== 'visitor' && f.author?.id === me.id) return;
        if (f.state === false) {
          useUi.getState().setTyping(f.conversation_id, null);
          return;
        }
        // An empty name reads "Visitor is typing…"; colleagues are named.
        const colleague =
          f.author?.type === 'visitor' ? '' : (f.author?.name ?? qc.getQueryData<Agent[]>(keys.agents)?.find((a) => a.id === f.author?.id)?.name ?? t('agents.role_agent'));
        useUi.getState().setTyping(f.conversation_id, { name: colleague, until: Date.now() + TYPING_TTL_MS });
      }),
      client.on('read', (f) => {
        if (f.reader?.type === 'visitor') useReads.getState().setVisitorRead(f.conversation_id, f.seq);
      }),
      client.on('unauthorized', (f) => useAuth.getState().expire(f?.reason ?? 'expired')),
    ];
    client.setPresence(usePresence.getState().wanted);
    const unsubPresence = usePresence.subscribe((s, prev) => {
      if (s.wanted !== prev.wanted) client.setPresence(s.wanted);
    });
    const online = () => client.reconnectNow();
    window.addEventListener('online', online);
    client.connect();
    return () => {
      window.removeEventListener('online', online);
      unsubPresence();
      offs.forEach((off) => off());
      rechecks.forEach((timer) => clearTimeout(timer));
      rechecks.clear();
      if (countsTimer) clearTimeout(countsTimer);
      client.close();
      useRealtime.getState().set({ client: null, status: 'idle' });
    };
    // me.id and token identify the connection; navigate is stable.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [token, me.id, qc]);

  return null;
}
