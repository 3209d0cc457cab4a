// The audit log in the browser, against a running Kefu server: things an
// admin and an attacker do (a refused sign-in, an API key made and revoked,
// settings changed) show on the admin page in English and in Chinese, newest
// first, with who and from where; the filter narrows them; an agent may not
// read the log. Run with KEFU_URL set (the Makefile's test-browser does).
//
//   KEFU_URL=http://127.0.0.1:18089 node frontend/e2e/audit.mjs
//   KEFU_SCREENSHOTS=dir    where screenshots go (default tmp/screenshots)
//   CHROMIUM=/path          browser binary (default /usr/bin/chromium)
import { check, journey, rand } from './lib.mjs';

const { BASE, SHOTS, step, rest, shoot, login, launch, context, watch, forget, cleanPages, finish } = journey('audit');
const owner = { company: `Audit Tea ${rand}`, name: 'Olga Owner', email: `olga+${rand}@example.com`, password: `owner-pass-${rand}` };

const browser = await launch();

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
    const ctx = await context({ locale });
    const page = watch(locale, await ctx.newPage());

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
    forget(locale);
  }

  await step('an agent is not shown the audit log', async () => {
    const r = await fetch(BASE + '/api/v1/audit', {
      headers: { Authorization: `Bearer ${(await rest('POST', '/api/v1/auth/login', { tenant: slug, email: owner.email, password: owner.password })).token}` },
    });
    check(r.status === 200, `the owner reads it: ${r.status}`);
    await rest('POST', '/api/v1/agents', { email: `ann+${rand}@example.com`, name: 'Ann', password: `agent-pass-${rand}`, role: 'agent' }, token);
    const ann = await rest('POST', '/api/v1/auth/login', { tenant: slug, email: `ann+${rand}@example.com`, password: `agent-pass-${rand}` });
    const denied = await fetch(BASE + '/api/v1/audit', { headers: { Authorization: `Bearer ${ann.token}` } });
    check(denied.status === 403, `an agent reads the audit log: ${denied.status}`);
  });

  await cleanPages();
} finally {
  await browser.close();
}

finish();
