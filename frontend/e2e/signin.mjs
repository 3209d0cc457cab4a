// Signing in on the first day (issue 9), in real Chromium: one person with
// accounts in two workspaces signs in by e-mail and password alone and picks
// the workspace from the list the server gives only after the password
// matched; an unknown address and a wrong password read the same; a
// forgotten password is reset through the e-mailed link, which ends the
// other session and works once; without e-mail the sign-in page does not
// offer a reset.
//
// It starts its own Kefu server (the built binary, a fresh data dir) with
// e-mail pointed at an SMTP catcher of its own, so the shared server of
// `make test-browser` keeps e-mail off.
//
//   KEFU_URL=http://127.0.0.1:18089 KEFU_E2E_MAIL_ADDR=127.0.0.1:18090 node frontend/e2e/signin.mjs
//   KEFU_BIN=./bin/kefu        the binary to start (default ./bin/kefu)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const PLAIN = (process.env.KEFU_URL ?? '').replace(/\/$/, ''); // the shared server: e-mail off
const MAIL_ADDR = process.env.KEFU_E2E_MAIL_ADDR || '';
if (!PLAIN || !MAIL_ADDR) {
  console.error('signin e2e: KEFU_URL and KEFU_E2E_MAIL_ADDR must be set');
  process.exit(2);
}
const BIN = process.env.KEFU_BIN || './bin/kefu';
const SHOTS = process.env.KEFU_SCREENSHOTS || 'tmp/screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.KEFU_E2E_TIMEOUT_MS || 20000);
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const rand = Math.random().toString(36).slice(2, 8);
mkdirSync(SHOTS, { recursive: true });

const results = [];
const pageErrors = [];
let aborted = false;
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

// A small SMTP catcher: plain SMTP, no extensions; it keeps each message's recipients and body.
const mails = [];
const smtp = createServer((sock) => {
  sock.setEncoding('utf8');
  let buf = '';
  let data = null;
  let to = [];
  sock.write('220 catcher ESMTP\r\n');
  sock.on('data', (chunk) => {
    buf += chunk;
    for (;;) {
      if (data !== null) {
        const end = buf.indexOf('\r\n.\r\n');
        if (end < 0) return;
        data += buf.slice(0, end);
        buf = buf.slice(end + 5);
        // Kefu's mail bodies are base64 (any UTF-8 text): headers, a blank line, then the body.
        const [, ...rest] = data.split('\r\n\r\n');
        mails.push({ to, body: Buffer.from(rest.join('').replace(/\s+/g, ''), 'base64').toString('utf8') });
        data = null;
        to = [];
        sock.write('250 OK\r\n');
        continue;
      }
      const i = buf.indexOf('\r\n');
      if (i < 0) return;
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const cmd = line.slice(0, 4).toUpperCase();
      if (cmd === 'EHLO' || cmd === 'HELO') sock.write('250 catcher\r\n');
      else if (cmd === 'RCPT') {
        to.push(line.replace(/^.*<([^>]*)>.*$/, '$1'));
        sock.write('250 OK\r\n');
      } else if (cmd === 'DATA') {
        data = '';
        sock.write('354 go on\r\n');
      } else if (cmd === 'QUIT') {
        sock.end('221 bye\r\n');
        return;
      } else sock.write('250 OK\r\n');
    }
  });
  sock.on('error', () => undefined);
});
await new Promise((resolve) => smtp.listen(0, '127.0.0.1', resolve));
const smtpPort = smtp.address().port;

// The server with e-mail.
const dir = mkdtempSync(join(tmpdir(), 'kefu-signin-'));
const server = spawn(BIN, ['serve'], {
  env: {
    ...process.env,
    KEFU_ADDR: MAIL_ADDR,
    KEFU_DATA_DIR: dir,
    KEFU_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    KEFU_SMTP_FROM: 'Kefu <no-reply@example.com>',
    KEFU_DEFAULT_PLAN: 'enterprise',
    KEFU_ALLOW_PRIVATE_NETWORKS: 'true',
  },
  stdio: ['ignore', 'ignore', 'pipe'],
});
let serverLog = '';
server.stderr.on('data', (d) => (serverLog += d));
const BASE = `http://${MAIL_ADDR}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${BASE}/readyz`)).ok) break;
  } catch {
    /* not yet */
  }
  if (i > 100) {
    console.error(`signin e2e: the server did not start\n${serverLog}`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}

async function api(base, method, path, token, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
async function newPage(locale = 'en-US') {
  const ctx = await browser.newContext({ viewport: DESKTOP, locale });
  ctx.setDefaultTimeout(TIMEOUT);
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  return p;
}

const pat = { email: `pat+${rand}@example.com`, password: `pat-secret-${rand}` };
const S = {};
try {
  console.log(`sign-in journeys against ${BASE} (e-mail on) and ${PLAIN} (e-mail off)`);

  await step('one person signs up two workspaces with the same e-mail (API)', async () => {
    const a = await api(BASE, 'POST', '/api/v1/signup', null, { company: `Tea House ${rand}`, name: 'Pat', email: pat.email, password: pat.password });
    const b = await api(BASE, 'POST', '/api/v1/signup', null, { company: `Coffee Bar ${rand}`, name: 'Pat', email: pat.email, password: pat.password });
    S.a = a.tenant;
    S.b = b.tenant;
    S.tokenA = a.token;
  });

  const page = await newPage();
  await step('the login page asks only e-mail and password, and offers a reset', async () => {
    await page.goto(`${BASE}/login`);
    await page.getByTestId('login-form').waitFor();
    check((await page.getByTestId('login-tenant').count()) === 0, 'the workspace field is shown');
    await page.getByTestId('login-forgot').waitFor();
    await shoot(page, 'signin-login');
  });

  await step('an unknown address and a wrong password read the same, and name no workspace', async () => {
    const read = async (email, password) => {
      await page.getByTestId('login-email').fill(email);
      await page.getByTestId('login-password').fill(password);
      await page.getByTestId('login-submit').click();
      const err = page.getByTestId('form-error');
      await err.waitFor();
      const text = await err.innerText();
      return text;
    };
    const unknown = await read(`nobody+${rand}@example.com`, pat.password);
    const wrong = await read(pat.email, 'not-the-password');
    check(unknown === wrong, `unknown "${unknown}" vs wrong "${wrong}"`);
    const body = await page.locator('body').innerText();
    check(!body.includes(S.a.name) && !body.includes(S.b.name), 'a workspace is named before the password matched');
  });

  await step('the right password lists both workspaces; choosing one signs in there', async () => {
    await page.getByTestId('login-email').fill(pat.email);
    await page.getByTestId('login-password').fill(pat.password);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('workspace-choices').waitFor();
    const text = await page.getByTestId('workspace-choices').innerText();
    check(text.includes(S.a.name) && text.includes(S.b.name), `choices: ${text}`);
    await shoot(page, 'signin-choose');
    await page.locator('[data-testid="workspace-choices"] li', { hasText: S.b.name }).getByTestId('workspace-choice').click();
    await page.waitForURL(/\/app/);
    const tok = await page.evaluate(() => localStorage.getItem('kefu:token'));
    const me = await api(BASE, 'GET', '/api/v1/me', tok);
    check(me.tenant.id === S.b.id, `signed in to ${me.tenant.slug}`);
  });

  await step('the first-day checklist greets the owner in the inbox, and can be put away', async () => {
    await page.getByTestId('onboarding-card').waitFor();
    await page.getByTestId('onboarding-dismiss').click();
    await page.getByTestId('onboarding-card').waitFor({ state: 'detached' });
    await page.reload();
    await page.getByTestId('inbox').waitFor();
    await page.waitForTimeout(1000);
    check((await page.getByTestId('onboarding-card').count()) === 0, 'the card came back after a reload');
  });

  await step('a forgotten password is reset by the e-mailed link, which works once and ends the other session', async () => {
    const other = await newPage();
    await other.goto(`${BASE}/login`);
    await other.getByTestId('login-forgot').click();
    await other.getByTestId('forgot-email').fill(pat.email.toUpperCase());
    await other.getByTestId('forgot-submit').click();
    await other.getByTestId('forgot-sent').waitFor();
    await shoot(other, 'signin-forgot-sent');
    const deadline = Date.now() + 10000;
    while (mails.filter((m) => m.to.includes(pat.email)).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const mine = mails.filter((m) => m.to.includes(pat.email));
    check(mine.length === 2, `${mine.length} e-mails for two workspaces`);
    const link = mine.map((m) => m.body.match(/https?:\/\/\S+\/reset#kfr_[\w-]+/)?.[0]).find((l) => l && mine.find((m) => m.body.includes(l) && m.body.includes(S.a.name)));
    check(link, `no reset link for ${S.a.name}`);
    await other.goto(link);
    await other.getByTestId('reset-form').waitFor();
    await shoot(other, 'signin-reset');
    await other.getByTestId('reset-password').fill(`new-secret-${rand}`);
    await other.getByTestId('reset-confirm').fill(`new-secret-${rand}`);
    await other.getByTestId('reset-submit').click();
    await other.getByTestId('reset-done').waitFor();
    // The session opened before the reset (workspace A, by API) is over.
    const res = await fetch(`${BASE}/api/v1/me`, { headers: { Authorization: `Bearer ${S.tokenA}` } });
    check(res.status === 401, `the old session answers ${res.status}`);
    // The link works once.
    await other.goto('about:blank');
    await other.goto(link);
    await other.getByTestId('reset-password').fill(`newer-secret-${rand}`);
    await other.getByTestId('reset-confirm').fill(`newer-secret-${rand}`);
    await other.getByTestId('reset-submit').click();
    await other.getByTestId('reset-invalid').waitFor();
    // The new password signs in to A alone (B keeps the old one).
    const r = await api(BASE, 'POST', '/api/v1/auth/login', null, { email: pat.email, password: `new-secret-${rand}` });
    check(r.token && (await api(BASE, 'GET', '/api/v1/me', r.token)).tenant.id === S.a.id, 'the new password does not sign in to A');
  });

  await step('without e-mail the login page offers no reset', async () => {
    const p = await newPage();
    await p.goto(`${PLAIN}/login`);
    await p.getByTestId('login-use-workspace').waitFor();
    await p.waitForTimeout(800);
    check((await p.getByTestId('login-forgot').count()) === 0, 'a reset is offered without e-mail');
  });
} finally {
  await browser.close();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  smtp.close();
  rmSync(dir, { recursive: true, force: true });
}

if (pageErrors.length) console.log(`page errors:\n  ${pageErrors.join('\n  ')}`);
const failed = results.filter((r) => !r.ok);
if (failed.length) console.log(serverLog.split('\n').slice(-30).join('\n'));
console.log(failed.length ? `signin: ${failed.length} of ${results.length} steps failed` : `signin: all ${results.length} steps passed`);
process.exit(failed.length || pageErrors.length ? 1 : 0);
