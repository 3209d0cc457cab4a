import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '../src/test/fakeSocket';
import { checkForm, offlineStrings, opensText, subline, waitText } from './offline';
import { KefuWidget } from './widget';
import type { WidgetConfig } from '../src/api/types';

const en = offlineStrings('en');
const zh = offlineStrings('zh-CN');
const now = new Date(2026, 11, 7, 20, 0); // a Monday evening, local time

describe('the header line never promises what the numbers do not say', () => {
  const cfg = (over: Partial<WidgetConfig>): WidgetConfig => ({
    tenant_name: 'Acme',
    agents_online: 2,
    offline: false,
    business_hours: null,
    queue: { length: 0, expected_wait_seconds: null },
    ...over,
  });

  it('with 95 queued and a known interval it says the real wait, not "a few minutes"', () => {
    const text = subline(en, {
      config: cfg({ queue: { length: 95, expected_wait_seconds: 96 * 60 } }),
      position: 0,
      wait: null,
      now,
    });
    expect(text).toBe('Expected wait about 1 h 36 min');
    expect(text).not.toMatch(/few minutes/);
  });
  it('without data it states only facts', () => {
    expect(
      subline(en, {
        config: cfg({ queue: { length: 95, expected_wait_seconds: null } }),
        position: 0,
        wait: null,
        now,
      }),
    ).toBe('95 waiting ahead of you');
    expect(subline(en, { config: cfg({}), position: 0, wait: null, now })).toBe('We are online');
  });
  it('gives the place in line with its estimate, or the place alone when unknown', () => {
    expect(subline(en, { config: cfg({}), position: 3, wait: 180, now })).toBe('You are number 3 in line · about 3 min');
    expect(subline(zh, { config: cfg({}), position: 3, wait: null, now })).toBe('您前面还有 3 位');
  });
  it("closed: says when it opens in the visitor's local time", () => {
    const next = new Date(2026, 11, 8, 9, 0).toISOString();
    const closed = cfg({
      offline: true,
      business_hours: {
        open_now: false,
        next_open_at: next,
        timezone: 'Asia/Shanghai',
        schedule: {},
      },
    });
    expect(subline(en, { config: closed, position: 0, wait: null, now, lang: 'en' })).toBe('Closed now · opens tomorrow at 09:00');
    expect(
      subline(zh, {
        config: closed,
        position: 0,
        wait: null,
        now,
        lang: 'zh-CN',
      }),
    ).toBe('当前非工作时间 · 明天 09:00 开始服务');
  });
  it('nobody online: away', () => {
    expect(
      subline(zh, {
        config: cfg({ agents_online: 0, offline: true }),
        position: 0,
        wait: null,
        now,
      }),
    ).toBe(zh.away);
  });
  it('words for waits and openings', () => {
    expect(waitText(en, 20)).toBe('under a minute');
    expect(waitText(zh, 600)).toBe('10 分钟');
    expect(opensText(new Date(2026, 11, 7, 21, 30).toISOString(), now, 'en')).toBe('at 21:30');
    expect(opensText(new Date(2026, 11, 10, 9, 0).toISOString(), now, 'en')).toMatch(/^Thu.* at 09:00$/);
  });
  it('checks the form: a real e-mail and a message', () => {
    expect(checkForm(en, { name: '', email: 'nope', message: ' ' })).toEqual({
      email: en.badEmail,
      message: en.noMessage,
    });
    expect(checkForm(en, { name: '', email: 'li@example.com', message: 'hi' })).toEqual({});
  });
});

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}
async function flush() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}

describe('KefuWidget when nobody is available', () => {
  let fetch: ReturnType<typeof vi.fn>;
  let widget: KefuWidget | null = null;
  let offlineBody: Record<string, unknown> | null = null;

  beforeEach(() => {
    FakeSocket.reset();
    vi.stubGlobal('WebSocket', class extends FakeSocket {});
    offlineBody = null;
    fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url.includes('/widget/config'))
        return json(200, {
          tenant_name: 'Acme Tea',
          agents_online: 0,
          offline: true,
          business_hours: null,
          queue: { length: 0, expected_wait_seconds: null },
        });
      if (url.endsWith('/widget/sessions')) return json(201, { visitor_id: 'v1', visitor_token: 'vt-1' });
      if (url.endsWith('/widget/offline')) {
        offlineBody = JSON.parse(String(init?.body));
        return json(201, {
          visitor_id: 'v1',
          visitor_token: 'vt-1',
          conversation_id: 'c9',
          email_configured: true,
          message: {},
        });
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
  const q = (sel: string) => widget!.host.shadowRoot!.querySelector(sel) as HTMLElement | null;

  it('offers the form, checks it, sends it with the session token, then thanks and drops the form', async () => {
    widget = new KefuWidget({
      key: 'wk1',
      origin: 'https://kefu.test',
      lang: 'en',
    });
    await widget.start();
    await flush();
    expect(q('[data-testid="kefu-sub"]')!.textContent).toBe(en.away);
    expect(q('[data-testid="kefu-offline"]')).not.toBeNull();
    q('[data-testid="kefu-launcher"]')!.click();
    await flush();
    (q('[data-testid="kefu-offline-email"]') as HTMLInputElement).value = 'not an address';
    q('[data-testid="kefu-offline-send"]')!.click();
    await flush();
    expect(q('[data-testid="kefu-offline-email-error"]')!.textContent).toBe(en.badEmail);
    expect(q('[data-testid="kefu-offline-message-error"]')!.textContent).toBe(en.noMessage);
    expect(offlineBody).toBeNull();

    (q('[data-testid="kefu-offline-name"]') as HTMLInputElement).value = 'Li Lei';
    (q('[data-testid="kefu-offline-email"]') as HTMLInputElement).value = 'li@example.com';
    (q('[data-testid="kefu-offline-message"]') as HTMLTextAreaElement).value = 'Do you ship to Hangzhou?';
    q('[data-testid="kefu-offline-send"]')!.click();
    await flush();
    expect(offlineBody).toMatchObject({
      widget_key: 'wk1',
      visitor_token: 'vt-1',
      name: 'Li Lei',
      email: 'li@example.com',
      message: 'Do you ship to Hangzhou?',
    });
    expect(q('[data-testid="kefu-offline"]')).toBeNull();
    expect(q('[data-testid="kefu-offline-thanks"]')!.textContent).toContain('li@example.com');
  });

  it('shows the place in line with its estimate and clears it once assigned', async () => {
    widget = new KefuWidget({
      key: 'wk1',
      origin: 'https://kefu.test',
      lang: 'zh-CN',
    });
    await widget.start();
    q('[data-testid="kefu-launcher"]')!.click();
    await flush();
    const s = FakeSocket.last;
    s.open();
    s.receive({ type: 'welcome', session_id: 's', conversations: [] });
    s.receive({
      type: 'queue',
      conversation_id: 'c1',
      position: 4,
      estimated_wait_seconds: 240,
    });
    expect(q('[data-testid="kefu-sub"]')!.textContent).toBe('您前面还有 4 位 · 预计约 4 分钟');
    s.receive({
      type: 'conversation.updated',
      conversation: {
        id: 'c1',
        status: 'assigned',
        visitor: { id: 'v1' },
        last_seq: 3,
        created_at: '',
        updated_at: '',
      },
    });
    expect(q('[data-testid="kefu-sub"]')!.textContent).not.toContain('4');
  });
});
