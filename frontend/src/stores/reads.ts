import { create } from 'zustand';

/**
 * How far each conversation's visitor has read (from the server's `read`
 * frames), for the "seen" ticks under the agents' messages.
 */
interface ReadsState {
  visitor: Record<string, number>;
  setVisitorRead: (conversationId: string, seq: number) => void;
}

export const useReads = create<ReadsState>()((set) => ({
  visitor: {},
  setVisitorRead: (id, seq) => set((s) => (seq > (s.visitor[id] ?? 0) ? { visitor: { ...s.visitor, [id]: seq } } : s)),
}));
