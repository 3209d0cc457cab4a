import { create } from 'zustand';
import type { InboxFilter } from '../realtime/keys';

interface TypingEntry {
  name: string;
  until: number;
}

interface UiState {
  /** The conversation shown in the thread pane, if any. */
  openConversationId: string | null;
  setOpenConversation: (id: string | null) => void;
  /** Who is typing per conversation, with an expiry (typing frames may not say "stopped"). */
  typing: Record<string, TypingEntry | undefined>;
  setTyping: (conversationId: string, entry: TypingEntry | null) => void;
  /** The inbox tab and status filter, kept while moving between conversations. */
  filter: InboxFilter;
  setFilter: (f: InboxFilter) => void;
  /** Ids in the order the inbox shows them (for Alt+↑/↓). */
  visibleIds: string[];
  setVisibleIds: (ids: string[]) => void;
  /** Whether the visitor panel is shown on narrower screens. */
  detailsOpen: boolean;
  setDetailsOpen: (v: boolean) => void;
}

export const useUi = create<UiState>()((set) => ({
  openConversationId: null,
  setOpenConversation: (openConversationId) => set({ openConversationId }),
  typing: {},
  setTyping: (id, entry) => set((s) => ({ typing: { ...s.typing, [id]: entry ?? undefined } })),
  filter: { tab: 'mine' },
  setFilter: (filter) => set({ filter }),
  visibleIds: [],
  setVisibleIds: (visibleIds) => set({ visibleIds }),
  detailsOpen: false,
  setDetailsOpen: (detailsOpen) => set({ detailsOpen }),
}));
