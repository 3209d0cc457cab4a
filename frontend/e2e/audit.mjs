// The audit log in the browser, against a running Kefu server: things an
// admin and an attacker do (a refused sign-in, an API key made and revoked,
// settings changed) show on the admin page in English and in Chinese, newest
// first, with who and from where; the filter narrows them; an agent may not
// read the log. Run with KEFU_URL set (the Makefile's test-browser does).
//
//   KEFU_URL=http://127.0.0.1:18089 node frontend/e2e/audit.mjs
//   KEFU_SCREENSHOTS=dir    where screenshots go (default tmp/screenshots)
//   CHROMIUM=/path          browser binary (default /usr/bin/chromium)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.KEFU_URL ?? '').replace(/\/$/, '');
if (!BASE) {
  console.error('audit: KEFU_URL is not set. Start a server and run e.g. KEFU_URL=http://127.0.0.1:18089 node frontend/e2e/audit.mjs');
  process.exit(2);
}
const SHOTS = process.env.KEFU_SCREENSHOTS || 'tmp/screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.KEFU_E2E_TIMEOUT_MS || 15000);
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const rand = Math.random().toString(36).slice(2, 8);
const owner = { company: `Audit Tea ${rand}`, name: 'Olga Owner', email: `olga+${rand}@example.com`, password: `owner-pass-${rand}` };

mkdirSync(SHOTS, { recursive: true });
const results = [];
const pageErrors = [];
const cspViolations = [];
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
    console.log(`  ✗ ${name}\n    ${String(err?.stack ?? err).split('\n').slice(0, 6).join('\n    ')}`);
    await Promise.all(
      Object.entries(pages).map(([label, page]) => page.screenshot({ path: join(SHOTS, `audit-failure-${label}.png`), fullPage: true }).catch(() => undefined)),
    );
  }
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

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

async function login(page, slug, who, password) {
  // An old-style link that names the workspace (the field comes prefilled).
  await page.goto(`${BASE}/login?workspace=${encodeURIComponent(slug)}`);
  await page.getByTestId('login-form').waitFor();
  await page.getByTestId('login-email').fill(who.email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});

try {
  console.log(`audit against ${BASE} (screenshots in ${SHOTS})`);
  let slug = '';
  let token = '';
  let keyId = '';
  await step('a business where things happen: a refused sign-in, an API key made and revoked, settings changed', async () => {
    const su = await rest('POST', '/api/v1/signup', owner);
    slug = su.tenant.slug;
    token = su.token;
    const bad = await fetch(BASE + '/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'audit-e2e' },
      body: JSON.stringify({ tenant: slug, email: owner.email, password: 'not-the-password' }),
    });
    check(bad.status === 401, `a wrong password answered ${bad.status}`);
    const key = await rest('POST', '/api/v1/api-keys', { name: 'crm', role: 'developer' }, token);
    keyId = key.id;
    await rest('DELETE', `/api/v1/api-keys/${keyId}`, undefined, token);
    await rest('PATCH', '/api/v1/tenant', { retention_months: 24 }, token);
  });

  for (const [locale, words] of [
    ['en-US', { title: 'Audit log', refused: 'Sign-in refused', revoked: 'Revoked an API key', keys: 'API keys' }],
    ['zh-CN', { title: '审计日志', refused: '登录被拒绝', revoked: '吊销了 API 密钥', keys: 'API 密钥' }],
  ]) {
    const ctx = await browser.newContext({ viewport: DESKTOP, locale });
    ctx.setDefaultTimeout(TIMEOUT);
    await ctx.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`csp-violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} in ${e.sourceFile || location.pathname}`),
      );
    });
    const page = (pages[locale] = await ctx.newPage());
    page.on('pageerror', (e) => pageErrors.push(`${locale}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /csp-violation|Content Security Policy/i.test(m.text())) cspViolations.push(`${locale}: ${m.text()}`);
    });

    await step(`${locale}: the owner opens the audit log from the settings menu`, async () => {
      await login(page, slug, owner, owner.password);
      await page.waitForURL(/\/app/);
      await page.goto(`${BASE}/app/admin/widget`);
      await page.getByTestId('admin-audit').click();
      await page.getByTestId('audit-page').waitFor();
      const heading = await page.getByTestId('audit-page').locator('h3').textContent();
      check(heading === words.title, `the heading says ${JSON.stringify(heading)}`);
    });

    await step(`${locale}: it lists the sign-ins, the refused one, the key and the settings, newest first, in the page's language`, async () => {
      await page.locator('[data-testid="audit-action"][data-action="auth.login_failed"]').first().waitFor();
      const actions = await page.locator('[data-testid="audit-action"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
      for (const want of ['auth.login', 'auth.login_failed', 'api_key.created', 'api_key.revoked', 'settings.changed']) {
        check(actions.includes(want), `no ${want} in ${actions.join(', ')}`);
      }
      check(actions.indexOf('settings.changed') < actions.indexOf('api_key.created'), `not newest first: ${actions.join(', ')}`);
      const refused = await page.locator('[data-testid="audit-action"][data-action="auth.login_failed"]').first().textContent();
      check(refused.includes(words.refused), `the refused sign-in reads ${JSON.stringify(refused)}`);
      const text = await page.getByTestId('audit-page').textContent();
      check(text.includes(owner.email), 'the refused sign-in does not show the email it tried');
      check(text.includes('127.0.0.1'), 'no client address shown');
      await shoot(page, `audit-${locale}`);
    });

    await step(`${locale}: the filter narrows the list to API keys`, async () => {
      await page.getByTestId('audit-filter').click();
      await page.locator('.ant-select-item-option').filter({ hasText: words.keys }).first().click();
      await page.waitForFunction(() => {
        const acts = [...document.querySelectorAll('[data-testid="audit-action"]')].map((e) => e.getAttribute('data-action'));
        return acts.length === 2 && acts.every((a) => a.startsWith('api_key.'));
      });
      const revoked = await page.locator('[data-testid="audit-action"][data-action="api_key.revoked"]').textContent();
      check(revoked.includes(words.revoked), `the revoke reads ${JSON.stringify(revoked)}`);
    });
    await ctx.close().catch(() => undefined);
    delete pages[locale];
  }

  await step('an agent is not shown the audit log', async () => {
    const r = await fetch(BASE + '/api/v1/audit', { headers: { Authorization: `Bearer ${(await rest('POST', '/api/v1/auth/login', { tenant: slug, email: owner.email, password: owner.password })).token}` } });
    check(r.status === 200, `the owner reads it: ${r.status}`);
    await rest('POST', '/api/v1/agents', { email: `ann+${rand}@example.com`, name: 'Ann', password: `agent-pass-${rand}`, role: 'agent' }, token);
    const ann = await rest('POST', '/api/v1/auth/login', { tenant: slug, email: `ann+${rand}@example.com`, password: `agent-pass-${rand}` });
    const denied = await fetch(BASE + '/api/v1/audit', { headers: { Authorization: `Bearer ${ann.token}` } });
    check(denied.status === 403, `an agent reads the audit log: ${denied.status}`);
  });

  await step('no uncaught errors', async () => {
    check(pageErrors.length === 0, `page errors:\n${pageErrors.join('\n')}`);
  });

  await step('no Content-Security-Policy violations', async () => {
    check(cspViolations.length === 0, `CSP violations:\n${cspViolations.join('\n')}`);
  });
} finally {
  await browser.close();
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`audit: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
