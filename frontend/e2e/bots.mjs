// The bots' browser journey against a running Kefu server (started with
// KEFU_ALLOW_PRIVATE_NETWORKS=true: the fake model listens on loopback):
// an admin adds an FAQ entry and tries a question; a visitor on the demo
// page asks a paraphrase and gets the answer; the admin connects a model
// (a slow fake OpenAI-compatible server this script runs) and tests it; with
// an llm flow published, the widget shows the holding reply, then the answer
// streaming in, then the stored answer. Run by `npm run e2e:bots` with
// KEFU_URL set (the Makefile does).
import { createServer } from 'node:http';
import { join } from 'node:path';
import { check, journey, rand } from './lib.mjs';

const { BASE, SHOTS, step, rest, shoot, launch, open, cleanPages, finish } = journey('bots');
const account = { company: `Bots Tea ${rand}`, name: 'Ada Admin', email: `ada+${rand}@example.com`, password: `correct-horse-${rand}` };
const FAQ_Q = '退货政策是什么? / What is the return policy?';
const FAQ_A = '收货 7 天内可无理由退货。';
const HOLDING = '思考中，请稍候…';
const ANSWER = '您好！鞋子收货后 7 天内未穿着可以退货，请在订单页申请。';
const state = { token: '', key: '', slug: '' };
/** The REST API as the admin. */
const api = (method, path, body) => rest(method, path, body, state.token);

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

const model = await fakeModel();
const modelURL = `http://127.0.0.1:${model.address().port}/v1`;
const browser = await launch();

try {
  const admin = await open('bots-admin');
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
    // The context holds the admin's session, as if they opened the demo page
    // from the console (the demo page runs the widget only for its
    // workspace's staff; the widget's visitor is still a stranger).
    const visitor = await open('bots-demo', { locale: 'zh-CN', token: state.token });
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
    const visitor = await open('bots-demo', { locale: 'zh-CN', token: state.token });
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

  await cleanPages(' in any page');
} finally {
  await browser.close();
  model.close();
}

finish();
