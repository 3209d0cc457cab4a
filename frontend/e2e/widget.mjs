// The visitor's side of issue 9 against a running Kefu server: a visitor on a
// shop's own site (a real origin, served by the browser's router) writes, the
// agent resolves, the widget asks for a rating, and the agent sees it in the
// console; the same in zh-CN, with no English word on the widget but what
// the visitor typed.
//
//   KEFU_URL=http://127.0.0.1:18139 node frontend/e2e/widget.mjs
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.KEFU_URL ?? '').replace(/\/$/, '');
if (!BASE) {
  console.error('widget: KEFU_URL is not set');
  process.exit(2);
}
const SHOTS = process.env.KEFU_SCREENSHOTS || 'tmp/screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.KEFU_E2E_TIMEOUT_MS || 15000);
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
// The shop's own site, served by the browser's router (Chromium's local
// network checks are off: this public-looking origin calls a loopback server).
const SHOP = 'http://shop.test';
const rand = Math.random().toString(36).slice(2, 8);
const owner = {
  company: `Widget Shop ${rand}`,
  name: 'Olga Owner',
  email: `olga+${rand}@example.com`,
  password: `correct-horse-${rand}`,
};

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
            path: join(SHOTS, `failure-widget-${label}.png`),
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

/** A page of the shop's own site (its own origin) that embeds the widget. */
async function shopPage(ctx, widgetKey, lang) {
  await ctx.route(`${SHOP}/**`, (route) =>
    route.fulfill({
      contentType: 'text/html; charset=utf-8',
      body: `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>Shop</title></head><body><h1>Shop</h1><script src="${BASE}/widget.js" data-key="${widgetKey}" async></script></body></html>`,
    }),
  );
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(`shop: ${e.message}`));
  await page.goto(`${SHOP}/`);
  return page;
}

/** Everything the widget shows, as text (its shadow root included). */
function widgetText(page) {
  return page.evaluate(() => {
    const host = document.querySelector('kefu-widget');
    const walk = (n) => {
      let s = '';
      for (const c of n.childNodes) {
        if (c.nodeType === 3) s += ` ${c.textContent}`;
        else if (c.nodeType === 1 && c.tagName !== 'STYLE' && c.tagName !== 'SCRIPT') {
          for (const a of ['aria-label', 'placeholder', 'title']) if (c.getAttribute(a)) s += ` ${c.getAttribute(a)}`;
          s += walk(c);
        }
      }
      return s;
    };
    return host?.shadowRoot ? walk(host.shadowRoot) : '';
  });
}

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
  console.log(`widget against ${BASE} (screenshots in ${SHOTS})`);
  let su;
  await step('a business signs up and its owner has the console open', async () => {
    su = await rest('POST', '/api/v1/signup', owner);
    const ctx = await browser.newContext({
      viewport: DESKTOP,
      locale: 'en-US',
    });
    ctx.setDefaultTimeout(TIMEOUT);
    const agent = (pages.agent = await ctx.newPage());
    agent.on('pageerror', (e) => pageErrors.push(`agent: ${e.message}`));
    await agent.goto(`${BASE}/login?workspace=${encodeURIComponent(su.tenant.slug)}`);
    await agent.getByTestId('login-email').fill(owner.email);
    await agent.getByTestId('login-password').fill(owner.password);
    await agent.getByTestId('login-submit').click();
    await agent.waitForURL(/\/app/);
    await agent.getByTestId('inbox').waitFor();
  });

  let conv = '';
  await step('a visitor on the shop writes, the agent resolves, the widget asks for a rating', async () => {
    const ctx = await browser.newContext({
      viewport: DESKTOP,
      locale: 'en-US',
    });
    ctx.setDefaultTimeout(TIMEOUT);
    const shop = (pages.shop = await shopPage(ctx, su.tenant.widget_key, 'en'));
    await shop.getByTestId('kefu-launcher').click();
    await shop.getByTestId('kefu-input').fill('My order never came');
    await shop.getByTestId('kefu-send').click();
    await shop.locator('[data-testid="kefu-message"][data-author="visitor"]:not([data-pending])').first().waitFor();
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      const list = await rest('GET', '/api/v1/conversations?limit=5', undefined, su.token);
      conv = list.conversations[0]?.id ?? '';
      if (conv) break;
      check(Date.now() < deadline, 'no conversation reached the server');
      await new Promise((r) => setTimeout(r, 100));
    }
    await rest('POST', `/api/v1/conversations/${conv}/resolve`, undefined, su.token);
    await shop.getByTestId('kefu-csat').waitFor();
    await shoot(shop, 'widget-csat');
  });

  await step('the visitor gives four stars and a comment; the widget thanks them', async () => {
    const shop = pages.shop;
    await shop.getByTestId('kefu-star-4').click();
    await shop.getByTestId('kefu-csat-comment').fill('Quick and kind');
    await shop.getByTestId('kefu-csat-send').click();
    await shop.getByTestId('kefu-csat-thanks').waitFor();
    check((await shop.getByTestId('kefu-csat').count()) === 0, 'the rating card stays after the rating');
    const c = await rest('GET', `/api/v1/conversations/${conv}`, undefined, su.token);
    check(c.csat?.score === 4 && c.csat?.comment === 'Quick and kind', `stored ${JSON.stringify(c.csat)}`);
  });

  await step('the agent sees the rating on the conversation', async () => {
    const agent = pages.agent;
    await agent.goto(`${BASE}/app/conversations/${conv}`);
    const rated = agent.locator('[data-testid="visitor-csat"][data-score="4"]');
    await rated.waitFor();
    check(/Quick and kind/.test((await rated.textContent()) ?? ''), 'the comment is not shown');
    await shoot(agent, 'console-csat');
  });

  await step('a zh-CN visitor sees no English in the widget, the rating card included', async () => {
    const ctx = await browser.newContext({
      viewport: DESKTOP,
      locale: 'zh-CN',
    });
    ctx.setDefaultTimeout(TIMEOUT);
    // A business of its own that signed up in Chinese (its greeting and
    // names are Chinese); the tenant's name and people's names are its content.
    const zsu = await rest('POST', '/api/v1/signup', {
      company: `茶馆${rand}`,
      name: '王经理',
      email: `wang+${rand}@example.com`,
      password: owner.password,
      language: 'zh-CN',
    });
    const shop = (pages.zh = await shopPage(ctx, zsu.tenant.widget_key, 'zh-CN'));
    await shop.getByTestId('kefu-launcher').click();
    await shop.getByTestId('kefu-input').fill('你好，我的快递到哪了');
    await shop.getByTestId('kefu-send').click();
    await shop.locator('[data-testid="kefu-message"][data-author="visitor"]:not([data-pending])').first().waitFor();
    let zconv = '';
    const deadline = Date.now() + TIMEOUT;
    while (!zconv) {
      const list = await rest('GET', '/api/v1/conversations?limit=5', undefined, zsu.token);
      zconv = list.conversations[0]?.id ?? '';
      check(zconv || Date.now() < deadline, 'no conversation reached the server');
      await new Promise((r) => setTimeout(r, 100));
    }
    await rest('POST', `/api/v1/conversations/${zconv}/resolve`, undefined, zsu.token);
    await shop.getByTestId('kefu-csat').waitFor();
    // Words of Latin letters, but the brand name: none may remain.
    const words = ((await widgetText(shop)).replace(rand, '').match(/[A-Za-z]{2,}/g) ?? []).filter((w) => w !== 'Kefu');
    check(words.length === 0, `English on the zh-CN widget: ${words.join(' ')}`);
    await shoot(shop, 'widget-csat-zh');
  });

  await step('no uncaught errors', async () => {
    check(pageErrors.length === 0, `page errors:\n${pageErrors.join('\n')}`);
  });
} finally {
  await browser.close();
}

const failed = results.filter((r) => !r.ok);
console.log(failed.length ? `widget: ${failed.length} of ${results.length} steps failed` : `widget: all ${results.length} steps passed`);
process.exit(failed.length ? 1 : 0);
