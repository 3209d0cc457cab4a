// WebSocket frames of /ws (api/openapi.yaml). Kept free of imports other than
// types so that the widget bundle can share them.
import type { Conversation, Message, PresenceStatus } from '../api/types';

export interface Principal {
  type: 'visitor' | 'user';
  id: string;
  role?: string;
}

export interface WelcomeFrame {
  type: 'welcome';
  session_id: string;
  principal?: Principal;
  conversations?: Conversation[];
}
export interface MessageNewFrame {
  type: 'message.new';
  conversation_id: string;
  seq: number;
  message: Message;
}
export interface ConversationUpdatedFrame {
  type: 'conversation.updated';
  conversation: Conversation;
}
export interface AckFrame {
  type: 'ack';
  client_id: string;
  conversation_id: string;
  seq: number;
  message_id: string;
}
export interface ErrorFrame {
  type: 'error';
  client_id?: string;
  code: string;
  message: string;
  /** With code unauthenticated after the welcome: why the session ended. */
  reason?: 'signed_out' | 'deactivated';
}
export interface TypingFrame {
  type: 'typing';
  conversation_id: string;
  state?: boolean;
  author?: { type: string; id?: string; name?: string };
}
export interface ReadFrame {
  type: 'read';
  conversation_id: string;
  reader?: { type: string; id: string };
  seq: number;
}
export interface PresenceFrame {
  type: 'presence';
  /** Whose presence changed; the server echoes the caller's own with its id. */
  user_id?: string;
  status: PresenceStatus;
}
export interface QueueFrame {
  type: 'queue';
  conversation_id: string;
  position: number;
  /** null: unknown (too little recent data), or out of the queue. */
  estimated_wait_seconds?: number | null;
}
/**
 * A piece of a bot's answer. The stored message.new that completes it has
 * client_id = stream_id; done (no text) ends a stream nothing will complete.
 */
export interface DeltaFrame {
  type: 'message.delta';
  conversation_id: string;
  stream_id: string;
  text: string;
  done?: boolean;
}

export type ServerFrame =
  WelcomeFrame | MessageNewFrame | ConversationUpdatedFrame | AckFrame | ErrorFrame | TypingFrame | ReadFrame | PresenceFrame | QueueFrame | DeltaFrame | { type: 'pong' };

export interface MessageSendFrame {
  type: 'message.send';
  client_id: string;
  conversation_id?: string;
  /** May be empty when attachments are sent. */
  body: string;
  /** Upload ids (at most 10). */
  attachments?: string[];
}
