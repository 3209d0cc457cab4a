// RealtimeClient is the one WebSocket client of Kefu, shared by the console and
// the widget (so it imports nothing at run time). It authenticates with hello,
// replays from the last seq seen per conversation, drops duplicate message.new
// frames (same conversation and seq), reconnects with capped exponential
// backoff, and resends every unacknowledged message.send with its original
// client_id after each welcome (the server deduplicates on client_id).
import type {
  AckFrame,
  ConversationUpdatedFrame,
  DeltaFrame,
  ErrorFrame,
  MessageNewFrame,
  MessageSendFrame,
  PresenceFrame,
  QueueFrame,
  ReadFrame,
  ServerFrame,
  TypingFrame,
  WelcomeFrame,
} from './frames';
import type { PresenceStatus } from '../api/types';

export type RealtimeStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'unauthorized' | 'closed';

/** The subset of the DOM WebSocket the client uses; tests pass a fake. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type SocketFactory = (url: string) => SocketLike;

export interface RealtimeOptions {
  url: string | (() => string);
  /** The visitor or user token, read at every (re)connect. */
  token: () => string | null | undefined;
  /** Last seq per conversation to send in the first hello (default {}: replay everything). */
  initialSince?: Record<string, number>;
  socket?: SocketFactory;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  pingIntervalMs?: number;
  /** Frames larger than this are refused locally; the server closes on them (1009). */
  maxFrameBytes?: number;
  /** 0..1, for jitter; tests pass a constant. */
  random?: () => number;
}

export interface SendResult {
  client_id: string;
  acked: Promise<AckFrame>;
}

export class RealtimeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RealtimeError';
    this.code = code;
  }
}

interface EventMap {
  status: RealtimeStatus;
  welcome: WelcomeFrame;
  message: MessageNewFrame;
  conversation: ConversationUpdatedFrame;
  ack: AckFrame;
  error: ErrorFrame;
  typing: TypingFrame;
  read: ReadFrame;
  presence: PresenceFrame;
  queue: QueueFrame;
  delta: DeltaFrame;
  unauthorized: ErrorFrame | null;
}
type Handler<K extends keyof EventMap> = (payload: EventMap[K]) => void;

interface Pending {
  frame: MessageSendFrame;
  resolve: (a: AckFrame) => void;
  reject: (e: RealtimeError) => void;
}

const OPEN = 1;
/** Close status of a socket whose user's role changed (reconnect at once). */
export const ROLE_CHANGED = 4001;

export function newClientId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class RealtimeClient {
  private readonly opts: Required<Omit<RealtimeOptions, 'initialSince'>>;
  private ws: SocketLike | null = null;
  private _status: RealtimeStatus = 'idle';
  private welcomed = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private stopped = true;
  private authError: ErrorFrame | null = null;
  private readonly seen = new Map<string, Set<number>>();
  private readonly last = new Map<string, number>();
  private readonly pending = new Map<string, Pending>();
  private readonly subscriptions = new Set<string>();
  private presence: PresenceStatus | null = null;
  private readonly handlers: { [K in keyof EventMap]?: Set<Handler<K>> } = {};

  constructor(options: RealtimeOptions) {
    this.opts = {
      url: options.url,
      token: options.token,
      socket: options.socket ?? ((url) => new WebSocket(url) as unknown as SocketLike),
      minBackoffMs: options.minBackoffMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 10000,
      pingIntervalMs: options.pingIntervalMs ?? 25000,
      maxFrameBytes: options.maxFrameBytes ?? 64 * 1024,
      random: options.random ?? Math.random,
    };
    for (const [conv, seq] of Object.entries(options.initialSince ?? {})) this.last.set(conv, seq);
  }

  get status(): RealtimeStatus {
    return this._status;
  }

  /** True once the current connection got its welcome. */
  get ready(): boolean {
    return this.welcomed && this._status === 'open';
  }

  on<K extends keyof EventMap>(type: K, fn: Handler<K>): () => void {
    let set = this.handlers[type] as Set<Handler<K>> | undefined;
    if (!set) {
      set = new Set();
      (this.handlers as Record<string, unknown>)[type] = set;
    }
    set.add(fn);
    return () => set!.delete(fn);
  }

  connect(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  /** Closes for good; pending sends stay pending (and are rejected). */
  close(): void {
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      detach(ws);
      try {
        ws.close(1000, 'bye');
      } catch {
        /* already closed */
      }
    }
    for (const p of this.pending.values()) p.reject(new RealtimeError('closed', 'connection closed'));
    this.pending.clear();
    this.setStatus('closed');
  }

  /** Reconnects now, skipping any backoff wait (e.g. when the browser goes online). */
  reconnectNow(): void {
    if (this.stopped || this._status === 'open' || this._status === 'connecting') return;
    this.clearTimers();
    this.open();
  }

  lastSeq(conversationId: string): number {
    return this.last.get(conversationId) ?? 0;
  }

  /** The `since` map that the next hello will carry. */
  since(): Record<string, number> {
    return Object.fromEntries(this.last);
  }

  /** Records seqs the caller got elsewhere (REST), so replays skip them and hello starts after them. */
  markSeen(conversationId: string, seq: number): void {
    this.seenSet(conversationId).add(seq);
    if (seq > this.lastSeq(conversationId)) this.last.set(conversationId, seq);
  }

  /**
   * Queues a message; it is sent now if the socket is ready, else after the
   * next welcome, and resent after every reconnect until its ack arrives.
   */
  sendMessage(msg: { body: string; conversation_id?: string; client_id?: string; attachments?: readonly string[] }): SendResult {
    const client_id = msg.client_id ?? newClientId();
    const frame: MessageSendFrame = { type: 'message.send', client_id, body: msg.body };
    if (msg.conversation_id) frame.conversation_id = msg.conversation_id;
    if (msg.attachments?.length) frame.attachments = [...msg.attachments];
    const existing = this.pending.get(client_id);
    if (existing) {
      return { client_id, acked: new Promise((res, rej) => this.chain(existing, res, rej)) };
    }
    const acked = new Promise<AckFrame>((resolve, reject) => {
      if (byteLength(JSON.stringify(frame)) > this.opts.maxFrameBytes) {
        reject(new RealtimeError('too_large', 'message is too long'));
        return;
      }
      this.pending.set(client_id, { frame, resolve, reject });
    });
    // Callers that do not wait for the ack must not see unhandled rejections.
    acked.catch(() => undefined);
    if (this.pending.has(client_id) && this.ready) this.write(frame);
    return { client_id, acked };
  }

  /** client_ids sent but not yet acknowledged, in send order. */
  unacked(): string[] {
    return [...this.pending.keys()];
  }

  /** Streams a conversation the user is not assigned to (staff only); kept across reconnects. */
  subscribe(conversationId: string): void {
    this.subscriptions.add(conversationId);
    if (this.ready) this.write({ type: 'subscribe', conversation_id: conversationId, since: this.lastSeq(conversationId) });
  }

  unsubscribe(conversationId: string): void {
    if (!this.subscriptions.delete(conversationId)) return;
    if (this.ready) this.write({ type: 'unsubscribe', conversation_id: conversationId });
  }

  /** Sets the user's presence; re-sent after every welcome (users start offline on each connection). */
  setPresence(status: PresenceStatus): void {
    this.presence = status;
    if (this.ready) this.write({ type: 'presence', status });
  }

  /** A visitor asks for a person instead of the bot (the widget's button). */
  handoff(conversationId?: string): boolean {
    return this.write(conversationId ? { type: 'handoff', conversation_id: conversationId } : { type: 'handoff' });
  }

  /** A visitor rates their resolved conversation; conversation.updated carries it back. */
  csat(conversationId: string, score: number, comment: string): boolean {
    return this.write({ type: 'csat', conversation_id: conversationId, score, comment });
  }

  typing(conversationId: string, state: boolean): void {
    if (this.ready) this.write({ type: 'typing', conversation_id: conversationId, state });
  }

  read(conversationId: string, seq: number): void {
    if (this.ready) this.write({ type: 'read', conversation_id: conversationId, seq });
  }

  // ---- internals ----

  private chain(p: Pending, res: (a: AckFrame) => void, rej: (e: RealtimeError) => void) {
    const { resolve, reject } = p;
    p.resolve = (a) => {
      resolve(a);
      res(a);
    };
    p.reject = (e) => {
      reject(e);
      rej(e);
    };
  }

  private seenSet(conv: string): Set<number> {
    let s = this.seen.get(conv);
    if (!s) {
      s = new Set();
      this.seen.set(conv, s);
    }
    return s;
  }

  private open() {
    const token = this.opts.token();
    if (!token) {
      this.setStatus('unauthorized');
      this.emit('unauthorized', null);
      return;
    }
    this.welcomed = false;
    this.authError = null;
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const url = typeof this.opts.url === 'function' ? this.opts.url() : this.opts.url;
    let ws: SocketLike;
    try {
      ws = this.opts.socket(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastFrameAt = Date.now();
      this.write({ type: 'hello', token, since: this.since() });
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.lastFrameAt = Date.now();
      if (typeof ev.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(ev.data) as ServerFrame;
      } catch {
        return;
      }
      this.handle(frame);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.welcomed = false;
      this.clearTimers();
      if (this.stopped) return;
      if (this.authError) {
        // The token was refused, or its session revoked (logout elsewhere,
        // deactivation, a new password): reconnecting cannot help.
        this.stopped = true;
        this.setStatus('unauthorized');
        this.emit('unauthorized', this.authError);
        return;
      }
      if (ev?.code === ROLE_CHANGED) {
        // The user's role changed: a new socket carries the new one, at once.
        this.attempt = 0;
        this.setStatus('reconnecting');
        this.reconnectTimer = setTimeout(() => {
          this.reconnectTimer = null;
          if (!this.stopped) this.open();
        }, 0);
        return;
      }
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private handle(frame: ServerFrame) {
    switch (frame.type) {
      case 'welcome':
        this.welcomed = true;
        this.attempt = 0;
        this.setStatus('open');
        this.startPing();
        this.emit('welcome', frame);
        if (this.presence) this.write({ type: 'presence', status: this.presence });
        for (const conv of this.subscriptions) this.write({ type: 'subscribe', conversation_id: conv, since: this.lastSeq(conv) });
        for (const p of this.pending.values()) this.write(p.frame);
        return;
      case 'message.new': {
        const conv = frame.conversation_id ?? frame.message?.conversation_id;
        const seq = frame.seq ?? frame.message?.seq;
        if (!conv || typeof seq !== 'number') return;
        const set = this.seenSet(conv);
        if (set.has(seq)) return;
        set.add(seq);
        if (seq > this.lastSeq(conv)) this.last.set(conv, seq);
        this.emit('message', { ...frame, conversation_id: conv, seq });
        return;
      }
      case 'ack': {
        const p = this.pending.get(frame.client_id);
        if (frame.conversation_id && typeof frame.seq === 'number') this.markSeen(frame.conversation_id, frame.seq);
        if (p) {
          this.pending.delete(frame.client_id);
          p.resolve(frame);
        }
        this.emit('ack', frame);
        return;
      }
      case 'error': {
        if (frame.client_id) {
          const p = this.pending.get(frame.client_id);
          if (p) {
            this.pending.delete(frame.client_id);
            p.reject(new RealtimeError(frame.code, frame.message));
          }
        } else if (frame.code === 'unauthenticated') {
          // Before the welcome: a bad token. After it: the session was
          // revoked, and the server closes the socket next.
          this.authError = frame;
        }
        this.emit('error', frame);
        return;
      }
      case 'conversation.updated':
        this.emit('conversation', frame);
        return;
      case 'typing':
        this.emit('typing', frame);
        return;
      case 'read':
        this.emit('read', frame);
        return;
      case 'presence':
        this.emit('presence', frame);
        return;
      case 'queue':
        this.emit('queue', frame);
        return;
      case 'message.delta':
        this.emit('delta', frame);
        return;
      default:
        return;
    }
  }

  private write(frame: object): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  private startPing() {
    if (this.pingTimer) clearInterval(this.pingTimer);
    const every = this.opts.pingIntervalMs;
    this.pingTimer = setInterval(() => {
      // A connection that answered nothing for two ping periods is dead even
      // if the browser has not noticed yet: drop it and reconnect.
      if (Date.now() - this.lastFrameAt > every * 2 + 5000) {
        const ws = this.ws;
        if (ws) {
          try {
            ws.close(4000, 'ping timeout');
          } catch {
            /* ignore */
          }
          ws.onclose?.({ code: 4000 });
        }
        return;
      }
      this.write({ type: 'ping' });
    }, every);
  }

  /** Delay before reconnect attempt n (1-based): min·2^(n-1), capped at max, ±20 % jitter. */
  backoff(n: number): number {
    const base = Math.min(this.opts.maxBackoffMs, this.opts.minBackoffMs * 2 ** Math.max(0, n - 1));
    const jitter = 0.8 + 0.4 * this.opts.random();
    return Math.min(this.opts.maxBackoffMs, Math.round(base * jitter));
  }

  private scheduleReconnect() {
    this.attempt++;
    this.setStatus('reconnecting');
    const delay = this.backoff(this.attempt);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  private clearTimers() {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.reconnectTimer = null;
    this.pingTimer = null;
  }

  private setStatus(s: RealtimeStatus) {
    if (this._status === s) return;
    this._status = s;
    this.emit('status', s);
  }

  private emit<K extends keyof EventMap>(type: K, payload: EventMap[K]) {
    const set = this.handlers[type] as Set<Handler<K>> | undefined;
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(payload);
      } catch (e) {
        // A faulty listener must not break the socket loop.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }
}

function detach(ws: SocketLike) {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = null;
}

function byteLength(s: string): number {
  if (typeof TextEncoder !== 'undefined') return new TextEncoder().encode(s).length;
  return s.length * 3;
}

/** ws:// or wss:// URL of /ws on the given http(s) origin. */
export function wsUrl(origin: string): string {
  return origin.replace(/^http/, 'ws').replace(/\/$/, '') + '/ws';
}
