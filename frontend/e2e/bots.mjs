// The bots' browser journey against a running Kefu server (started with
// KEFU_ALLOW_PRIVATE_NETWORKS=true: the fake model listens on loopback):
// an admin adds an FAQ entry and tries a question; a visitor on the demo
// page asks a paraphrase and gets the answer; the admin connects a model
// (a slow fake OpenAI-compatible server this script runs) and tests it; with
// an llm flow published, the widget shows the holding reply, then the answer
// streaming in, then the stored answer. Run by `npm run e2e:bots` with
// KEFU_URL set (the Makefile does).
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.KEFU_URL ?? '').replace(/\/$/, '');
if (!BASE) {
  console.error('bots: KEFU_URL is not set. Start a server and run e.g. KEFU_URL=http://127.0.0.1:18089 npm run e2e:bots');
  process.exit(2);
}
const SHOTS = process.env.KEFU_SCREENSHOTS || 'tmp/screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.KEFU_E2E_TIMEOUT_MS || 15000);
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const rand = Math.random().toString(36).slice(2, 8);
const account = { company: `Bots Tea ${rand}`, name: 'Ada Admin', email: `ada+${rand}@example.com`, password: `correct-horse-${rand}` };
const FAQ_Q = '退货政策是什么? / What is the return policy?';
const FAQ_A = '收货 7 天内可无理由退货。';
const HOLDING = '思考中，请稍候…';
const ANSWER = '您好！鞋子收货后 7 天内未穿着可以退货，请在订单页申请。';

mkdirSync(SHOTS, { recursive: true });
const results = [];
const pageErrors = [];
let aborted = false;
const state = { admin: null, visitor: null, token: '', key: '', slug: '' };

async function step(name, fn) {
  if (aborted) {
    results.push({ name, ok: false, skipped: true });
    console.log(`  - ${name} (skipped)`);
    return;
  }
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`  ✓ ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    results.push({ name, ok: false });
    aborted = true;
    console.log(
      `  ✗ ${name}\n    ${String(err?.stack ?? err)
        .split('\n')
        .slice(0, 6)
        .join('\n    ')}`,
    );
    for (const [label, page] of [
      ['bots-admin', state.admin],
      ['bots-demo', state.visitor],
    ]) {
      await page?.screenshot({ path: join(SHOTS, `failure-${label}.png`), fullPage: true }).catch(() => undefined);
    }
  }
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function shoot(page, name) {
  for (const [label, size] of [
    ['1280', DESKTOP],
    ['390', PHONE],
  ]) {
    await page.setViewportSize(size);
    await page.waitForTimeout(250);
    await page.screenshot({ path: join(SHOTS, `${name}-${label}.png`) });
  }
  await page.setViewportSize(DESKTOP);
}

async function api(method, path, body) {
  const res = await fetch(BASE + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(state.token ? { Authorization: `Bearer ${state.token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// A fake OpenAI-compatible model: it streams ANSWER in pieces after 1.5 s
// (a test of the connection is answered at once).
function fakeModel() {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', async () => {
      if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(raw || '{}');
      const isTest = JSON.stringify(body.messages ?? []).includes('single word OK');
      const text = isTest ? 'OK' : ANSWER;
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const chunk = (delta, finish = null) =>
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      if (!isTest) await sleep(1500);
      const parts = isTest ? [text] : [text.slice(0, 8), text.slice(8, 16), text.slice(16, 24), text.slice(24)];
      for (const p of parts) {
        res.write(chunk({ content: p }));
        if (!isTest) await sleep(300);
      }
      res.write(chunk({}, 'stop'));
      res.write(
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage: { prompt_tokens: 30, completion_tokens: 20, total_tokens: 50 } })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// A browser context that reports CSP violations; with staff, it holds the
// admin's session, as if they opened the demo page from the console (the
// demo page runs the widget only for its workspace's staff; the widget's
// visitor is still a stranger).
async function newContext(locale, staff) {
  const ctx = await browser.newContext({ viewport: DESKTOP, locale });
  ctx.setDefaultTimeout(TIMEOUT);
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      console.error(`csp-violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} in ${e.sourceFile || location.pathname}`),
    );
  });
  if (staff) await ctx.addInitScript((t) => localStorage.setItem('kefu:token', t), state.token);
  return ctx;
}

function watch(page, who) {
  page.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && m.text().startsWith('csp-violation')) pageErrors.push(`${who}: ${m.text()}`);
  });
  return page;
}

const model = await fakeModel();
const modelURL = `http://127.0.0.1:${model.address().port}/v1`;
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });

try {
  const adminCtx = await newContext('en-US', false);
  const admin = (state.admin = watch(await adminCtx.newPage(), 'admin'));
  console.log(`bots journey against ${BASE} (fake model at ${modelURL}; screenshots in ${SHOTS})`);

  await step('a business signs up and its admin logs in', async () => {
    const r = await api('POST', '/api/v1/signup', account);
    state.token = r.token;
    state.key = r.tenant.widget_key;
    state.slug = r.tenant.slug;
    await admin.goto(`${BASE}/login`);
    // By e-mail alone: the server finds the workspace.
    await admin.getByTestId('login-email').waitFor();
    await admin.getByTestId('login-email').fill(account.email);
    await admin.getByTestId('login-password').fill(account.password);
    await admin.getByTestId('login-submit').click();
    await admin.waitForURL(/\/app/);
  });

  await step('the admin adds an FAQ entry on the FAQ page', async () => {
    await admin.goto(`${BASE}/app/admin/faq`);
    await admin.getByTestId('faq-page').waitFor();
    await admin.getByTestId('faq-add').click();
    await admin.getByTestId('faq-question-input').fill(FAQ_Q);
    await admin.getByTestId('faq-answer-input').fill(FAQ_A);
    await admin.getByTestId('faq-alternates-input').fill('怎么退货\nHow do I return an item?');
    await admin.getByTestId('faq-save').click();
    await admin.locator('[data-testid="faq-question"]', { hasText: FAQ_Q }).waitFor();
  });

  await step('trying a paraphrase shows the entry and its score', async () => {
    await admin.getByTestId('faq-try-input').fill('请问怎么退货?');
    await admin.getByTestId('faq-try-run').click();
    const answer = admin.getByTestId('faq-try-answer');
    await answer.waitFor();
    check((await answer.textContent()).includes(FAQ_A), 'the try box does not show the answer');
    await admin.getByTestId('faq-try-input').fill('你们有实体店吗?');
    await admin.getByTestId('faq-try-run').click();
    await admin.getByTestId('faq-try-none').waitFor();
    await admin.getByTestId('faq-try-input').fill('请问怎么退货?');
    await admin.getByTestId('faq-try-run').click();
    await admin.getByTestId('faq-try-answer').waitFor();
    await shoot(admin, 'faq');
  });

  await step('a visitor on the demo page asks a paraphrase and gets the FAQ answer', async () => {
    const ctx = await newContext('zh-CN', true);
    const visitor = (state.visitor = watch(await ctx.newPage(), 'demo'));
    await visitor.goto(`${BASE}/demo?key=${encodeURIComponent(state.key)}`);
    await visitor.getByTestId('kefu-launcher').click();
    await visitor.locator('[data-testid="kefu-panel"].open').waitFor();
    const input = visitor.getByTestId('kefu-input');
    await input.fill('请问怎么退货?');
    await input.press('Enter');
    await visitor.locator('[data-testid="kefu-message"][data-author="bot"]', { hasText: FAQ_A }).waitFor();
    await shoot(visitor, 'widget-faq-answer');
  });

  await step('the admin connects a model and tests the connection', async () => {
    await admin.goto(`${BASE}/app/admin/bots`);
    await admin.getByTestId('bots-page').waitFor();
    await admin.getByTestId('bots-base-url').fill(modelURL);
    await admin.getByTestId('bots-model-name').fill('fake-slow-1');
    await admin.getByTestId('bots-api-key').fill('sk-e2e-secret');
    await admin.getByTestId('bots-save').click();
    await admin.getByText('A key is stored (encrypted)').first().waitFor();
    check((await admin.getByTestId('bots-api-key').inputValue()) === '', 'the key stays in the form after saving');
    await admin.getByTestId('bots-test').click();
    const result = admin.getByTestId('bots-test-result');
    await result.waitFor();
    check((await result.textContent()).includes('Connected'), `test result: ${await result.textContent()}`);
    await shoot(admin, 'bots-settings');
  });

  await step('with an llm flow, the widget shows the holding reply, then the streamed answer', async () => {
    const graph = {
      nodes: [
        { id: 'start', type: 'start', position: { x: 0, y: 0 } },
        { id: 'ask', type: 'llm', data: { timeout_ms: 500, fallback_text: HOLDING }, position: { x: 0, y: 120 } },
        { id: 'person', type: 'assign', data: { strategy: 'round_robin' }, position: { x: 0, y: 240 } },
      ],
      edges: [
        { id: 'e1', source: 'start', target: 'ask' },
        { id: 'e2', source: 'ask', target: 'person', label: 'handoff' },
      ],
    };
    const f = await api('POST', '/api/v1/flows', { name: 'Model first', graph });
    await api('POST', `/api/v1/flows/${f.id}/publish`);
    const ctx = await newContext('zh-CN', true);
    const visitor = (state.visitor = watch(await ctx.newPage(), 'demo'));
    await visitor.goto(`${BASE}/demo?key=${encodeURIComponent(state.key)}`);
    await visitor.getByTestId('kefu-launcher').click();
    await visitor.locator('[data-testid="kefu-panel"].open').waitFor();
    const input = visitor.getByTestId('kefu-input');
    await input.fill('我买的鞋子能退吗?');
    await input.press('Enter');
    await visitor.locator('[data-testid="kefu-message"][data-author="bot"]', { hasText: HOLDING }).waitFor();
    const stream = visitor.getByTestId('kefu-stream');
    await stream.waitFor();
    const partial = (await stream.textContent()) ?? '';
    check(partial.length > 0, 'the stream shows no text');
    await visitor.screenshot({ path: join(SHOTS, 'widget-streaming-1280.png') });
    await visitor.locator('[data-testid="kefu-message"][data-author="bot"]', { hasText: ANSWER }).waitFor();
    await stream.waitFor({ state: 'detached' });
    check(await visitor.getByTestId('kefu-human').isVisible(), 'no talk-to-a-person button once the bot has spoken');
    await shoot(visitor, 'widget-llm-answer');
    // A reload replays the whole answer, not a fragment.
    await visitor.reload();
    await visitor.getByTestId('kefu-launcher').click();
    await visitor.locator('[data-testid="kefu-message"][data-author="bot"]', { hasText: ANSWER }).waitFor();
  });

  await step('the Chinese admin pages render', async () => {
    await admin.evaluate(() => localStorage.setItem('kefu:lang', 'zh-CN'));
    await admin.goto(`${BASE}/app/admin/faq`);
    await admin.getByTestId('faq-page').waitFor();
    await shoot(admin, 'faq-zh');
  });

  await step('no uncaught errors or Content-Security-Policy violations in any page', async () => {
    check(pageErrors.length === 0, `page errors:\n${pageErrors.join('\n')}`);
  });
} finally {
  await browser.close();
  model.close();
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`bots: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
