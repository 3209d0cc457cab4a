import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '../src/test/fakeSocket';
import { KefuWidget } from './widget';

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

async function flush() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}

describe('KefuWidget', () => {
  let fetch: ReturnType<typeof vi.fn>;
  let widget: KefuWidget | null = null;

  beforeEach(() => {
    FakeSocket.reset();
    vi.stubGlobal(
      'WebSocket',
      class extends FakeSocket {
        constructor(url: string) {
          super(url);
        }
      },
    );
    fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url.includes('/widget/config')) return json(200, { tenant_name: 'Acme Tea', agents_online: 1 });
      if (url.endsWith('/widget/sessions')) {
        const body = JSON.parse(String(init?.body));
        return json(201, { visitor_id: 'v1', visitor_token: body.visitor_token ?? 'vt-new' });
      }
      return json(404, { error: { code: 'not_found', message: 'no' } });
    });
    vi.stubGlobal('fetch', fetch);
  });

  afterEach(() => {
    widget?.destroy();
    widget = null;
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  const q = (sel: string) => widget!.host.shadowRoot!.querySelector(sel) as HTMLElement;
  const messages = () => [...widget!.host.shadowRoot!.querySelectorAll('[data-testid="kefu-message"]')].map((m) => m.querySelector('.b')!.textContent);

  it('renders inside a shadow root with the tenant name', async () => {
    widget = new KefuWidget({ key: 'wk1', origin: 'https://kefu.test', lang: 'en' });
    await widget.start();
    await flush();
    expect(document.body.querySelector('kefu-widget')).toBe(widget.host);
    expect(document.querySelector('[data-testid="kefu-launcher"]')).toBeNull(); // not in the light DOM
    expect(q('[data-testid="kefu-title"]').textContent).toBe('Acme Tea');
    // No stored token and nothing to send: no visitor is created just for loading the page.
    expect(fetch.mock.calls.some(([u]) => String(u).endsWith('/widget/sessions'))).toBe(false);
  });

  it('creates a session on open, replays history and sends with ack', async () => {
    widget = new KefuWidget({ key: 'wk1', origin: 'https://kefu.test', lang: 'en' });
    await widget.start();
    q('[data-testid="kefu-launcher"]').click();
    await flush();
    expect(localStorage.getItem('kefu:wk1:token')).toBe('vt-new');
    const s = FakeSocket.last;
    expect(s.url).toBe('wss://kefu.test/ws');
    s.open();
    expect(s.sent[0]).toEqual({ type: 'hello', token: 'vt-new', since: {} });
    s.receive({ type: 'welcome', session_id: 's', conversations: [{ id: 'c1', status: 'assigned', updated_at: '2024-01-01T00:00:00Z' }] });
    const m = (seq: number, type: string, body: string) => ({
      type: 'message.new',
      conversation_id: 'c1',
      seq,
      message: { id: `m${seq}`, conversation_id: 'c1', seq, author: { type, name: 'Ann' }, body, created_at: `2024-01-01T00:00:0${seq}Z` },
    });
    s.receive(m(1, 'visitor', 'Hello'));
    s.receive(m(2, 'agent', 'Hi, how can I help?'));
    s.receive(m(2, 'agent', 'Hi, how can I help?'));
    expect(messages()).toEqual(['Hello', 'Hi, how can I help?']);

    const input = q('[data-testid="kefu-input"]') as HTMLTextAreaElement;
    input.value = 'Where is my order?';
    input.dispatchEvent(new Event('input'));
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    const send = s.sentOfType('message.send');
    expect(send).toHaveLength(1);
    expect(send[0]).toMatchObject({ body: 'Where is my order?' });
    expect(send[0]).not.toHaveProperty('conversation_id');
    expect(q('[data-pending="true"]')).not.toBeNull();
    s.receive({ type: 'ack', client_id: send[0]!.client_id, conversation_id: 'c1', seq: 3, message_id: 'm3' });
    expect(q('[data-pending="true"]')).toBeNull();
    expect(messages()).toEqual(['Hello', 'Hi, how can I help?', 'Where is my order?']);
  });

  it('shows an unread badge for replies while closed', async () => {
    localStorage.setItem('kefu:wk2:token', 'vt-old');
    widget = new KefuWidget({ key: 'wk2', origin: 'https://kefu.test', lang: 'en' });
    await widget.start();
    await flush();
    const s = FakeSocket.last;
    s.open();
    expect(s.sent[0]).toMatchObject({ token: 'vt-old' });
    s.receive({ type: 'welcome', session_id: 's', conversations: [] });
    s.receive({
      type: 'message.new',
      conversation_id: 'c9',
      seq: 1,
      message: { id: 'x', conversation_id: 'c9', seq: 1, author: { type: 'agent' }, body: 'Your parcel left today', created_at: '2024-01-01T00:00:00Z' },
    });
    expect(q('[data-testid="kefu-badge"]').hidden).toBe(false);
    expect(q('[data-testid="kefu-badge"]').textContent).toBe('1');
    q('[data-testid="kefu-launcher"]').click();
    expect(q('[data-testid="kefu-badge"]').hidden).toBe(true);
    expect(JSON.parse(localStorage.getItem('kefu:wk2:seen')!)).toEqual({ c9: 1 });
  });
});
