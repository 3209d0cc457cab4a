// What every browser journey repeats: the settings from the environment, the
// step runner (a failed step skips the rest and screenshots every open page),
// REST calls, screenshots at two widths, sign-in, the browser and its
// contexts (page errors and Content-Security-Policy violations collected),
// and the summary that sets the exit code.
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

/**
 * A journey named `name`. Options: `base` (the server, default KEFU_URL; the
 * journey exits 2 when neither is set), `timeout` (ms, default 15000).
 */
export function journey(name, { base, timeout = 15000 } = {}) {
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
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  /** Screenshots `page` at desktop and phone widths as `<shot>-1280.png` and `<shot>-390.png`. */
  async function shoot(page, shot) {
    for (const [label, size] of [
      ['1280', DESKTOP],
      ['390', PHONE],
    ]) {
      await page.setViewportSize(size);
      await page.waitForTimeout(250);
      await page.screenshot({ path: join(SHOTS, `${shot}-${label}.png`) });
    }
    await page.setViewportSize(DESKTOP);
  }

  /** Signs in through the login page, from a link that names the workspace (the field comes prefilled). */
  async function login(page, slug, who, password) {
    await page.goto(`${BASE}/login?workspace=${encodeURIComponent(slug)}`);
    await page.getByTestId('login-form').waitFor();
    await page.getByTestId('login-email').fill(who.email);
    await page.getByTestId('login-password').fill(password);
    await page.getByTestId('login-submit').click();
  }

  let browser;
  async function launch() {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    return browser;
  }

  /** A browser context (desktop size, the locator timeout) whose pages report CSP violations to the console. */
  async function context(options = {}) {
    const ctx = await browser.newContext({ viewport: DESKTOP, locale: 'en-US', ...options });
    ctx.setDefaultTimeout(TIMEOUT);
    await ctx.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`csp-violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} in ${e.sourceFile || location.pathname}`),
      );
    });
    return ctx;
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

  /** Prints the tally and exits: 1 when any step failed or was skipped. */
  function finish() {
    const passed = results.filter((r) => r.ok).length;
    const failed = results.length - passed;
    console.log(`${name}: ${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  }

  return { BASE, SHOTS, TIMEOUT, pages, pageErrors, cspViolations, step, rest, shoot, login, launch, context, watch, forget, cleanPages, finish };
}
