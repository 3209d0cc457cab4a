import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import i18n from '../i18n';
import { Thread } from './Thread';
import { jsonResponse, renderWithApp } from '../test/render';
import { keys } from '../realtime/keys';
import type { Conversation, ConversationEvent, Message, User } from '../api';

const me: User = { id: 'u1', email: 'ann@acme.io', name: 'Ann', role: 'agent' };
const conv: Conversation = {
  id: 'c1',
  status: 'assigned',
  visitor: { id: 'v1', name: 'Lin' },
  assignee_id: 'u1',
  last_seq: 2,
  labels: ['vip'],
  created_at: '2024-05-01T08:30:00Z',
  updated_at: '2024-05-01T08:30:01Z',
};
const messages: Message[] = [
  { id: 'm1', conversation_id: 'c1', seq: 1, author: { type: 'visitor' }, body: 'Where is my order?', private: false, attachments: [], created_at: '2024-05-01T08:30:00.1Z' },
  {
    id: 'm2',
    conversation_id: 'c1',
    seq: 2,
    author: { type: 'bot', name: 'Bot' },
    body: 'Hi! We will be with you shortly.',
    private: false,
    attachments: [],
    created_at: '2024-05-01T08:30:00.2Z',
  },
  {
    id: 'm3',
    conversation_id: 'c1',
    seq: 3,
    author: { type: 'agent', id: 'u1', name: 'Ann' },
    body: 'Hello Lin',
    private: false,
    attachments: [],
    created_at: '2024-05-01T08:32:00Z',
  },
];
const routed: ConversationEvent = {
  id: 'e1',
  kind: 'routing',
  created_at: '2024-05-01T08:30:00.25Z',
  detail: {
    event: 'conversation.created',
    flow_id: 'f1',
    flow_version: 3,
    action: 'assign',
    agent_id: 'u1',
    agent_name: 'Ann',
    waiting: '',
    trace: [
      { node: 'start', type: 'start', outcome: 'next', detail: 'conversation.created' },
      { node: 'is_new', type: 'condition', outcome: 'true', detail: 'event == "conversation.created"' },
      { node: 'greet', type: 'reply', outcome: 'next', detail: 'Hi!' },
      { node: 'hours', type: 'business_hours', outcome: 'open', detail: 'open all day' },
      { node: 'assign', type: 'assign', outcome: 'assigned', detail: 'round_robin to Ann' },
    ],
  },
};

function serve(events: () => ConversationEvent[]) {
  const fetch = vi.fn(async (input: RequestInfo | URL) => {
    const url = new URL(String(input), 'http://kefu.test');
    if (url.pathname === '/api/v1/conversations/c1') return jsonResponse(200, conv);
    if (url.pathname === '/api/v1/conversations/c1/messages') return jsonResponse(200, { messages });
    if (url.pathname === '/api/v1/conversations/c1/events') return jsonResponse(200, { events: events() });
    if (url.pathname === '/api/v1/conversations/c1/read') return jsonResponse(200, { last_read_seq: 3 });
    if (url.pathname === '/api/v1/agents') return jsonResponse(200, { agents: [] });
    return jsonResponse(404, { error: { code: 'not_found', message: url.pathname } });
  });
  vi.stubGlobal('fetch', fetch);
  return fetch;
}

describe('Thread', () => {
  beforeEach(() => i18n.changeLanguage('en'));
  afterEach(() => vi.unstubAllGlobals());

  it('shows a routing decision as a line among the messages, in time order, and expands its trace', async () => {
    serve(() => [routed]);
    renderWithApp(<Thread id="c1" me={me} />);
    const line = await screen.findByTestId('routing-event');
    expect(within(line).getByTestId('routing-summary').textContent).toBe('Routing (flow v3): Condition: yes → Reply → Business hours: open → Assign: assigned (Ann)');
    expect(line.getAttribute('data-action')).toBe('assign');
    // Not a message: after the bot's greeting, before the agent's reply.
    const log = screen.getByTestId('thread-messages');
    const order = [...log.querySelectorAll('[data-testid="message"], [data-testid="routing-event"]')].map((el) =>
      el.getAttribute('data-testid') === 'routing-event' ? 'routing' : el.getAttribute('data-seq'),
    );
    expect(order).toEqual(['1', '2', 'routing', '3']);
    expect(screen.getAllByTestId('message')).toHaveLength(3);

    const button = within(line).getByTestId('routing-event-line');
    expect(button.getAttribute('aria-expanded')).toBe('false');
    expect(screen.queryByTestId('routing-trace')).toBeNull();
    fireEvent.click(button);
    expect(button.getAttribute('aria-expanded')).toBe('true');
    const trace = screen.getByTestId('routing-trace');
    expect(trace.textContent).toContain('Ran on a new conversation');
    const rows = within(trace).getAllByTestId('routing-trace-step');
    expect(rows.map((r) => r.getAttribute('data-node'))).toEqual(['start', 'is_new', 'greet', 'hours', 'assign']);
    expect(within(rows[1]!).getByText('Condition')).toBeTruthy();
    expect(within(rows[1]!).getByText('event == "conversation.created"')).toBeTruthy();
    expect(within(rows[4]!).getByText('round_robin to Ann')).toBeTruthy();
    fireEvent.click(button);
    expect(screen.queryByTestId('routing-trace')).toBeNull();
  });

  it('adds the next run when the events are refreshed, as a conversation.updated frame does', async () => {
    let events = [routed];
    serve(() => events);
    const { client } = renderWithApp(<Thread id="c1" me={me} />);
    await screen.findByTestId('routing-event');
    events = [
      routed,
      {
        ...routed,
        id: 'e2',
        created_at: '2024-05-01T08:40:00Z',
        detail: {
          ...routed.detail,
          event: 'agent.offline',
          action: 'queue',
          agent_id: '',
          agent_name: '',
          waiting: 'queue',
          trace: [
            { node: 'start', type: 'start', outcome: 'next', detail: '' },
            { node: 'queue', type: 'queue', outcome: 'queue', detail: 'waiting for an agent' },
          ],
        },
      },
    ];
    await client.invalidateQueries({ queryKey: keys.events('c1') });
    await waitFor(() => expect(screen.getAllByTestId('routing-event')).toHaveLength(2));
    expect(screen.getAllByTestId('routing-summary')[1]!.textContent).toBe('Routing (flow v3): Queue: queued');
  });

  it('fetches the thread again for a file whose link has expired, and uses the fresh link', async () => {
    const now = Math.floor(Date.now() / 1000);
    const file = (id: string, ct: string, exp: number) => ({ id, name: `${id}.bin`, content_type: ct, size: 10, url: `/api/v1/files/t1/${id}?exp=${exp}&sig=s${exp}` });
    let exp = now - 60;
    const withFiles = (): Message[] => [
      ...messages,
      {
        id: 'm4',
        conversation_id: 'c1',
        seq: 4,
        author: { type: 'visitor' },
        body: '',
        private: false,
        attachments: [file('img', 'image/png', exp), file('doc', 'application/pdf', exp)],
        created_at: '2024-05-01T08:33:00Z',
      },
    ];
    const fetch = serve(() => []);
    fetch.mockImplementation(async (input: RequestInfo | URL) => {
      const path = new URL(String(input), 'http://kefu.test').pathname;
      if (path === '/api/v1/conversations/c1') return jsonResponse(200, conv);
      if (path.endsWith('/messages')) return jsonResponse(200, { messages: withFiles() });
      if (path.endsWith('/events')) return jsonResponse(200, { events: [] });
      return jsonResponse(200, {});
    });
    const open = vi.fn();
    vi.stubGlobal('open', open);
    renderWithApp(<Thread id="c1" me={me} />);
    const link = await screen.findByTestId('attachment-file');
    const calls = () => fetch.mock.calls.filter(([u]) => String(u).includes('/messages')).length;
    const before = calls();
    // The server signs links afresh on every fetch.
    exp = now + 86400;
    fireEvent.click(link);
    await waitFor(() => expect(open).toHaveBeenCalledWith(`/api/v1/files/t1/doc?exp=${exp}&sig=s${exp}`, '_blank', 'noopener,noreferrer'));
    expect(calls()).toBe(before + 1);
    await waitFor(() => expect(screen.getByTestId('attachment-file').getAttribute('href')).toBe(`/api/v1/files/t1/doc?exp=${exp}&sig=s${exp}`));
    const img = (await screen.findByTestId('message-attachments')).querySelector('img')!;
    await waitFor(() => expect(img.getAttribute('src')).toContain(`exp=${exp}`));
    // A fresh link that fails to load (a deleted file) does not refetch in a loop.
    fireEvent.error(img);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls()).toBe(before + 1);
  });

  it('fetches the thread again when an image link has expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    let exp = now - 60;
    const fetch = serve(() => []);
    fetch.mockImplementation(async (input: RequestInfo | URL) => {
      const path = new URL(String(input), 'http://kefu.test').pathname;
      if (path === '/api/v1/conversations/c1') return jsonResponse(200, conv);
      if (path.endsWith('/messages'))
        return jsonResponse(200, {
          messages: [
            {
              id: 'm1',
              conversation_id: 'c1',
              seq: 1,
              author: { type: 'visitor' },
              body: '',
              created_at: '2024-05-01T08:30:00Z',
              attachments: [{ id: 'img', name: 'p.png', content_type: 'image/png', size: 10, url: `/api/v1/files/t1/img?exp=${exp}&sig=x` }],
            },
          ],
        });
      if (path.endsWith('/events')) return jsonResponse(200, { events: [] });
      return jsonResponse(200, {});
    });
    renderWithApp(<Thread id="c1" me={me} />);
    const img = (await screen.findByTestId('message-attachments')).querySelector('img')!;
    exp = now + 86400;
    fireEvent.error(img);
    await waitFor(() => expect(screen.getByTestId('message-attachments').querySelector('img')!.getAttribute('src')).toContain(`exp=${exp}`));
  });

  it('shows the thread without routing lines when the events cannot be read', async () => {
    const fetch = serve(() => []);
    fetch.mockImplementation(async (input: RequestInfo | URL) => {
      const path = new URL(String(input), 'http://kefu.test').pathname;
      if (path.endsWith('/events')) return jsonResponse(403, { error: { code: 'permission_denied', message: 'no' } });
      if (path === '/api/v1/conversations/c1') return jsonResponse(200, conv);
      if (path.endsWith('/messages')) return jsonResponse(200, { messages });
      return jsonResponse(200, {});
    });
    renderWithApp(<Thread id="c1" me={me} />);
    await waitFor(() => expect(screen.getAllByTestId('message')).toHaveLength(3));
    expect(screen.queryByTestId('routing-event')).toBeNull();
  });
});
