import { create } from 'zustand';
import { readJSON, writeStorage } from './storage';

const KEY = 'kefu:read';

interface UnreadState {
  /** Highest seq the agent has seen per conversation (persisted). */
  readSeq: Record<string, number>;
  /** Unseen visitor message seqs per conversation. */
  unseen: Record<string, number[]>;
  /** Counts a visitor message unless it is at or below what was already read. */
  noteIncoming: (conversationId: string, seq: number) => void;
  markRead: (conversationId: string, seq: number) => void;
  count: (conversationId: string) => number;
  total: () => number;
}

export const useUnread = create<UnreadState>()((set, get) => ({
  readSeq: readJSON<Record<string, number>>(KEY, {}),
  unseen: {},
  noteIncoming: (id, seq) => {
    const { readSeq, unseen } = get();
    if (seq <= (readSeq[id] ?? 0)) return;
    const list = unseen[id] ?? [];
    if (list.includes(seq)) return;
    set({ unseen: { ...unseen, [id]: [...list, seq] } });
  },
  markRead: (id, seq) => {
    const { readSeq, unseen } = get();
    const next = Math.max(readSeq[id] ?? 0, seq);
    const remaining = (unseen[id] ?? []).filter((s) => s > next);
    if (next === readSeq[id] && remaining.length === (unseen[id]?.length ?? 0)) return;
    const readNext = { ...readSeq, [id]: next };
    writeStorage(KEY, JSON.stringify(trim(readNext)));
    set({ readSeq: readNext, unseen: { ...unseen, [id]: remaining } });
  },
  count: (id) => get().unseen[id]?.length ?? 0,
  total: () => Object.values(get().unseen).reduce((n, l) => n + l.length, 0),
}));

/** Keeps the persisted map bounded (most recent 500 entries by insertion). */
function trim(m: Record<string, number>): Record<string, number> {
  const entries = Object.entries(m);
  return entries.length > 500 ? Object.fromEntries(entries.slice(-500)) : m;
}
