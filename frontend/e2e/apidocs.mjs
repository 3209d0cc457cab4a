// The API reference and the plan's usage in the browser, against a running
// Kefu server: /api/docs renders the spec with the Redoc bundle the server
// itself serves (no CDN, no Content-Security-Policy violation), and the API
// keys page shows the plan and usage card in English and Chinese.
//
//   KEFU_URL=http://127.0.0.1:18089 node frontend/e2e/apidocs.mjs
//   KEFU_SCREENSHOTS=dir    where screenshots go (default tmp/screenshots)
//   CHROMIUM=/path          browser binary (default /usr/bin/chromium)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.KEFU_URL ?? '').replace(/\/$/, '');
if (!BASE) {
  console.error('apidocs: KEFU_URL is not set. Start a server and run e.g. KEFU_URL=http://127.0.0.1:18089 node frontend/e2e/apidocs.mjs');
  process.exit(2);
}
const SHOTS = process.env.KEFU_SCREENSHOTS || 'tmp/screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.KEFU_E2E_TIMEOUT_MS || 15000);
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const rand = Math.random().toString(36).slice(2, 8);
const owner = { company: `Docs Tea ${rand}`, name: 'Olga Owner', email: `olga+${rand}@example.com`, password: `owner-pass-${rand}` };

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
      Object.entries(pages).map(([label, page]) => page.screenshot({ path: join(SHOTS, `apidocs-failure-${label}.png`), fullPage: true }).catch(() => undefined)),
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
  const contexts = {};
  for (const locale of ['en-US', 'zh-CN']) {
    const ctx = await browser.newContext({ viewport: DESKTOP, locale });
    ctx.setDefaultTimeout(TIMEOUT);
    await ctx.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`csp-violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} in ${e.sourceFile || location.pathname}`),
      );
    });
    contexts[locale] = ctx;
  }
  const en = (pages.en = await contexts['en-US'].newPage());
  const zh = (pages.zh = await contexts['zh-CN'].newPage());
  const offsite = [];
  for (const [who, p] of Object.entries(pages)) {
    p.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error' && /csp-violation|Content Security Policy/i.test(m.text())) cspViolations.push(`${who}: ${m.text()}`);
    });
    p.on('request', (r) => {
      if (!r.url().startsWith(BASE) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) offsite.push(r.url());
    });
  }
  console.log(`apidocs against ${BASE} (screenshots in ${SHOTS})`);

  await step('/api/docs renders the spec from this server alone', async () => {
    await en.goto(`${BASE}/api/docs`);
    await en.getByText('Start a conversation with a known visitor (outbound)').filter({ visible: true }).first().waitFor();
    await en.getByText('Idempotency-Key').filter({ visible: true }).first().waitFor();
    await shoot(en, 'api-docs');
    check(offsite.length === 0, `requests to other origins: ${offsite.join(', ')}`);
  });

  let slug = '';
  await step('the API keys page shows the plan and usage (en)', async () => {
    const su = await rest('POST', '/api/v1/signup', owner);
    slug = su.tenant.slug;
    await login(en, slug, owner, owner.password);
    await en.waitForURL(/\/app/);
    await en.goto(`${BASE}/app/admin/api-keys`);
    const card = en.getByTestId('usage-card');
    await card.getByText('Plan and usage').waitFor();
    await card.getByText('Seats').waitFor();
    await card.getByText('Conversations this month').waitFor();
    await shoot(en, 'usage-card');
  });

  await step('the same card in Chinese', async () => {
    await login(zh, slug, owner, owner.password);
    await zh.waitForURL(/\/app/);
    await zh.goto(`${BASE}/app/admin/api-keys`);
    const card = zh.getByTestId('usage-card');
    await card.getByText('套餐与用量').waitFor();
    await card.getByText('本月会话').waitFor();
    check(!(await card.innerText()).includes('Seats'), 'English on the zh-CN card');
    await shoot(zh, 'usage-card-zh');
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
console.log(`apidocs: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
