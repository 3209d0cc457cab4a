// The API reference and the plan's usage in the browser, against a running
// Kefu server: /api/docs renders the spec with the Redoc bundle the server
// itself serves (no CDN, no Content-Security-Policy violation), and the API
// keys page shows the plan and usage card in English and Chinese.
//
//   KEFU_URL=http://127.0.0.1:18089 node frontend/e2e/apidocs.mjs
//   KEFU_SCREENSHOTS=dir    where screenshots go (default tmp/screenshots)
//   CHROMIUM=/path          browser binary (default /usr/bin/chromium)
import { check, journey, rand } from './lib.mjs';

const { BASE, SHOTS, step, rest, shoot, login, launch, context, watch, cleanPages, finish } = journey('apidocs');
const owner = { company: `Docs Tea ${rand}`, name: 'Olga Owner', email: `olga+${rand}@example.com`, password: `owner-pass-${rand}` };

const browser = await launch();

try {
  const en = watch('en', await (await context({ locale: 'en-US' })).newPage());
  const zh = watch('zh', await (await context({ locale: 'zh-CN' })).newPage());
  const offsite = [];
  for (const p of [en, zh]) {
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

  await cleanPages();
} finally {
  await browser.close();
}

finish();
