import { create } from 'zustand';

/** A bot answer arriving piece by piece in a conversation the agent opened. */
export interface BotStream {
  id: string;
  text: string;
}

interface StreamsState {
  /** By conversation: the bot's answers still streaming, until their stored message comes. */
  byConversation: Record<string, BotStream[] | undefined>;
  append: (conversationId: string, streamId: string, text: string) => void;
  /** Drops a stream: its stored message came (client_id = stream id), or it was abandoned. */
  end: (conversationId: string, streamId: string) => void;
}

export const useStreams = create<StreamsState>()((set) => ({
  byConversation: {},
  append: (conversationId, streamId, text) =>
    set((s) => {
      const list = s.byConversation[conversationId] ?? [];
      const cur = list.find((x) => x.id === streamId);
      const next = cur ? list.map((x) => (x.id === streamId ? { ...x, text: x.text + text } : x)) : [...list, { id: streamId, text }];
      return { byConversation: { ...s.byConversation, [conversationId]: next } };
    }),
  end: (conversationId, streamId) =>
    set((s) => {
      const list = s.byConversation[conversationId];
      if (!list?.some((x) => x.id === streamId)) return s;
      return { byConversation: { ...s.byConversation, [conversationId]: list.filter((x) => x.id !== streamId) } };
    }),
}));
