// Issue 9, item 7 (nobody available), in real Chromium against the built
// binary: an admin sets business hours and sees whether e-mail is on; with
// no agent online a visitor on the shop's site gets the offline form (the
// header says so, in zh-CN), leaves their e-mail and question; the contact
// carries the e-mail; the agent replies from the console; the visitor has
// left, so the reply is e-mailed (with a link back to the shop) through an
// SMTP server this script runs, to a Kefu this script starts with
// KEFU_SMTP_URL pointing at it.
//
//   node frontend/e2e/offline.mjs            (starts ./bin/kefu on KEFU_OFFLINE_ADDR, default 127.0.0.1:18211)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const ADDR = process.env.KEFU_OFFLINE_ADDR || '127.0.0.1:18211';
const BASE = `http://${ADDR}`;
const BIN = process.env.KEFU_BIN || './bin/kefu';
const SHOTS = process.env.KEFU_SCREENSHOTS || 'tmp/screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.KEFU_E2E_TIMEOUT_MS || 15000);
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const SHOP = 'http://shop.test';
const rand = Math.random().toString(36).slice(2, 8);
const owner = {
  company: `Offline Shop ${rand}`,
  name: 'Olga Owner',
  email: `olga+${rand}@example.com`,
  password: `correct-horse-${rand}`,
};
const visitorEmail = `zhang+${rand}@example.com`;

mkdirSync(SHOTS, { recursive: true });
const results = [];
const pageErrors = [];
let aborted = false;
const pages = {};

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
    await Promise.all(
      Object.entries(pages).map(([label, p]) =>
        p
          .screenshot({
            path: join(SHOTS, `failure-offline-${label}.png`),
            fullPage: true,
          })
          .catch(() => undefined),
      ),
    );
  }
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function rest(method, path, body, token) {
  const res = await fetch(BASE + path, {
    method,
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
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

async function until(what, fn, ms = TIMEOUT) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- a small SMTP server (plain, no auth): what Kefu sends lands here ----
const mails = [];
function startSMTP() {
  return new Promise((resolve) => {
    const srv = createServer((sock) => {
      sock.setEncoding('utf8');
      let buf = '';
      let data = false;
      let cur = { from: '', to: [], raw: '' };
      const reply = (s) => sock.write(`${s}\r\n`);
      reply('220 offline-test ESMTP');
      sock.on('data', (chunk) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\r\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (data) {
            if (line === '.') {
              data = false;
              mails.push(cur);
              cur = { from: '', to: [], raw: '' };
              reply('250 queued');
            } else cur.raw += `${line.startsWith('..') ? line.slice(1) : line}\r\n`;
            continue;
          }
          const cmd = line.slice(0, 4).toUpperCase();
          if (cmd === 'EHLO' || cmd === 'HELO') reply('250 offline-test');
          else if (cmd === 'MAIL') ((cur.from = line), reply('250 ok'));
          else if (cmd === 'RCPT') (cur.to.push(line.replace(/^RCPT TO:\s*<?([^>]*)>?.*$/i, '$1')), reply('250 ok'));
          else if (cmd === 'DATA') ((data = true), reply('354 go ahead'));
          else if (cmd === 'QUIT') (reply('221 bye'), sock.end());
          else if (cmd === 'RSET' || cmd === 'NOOP') reply('250 ok');
          else reply('502 not implemented');
        }
      });
      sock.on('error', () => undefined);
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

/** The decoded text of a base64 text/plain e-mail body. */
function bodyOf(raw) {
  const [, body = ''] = raw.split('\r\n\r\n');
  return Buffer.from(body.replace(/\r\n/g, ''), 'base64').toString('utf8');
}

const smtp = await startSMTP();
const dataDir = mkdtempSync(join(tmpdir(), 'kefu-offline-'));
let serverLog = '';
const server = spawn(BIN, ['serve'], {
  env: {
    ...process.env,
    KEFU_ADDR: ADDR,
    KEFU_DATA_DIR: dataDir,
    KEFU_ALLOW_PRIVATE_NETWORKS: 'true',
    KEFU_DEFAULT_PLAN: 'enterprise',
    KEFU_WIDGET_PER_MINUTE: '600',
    KEFU_SMTP_URL: `smtp://127.0.0.1:${smtp.address().port}`,
    KEFU_SMTP_FROM: 'Kefu <no-reply@kefu.test>',
    KEFU_REPLY_MAIL_DELAY: '1s',
    KEFU_PUBLIC_URL: BASE,
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
server.stdout.on('data', (d) => (serverLog += d));
server.stderr.on('data', (d) => (serverLog += d));
const stopAll = () => {
  server.kill('SIGTERM');
  smtp.close();
};

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights',
  ],
});

try {
  await until('the server', async () => (await fetch(`${BASE}/readyz`).catch(() => null))?.ok, 20000);
  console.log(`offline against ${BASE} (SMTP on ${smtp.address().port}; screenshots in ${SHOTS})`);
  let su;
  let agent;
  let agentCtx;
  await step('the admin sets business hours and sees that e-mail is on', async () => {
    su = await rest('POST', '/api/v1/signup', {
      ...owner,
      language: 'zh-CN',
    });
    await rest('PATCH', '/api/v1/tenant', { allowed_origins: [SHOP] }, su.token);
    agentCtx = await browser.newContext({
      viewport: DESKTOP,
      locale: 'zh-CN',
    });
    agentCtx.setDefaultTimeout(TIMEOUT);
    agent = pages.agent = await agentCtx.newPage();
    agent.on('pageerror', (e) => pageErrors.push(`agent: ${e.message}`));
    await agent.goto(`${BASE}/login?workspace=${encodeURIComponent(su.tenant.slug)}`);
    await agent.getByTestId('login-tenant').fill(su.tenant.slug);
    await agent.getByTestId('login-email').fill(owner.email);
    await agent.getByTestId('login-password').fill(owner.password);
    await agent.getByTestId('login-submit').click();
    await agent.waitForURL(/\/app/);
    await agent.goto(`${BASE}/app/admin/business-hours`);
    await agent.getByTestId('hours-page').waitFor();
    await agent.getByTestId('hours-email-on').waitFor();
    await agent
      .getByRole('button', { name: /7×24|全天|24/ })
      .first()
      .click();
    await agent.getByTestId('hours-save').click();
    await until('the saved hours', async () => (await agent.getByTestId('hours-status').textContent())?.includes('服务中'));
    const h = await rest('GET', '/api/v1/business-hours', undefined, su.token);
    check(h.configured && h.enabled && h.open_now === true && h.email_configured === true, `hours: ${JSON.stringify(h)}`);
    await shoot(agent, 'offline-admin-hours');
  });

  let shop;
  let conv = '';
  let visitorId = '';
  await step('nobody online: the widget offers the form in zh-CN, the visitor leaves e-mail and question', async () => {
    // The owner's console counts as an online agent: it closes (their tab is gone).
    await agent.close();
    delete pages.agent;
    const cfg = await until('nobody online', async () => {
      const c = await rest('GET', `/api/v1/widget/config?key=${su.tenant.widget_key}`);
      return c.agents_online === 0 ? c : null;
    });
    check(cfg.offline === true && cfg.agents_online === 0, `config: ${JSON.stringify(cfg)}`);
    const ctx = await browser.newContext({
      viewport: DESKTOP,
      locale: 'zh-CN',
    });
    ctx.setDefaultTimeout(TIMEOUT);
    await ctx.route(`${SHOP}/**`, (route) =>
      route.fulfill({
        contentType: 'text/html; charset=utf-8',
        body: `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>小店</title></head><body><h1>小店</h1><script src="${BASE}/widget.js" data-key="${su.tenant.widget_key}" async></script></body></html>`,
      }),
    );
    shop = pages.shop = await ctx.newPage();
    shop.on('pageerror', (e) => pageErrors.push(`shop: ${e.message}`));
    await shop.goto(`${SHOP}/cart`);
    await shop.getByTestId('kefu-launcher').click();
    await shop.getByTestId('kefu-offline').waitFor();
    const sub = await shop.getByTestId('kefu-sub').textContent();
    check(sub.includes('客服暂时不在'), `header: ${sub}`);
    check(!/few minutes|几分钟/.test(sub), `a promise the numbers do not back: ${sub}`);
    await shop.getByTestId('kefu-offline-email').fill('not-an-address');
    await shop.getByTestId('kefu-offline-send').click();
    await shop.getByTestId('kefu-offline-email-error').filter({ hasText: '邮箱' }).waitFor();
    await shoot(shop, 'offline-widget-form');
    await shop.getByTestId('kefu-offline-name').fill('张三');
    await shop.getByTestId('kefu-offline-email').fill(visitorEmail);
    await shop.getByTestId('kefu-offline-message').fill('我的包裹到哪了？');
    await shop.getByTestId('kefu-offline-send').click();
    await shop.getByTestId('kefu-offline-thanks').waitFor();
    await shop.locator('[data-testid="kefu-message"][data-author="visitor"]').filter({ hasText: '我的包裹到哪了？' }).waitFor();
    await shoot(shop, 'offline-widget-thanks');
    const list = await rest('GET', '/api/v1/conversations?limit=5', undefined, su.token);
    conv = list.conversations[0].id;
    visitorId = list.conversations[0].visitor.id;
    check(list.conversations[0].visitor.email === visitorEmail, `conversation's visitor: ${JSON.stringify(list.conversations[0].visitor)}`);
  });

  await step('the contact carries the e-mail', async () => {
    const c = await rest('GET', `/api/v1/contacts/${visitorId}`, undefined, su.token);
    const email = c.email ?? c.contact?.email;
    check(email === visitorEmail, `contact: ${JSON.stringify(c)}`);
  });

  await step('the visitor leaves; the agent replies from the console; the reply is e-mailed with a link back', async () => {
    await shop.context().close();
    delete pages.shop;
    agent = pages.agent = await agentCtx.newPage();
    agent.on('pageerror', (e) => pageErrors.push(`agent: ${e.message}`));
    await agent.goto(`${BASE}/app/conversations/${conv}`);
    const composer = agent.getByTestId('composer-input');
    await composer.waitFor();
    await composer.fill('已发货，单号 SF123，预计明天送达。');
    await composer.press('Enter');
    await agent.getByText('已发货，单号 SF123，预计明天送达。').first().waitFor();
    const mail = await until('the reply e-mail', async () => mails.find((m) => m.to.includes(visitorEmail)), 20000);
    const text = bodyOf(mail.raw);
    check(text.includes('已发货，单号 SF123，预计明天送达。'), `body: ${text}`);
    check(text.includes(`${SHOP}/cart`), `no link back to the shop: ${text}`);
    check(/Subject: =\?utf-8\?b\?/i.test(mail.raw), 'subject not encoded');
    await shoot(agent, 'offline-agent-replied');
  });
} finally {
  await browser.close();
  stopAll();
  rmSync(dataDir, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok);
if (pageErrors.length) console.log(`page errors:\n  ${pageErrors.join('\n  ')}`);
if (failed.length || pageErrors.length) {
  console.log(`offline: ${failed.length} step(s) failed\n--- server log ---\n${serverLog.slice(-4000)}`);
  process.exit(1);
}
console.log(`offline: ${results.length} steps passed (${mails.length} e-mail(s) received)`);
