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
import { check, journey, rand } from './lib.mjs';
import { smtpCatcher, startKefu } from './own-server.mjs';

const PLAIN = (process.env.KEFU_URL ?? '').replace(/\/$/, ''); // the shared server: e-mail off
const MAIL_ADDR = process.env.KEFU_E2E_MAIL_ADDR || '';
if (!PLAIN || !MAIL_ADDR) {
  console.error('signin e2e: KEFU_URL and KEFU_E2E_MAIL_ADDR must be set');
  process.exit(2);
}

// The server with e-mail.
const smtp = await smtpCatcher();
const kefu = await startKefu(MAIL_ADDR, { KEFU_SMTP_URL: smtp.url, KEFU_SMTP_FROM: 'Kefu <no-reply@example.com>' });
const { mails } = smtp;
const { BASE, step, rest, shoot, launch, open, cleanPages, failed, finish } = journey('signin', { base: kefu.base, timeout: 20000 });
const browser = await launch();

const pat = { email: `pat+${rand}@example.com`, password: `pat-secret-${rand}` };
const S = {};
try {
  console.log(`sign-in journeys against ${BASE} (e-mail on) and ${PLAIN} (e-mail off)`);

  await step('one person signs up two workspaces with the same e-mail (API)', async () => {
    const a = await rest('POST', '/api/v1/signup', { company: `Tea House ${rand}`, name: 'Pat', email: pat.email, password: pat.password });
    const b = await rest('POST', '/api/v1/signup', { company: `Coffee Bar ${rand}`, name: 'Pat', email: pat.email, password: pat.password });
    S.a = a.tenant;
    S.b = b.tenant;
    S.tokenA = a.token;
  });

  const page = await open('login');
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
    const me = await rest('GET', '/api/v1/me', undefined, tok);
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
    const other = await open('reset');
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
    const r = await rest('POST', '/api/v1/auth/login', { email: pat.email, password: `new-secret-${rand}` });
    check(r.token && (await rest('GET', '/api/v1/me', undefined, r.token)).tenant.id === S.a.id, 'the new password does not sign in to A');
  });

  await step('without e-mail the login page offers no reset', async () => {
    const p = await open('plain');
    await p.goto(`${PLAIN}/login`);
    await p.getByTestId('login-use-workspace').waitFor();
    await p.waitForTimeout(800);
    check((await p.getByTestId('login-forgot').count()) === 0, 'a reset is offered without e-mail');
  });

  await cleanPages(' in any page');
} finally {
  await browser.close();
  await kefu.stop();
  smtp.close();
}

if (failed()) console.log(kefu.log().split('\n').slice(-30).join('\n'));
finish();
