import type { ConversationStatus } from '../api/types';

/** mine, queue and all as before; team is one team's inbox; snoozed lists what is snoozed now. */
export type InboxTab = 'mine' | 'queue' | 'all' | 'team' | 'snoozed';

export interface InboxFilter {
  tab: InboxTab;
  /** Only for the "all" tab. */
  status?: ConversationStatus;
  /** The team id, for the "team" tab. */
  team?: string;
  /** Only conversations with this label. */
  label?: string;
  /** Highest priority first instead of most recent first. */
  sort?: 'priority';
}

const TABS: readonly InboxTab[] = ['mine', 'queue', 'all', 'team', 'snoozed'];

/** react-query keys, in one place so that WebSocket events update the same entries. */
export const keys = {
  me: ['me'] as const,
  tenant: ['tenant'] as const,
  onboarding: ['onboarding'] as const,
  businessHours: ['business-hours'] as const,
  agents: ['agents'] as const,
  invites: ['invites'] as const,
  roles: ['roles'] as const,
  teams: ['teams'] as const,
  canned: ['canned-replies'] as const,
  counts: ['counts'] as const,
  apiKeys: ['api-keys'] as const,
  usage: ['usage'] as const,
  webhooks: ['webhooks'] as const,
  webhookDeliveries: (id: string) => ['webhook-deliveries', id] as const,
  conversationLists: ['conversations'] as const,
  conversations: (f: InboxFilter, meId: string) => ['conversations', f.tab, f.status ?? '', meId, f.team ?? '', f.label ?? '', f.sort ?? ''] as const,
  conversation: (id: string) => ['conversation', id] as const,
  messages: (id: string) => ['messages', id] as const,
  events: (id: string) => ['events', id] as const,
  search: (q: string, type: string) => ['search', q, type] as const,
  faqs: (q: string, page: number) => ['faqs', q, page] as const,
  faqLists: ['faqs'] as const,
  articles: ['articles'] as const,
  llm: ['bots', 'llm'] as const,
  botSettings: ['bots', 'settings'] as const,
};

/** Parses a key built by keys.conversations back into its filter. */
export function filterFromKey(key: readonly unknown[]): { filter: InboxFilter; meId: string } | null {
  if (key[0] !== 'conversations' || key.length < 4) return null;
  const tab = key[1] as InboxTab;
  if (!TABS.includes(tab)) return null;
  const filter: InboxFilter = { tab };
  if (key[2]) filter.status = key[2] as ConversationStatus;
  if (key[4]) filter.team = String(key[4]);
  if (key[5]) filter.label = String(key[5]);
  if (key[6] === 'priority') filter.sort = 'priority';
  return { filter, meId: String(key[3]) };
}
