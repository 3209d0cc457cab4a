// What every browser journey repeats: the settings from the environment, the
// step runner (a failed step skips the rest and screenshots every open page),
// REST calls, polling, screenshots at two widths, sign-in, the browser and its
// contexts (signed in by token, in a language; page errors and
// Content-Security-Policy violations collected), a shop's own site embedding
// the widget, visitors writing over the widget's socket, and the summary that
// sets the exit code. own-server.mjs starts a Kefu of a journey's own with an
// SMTP catcher, for the journeys that need e-mail.
//
//   const j = journey('audit');   // reads KEFU_URL (exits 2 without it)
//   const browser = await j.launch();
//   try { await j.step('…', async () => { … }); await j.cleanPages(); } finally { await browser.close(); }
//   j.finish();
//
//   KEFU_SCREENSHOTS=dir    where screenshots go (default tmp/screenshots)
//   CHROMIUM=/path          browser binary (default /usr/bin/chromium)
//   KEFU_E2E_TIMEOUT_MS=n   a locator's timeout (default 15000, or the journey's own)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** A short random tag that keeps each run's businesses and e-mails apart. */
export const rand = Math.random().toString(36).slice(2, 8);

export function check(cond, message) {
  if (!cond) throw new Error(message);
}

/** The shop's own site: an origin of its own, served by the browser's router (see shopPage). */
export const SHOP = 'http://shop.test';

/** Resolves after `ms`. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A journey named `name`. Options: `base` (the server, default KEFU_URL; the
 * journey exits 2 when neither is set), `timeout` (ms, default 15000),
 * `desktop` (the desktop viewport, default DESKTOP), `headers` (sent with
 * every REST call, e.g. Accept-Language).
 */
export function journey(name, { base, timeout = 15000, desktop = DESKTOP, headers = {} } = {}) {
  const BASE = (base ?? process.env.KEFU_URL ?? '').replace(/\/$/, '');
  if (!BASE) {
    console.error(`${name}: KEFU_URL is not set. Start a server and run e.g. KEFU_URL=http://127.0.0.1:18089 node frontend/e2e/${name}.mjs`);
    process.exit(2);
  }
  const SHOTS = process.env.KEFU_SCREENSHOTS || 'tmp/screenshots';
  const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
  const TIMEOUT = Number(process.env.KEFU_E2E_TIMEOUT_MS || timeout);
  mkdirSync(SHOTS, { recursive: true });

  const results = [];
  const pageErrors = [];
  const cspViolations = [];
  /** The open pages by label: screenshotted when a step fails. */
  const pages = {};
  let aborted = false;

  async function step(title, fn) {
    if (aborted) {
      results.push({ name: title, ok: false, skipped: true });
      console.log(`  - ${title} (skipped)`);
      return;
    }
    const t0 = Date.now();
    try {
      await fn();
      results.push({ name: title, ok: true });
      console.log(`  ✓ ${title} (${Date.now() - t0} ms)`);
    } catch (err) {
      results.push({ name: title, ok: false });
      aborted = true;
      console.log(
        `  ✗ ${title}\n    ${String(err?.stack ?? err)
          .split('\n')
          .slice(0, 6)
          .join('\n    ')}`,
      );
      await Promise.all(
        Object.entries(pages).map(([label, page]) => page.screenshot({ path: join(SHOTS, `${name}-failure-${label}.png`), fullPage: true }).catch(() => undefined)),
      );
    }
  }

  /** A JSON call to the server; throws on any status but 2xx. */
  async function rest(method, path, body, token) {
    const res = await fetch(BASE + path, {
      method,
      headers: { 'Content-Type': 'application/json', ...headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  /** Polls `fn` every `every` ms until it returns something truthy, and returns that; throws after `ms`. */
  async function until(what, fn, ms = TIMEOUT, every = 100) {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(every);
    }
  }

  /**
   * Screenshots `page` at desktop and phone widths as `<shot>-1280.png` and
   * `<shot>-390.png`, then sets the desktop size back. Options: `settle` (ms
   * to wait at each width, or a function of the page that waits), `scrollTo`
   * (a test id scrolled into view first), `fullPage`, `then` (called with the
   * width's label after each screenshot).
   */
  async function shoot(page, shot, { settle = 250, scrollTo, fullPage = false, then } = {}) {
    for (const [label, size] of [
      ['1280', desktop],
      ['390', PHONE],
    ]) {
      await page.setViewportSize(size);
      await (typeof settle === 'function' ? settle(page) : page.waitForTimeout(settle));
      if (scrollTo) await page.getByTestId(scrollTo).scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(SHOTS, `${shot}-${label}.png`), fullPage });
      if (then) await then(label);
    }
    await page.setViewportSize(desktop);
  }

  /** Signs in through the login page, from a link that names the workspace (the field must come prefilled with it). */
  async function login(page, slug, who, password) {
    await page.goto(`${BASE}/login?workspace=${encodeURIComponent(slug)}`);
    await page.getByTestId('login-form').waitFor();
    const prefilled = await page.getByTestId('login-tenant').inputValue();
    check(prefilled === slug, `the workspace field holds ${JSON.stringify(prefilled)}, not ${slug}`);
    await page.getByTestId('login-email').fill(who.email);
    await page.getByTestId('login-password').fill(password);
    await page.getByTestId('login-submit').click();
  }

  let browser;
  /**
   * Starts Chromium. With `shop`, its local network checks are off: the
   * shop's own origin (SHOP, public-looking) calls a loopback server.
   */
  async function launch({ shop = false } = {}) {
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
    if (shop) args.push('--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
    return browser;
  }

  /**
   * A browser context (desktop size, en-US, the locator timeout) whose pages
   * report CSP violations to the console. `token` signs it in (put where the
   * console keeps its session, unless a page already put one there), `lang`
   * sets the console's language; the other options are Playwright's.
   */
  async function context({ token, lang, ...options } = {}) {
    const ctx = await browser.newContext({ viewport: desktop, locale: 'en-US', ...options });
    ctx.setDefaultTimeout(TIMEOUT);
    await ctx.addInitScript(
      ([tok, lng]) => {
        if (tok && !localStorage.getItem('kefu:token')) localStorage.setItem('kefu:token', tok);
        if (lng) localStorage.setItem('kefu:lang', lng);
        document.addEventListener('securitypolicyviolation', (e) =>
          console.error(`csp-violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} in ${e.sourceFile || location.pathname}`),
        );
      },
      [token ?? '', lang ?? ''],
    );
    return ctx;
  }

  /** A watched page under `label` in a context of its own (options as for context). */
  async function open(label, options) {
    return watch(label, await (await context(options)).newPage());
  }

  /**
   * A watched page of the shop's own site (SHOP + `path`) in `ctx`, embedding
   * the widget of `widgetKey`; `identity`, when given, is set before the
   * script loads. The page's console warnings collect in `page.warnings`.
   * Needs launch({ shop: true }).
   */
  async function shopPage(label, ctx, widgetKey, { lang = 'en', title = 'Shop', identity, path = '/' } = {}) {
    const settings = identity ? `<script>window.KefuSettings = { identity: ${JSON.stringify(identity)} };</script>` : '';
    await ctx.route(`${SHOP}/**`, (route) =>
      route.fulfill({
        contentType: 'text/html; charset=utf-8',
        body: `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${settings}<script src="${BASE}/widget.js" data-key="${widgetKey}" async></script></body></html>`,
      }),
    );
    const page = watch(label, await ctx.newPage());
    page.warnings = [];
    page.on('console', (m) => m.type() === 'warning' && page.warnings.push(m.text()));
    await page.goto(SHOP + path);
    return page;
  }

  /** Watches `page` under `label`: its uncaught errors and CSP violations are collected, its failure screenshot taken. */
  function watch(label, page) {
    pages[label] = page;
    page.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /csp-violation|Content Security Policy/i.test(m.text())) cspViolations.push(`${label}: ${m.text()}`);
    });
    return page;
  }

  /** A page no longer screenshotted on failure (its context is closed). */
  function forget(label) {
    delete pages[label];
  }

  /** The closing steps: no page saw an uncaught error or a CSP violation. */
  async function cleanPages(where = '') {
    await step(`no uncaught errors${where}`, async () => {
      check(pageErrors.length === 0, `page errors:\n${pageErrors.join('\n')}`);
    });
    await step(`no Content-Security-Policy violations${where}`, async () => {
      check(cspViolations.length === 0, `CSP violations:\n${cspViolations.join('\n')}`);
    });
  }

  /** How many steps failed or were skipped so far. */
  function failed() {
    return results.filter((r) => !r.ok).length;
  }

  /** Prints the tally (and `note`, when given) and exits: 1 when any step failed or was skipped. */
  function finish(note = '') {
    const bad = failed();
    console.log(`${name}: ${results.length - bad} passed, ${bad} failed${note ? ` (${note})` : ''}`);
    process.exit(bad ? 1 : 0);
  }

  return {
    BASE,
    SHOTS,
    TIMEOUT,
    pages,
    pageErrors,
    cspViolations,
    step,
    rest,
    until,
    shoot,
    login,
    launch,
    context,
    open,
    shopPage,
    watch,
    forget,
    cleanPages,
    failed,
    finish,
  };
}

/**
 * Visitors write through the widget's own protocol, from `page` (a page of
 * the app, whose policy lets it call the API and open the socket): for each
 * { body, token } (a widget session's visitor token) or { body, key, visitor }
 * (a new session of that widget key for that visitor), hello, one
 * message.send, its ack, close; ten at a time. Returns the conversation ids,
 * in order.
 */
export function visitorsWrite(page, writes) {
  return page.evaluate(async (writes) => {
    const url = `${location.origin.replace(/^http/, 'ws')}/ws`;
    const session = async ({ token, key, visitor }) => {
      if (token) return token;
      const res = await fetch('/api/v1/widget/sessions', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ widget_key: key, visitor }),
      });
      if (!res.ok) throw new Error(`widget session: ${res.status} ${await res.text()}`);
      return (await res.json()).visitor_token;
    };
    const one = async (w, i) => {
      const token = await session(w);
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        const timer = setTimeout(() => reject(new Error(`visitor ${i}: no ack within 15 s`)), 15000);
        const fail = (err) => {
          clearTimeout(timer);
          reject(err);
        };
        ws.onerror = () => fail(new Error(`visitor ${i}: websocket error`));
        ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', token }));
        ws.onmessage = (ev) => {
          const f = JSON.parse(ev.data);
          if (f.type === 'welcome') ws.send(JSON.stringify({ type: 'message.send', client_id: `c${i}-${Math.random().toString(36).slice(2)}`, body: w.body }));
          else if (f.type === 'ack') {
            clearTimeout(timer);
            ws.close();
            resolve(f.conversation_id);
          } else if (f.type === 'error') fail(new Error(`visitor ${i}: ${JSON.stringify(f)}`));
        };
      });
    };
    const out = [];
    for (let i = 0; i < writes.length; i += 10) out.push(...(await Promise.all(writes.slice(i, i + 10).map((w, j) => one(w, i + j)))));
    return out;
  }, writes);
}
