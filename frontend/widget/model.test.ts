import { describe, expect, it } from 'vitest';
import { Timeline, type Entry } from './model';

const e = (conv: string, seq: number, patch: Partial<Entry> = {}): Entry => ({
  conversation_id: conv,
  seq,
  author: 'agent',
  body: `${conv}#${seq}`,
  created_at: `2024-01-01T00:00:${String(seq).padStart(2, '0')}Z`,
  ...patch,
});

describe('widget Timeline', () => {
  it('dedupes by (conversation, seq) and orders by seq', () => {
    const t = new Timeline();
    expect(t.upsert(e('c1', 2))).toBe(true);
    expect(t.upsert(e('c1', 1))).toBe(true);
    expect(t.upsert(e('c1', 2))).toBe(false);
    expect(t.upsert(e('c2', 2))).toBe(true);
    expect(t.all().map((x) => x.body)).toEqual(['c1#1', 'c1#2', 'c2#2']);
  });

  it('turns a pending message into the stored one on ack or on its echo', () => {
    const t = new Timeline();
    t.upsert(e('', 0, { client_id: 'a', author: 'visitor', pending: true }));
    t.upsert(e('', 0, { client_id: 'b', author: 'visitor', pending: true }));
    t.ack('a', 'c1', 1);
    t.upsert(e('c1', 2, { client_id: 'b', author: 'visitor' }));
    // The echo of "a" after its ack changes nothing.
    expect(t.upsert(e('c1', 1, { client_id: 'a', author: 'visitor' }))).toBe(true);
    expect(t.all().map((x) => [x.seq, !!x.pending])).toEqual([
      [1, false],
      [2, false],
    ]);
  });

  it('counts unread business messages after the last seen seq', () => {
    const t = new Timeline();
    t.upsert(e('c1', 1, { author: 'visitor' }));
    t.upsert(e('c1', 2));
    t.upsert(e('c1', 3, { author: 'bot' }));
    t.upsert(e('c1', 4, { author: 'system' }));
    expect(t.unread({})).toBe(2);
    expect(t.unread({ c1: 2 })).toBe(1);
    expect(t.maxSeqs()).toEqual({ c1: 4 });
  });
});

describe('widget Timeline file links', () => {
  it('takes the fresh links of a replayed message, and ignores a plain duplicate', () => {
    const t = new Timeline();
    const att = (exp: number) => [{ id: 'a1', name: 'p.png', content_type: 'image/png', size: 1, url: `/api/v1/files/t/a1?exp=${exp}&sig=s` }];
    t.upsert(e('c1', 1, { attachments: att(1) }));
    expect(t.upsert(e('c1', 1, { attachments: att(1) }))).toBe(false);
    expect(t.upsert(e('c1', 1, { attachments: att(2) }))).toBe(true);
    expect(t.all()).toHaveLength(1);
    expect(t.all()[0]!.attachments![0]!.url).toContain('exp=2');
  });
});
