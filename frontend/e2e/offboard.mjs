// Offboarding in the browser, against a running Kefu server: an agent has
// the console open; the owner deactivates them on the Agents page, and the
// agent's console is sent to the login page at once (no reconnect loop) and
// cannot log in; the owner reactivates them; the agent changes their
// password and signs out everywhere from the user menu. Run by
// `npm run e2e:offboard` with KEFU_URL set (the Makefile's test-browser does).
//
//   KEFU_URL=http://127.0.0.1:18089 npm run e2e:offboard
//   KEFU_SCREENSHOTS=dir    where screenshots go (default tmp/screenshots)
//   CHROMIUM=/path          browser binary (default /usr/bin/chromium)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.KEFU_URL ?? '').replace(/\/$/, '');
if (!BASE) {
  console.error('offboard: KEFU_URL is not set. Start a server and run e.g. KEFU_URL=http://127.0.0.1:18089 npm run e2e:offboard');
  process.exit(2);
}
const SHOTS = process.env.KEFU_SCREENSHOTS || 'tmp/screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.KEFU_E2E_TIMEOUT_MS || 15000);
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const rand = Math.random().toString(36).slice(2, 8);
const owner = { company: `Offboard Tea ${rand}`, name: 'Olga Owner', email: `olga+${rand}@example.com`, password: `owner-pass-${rand}` };
const agentUser = { name: 'Ben Agent', email: `ben+${rand}@example.com`, password: `agent-pass-${rand}`, next: `agent-new-${rand}` };

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
      Object.entries(pages).map(([label, page]) => page.screenshot({ path: join(SHOTS, `offboard-failure-${label}.png`), fullPage: true }).catch(() => undefined)),
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
  const ownerCtx = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
  const agentCtx = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
  for (const ctx of [ownerCtx, agentCtx]) {
    ctx.setDefaultTimeout(TIMEOUT);
    await ctx.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`csp-violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} in ${e.sourceFile || location.pathname}`),
      );
    });
  }
  const admin = (pages.owner = await ownerCtx.newPage());
  const agent = (pages.agent = await agentCtx.newPage());
  for (const [who, p] of Object.entries(pages)) {
    p.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error' && /csp-violation|Content Security Policy/i.test(m.text())) cspViolations.push(`${who}: ${m.text()}`);
    });
  }
  const sockets = [];
  agent.on('websocket', (ws) => sockets.push(ws));
  console.log(`offboard against ${BASE} (screenshots in ${SHOTS})`);

  let slug = '';
  await step('a business with one agent', async () => {
    const su = await rest('POST', '/api/v1/signup', owner);
    slug = su.tenant.slug;
    await rest('POST', '/api/v1/agents', { email: agentUser.email, name: agentUser.name, password: agentUser.password, role: 'agent' }, su.token);
  });

  await step('the agent has the console open', async () => {
    await login(agent, slug, agentUser, agentUser.password);
    await agent.waitForURL(/\/app/);
    await agent.getByTestId('inbox').waitFor();
    await agent.locator('[data-testid="presence-switch"][data-status="online"]').waitFor();
  });

  await step('the owner sees actions for the agent, and none for themselves beyond edit', async () => {
    await login(admin, slug, owner, owner.password);
    await admin.waitForURL(/\/app/);
    await admin.goto(`${BASE}/app/admin/agents`);
    const row = admin.getByTestId(`agent-actions-${agentUser.email}`);
    await row.getByTestId('agent-deactivate').waitFor();
    const mine = admin.getByTestId(`agent-actions-${owner.email}`);
    await mine.getByTestId('agent-edit').waitFor();
    check((await mine.getByTestId('agent-deactivate').count()) === 0, 'the owner is offered to deactivate themselves');
    await shoot(admin, 'agents-actions');
  });

  await step('the owner deactivates the agent, and the agent console goes to the login page', async () => {
    const socketsBefore = sockets.length;
    await admin.getByTestId(`agent-actions-${agentUser.email}`).getByTestId('agent-deactivate').click();
    await admin.getByTestId('agent-deactivate-confirm').click();
    await admin.getByTestId(`agent-actions-${agentUser.email}`).getByTestId('agent-reactivate').waitFor();
    await admin.getByTestId('agent-inactive').waitFor();
    await agent.waitForURL(/\/login/, { timeout: 5000 });
    const notice = agent.getByTestId('session-ended');
    await notice.waitFor();
    check(/deactivated/i.test((await notice.textContent()) ?? ''), `the login page says ${JSON.stringify(await notice.textContent())}`);
    await agent.waitForTimeout(2500); // long enough for a reconnect attempt or two
    check(sockets.length === socketsBefore, `the console opened ${sockets.length - socketsBefore} new sockets after it was deactivated`);
    await shoot(agent, 'login-deactivated');
  });

  await step('the deactivated agent cannot log in', async () => {
    await login(agent, slug, agentUser, agentUser.password);
    await agent.getByTestId('form-error').waitFor();
    check(/\/login/.test(agent.url()), 'a deactivated agent got past the login page');
  });

  await step('the owner reactivates the agent, who logs in again', async () => {
    await admin.getByTestId(`agent-actions-${agentUser.email}`).getByTestId('agent-reactivate').click();
    await admin.getByTestId('agent-reactivate-confirm').click();
    await admin.getByTestId(`agent-actions-${agentUser.email}`).getByTestId('agent-deactivate').waitFor();
    await login(agent, slug, agentUser, agentUser.password);
    await agent.waitForURL(/\/app/);
    await agent.getByTestId('inbox').waitFor();
  });

  await step('the agent changes their password from the user menu', async () => {
    await agent.getByTestId('presence-switch').click();
    await agent.getByTestId('menu-change-password').click();
    await agent.getByTestId('current-password').fill(agentUser.password);
    await agent.getByTestId('new-password').fill(agentUser.next);
    await shoot(agent, 'change-password');
    await agent.getByTestId('change-password-submit').click();
    await agent.getByTestId('change-password-form').waitFor({ state: 'detached' });
    await agent.getByTestId('inbox').waitFor(); // still signed in
    await rest('POST', '/api/v1/auth/login', { tenant: slug, email: agentUser.email, password: agentUser.next });
  });

  await step('the agent signs out everywhere', async () => {
    await agent.getByTestId('presence-switch').click();
    await agent.getByTestId('menu-logout-all').click();
    await agent.getByTestId('logout-all-confirm').click();
    await agent.waitForURL(/\/login/);
  });

  await step('no uncaught errors in either page', async () => {
    check(pageErrors.length === 0, `page errors:\n${pageErrors.join('\n')}`);
  });

  await step('no Content-Security-Policy violations in either page', async () => {
    check(cspViolations.length === 0, `CSP violations:\n${cspViolations.join('\n')}`);
  });
} finally {
  await browser.close();
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`offboard: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
