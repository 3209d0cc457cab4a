import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RealtimeClient, RealtimeError } from './client';
import { FakeSocket } from '../test/fakeSocket';
import type { Message } from '../api/types';

function msg(conv: string, seq: number, body = `m${seq}`, client_id?: string): Message {
  return {
    id: `id-${conv}-${seq}`,
    conversation_id: conv,
    seq,
    client_id,
    author: { type: 'visitor', id: 'v1' },
    body,
    private: false,
    attachments: [],
    created_at: '2024-01-01T00:00:00Z',
  };
}

function setup(extra: Partial<ConstructorParameters<typeof RealtimeClient>[0]> = {}) {
  const client = new RealtimeClient({
    url: 'ws://kefu.test/ws',
    token: () => 'tok',
    socket: (url) => new FakeSocket(url),
    random: () => 0.5, // no jitter
    ...extra,
  });
  return client;
}

function welcome(s: FakeSocket, conversations: unknown[] = []) {
  s.receive({ type: 'welcome', session_id: 's1', principal: { type: 'visitor', id: 'v1' }, conversations });
}

describe('RealtimeClient', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.reset();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends hello with the token and an empty since as its first frame', () => {
    const c = setup();
    c.connect();
    FakeSocket.last.open();
    expect(FakeSocket.last.url).toBe('ws://kefu.test/ws');
    expect(FakeSocket.last.sent).toEqual([{ type: 'hello', token: 'tok', since: {} }]);
    c.close();
  });

  it('emits message.new once per (conversation, seq) and drops replays', () => {
    const c = setup();
    const got: number[] = [];
    c.on('message', (f) => got.push(f.seq));
    c.connect();
    const s = FakeSocket.last;
    s.open();
    welcome(s);
    s.receive({ type: 'message.new', conversation_id: 'c1', seq: 1, message: msg('c1', 1) });
    s.receive({ type: 'message.new', conversation_id: 'c1', seq: 2, message: msg('c1', 2) });
    s.receive({ type: 'message.new', conversation_id: 'c1', seq: 1, message: msg('c1', 1) });
    s.receive({ type: 'message.new', conversation_id: 'c2', seq: 1, message: msg('c2', 1) });
    expect(got).toEqual([1, 2, 1]);
    expect(c.since()).toEqual({ c1: 2, c2: 1 });
    c.close();
  });

  it('reconnects with exponential backoff capped at 10 s and sends the last seen seq', () => {
    const c = setup();
    const statuses: string[] = [];
    c.on('status', (st) => statuses.push(st));
    c.connect();
    let s = FakeSocket.last;
    s.open();
    welcome(s);
    s.receive({ type: 'message.new', conversation_id: 'c1', seq: 7, message: msg('c1', 7) });
    s.drop();
    expect(c.status).toBe('reconnecting');

    const delays = [1000, 2000, 4000, 8000, 10000, 10000];
    for (const d of delays) {
      const before = FakeSocket.all.length;
      vi.advanceTimersByTime(d - 1);
      expect(FakeSocket.all.length).toBe(before);
      vi.advanceTimersByTime(1);
      expect(FakeSocket.all.length).toBe(before + 1);
      FakeSocket.last.drop(); // still down
    }
    vi.advanceTimersByTime(10000);
    s = FakeSocket.last;
    s.open();
    expect(s.sent[0]).toEqual({ type: 'hello', token: 'tok', since: { c1: 7 } });
    welcome(s);
    expect(c.status).toBe('open');
    // After a welcome the backoff starts over at 1 s.
    s.drop();
    const before = FakeSocket.all.length;
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all.length).toBe(before + 1);
    expect(statuses).toContain('open');
    c.close();
  });

  it('sends attachment ids with a message, also when resending, and leaves out an empty list', async () => {
    const c = setup();
    c.connect();
    let s = FakeSocket.last;
    s.open();
    welcome(s);
    c.sendMessage({ body: '', client_id: 'f1', conversation_id: 'c1', attachments: ['up1', 'up2'] });
    c.sendMessage({ body: 'text only', client_id: 't1', attachments: [] });
    expect(s.sentOfType('message.send')).toEqual([
      { type: 'message.send', client_id: 'f1', conversation_id: 'c1', body: '', attachments: ['up1', 'up2'] },
      { type: 'message.send', client_id: 't1', body: 'text only' },
    ]);
    s.drop();
    vi.advanceTimersByTime(1000);
    s = FakeSocket.last;
    s.open();
    welcome(s);
    expect(s.sentOfType('message.send')[0]).toMatchObject({ client_id: 'f1', attachments: ['up1', 'up2'] });
    c.close();
  });

  it('resends unacknowledged messages with the same client_id after a reconnect', async () => {
    const c = setup();
    c.connect();
    let s = FakeSocket.last;
    s.open();
    welcome(s);
    const a = c.sendMessage({ body: 'hello', client_id: 'cid-1' });
    const b = c.sendMessage({ body: 'second' });
    expect(s.sentOfType('message.send')).toEqual([
      { type: 'message.send', client_id: 'cid-1', body: 'hello' },
      { type: 'message.send', client_id: b.client_id, body: 'second' },
    ]);
    // The first is acked, the second is lost with the connection.
    s.receive({ type: 'ack', client_id: 'cid-1', conversation_id: 'c1', seq: 3, message_id: 'm3' });
    await expect(a.acked).resolves.toMatchObject({ seq: 3, conversation_id: 'c1' });
    s.drop();
    expect(c.unacked()).toEqual([b.client_id]);

    vi.advanceTimersByTime(1000);
    s = FakeSocket.last;
    s.open();
    // Nothing but hello before the welcome.
    expect(s.sent.map((f) => f.type)).toEqual(['hello']);
    expect(s.sent[0]).toMatchObject({ since: { c1: 3 } });
    welcome(s);
    expect(s.sentOfType('message.send')).toEqual([{ type: 'message.send', client_id: b.client_id, body: 'second' }]);
    s.receive({ type: 'ack', client_id: b.client_id, conversation_id: 'c1', seq: 4, message_id: 'm4' });
    await expect(b.acked).resolves.toMatchObject({ seq: 4 });
    expect(c.unacked()).toEqual([]);
    c.close();
  });

  it('queues messages sent before the first welcome', () => {
    const c = setup();
    c.sendMessage({ body: 'early', client_id: 'e1', conversation_id: 'c9' });
    c.connect();
    const s = FakeSocket.last;
    s.open();
    expect(s.sentOfType('message.send')).toHaveLength(0);
    welcome(s);
    expect(s.sentOfType('message.send')).toEqual([{ type: 'message.send', client_id: 'e1', conversation_id: 'c9', body: 'early' }]);
    c.close();
  });

  it('rejects a send that the server refuses, by client_id', async () => {
    const c = setup();
    c.connect();
    const s = FakeSocket.last;
    s.open();
    welcome(s);
    const r = c.sendMessage({ body: 'x', client_id: 'bad' });
    s.receive({ type: 'error', client_id: 'bad', code: 'permission_denied', message: 'nope' });
    await expect(r.acked).rejects.toMatchObject({ code: 'permission_denied', message: 'nope' });
    expect(c.unacked()).toEqual([]);
    c.close();
  });

  it('refuses frames over the size limit locally', async () => {
    const c = setup({ maxFrameBytes: 200 });
    const r = c.sendMessage({ body: 'x'.repeat(500) });
    await expect(r.acked).rejects.toBeInstanceOf(RealtimeError);
    await expect(r.acked).rejects.toMatchObject({ code: 'too_large' });
    expect(c.unacked()).toEqual([]);
  });

  it('re-sends presence and subscriptions after every welcome', () => {
    const c = setup();
    c.setPresence('away');
    c.connect();
    let s = FakeSocket.last;
    s.open();
    welcome(s);
    c.subscribe('c5');
    expect(s.sentOfType('presence')).toEqual([{ type: 'presence', status: 'away' }]);
    expect(s.sentOfType('subscribe')).toEqual([{ type: 'subscribe', conversation_id: 'c5', since: 0 }]);
    s.receive({ type: 'message.new', conversation_id: 'c5', seq: 2, message: msg('c5', 2) });
    s.drop();
    vi.advanceTimersByTime(1000);
    s = FakeSocket.last;
    s.open();
    welcome(s);
    expect(s.sentOfType('presence')).toEqual([{ type: 'presence', status: 'away' }]);
    expect(s.sentOfType('subscribe')).toEqual([{ type: 'subscribe', conversation_id: 'c5', since: 2 }]);
    c.unsubscribe('c5');
    expect(s.sentOfType('unsubscribe')).toEqual([{ type: 'unsubscribe', conversation_id: 'c5' }]);
    c.close();
  });

  it('stops reconnecting when the token is refused', () => {
    const c = setup();
    let unauthorized = 0;
    c.on('unauthorized', () => unauthorized++);
    c.connect();
    const s = FakeSocket.last;
    s.open();
    s.receive({ type: 'error', code: 'unauthenticated', message: 'bad token' });
    s.drop(1008);
    expect(c.status).toBe('unauthorized');
    expect(unauthorized).toBe(1);
    vi.advanceTimersByTime(60000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('goes to unauthorized, not reconnecting, when an open socket is revoked', () => {
    const c = setup();
    const got: unknown[] = [];
    c.on('unauthorized', (f) => got.push(f));
    c.connect();
    const s = FakeSocket.last;
    s.open();
    welcome(s);
    s.receive({ type: 'error', code: 'unauthenticated', message: 'your account has been deactivated', reason: 'deactivated' });
    s.drop(1008);
    expect(c.status).toBe('unauthorized');
    expect(got).toEqual([{ type: 'error', code: 'unauthenticated', message: 'your account has been deactivated', reason: 'deactivated' }]);
    vi.advanceTimersByTime(60000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('reconnects at once, without backoff, when the role changed', () => {
    const c = setup();
    c.connect();
    FakeSocket.last.open();
    welcome(FakeSocket.last);
    FakeSocket.last.drop(4001);
    expect(c.status).toBe('reconnecting');
    vi.advanceTimersByTime(0);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.last.open();
    expect(FakeSocket.last.sentOfType('hello')).toHaveLength(1);
    c.close();
  });

  it('keeps reconnecting after other errors on an open socket', () => {
    const c = setup();
    c.connect();
    const s = FakeSocket.last;
    s.open();
    welcome(s);
    s.receive({ type: 'error', code: 'invalid_argument', message: 'bad JSON' });
    s.drop(1006);
    expect(c.status).toBe('reconnecting');
    vi.advanceTimersByTime(1200);
    expect(FakeSocket.all).toHaveLength(2);
    c.close();
  });

  it('pings every 25 s and drops a connection that went silent', () => {
    const c = setup();
    c.connect();
    const s = FakeSocket.last;
    s.open();
    welcome(s);
    vi.advanceTimersByTime(25000);
    expect(s.sentOfType('ping')).toHaveLength(1);
    s.receive({ type: 'pong' });
    vi.advanceTimersByTime(25000);
    expect(s.sentOfType('ping')).toHaveLength(2);
    // No frames at all for > 55 s: the next tick closes and reconnects.
    vi.advanceTimersByTime(50000);
    expect(s.closedByClient).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all.length).toBe(2);
    c.close();
  });

  it('marks seqs loaded elsewhere as seen', () => {
    const c = setup();
    const got: number[] = [];
    c.on('message', (f) => got.push(f.seq));
    c.markSeen('c1', 1);
    c.markSeen('c1', 2);
    c.connect();
    const s = FakeSocket.last;
    s.open();
    expect(s.sent[0]).toMatchObject({ since: { c1: 2 } });
    welcome(s);
    s.receive({ type: 'message.new', conversation_id: 'c1', seq: 2, message: msg('c1', 2) });
    s.receive({ type: 'message.new', conversation_id: 'c1', seq: 3, message: msg('c1', 3) });
    expect(got).toEqual([3]);
    c.close();
  });

  it('backoff() doubles from 1 s to a 10 s cap with ±20 % jitter', () => {
    const lo = setup({ random: () => 0 });
    const hi = setup({ random: () => 1 });
    expect([1, 2, 3, 4, 5, 6].map((n) => lo.backoff(n))).toEqual([800, 1600, 3200, 6400, 8000, 8000]);
    expect([1, 2, 3, 4, 5].map((n) => hi.backoff(n))).toEqual([1200, 2400, 4800, 9600, 10000]);
  });
});
