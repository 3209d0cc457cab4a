import type { ConversationStatus } from '../api/types';

export type InboxTab = 'mine' | 'queue' | 'all';

export interface InboxFilter {
  tab: InboxTab;
  /** Only for the "all" tab. */
  status?: ConversationStatus;
}

/** react-query keys, in one place so that WebSocket events update the same entries. */
export const keys = {
  me: ['me'] as const,
  tenant: ['tenant'] as const,
  agents: ['agents'] as const,
  apiKeys: ['api-keys'] as const,
  webhooks: ['webhooks'] as const,
  webhookDeliveries: (id: string) => ['webhook-deliveries', id] as const,
  conversationLists: ['conversations'] as const,
  conversations: (f: InboxFilter, meId: string) => ['conversations', f.tab, f.status ?? '', meId] as const,
  conversation: (id: string) => ['conversation', id] as const,
  messages: (id: string) => ['messages', id] as const,
  events: (id: string) => ['events', id] as const,
  faqs: (q: string, page: number) => ['faqs', q, page] as const,
  faqLists: ['faqs'] as const,
  articles: ['articles'] as const,
  llm: ['bots', 'llm'] as const,
  botSettings: ['bots', 'settings'] as const,
};

/** Parses a key built by keys.conversations back into its filter. */
export function filterFromKey(key: readonly unknown[]): { filter: InboxFilter; meId: string } | null {
  if (key[0] !== 'conversations' || key.length < 4) return null;
  const tab = key[1];
  if (tab !== 'mine' && tab !== 'queue' && tab !== 'all') return null;
  const status = key[2] ? (key[2] as ConversationStatus) : undefined;
  return { filter: status ? { tab, status } : { tab }, meId: String(key[3]) };
}
