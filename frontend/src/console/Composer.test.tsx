import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import i18n from '../i18n';
import { Composer } from './Composer';
import { renderWithApp, jsonResponse } from '../test/render';
import { useRealtime } from '../stores/realtime';
import { keys } from '../realtime/keys';
import type { ThreadMessage } from '../realtime/cache';
import type { Conversation, User } from '../api';
import type { RealtimeClient } from '../ws/client';

const me: User = { id: 'u1', email: 'ann@acme.io', name: 'Ann', role: 'agent' };
const conv: Conversation = {
  id: 'c1',
  status: 'assigned',
  visitor: { id: 'v1' },
  assignee_id: 'u1',
  last_seq: 1,
  created_at: '2024-01-01T00:00:00Z',
  updated_at: '2024-01-01T00:00:00Z',
};

function fakeClient() {
  let resolveAck: (a: unknown) => void = () => undefined;
  const client = {
    sendMessage: vi.fn((m: { client_id: string }) => ({
      client_id: m.client_id,
      acked: new Promise((r) => {
        resolveAck = r;
      }),
    })),
    typing: vi.fn(),
    markSeen: vi.fn(),
  };
  useRealtime.getState().set({ client: client as unknown as RealtimeClient, status: 'open' });
  return { client, ack: (a: unknown) => resolveAck(a) };
}

describe('Composer', () => {
  beforeEach(() => i18n.changeLanguage('en'));
  afterEach(() => {
    useRealtime.getState().set({ client: null, status: 'idle' });
    vi.unstubAllGlobals();
  });

  it('sends on Enter, optimistically, and marks the reply stored on ack', async () => {
    const { client, ack } = fakeClient();
    const { client: qc } = renderWithApp(<Composer conversation={conv} me={me} />);
    const input = screen.getByTestId('composer-input');
    fireEvent.change(input, { target: { value: '  Hello there  ' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(client.sendMessage).toHaveBeenCalledTimes(1);
    const sent = client.sendMessage.mock.calls[0]![0] as unknown as { body: string; conversation_id: string; client_id: string };
    expect(sent).toMatchObject({ body: 'Hello there', conversation_id: 'c1' });
    expect((input as HTMLTextAreaElement).value).toBe('');
    const pending = qc.getQueryData<ThreadMessage[]>(keys.messages('c1'))!;
    expect(pending).toMatchObject([{ body: 'Hello there', pending: true, client_id: sent.client_id, author: { type: 'agent', id: 'u1' } }]);
    ack({ type: 'ack', client_id: sent.client_id, conversation_id: 'c1', seq: 2, message_id: 'm2' });
    await waitFor(() => expect(qc.getQueryData<ThreadMessage[]>(keys.messages('c1'))![0]).toMatchObject({ seq: 2, id: 'm2', pending: false }));
  });

  it('keeps Shift+Enter for a new line and ignores Enter while composing Chinese', () => {
    const { client } = fakeClient();
    renderWithApp(<Composer conversation={conv} me={me} />);
    const input = screen.getByTestId('composer-input');
    fireEvent.change(input, { target: { value: '第一行' } });
    fireEvent.keyDown(input, { key: 'Enter', shiftKey: true });
    fireEvent.keyDown(input, { key: 'Enter', keyCode: 229 });
    expect(client.sendMessage).not.toHaveBeenCalled();
  });

  it('posts internal notes over REST as private and never sends typing for them', async () => {
    const { client } = fakeClient();
    const fetch = vi.fn(async (_url: string, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body));
      return jsonResponse(201, { id: 'm9', conversation_id: 'c1', seq: 9, client_id: body.client_id, author: { type: 'agent', id: 'u1', name: 'Ann' }, body: body.body, private: true, created_at: '2024-01-01T00:00:09Z' });
    });
    vi.stubGlobal('fetch', fetch);
    const { client: qc } = renderWithApp(<Composer conversation={conv} me={me} />);
    fireEvent.click(screen.getByTestId('composer-note'));
    const input = screen.getByTestId('composer-input');
    fireEvent.change(input, { target: { value: 'VIP, be nice' } });
    expect(client.typing).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId('composer-send'));
    expect(client.sendMessage).not.toHaveBeenCalled();
    await waitFor(() => expect(fetch).toHaveBeenCalledTimes(1));
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('/api/v1/conversations/c1/messages');
    expect(JSON.parse(String(init?.body))).toMatchObject({ body: 'VIP, be nice', private: true });
    await waitFor(() => expect(qc.getQueryData<ThreadMessage[]>(keys.messages('c1'))).toMatchObject([{ seq: 9, private: true, pending: false }]));
  });
});
