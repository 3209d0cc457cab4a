import { describe, expect, it } from 'vitest';
import { QueryClient } from '@tanstack/react-query';
import type { Conversation, Message } from '../api/types';
import { ackMessage, applyMessage, matchesFilter, mergeMessages, upsertConversation, type ThreadMessage } from './cache';
import { keys } from './keys';

const ME = 'u1';

function conv(id: string, patch: Partial<Conversation> = {}): Conversation {
  return {
    id,
    status: 'queued',
    visitor: { id: `v-${id}` },
    assignee_id: null,
    last_seq: 0,
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:00:00Z',
    last_message: null,
    ...patch,
  };
}

function msg(seq: number, patch: Partial<ThreadMessage> = {}): ThreadMessage {
  return { id: `m${seq}`, conversation_id: 'c1', seq, author: { type: 'visitor' }, body: `b${seq}`, created_at: `2024-01-01T00:00:0${seq}Z`, ...patch } as Message;
}

describe('conversation cache', () => {
  it('filters conversations the way the inbox tabs do', () => {
    expect(matchesFilter(conv('a', { status: 'assigned', assignee_id: ME }), { tab: 'mine' }, ME)).toBe(true);
    expect(matchesFilter(conv('a', { status: 'assigned', assignee_id: 'u2' }), { tab: 'mine' }, ME)).toBe(false);
    expect(matchesFilter(conv('a'), { tab: 'queue' }, ME)).toBe(true);
    expect(matchesFilter(conv('a', { status: 'resolved' }), { tab: 'all', status: 'resolved' }, ME)).toBe(true);
    expect(matchesFilter(conv('a', { status: 'bot' }), { tab: 'all', status: 'resolved' }, ME)).toBe(false);
  });

  it('moves a conversation between lists when it is assigned', () => {
    const qc = new QueryClient();
    qc.setQueryData(keys.conversations({ tab: 'queue' }, ME), [conv('a'), conv('b')]);
    qc.setQueryData(keys.conversations({ tab: 'mine' }, ME), []);
    qc.setQueryData(keys.conversations({ tab: 'all' }, ME), [conv('a'), conv('b')]);
    upsertConversation(qc, conv('a', { status: 'assigned', assignee_id: ME, updated_at: '2024-01-02T00:00:00Z' }));
    expect(qc.getQueryData<Conversation[]>(keys.conversations({ tab: 'queue' }, ME))!.map((c) => c.id)).toEqual(['b']);
    expect(qc.getQueryData<Conversation[]>(keys.conversations({ tab: 'mine' }, ME))!.map((c) => c.id)).toEqual(['a']);
    expect(qc.getQueryData<Conversation[]>(keys.conversations({ tab: 'all' }, ME))!.map((c) => c.id)).toEqual(['a', 'b']);
    expect(qc.getQueryData<Conversation>(keys.conversation('a'))!.status).toBe('assigned');
  });

  it('applies a new message to the thread and the previews, newest conversation first', () => {
    const qc = new QueryClient();
    qc.setQueryData(keys.conversations({ tab: 'all' }, ME), [conv('c0', { updated_at: '2024-01-01T00:00:05Z' }), conv('c1')]);
    applyMessage(qc, msg(1, { body: 'hello', created_at: '2024-01-01T00:01:00Z' }));
    const list = qc.getQueryData<Conversation[]>(keys.conversations({ tab: 'all' }, ME))!;
    expect(list.map((c) => c.id)).toEqual(['c1', 'c0']);
    expect(list[0]!.last_message).toEqual({ body: 'hello', author_type: 'visitor', created_at: '2024-01-01T00:01:00Z' });
    expect(list[0]!.last_seq).toBe(1);
    expect(qc.getQueryData<ThreadMessage[]>(keys.messages('c1'))!.map((m) => m.seq)).toEqual([1]);
  });

  it('keeps private notes out of the preview', () => {
    const qc = new QueryClient();
    qc.setQueryData(keys.conversations({ tab: 'all' }, ME), [conv('c1', { last_message: { body: 'old', author_type: 'visitor', created_at: '' } })]);
    applyMessage(qc, msg(2, { private: true, body: 'secret', author: { type: 'agent' } }));
    expect(qc.getQueryData<Conversation[]>(keys.conversations({ tab: 'all' }, ME))![0]!.last_message!.body).toBe('old');
  });
});

describe('mergeMessages', () => {
  it('orders by seq, drops duplicates and keeps pending ones last', () => {
    const pending = msg(0, { client_id: 'x', pending: true, id: 'x' });
    const merged = mergeMessages([msg(2), pending], [msg(1), msg(2), msg(3)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3, 0]);
  });

  it('replaces a pending message by client_id when the stored copy arrives, in either order', () => {
    const pending = msg(0, { client_id: 'x', pending: true, id: 'x', author: { type: 'agent' } });
    const stored = msg(4, { client_id: 'x', author: { type: 'agent' } });
    expect(mergeMessages([pending], [stored])).toEqual([{ ...stored, pending: false, failed: undefined }]);
    // A late optimistic copy never hides the stored one.
    expect(mergeMessages([{ ...stored }], [pending]).map((m) => [m.seq, !!m.pending])).toEqual([[4, false]]);
  });

  it('takes the fresh file links of a message fetched again, and nothing else', () => {
    const att = (exp: number) => ({ id: 'a1', name: 'p.png', content_type: 'image/png', size: 1, url: `/api/v1/files/t/a1?exp=${exp}&sig=s` });
    const old = msg(2, { attachments: [att(1)] });
    const same = mergeMessages([old], [msg(2, { attachments: [att(1)] })]);
    expect(same[0]).toBe(old);
    const fresh = mergeMessages([old], [msg(2, { attachments: [att(2)], body: 'changed?' })]);
    expect(fresh[0]!.attachments![0]!.url).toContain('exp=2');
    expect(fresh[0]!.body).toBe(old.body);
  });

  it('ackMessage turns the pending entry into a stored one', () => {
    const qc = new QueryClient();
    qc.setQueryData(keys.messages('c1'), [msg(1), msg(0, { client_id: 'x', pending: true, id: 'x' })]);
    ackMessage(qc, 'c1', 'x', 2, 'm2');
    const after = qc.getQueryData<ThreadMessage[]>(keys.messages('c1'))!;
    expect(after.map((m) => [m.seq, m.id, !!m.pending])).toEqual([
      [1, 'm1', false],
      [2, 'm2', false],
    ]);
  });
});
