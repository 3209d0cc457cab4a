import { useCallback, useEffect } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, fetchAllMessages, linkExpiry, type Agent, type Conversation, type ConversationEvent } from '../api';
import { findConversation, mergeMessages, type ThreadMessage } from '../realtime/cache';
import { keys } from '../realtime/keys';
import { useRealtime } from '../stores/realtime';

export function useConversation(id: string) {
  const qc = useQueryClient();
  return useQuery<Conversation>({
    queryKey: keys.conversation(id),
    queryFn: () => api.conversations.get(id),
    initialData: () => findConversation(qc, id),
    initialDataUpdatedAt: 0,
    staleTime: 30_000,
  });
}

/**
 * The thread's messages: loaded over REST once per mount and merged with
 * whatever the WebSocket already put in the cache (frames may arrive while
 * the request is in flight).
 */
export function useMessages(id: string) {
  const qc = useQueryClient();
  const client = useRealtime((s) => s.client);
  const q = useQuery<ThreadMessage[]>({
    queryKey: keys.messages(id),
    queryFn: async () => {
      const fetched = await fetchAllMessages(api, id);
      return mergeMessages(qc.getQueryData<ThreadMessage[]>(keys.messages(id)), fetched);
    },
    staleTime: 0,
    refetchOnWindowFocus: false,
    refetchOnReconnect: false,
  });
  // Tell the socket what we already have, so replays and `since` skip it.
  useEffect(() => {
    if (!client || !q.data) return;
    for (const m of q.data) if (m.seq > 0 && !m.pending) client.markSeen(id, m.seq);
  }, [client, id, q.data]);
  // File links expire (after a day by default): fetch the thread again a
  // minute before the first one does, so the files in view keep working.
  useEffect(() => {
    let first = Infinity;
    for (const m of q.data ?? []) for (const a of m.attachments ?? []) first = Math.min(first, linkExpiry(a.url) ?? Infinity);
    if (!Number.isFinite(first)) return;
    const wait = Math.min(Math.max(first - Date.now() - 60_000, 10_000), 2 ** 31 - 1);
    const t = setTimeout(() => void qc.refetchQueries({ queryKey: keys.messages(id) }, { cancelRefetch: false }), wait);
    return () => clearTimeout(t);
  }, [qc, id, q.data]);
  return q;
}

/**
 * Fetches the thread again (joining a fetch in flight) and returns it: for a
 * file whose link expired while the page was open (a laptop asleep past the
 * scheduled refresh), the fresh copy carries a new link.
 */
export function useRefreshMessages(id: string) {
  const qc = useQueryClient();
  return useCallback(async () => {
    await qc.refetchQueries({ queryKey: keys.messages(id) }, { cancelRefetch: false });
    return qc.getQueryData<ThreadMessage[]>(keys.messages(id));
  }, [qc, id]);
}

/**
 * What routing decided on the conversation, oldest first. Refreshed by the
 * realtime bridge when the conversation changes; a failure only hides the
 * lines, so it is not retried.
 */
export function useEvents(id: string) {
  return useQuery<ConversationEvent[]>({
    queryKey: keys.events(id),
    queryFn: () => api.conversations.events(id),
    staleTime: 0,
    retry: false,
    refetchOnWindowFocus: false,
  });
}

/** Agents of the tenant, for names ("assigned to Ann"); failures are quiet. */
export function useAgents(enabled = true) {
  return useQuery<Agent[]>({ queryKey: keys.agents, queryFn: api.agents.list, staleTime: 5 * 60_000, retry: false, enabled });
}
