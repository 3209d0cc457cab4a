// The browser journey of ui.md/design.md against a running Kefu server:
// a business signs up, gets its widget snippet, a visitor writes from the demo
// shop, the agent sees it live, files go both ways (an image from the visitor,
// a document from the agent), the agent replies, and the visitor sees the
// reply, also after a reload. Run by `npm run e2e` with KEFU_URL set (the Makefile does).
//
//   KEFU_URL=http://127.0.0.1:18089 npm run e2e
//   KEFU_SCREENSHOTS=dir    where screenshots go (default tmp/screenshots)
//   CHROMIUM=/path          browser binary (default /usr/bin/chromium)
import { join } from 'node:path';
import { check, journey, rand, sleep } from './lib.mjs';

const { BASE, SHOTS, TIMEOUT, step, shoot, launch, open, cleanPages, finish } = journey('journey');
const account = {
  company: `Journey Tea ${rand}`,
  name: 'Ann Agent',
  email: `ann+${rand}@example.com`,
  password: `correct-horse-${rand}`,
};
const VISITOR_TEXT = 'Hello from the demo';
const REPLY_TEXT = 'Hi, how can I help?';
const state = { key: '', slug: '' };

/** Waits until an <img> has loaded real pixels; returns its natural width. */
async function imageLoaded(locator) {
  await locator.waitFor({ state: 'visible' });
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const w = await locator.evaluate((img) => (img.complete ? img.naturalWidth : 0));
    if (w > 0) return w;
    if (Date.now() > deadline) throw new Error(`image ${await locator.getAttribute('src')} did not load`);
    await sleep(100);
  }
}

const browser = await launch();

try {
  const agent = await open('console');
  const visitor = await open('demo');

  console.log(`journey against ${BASE} (screenshots in ${SHOTS})`);

  await step('landing page links to sign up and log in', async () => {
    await agent.goto(`${BASE}/`);
    await agent.getByTestId('landing-signup').waitFor();
    await agent.getByTestId('landing-login').waitFor();
    await agent.screenshot({ path: join(SHOTS, 'landing-1280.png') });
  });

  await step('signup page renders', async () => {
    await agent.goto(`${BASE}/signup`);
    await agent.getByTestId('signup-form').waitFor();
    await shoot(agent, 'signup');
  });

  await step('a business signs up and lands on the widget page', async () => {
    await agent.getByTestId('signup-company').fill(account.company);
    await agent.getByTestId('signup-name').fill(account.name);
    await agent.getByTestId('signup-email').fill(account.email);
    await agent.getByTestId('signup-password').fill(account.password);
    await agent.getByTestId('signup-submit').click();
    await agent.waitForURL(/\/app\/admin\/widget/);
    const snippet = agent.getByTestId('widget-snippet');
    await snippet.waitFor();
    state.key = (await snippet.getAttribute('data-key')) ?? '';
    check(state.key, 'the snippet has no widget key');
    const text = (await snippet.textContent())?.trim();
    const want = `<script src="${BASE}/widget.js" data-key="${state.key}" async></script>`;
    check(text === want, `snippet is ${JSON.stringify(text)}, want ${JSON.stringify(want)}`);
    const href = await agent.getByTestId('demo-link').getAttribute('href');
    check(href === `/demo?key=${encodeURIComponent(state.key)}`, `demo link is ${href}`);
    state.slug = ((await agent.getByTestId('workspace-slug').textContent()) ?? '').trim();
    await shoot(agent, 'widget-settings');
  });

  await step('the console opens online with an empty inbox', async () => {
    await agent.getByTestId('nav-inbox').click();
    await agent.waitForURL(/\/app$/);
    await agent.getByTestId('inbox').waitFor();
    await agent.locator('[data-testid="presence-switch"][data-status="online"]').waitFor();
    await agent.getByTestId('tab-all').click();
    await agent.getByTestId('inbox-empty').waitFor();
    // Marks this document: a reload would lose it.
    await agent.evaluate(() => {
      window.__journey = 'no-reload';
    });
  });

  await step('the demo page runs no widget for a stranger', async () => {
    await visitor.goto(`${BASE}/demo?key=${encodeURIComponent(state.key)}`);
    await visitor.getByTestId('demo-denied').waitFor();
    await visitor.waitForTimeout(300);
    check((await visitor.getByTestId('kefu-launcher').count()) === 0, 'the widget runs on /demo for someone who is not signed in');
  });

  await step('the demo page runs the widget for the workspace’s own staff', async () => {
    // The owner's session, as if they had opened the demo page from the
    // console in the same browser; the widget's visitor is still a stranger.
    const token = await agent.evaluate(() => localStorage.getItem('kefu:token'));
    check(token, 'the console keeps no session token');
    await visitor.evaluate((t) => localStorage.setItem('kefu:token', t), token);
  });

  await step('a visitor opens the widget on the demo shop and writes', async () => {
    await visitor.goto(`${BASE}/demo?key=${encodeURIComponent(state.key)}`);
    await visitor.getByText('Kefu Demo Shop').first().waitFor();
    const launcher = visitor.getByTestId('kefu-launcher');
    await launcher.waitFor();
    await launcher.click();
    await visitor.locator('[data-testid="kefu-panel"].open').waitFor();
    const input = visitor.getByTestId('kefu-input');
    await input.fill(VISITOR_TEXT);
    await input.press('Enter');
    await visitor.locator('[data-testid="kefu-message"][data-author="visitor"]:not([data-pending])', { hasText: VISITOR_TEXT }).waitFor();
  });

  await step('the default routing flow greets the visitor', async () => {
    await visitor.locator('[data-testid="kefu-message"][data-author="bot"]').first().waitFor();
  });

  await step('the conversation appears in the console without a reload', async () => {
    // The only conversation of this new business; its preview is the latest
    // message, which may already be the bot's greeting.
    const item = agent.locator('[data-testid="conversation-item"]').first();
    await item.waitFor();
    check((await agent.evaluate(() => window.__journey)) === 'no-reload', 'the console page was reloaded');
    const id = await item.getAttribute('data-id');
    await agent.locator(`[data-testid="conversation-item"][data-id="${id}"]`).click();
    await agent.waitForURL(/\/app\/conversations\//);
    await agent.locator('[data-testid="message"][data-author="visitor"]', { hasText: VISITOR_TEXT }).waitFor();
  });

  await step('the thread shows what routing decided, and its trace on a click', async () => {
    // The default flow's run on the new conversation, logged as an event (not a message).
    const event = agent.locator('[data-testid="thread-messages"] [data-testid="routing-event"]').first();
    await event.waitFor({ state: 'visible' });
    const summary = ((await event.getByTestId('routing-summary').textContent()) ?? '').trim();
    check(
      /^Routing \((flow v\d+|default flow)\): Condition: yes → Reply → FAQ answer: not answered → Business hours: open → /.test(summary),
      `routing line reads ${JSON.stringify(summary)}`,
    );
    check(['assign', 'queue'].includes((await event.getAttribute('data-action')) ?? ''), 'the routing line has no assign/queue action');
    await event.getByTestId('routing-event-line').click();
    await event.getByTestId('routing-trace').waitFor();
    const nodes = await event.getByTestId('routing-trace-step').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node')));
    check(nodes[0] === 'start' && nodes.includes('greet'), `trace nodes are ${JSON.stringify(nodes)}`);
    await event.getByTestId('routing-event-line').click();
    await event.getByTestId('routing-trace').waitFor({ state: 'detached' });
  });

  await step('the visitor attaches a PNG and the agent sees its thumbnail', async () => {
    // A 48×32 PNG drawn in the page and handed over as a data URL.
    const dataUrl = await visitor.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 48;
      c.height = 32;
      const g = c.getContext('2d');
      g.fillStyle = '#e4393c';
      g.fillRect(0, 0, 48, 32);
      g.fillStyle = '#fff';
      g.fillRect(8, 8, 32, 16);
      return c.toDataURL('image/png');
    });
    const buffer = Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
    await visitor.getByTestId('kefu-file').setInputFiles({ name: 'parcel.png', mimeType: 'image/png', buffer });
    const mine = visitor.locator('[data-testid="kefu-message"][data-author="visitor"]:not([data-pending])').filter({
      has: visitor.getByTestId('kefu-attachment-image'),
    });
    await mine.waitFor();
    const link = mine.getByTestId('kefu-attachment-image');
    const href = (await link.getAttribute('href')) ?? '';
    check(href.startsWith(`${BASE}/api/v1/files/`), `the widget links the image to ${JSON.stringify(href)}`);
    check((await imageLoaded(link.locator('img'))) === 48, 'the widget thumbnail is not the 48 px image');

    const thumb = agent.locator('[data-testid="message"][data-author="visitor"] [data-testid="attachment-image"] img').first();
    check((await imageLoaded(thumb)) === 48, 'the console thumbnail is not the 48 px image');
    const src = (await thumb.getAttribute('src')) ?? '';
    check(src.startsWith('/api/v1/files/'), `the console shows the image from ${JSON.stringify(src)}`);
    // A click previews the full image; Escape closes it.
    await thumb.click();
    await agent.locator('.ant-image-preview').waitFor({ state: 'visible' });
    await agent.keyboard.press('Escape');
    await agent.locator('.ant-image-preview').waitFor({ state: 'hidden' });
  });

  await step('the agent sends a document and the visitor gets it as a file chip', async () => {
    const assign = agent.getByTestId('assign-me');
    if (await assign.isVisible()) {
      await assign.click();
      await agent.getByTestId('assign-me').waitFor({ state: 'detached' });
    }
    const content = `Order ${rand}: shipped`;
    await agent.getByTestId('composer-file').setInputFiles({ name: `order-${rand}.txt`, mimeType: 'text/plain', buffer: Buffer.from(content) });
    await agent.locator('[data-testid="composer-file-item"][data-status="done"]').waitFor();
    await agent.getByTestId('composer-send').click();
    const sent = agent.locator('[data-testid="message"][data-author="agent"]').filter({ has: agent.getByTestId('attachment-file') });
    await sent.getByTestId('message-sent').waitFor();
    check((await sent.getByTestId('attachment-file').textContent())?.includes(`order-${rand}.txt`), 'the console link has no file name');

    const chip = visitor.locator('[data-testid="kefu-message"][data-author="agent"] [data-testid="kefu-attachment-file"]', { hasText: `order-${rand}.txt` });
    await chip.waitFor();
    check(/\d+ B/.test((await chip.textContent()) ?? ''), 'the file chip shows no size');
    const href = (await chip.getAttribute('href')) ?? '';
    check(href.startsWith(`${BASE}/api/v1/files/`), `the chip links to ${JSON.stringify(href)}`);
    const res = await visitor.request.get(href);
    check(res.ok() && (await res.text()) === content, `the file link answers ${res.status()}`);
    await shoot(agent, 'console-attachments');
    await shoot(visitor, 'widget-attachments');
  });

  await step('the agent replies and the reply is acknowledged', async () => {
    const assign = agent.getByTestId('assign-me');
    if (await assign.isVisible()) {
      await assign.click();
      await agent.getByTestId('assign-me').waitFor({ state: 'detached' });
    }
    const input = agent.getByTestId('composer-input');
    await input.fill(REPLY_TEXT);
    await input.press('Enter');
    const mine = agent.locator('[data-testid="message"][data-author="agent"]', { hasText: REPLY_TEXT });
    await mine.waitFor();
    await mine.getByTestId('message-sent').waitFor();
    check((await input.inputValue()) === '', 'the composer was not cleared');
  });

  await step('the visitor sees the reply in the widget', async () => {
    await visitor.locator('[data-testid="kefu-message"][data-author="agent"]', { hasText: REPLY_TEXT }).waitFor();
  });

  await step('screenshots of the console and the demo shop with the widget', async () => {
    await shoot(agent, 'console');
    await shoot(visitor, 'demo-widget');
  });

  await step('after a reload the widget still shows both messages', async () => {
    await visitor.reload();
    await visitor.getByTestId('kefu-launcher').waitFor();
    const panel = visitor.locator('[data-testid="kefu-panel"].open');
    // The widget reopens itself once its session is back; click only if it
    // does not (a click while it is reopening would close it again).
    await panel.waitFor({ timeout: 5000 }).catch(() => visitor.getByTestId('kefu-launcher').click());
    await panel.waitFor();
    await visitor.locator('[data-testid="kefu-message"][data-author="visitor"]', { hasText: VISITOR_TEXT }).waitFor();
    await visitor.locator('[data-testid="kefu-message"][data-author="agent"]', { hasText: REPLY_TEXT }).waitFor();
    const count = await visitor.locator('[data-testid="kefu-message"]', { hasText: VISITOR_TEXT }).count();
    check(count === 1, `the visitor message shows ${count} times after the reload`);
    await imageLoaded(visitor.locator('[data-testid="kefu-message"][data-author="visitor"] [data-testid="kefu-attachment-image"] img').first());
    await visitor.locator('[data-testid="kefu-message"][data-author="agent"] [data-testid="kefu-attachment-file"]').first().waitFor();
  });

  await step('admin: an owner adds an agent', async () => {
    await agent.getByTestId('nav-admin').click();
    await agent.getByTestId('admin-agents').click();
    await agent.getByTestId('agents-page').waitFor();
    await agent.getByTestId('add-agent').click();
    await agent.getByTestId('agent-email').fill(`bob+${rand}@example.com`);
    await agent.getByTestId('agent-name').fill('Bob Li');
    await agent.getByTestId('agent-password').fill(`bob-password-${rand}`);
    await agent.getByTestId('add-agent-submit').click();
    await agent.locator('.ant-table-row', { hasText: `bob+${rand}@example.com` }).waitFor();
    await agent.getByTestId('add-agent-form').waitFor({ state: 'detached' });
    await shoot(agent, 'agents');
  });

  await step('admin: an API key is created, shown once, and revoked', async () => {
    await agent.getByTestId('admin-api-keys').click();
    await agent.getByTestId('api-keys-page').waitFor();
    await agent.getByTestId('create-api-key').click();
    await agent.getByTestId('api-key-name').fill('Journey CRM');
    await agent.getByTestId('api-key-submit').click();
    const key = ((await agent.getByTestId('new-api-key').textContent()) ?? '').trim();
    check(key.startsWith('kf_'), `the new key is ${JSON.stringify(key)}`);
    await agent.getByTestId('api-key-close').click();
    const row = agent.locator('.ant-table-row', { hasText: 'Journey CRM' });
    await row.waitFor();
    await shoot(agent, 'api-keys');
    await row.getByTestId('revoke-api-key').click();
    await agent.getByTestId('revoke-confirm').click();
    await row.waitFor({ state: 'detached' });
  });

  await step('the console switches to Chinese', async () => {
    await agent.getByTestId('nav-inbox').click();
    await agent.getByTestId('inbox').waitFor();
    await agent.getByTestId('language-switch').click();
    await agent.getByTestId('lang-zh-CN').click();
    await agent.getByTestId('tab-mine').getByText('我的').waitFor();
    await agent.locator('[data-testid="conversation-item"]').first().click();
    await agent.getByTestId('composer-input').waitFor();
    await shoot(agent, 'console-zh');
    await agent.getByTestId('language-switch').click();
    await agent.getByTestId('lang-en').click();
    await agent.getByTestId('tab-mine').getByText('Mine').waitFor();
  });

  await step('the agent logs out and back in and finds the conversation', async () => {
    await agent.getByTestId('logout').click();
    await agent.waitForURL(/\/login/);
    await agent.getByTestId('login-email').fill(account.email);
    await agent.getByTestId('login-password').fill(account.password);
    await agent.getByTestId('login-submit').click();
    await agent.waitForURL(/\/app/);
    await agent.getByTestId('tab-all').click();
    await agent.locator('[data-testid="conversation-item"]', { hasText: REPLY_TEXT }).waitFor();
  });

  await cleanPages(' in either page');
} finally {
  await browser.close();
}

finish();
