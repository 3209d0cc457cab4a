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
  const messages = () => [...widget!.host.shadowRoot!.querySelectorAll('[data-testid="kefu-message"]')].map((m) => m.querySelector('.b')?.textContent ?? '');
  const all = (sel: string) => [...widget!.host.shadowRoot!.querySelectorAll<HTMLElement>(sel)];

  /** Opens the widget with a fresh session and an open socket that has welcomed us. */
  async function openConnected(lang = 'en') {
    widget = new KefuWidget({ key: 'wk1', origin: 'https://kefu.test', lang });
    await widget.start();
    q('[data-testid="kefu-launcher"]').click();
    await flush();
    const s = FakeSocket.last;
    s.open();
    s.receive({ type: 'welcome', session_id: 's', conversations: [{ id: 'c1', status: 'assigned', updated_at: '2024-01-01T00:00:00Z' }] });
    return s;
  }

  function pick(...files: File[]) {
    const input = q('[data-testid="kefu-file"]') as HTMLInputElement;
    Object.defineProperty(input, 'files', { value: files, configurable: true });
    input.dispatchEvent(new Event('change'));
  }

  /** Routes POST /api/v1/uploads to answer(), keeping the other endpoints of beforeEach. */
  function uploads(answer: (file: File, init: RequestInit) => Response | Promise<Response>) {
    const base = fetch.getMockImplementation() as (url: string, init?: RequestInit) => Promise<Response>;
    fetch.mockImplementation(async (url: string, init?: RequestInit) => {
      if (url.endsWith('/api/v1/uploads')) return answer((init!.body as FormData).get('file') as File, init!);
      return base(url, init);
    });
  }

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

  it('reconnects for fresh links when an expired file link is clicked, then opens the file', async () => {
    const s = await openConnected();
    const now = Math.floor(Date.now() / 1000);
    const frame = (exp: number) => ({
      type: 'message.new',
      conversation_id: 'c1',
      seq: 1,
      message: {
        id: 'm1',
        conversation_id: 'c1',
        seq: 1,
        author: { type: 'agent', name: 'Ann' },
        body: '',
        created_at: '2024-01-01T00:00:01Z',
        attachments: [{ id: 'f1', name: 'invoice.pdf', content_type: 'application/pdf', size: 10, url: `/api/v1/files/t/f1?exp=${exp}&sig=s${exp}` }],
      },
    });
    s.receive(frame(now - 60));
    const open = vi.fn();
    vi.stubGlobal('open', open);
    const chip = q('[data-testid="kefu-attachment-file"]');
    const click = new MouseEvent('click', { bubbles: true, cancelable: true });
    chip.dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);
    // A new socket replays everything from the start; the replay's link is fresh.
    const s2 = FakeSocket.last;
    expect(s2).not.toBe(s);
    s2.open();
    expect(s2.sent[0]).toMatchObject({ type: 'hello', since: {} });
    s2.receive({ type: 'welcome', session_id: 's2', conversations: [] });
    s2.receive(frame(now + 86400));
    expect(open).toHaveBeenCalledWith(`https://kefu.test/api/v1/files/t/f1?exp=${now + 86400}&sig=s${now + 86400}`, '_blank', 'noopener,noreferrer');
    expect(q('[data-testid="kefu-attachment-file"]').getAttribute('href')).toContain(`exp=${now + 86400}`);
    // A link still good is just followed.
    const again = new MouseEvent('click', { bubbles: true, cancelable: true });
    q('[data-testid="kefu-attachment-file"]').dispatchEvent(again);
    expect(again.defaultPrevented).toBe(false);
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

  describe('attachments', () => {
    const png = { id: 'a1', name: 'parcel.png', content_type: 'image/png', size: 2048, url: '/api/v1/files/t1/a1?sig=s1' };
    const pdf = { id: 'a2', name: 'invoice.pdf', content_type: 'application/pdf', size: 1_300_000, url: '/api/v1/files/t1/a2?sig=s2' };
    const msg = (seq: number, type: string, body: string, attachments: unknown[]) => ({
      type: 'message.new',
      conversation_id: 'c1',
      seq,
      message: { id: `m${seq}`, conversation_id: 'c1', seq, author: { type, name: 'Ann' }, body, attachments, created_at: `2024-01-01T00:00:0${seq}Z` },
    });

    it('renders images as thumbnails opening the full image, other files as chips with name and size', async () => {
      const s = await openConnected();
      s.receive(msg(1, 'agent', '', [png]));
      s.receive(msg(2, 'agent', 'Your invoice', [pdf]));
      const [image] = all('[data-testid="kefu-attachment-image"]');
      expect(image!.tagName).toBe('A');
      // Links point at the Kefu server, not at the host page.
      expect(image!.getAttribute('href')).toBe('https://kefu.test/api/v1/files/t1/a1?sig=s1');
      expect(image!.getAttribute('target')).toBe('_blank');
      expect(image!.getAttribute('rel')).toContain('noopener');
      const img = image!.querySelector('img')!;
      expect(img.getAttribute('src')).toBe('https://kefu.test/api/v1/files/t1/a1?sig=s1');
      expect(img.getAttribute('alt')).toBe('parcel.png');
      const [chip] = all('[data-testid="kefu-attachment-file"]');
      expect(chip!.getAttribute('href')).toBe('https://kefu.test/api/v1/files/t1/a2?sig=s2');
      expect(chip!.querySelector('img')).toBeNull();
      expect(chip!.querySelector('.fn')!.textContent).toBe('invoice.pdf');
      expect(chip!.querySelector('.fs')!.textContent).toBe('1.2 MB');
      // An attachment-only message has no empty text bubble; one with text keeps it.
      const bubbles = all('[data-testid="kefu-message"][data-author="agent"]');
      expect(bubbles[0]!.querySelector('.b')).toBeNull();
      expect(bubbles[1]!.querySelector('.b')!.textContent).toBe('Your invoice');
      // The thumbnail element survives re-renders (no reload, no flicker).
      s.receive(msg(3, 'agent', 'anything else?', []));
      expect(all('[data-testid="kefu-attachment-image"] img')[0]).toBe(img);
    });

    it('uploads a picked file with the visitor token, then sends its id with the typed text', async () => {
      const created = vi.fn((url: string) => `blob:${url}`);
      vi.stubGlobal('URL', Object.assign(class extends URL {}, { createObjectURL: (f: File) => created(f.name), revokeObjectURL: vi.fn() }));
      let finish: (r: Response) => void = () => undefined;
      const seen: { file?: File; init?: RequestInit } = {};
      uploads((file, init) => {
        Object.assign(seen, { file, init });
        return new Promise<Response>((r) => (finish = r));
      });
      const s = await openConnected();
      const input = q('[data-testid="kefu-input"]') as HTMLTextAreaElement;
      input.value = 'Broken on arrival';
      input.dispatchEvent(new Event('input'));
      pick(new File(['png'], 'parcel.png', { type: 'image/png' }));
      await flush();
      // Shown at once, previewed, marked as uploading; nothing sent yet.
      const pending = q('[data-pending="true"]');
      expect(pending.querySelector('.meta')!.textContent).toContain('Uploading…');
      expect(pending.querySelector('img')!.getAttribute('src')).toBe('blob:parcel.png');
      expect(pending.querySelector('.b')!.textContent).toBe('Broken on arrival');
      expect(input.value).toBe('');
      expect(s.sentOfType('message.send')).toHaveLength(0);
      expect(seen.file!.name).toBe('parcel.png');
      expect((seen.init!.headers as Record<string, string>).Authorization).toBe('Bearer vt-new');
      expect(fetch.mock.calls.find(([u]) => String(u).endsWith('/uploads'))![0]).toBe('https://kefu.test/api/v1/uploads');

      finish(json(201, { ...png, name: 'parcel.png' }));
      await flush();
      const send = s.sentOfType('message.send');
      expect(send).toHaveLength(1);
      expect(send[0]).toMatchObject({ body: 'Broken on arrival', attachments: ['a1'] });
      expect(q('[data-pending="true"] .meta')!.textContent).toContain('Sending…');
      expect(JSON.parse(localStorage.getItem('kefu:wk1:outbox')!)[0]).toMatchObject({ body: 'Broken on arrival', attachments: [{ id: 'a1' }] });
      s.receive({ type: 'ack', client_id: send[0]!.client_id, conversation_id: 'c1', seq: 1, message_id: 'm1' });
      expect(q('[data-pending="true"]')).toBeNull();
      expect(q('[data-testid="kefu-attachment-image"]').getAttribute('href')).toBe('https://kefu.test/api/v1/files/t1/a1?sig=s1');
      expect(localStorage.getItem('kefu:wk1:outbox')).toBeNull();
    });

    it('says inline when a file is over 10 MB, in English and Chinese', async () => {
      uploads(() => json(413, { error: { code: 'too_large', message: 'file is over 10 MiB' } }));
      let s = await openConnected();
      // Refused before uploading: the text stays in the box.
      const big = new File(['x'], 'movie.mp4', { type: 'video/mp4' });
      Object.defineProperty(big, 'size', { value: 10 * 1024 * 1024 + 1 });
      const input = q('[data-testid="kefu-input"]') as HTMLTextAreaElement;
      input.value = 'see video';
      pick(big);
      const err = q('[data-testid="kefu-compose-error"]');
      expect(err.hidden).toBe(false);
      expect(err.textContent).toBe('File is over 10 MB');
      expect(input.value).toBe('see video');
      expect(fetch.mock.calls.some(([u]) => String(u).endsWith('/uploads'))).toBe(false);
      // The server's 413: the bubble says so, and nothing is sent.
      pick(new File(['x'], 'scan.tiff', { type: 'image/tiff' }));
      await flush();
      const failed = q('[data-testid="kefu-message"].failed');
      expect(failed.querySelector('.meta')!.textContent).toBe('File is over 10 MB');
      expect(s.sentOfType('message.send')).toHaveLength(0);

      widget!.destroy();
      localStorage.clear();
      s = await openConnected('zh-CN');
      pick(big);
      expect(q('[data-testid="kefu-compose-error"]').textContent).toBe('文件超过 10 MB');
      void s;
    });

    it('retries a failed upload with a tap', async () => {
      let fail = true;
      uploads((f) => (fail ? json(503, { error: { code: 'internal', message: 'busy' } }) : json(201, { ...pdf, name: f.name })));
      const s = await openConnected();
      pick(new File(['%PDF'], 'invoice.pdf', { type: 'application/pdf' }));
      await flush();
      const failed = q('[data-testid="kefu-message"].failed');
      expect(failed.querySelector('.meta')!.textContent).toBe('Upload failed. Tap to retry.');
      fail = false;
      failed.click();
      await flush();
      expect(s.sentOfType('message.send')[0]).toMatchObject({ body: '', attachments: ['a2'] });
    });
  });

  describe('bot answers', () => {
    const botMsg = (seq: number, body: string, client_id = '') => ({
      type: 'message.new',
      conversation_id: 'c1',
      seq,
      message: {
        id: `m${seq}`,
        conversation_id: 'c1',
        seq,
        client_id,
        author: { type: 'bot', id: '', name: 'Bot' },
        body,
        private: false,
        attachments: [],
        created_at: '2024-01-01T00:00:00Z',
      },
    });

    it('shows the holding reply, streams the answer, then keeps only the stored message', async () => {
      const s = await openConnected();
      s.receive(botMsg(2, '思考中，请稍候…'));
      s.receive({ type: 'message.delta', conversation_id: 'c1', stream_id: 'st1', text: '您好，' });
      s.receive({ type: 'message.delta', conversation_id: 'c1', stream_id: 'st1', text: '7 天内可以退货。' });
      await flush();
      const stream = all('[data-testid="kefu-stream"]');
      expect(stream).toHaveLength(1);
      expect(stream[0]!.querySelector('.b')!.textContent).toBe('您好，7 天内可以退货。');
      expect(messages()).toContain('思考中，请稍候…');
      s.receive(botMsg(3, '您好，7 天内可以退货。', 'st1'));
      await flush();
      expect(all('[data-testid="kefu-stream"]')).toHaveLength(0);
      expect(messages().filter((m) => m === '您好，7 天内可以退货。')).toHaveLength(1);
    });

    it('drops a stream that ends without a message', async () => {
      const s = await openConnected();
      s.receive({ type: 'message.delta', conversation_id: 'c1', stream_id: 'st2', text: 'Half an ans' });
      await flush();
      expect(all('[data-testid="kefu-stream"]')).toHaveLength(1);
      s.receive({ type: 'message.delta', conversation_id: 'c1', stream_id: 'st2', text: '', done: true });
      await flush();
      expect(all('[data-testid="kefu-stream"]')).toHaveLength(0);
    });

    it('offers a person once the bot has spoken, and asks for one', async () => {
      const s = await openConnected('zh-CN');
      const btn = q('[data-testid="kefu-human"]') as HTMLButtonElement;
      expect(btn.hidden).toBe(true);
      s.receive(botMsg(2, '您好，我是机器人'));
      await flush();
      expect(btn.hidden).toBe(false);
      expect(btn.textContent).toBe('转人工');
      btn.click();
      expect(s.sentOfType('handoff')[0]).toMatchObject({ type: 'handoff', conversation_id: 'c1' });
      s.receive({ type: 'conversation.updated', conversation: { id: 'c1', status: 'assigned', last_seq: 2, created_at: '', updated_at: '' } });
      await flush();
      expect(btn.hidden).toBe(true);
    });
  });
});
