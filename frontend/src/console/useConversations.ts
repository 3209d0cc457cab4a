import { useCallback, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Conversation, type ConversationCounts } from '../api';
import { apiFilter, sortFor } from '../realtime/cache';
import { keys, type InboxFilter } from '../realtime/keys';

/**
 * Where each cached list's next page starts (by query key). The pages live
 * in one Conversation[] per list, so the WebSocket handlers keep updating a
 * single array however far the agent has scrolled.
 */
const cursors = new Map<string, string | null>();
const keyOf = (k: readonly unknown[]) => JSON.stringify(k);

/**
 * One inbox list, paged by the server's cursor: the first page loads with
 * the query, more() appends the next. WebSocket frames keep it current;
 * agents (who only get frames for their own conversations) also poll the
 * queue every 30 s.
 */
export function useConversations(filter: InboxFilter, meId: string, poll = false, enabled = true) {
  const qc = useQueryClient();
  const key = keys.conversations(filter, meId);
  const q = useQuery({
    queryKey: key,
    queryFn: async () => {
      const page = await api.conversations.list(apiFilter(filter, meId));
      cursors.set(keyOf(key), page.next_cursor || null);
      return sortFor(page.conversations ?? [], filter);
    },
    staleTime: 60_000,
    refetchInterval: poll ? 30_000 : false,
    enabled,
  });
  const [loading, setLoading] = useState(false);
  const hasMore = !!cursors.get(keyOf(key)) && !!q.data;
  const more = useCallback(async () => {
    const cursor = cursors.get(keyOf(key));
    if (!cursor || loading) return;
    setLoading(true);
    try {
      const page = await api.conversations.list({ ...apiFilter(filter, meId), cursor });
      cursors.set(keyOf(key), page.next_cursor || null);
      qc.setQueryData<Conversation[]>(key, (cur) => {
        const seen = new Set((cur ?? []).map((c) => c.id));
        return sortFor([...(cur ?? []), ...(page.conversations ?? []).filter((c) => !seen.has(c.id))], filter);
      });
    } finally {
      setLoading(false);
    }
    // key is derived from filter and meId
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [qc, filter, meId, loading]);
  return { ...q, more, hasMore, loadingMore: loading };
}

/** The inbox's counts, from the server (within what the caller may see). */
export function useCounts() {
  return useQuery<ConversationCounts>({ queryKey: keys.counts, queryFn: api.conversations.counts, staleTime: 15_000, refetchInterval: 30_000 });
}
