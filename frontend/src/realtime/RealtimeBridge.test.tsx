import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act } from '@testing-library/react';
import { RealtimeBridge } from './RealtimeBridge';
import { keys } from './keys';
import { renderWithApp } from '../test/render';
import { FakeSocket } from '../test/fakeSocket';
import { useAuth } from '../stores/auth';
import type { Conversation, ConversationEvent, User } from '../api';

const me: User = { id: 'u1', email: 'ann@acme.io', name: 'Ann', role: 'agent' };
const conv: Conversation = {
  id: 'c1',
  status: 'queued',
  visitor: { id: 'v1' },
  last_seq: 1,
  labels: ['vip'],
  created_at: '2024-05-01T08:30:00Z',
  updated_at: '2024-05-01T08:30:00Z',
};

describe('RealtimeBridge', () => {
  beforeEach(() => {
    FakeSocket.reset();
    vi.stubGlobal('WebSocket', FakeSocket);
    useAuth.getState().signIn('tok');
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
    useAuth.getState().signOut();
  });

  it("refreshes a conversation's routing events on conversation.updated, and once more a moment later", async () => {
    const { client, unmount } = renderWithApp(<RealtimeBridge me={me} />);
    const s = FakeSocket.last;
    const events: ConversationEvent[] = [];
    client.setQueryData(keys.events('c1'), events);
    client.setQueryData(keys.events('c2'), events);
    const invalid = (id: string) => client.getQueryState(keys.events(id))?.isInvalidated;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    act(() => {
      s.open();
      s.receive({ type: 'welcome', session_id: 's1', principal: { type: 'user', id: 'u1' }, conversations: [] });
      s.receive({ type: 'conversation.updated', conversation: conv });
    });
    expect(invalid('c1')).toBe(true);
    expect(invalid('c2')).toBe(false);
    expect(client.getQueryData<Conversation>(keys.conversation('c1'))?.labels).toEqual(['vip']);

    const spy = vi.spyOn(client, 'invalidateQueries');
    act(() => vi.advanceTimersByTime(1600));
    expect(spy).toHaveBeenCalledWith({ queryKey: keys.events('c1') });
    unmount();
  });
});
