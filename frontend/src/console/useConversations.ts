import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { apiFilter } from '../realtime/cache';
import { keys, type InboxFilter } from '../realtime/keys';
import { sortConversations } from '../lib/format';

/**
 * One inbox list. WebSocket frames keep it current; agents (who only get
 * frames for their own conversations) also poll the queue every 30 s.
 */
export function useConversations(filter: InboxFilter, meId: string, poll = false) {
  return useQuery({
    queryKey: keys.conversations(filter, meId),
    queryFn: async () => sortConversations((await api.conversations.list(apiFilter(filter, meId))).conversations ?? []),
    staleTime: 60_000,
    refetchInterval: poll ? 30_000 : false,
  });
}
