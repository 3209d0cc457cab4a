// Settings → Widget and what it changes for visitors (issue 9), against a
// running Kefu server: the owner styles the widget and watches the live
// preview follow, saves; the shop's widget wears the settings and asks the
// pre-chat form before the first message; one identified person on two
// "devices" (two browser contexts with fresh storage) sees one history, a
// forged hash stays anonymous; an origin left off the allowed list shows no
// widget, says why in the console, and the admin sees it refused and allows
// it; the page in zh-CN. Screenshots at 1280 and 390 px.
//
//   KEFU_URL=http://127.0.0.1:18200 node frontend/e2e/widget-settings.mjs
import { createHmac } from 'node:crypto';
import { check, journey, PHONE, rand, SHOP } from './lib.mjs';

const { BASE, SHOTS, pages, step, rest, until, shoot, login, launch, context, open, shopPage, cleanPages, finish } = journey('widget-settings');
const owner = { company: `Tea House ${rand}`, name: 'Olga Owner', email: `olga+${rand}@example.com`, password: `correct-horse-${rand}` };

/** Screenshots of the whole page (scrolled to `scrollTo` first, when given). */
const shootPage = (page, shot, scrollTo) => shoot(page, shot, { settle: 300, scrollTo, fullPage: true });

const visitorBodies = (page) =>
  page.evaluate(() =>
    [...(document.querySelector('kefu-widget')?.shadowRoot?.querySelectorAll('[data-testid="kefu-message"]') ?? [])].map((m) => m.querySelector('.b')?.textContent ?? ''),
  );

const browser = await launch({ shop: true });

try {
  console.log(`widget-settings against ${BASE} (screenshots in ${SHOTS})`);
  let su;
  const preview = () => pages.admin.getByTestId('widget-preview');
  const inPreview = (sel) => preview().locator(`kefu-widget >> ${sel}`);

  await step('the owner opens Settings → Widget and sees the live preview', async () => {
    su = await rest('POST', '/api/v1/signup', owner);
    const admin = await open('admin');
    await login(admin, su.tenant.slug, owner, owner.password);
    await admin.waitForURL(/\/app/);
    await admin.goto(`${BASE}/app/admin/widget`);
    await admin.getByTestId('widget-snippet').waitFor();
    await admin.getByTestId('copy-snippet').waitFor();
    await admin.getByTestId('demo-link').waitFor();
    await inPreview('[data-testid="kefu-launcher"]').waitFor();
    await inPreview('[data-testid="kefu-panel"].open').waitFor();
    check(/^kis_/.test((await admin.getByTestId('ws-identity-secret').textContent()) ?? ''), 'no identity secret shown');
  });

  await step('each change shows in the preview before it is saved', async () => {
    const admin = pages.admin;
    await admin.getByTestId('ws-color').fill('#aa3300');
    await admin.getByTestId('ws-position').getByText('Bottom left').click();
    await admin.getByTestId('ws-greeting').fill('Welcome to the tea house! Ask us anything.');
    await admin.getByTestId('ws-launcher-text').fill('Ask us');
    await admin.getByTestId('ws-prechat-enabled').click();
    await admin.getByTestId('ws-add-field').click();
    await admin.getByTestId('ws-field-2-label').fill('Order number');
    await admin.getByTestId('ws-field-2-key').fill('order_no');
    await until('the preview to follow', async () => {
      const greet = await inPreview('.m.them .b')
        .first()
        .textContent()
        .catch(() => '');
      return greet === 'Welcome to the tea house! Ask us anything.';
    });
    await inPreview('[data-testid="kefu-prechat"]').waitFor();
    check((await inPreview('[data-testid="kefu-prechat-order_no"]').count()) === 1, 'the custom field is not in the preview');
    const look = await inPreview('[data-testid="kefu-launcher"]').evaluate((b) => {
      const box = b.getBoundingClientRect();
      const host = b.getRootNode().host.parentElement.getBoundingClientRect();
      return { bg: getComputedStyle(b).backgroundColor, left: box.left - host.left, right: host.right - box.right };
    });
    check(look.bg === 'rgb(170, 51, 0)', `launcher colour ${look.bg}`);
    check(look.left < look.right, `the launcher is not on the left: ${JSON.stringify(look)}`);
    // Closed, the launcher shows its text.
    await inPreview('[data-testid="kefu-launcher"]').click();
    check((await inPreview('[data-testid="kefu-launcher-text"]').textContent()) === 'Ask us', 'no launcher text in the preview');
    await inPreview('[data-testid="kefu-launcher"]').click();
    const saved = await rest('GET', '/api/v1/widget-settings', undefined, su.token);
    check(saved.color === '' && saved.prechat.enabled === false, 'the preview saved something');
  });

  await step('saving stores the settings; the page at 1280 and 390 px', async () => {
    const admin = pages.admin;
    await admin.getByTestId('ws-save').click();
    await until('the save', async () => {
      const s = await rest('GET', '/api/v1/widget-settings', undefined, su.token);
      return s.color === '#aa3300' && s.position === 'left' && s.launcher_text === 'Ask us' && s.prechat.enabled && s.prechat.fields.length === 3;
    });
    await shootPage(admin, 'widget-settings');
    await shootPage(admin, 'widget-settings-form', 'ws-prechat');
    await shootPage(admin, 'widget-settings-preview', 'widget-preview');
  });

  await step('the shop widget wears the settings and asks the pre-chat form first', async () => {
    const shop = await shopPage('shop', await context(), su.tenant.widget_key);
    await shop.getByTestId('kefu-launcher-text').waitFor();
    await shop.getByTestId('kefu-launcher').click();
    await shop.getByTestId('kefu-prechat').waitFor();
    check(await shop.getByTestId('kefu-input').isDisabled(), 'the composer is open before the form');
    await shop.getByTestId('kefu-prechat-submit').click();
    check(((await shop.getByTestId('kefu-prechat-error-name').textContent()) ?? '').length > 0, 'an empty required name is not flagged');
    await shop.getByTestId('kefu-prechat-name').fill('Pia Prechat');
    await shop.getByTestId('kefu-prechat-email').fill('pia@example');
    await shop.getByTestId('kefu-prechat-submit').click();
    check(((await shop.getByTestId('kefu-prechat-error-email').textContent()) ?? '').length > 0, 'a bad e-mail is not flagged');
    await shop.getByTestId('kefu-prechat-email').fill(`pia+${rand}@example.com`);
    await shop.getByTestId('kefu-prechat-order_no').fill('A-1001');
    await shop.getByTestId('kefu-prechat-submit').click();
    await shop.getByTestId('kefu-prechat').waitFor({ state: 'detached' });
    await shop.getByTestId('kefu-input').fill('Where is my tea?');
    await shop.getByTestId('kefu-send').click();
    await shop.locator('[data-testid="kefu-message"][data-author="visitor"]:not([data-pending])').first().waitFor();
    const list = await rest('GET', '/api/v1/contacts?limit=10', undefined, su.token);
    const pia = list.contacts.find((c) => c.name === 'Pia Prechat');
    check(pia && pia.email === `pia+${rand}@example.com` && pia.attributes.order_no === 'A-1001', `contact ${JSON.stringify(pia)}`);
    await shootPage(shop, 'widget-settings-shop');
  });

  await step('one identified person on two devices sees one history; a forged hash stays anonymous', async () => {
    const settings = await rest('GET', '/api/v1/widget-settings', undefined, su.token);
    const id = `user-${rand}`;
    const identity = { id, name: 'Ida Identified', email: `ida+${rand}@example.com`, hash: createHmac('sha256', settings.identity_secret).update(id).digest('hex') };
    const a = await shopPage('laptop', await context(), su.tenant.widget_key, { identity });
    await a.getByTestId('kefu-launcher').click();
    await a.getByTestId('kefu-input').fill('Sent from my laptop');
    check((await a.getByTestId('kefu-prechat').count()) === 0, 'the identified visitor is asked the form again');
    await a.getByTestId('kefu-send').click();
    await a.locator('[data-testid="kefu-message"][data-author="visitor"]:not([data-pending])').first().waitFor();

    const b = await shopPage('phone', await context({ viewport: PHONE, isMobile: true }), su.tenant.widget_key, { identity });
    await b.getByTestId('kefu-launcher').click();
    await until('the laptop message on the phone', async () => (await visitorBodies(b)).includes('Sent from my laptop'));
    await b.getByTestId('kefu-input').fill('And this from my phone');
    await b.getByTestId('kefu-send').click();
    await until('the phone message on the laptop', async () => (await visitorBodies(a)).includes('And this from my phone'));
    await shootPage(b, 'widget-identity-phone');

    const c = await shopPage('forger', await context(), su.tenant.widget_key, { identity: { ...identity, hash: '0'.repeat(64) } });
    await c.getByTestId('kefu-launcher').click();
    await until('the console warning', async () => c.warnings.some((w) => w.includes('identity_invalid')));
    await c.waitForTimeout(500);
    check(!(await visitorBodies(c)).includes('Sent from my laptop'), 'a forged hash sees the history');
    const contacts = await rest('GET', `/api/v1/contacts?q=${id}&limit=5`, undefined, su.token);
    check(contacts.contacts.length === 1 && contacts.contacts[0].external_id === id, `contacts for ${id}: ${JSON.stringify(contacts)}`);
  });

  await step('an origin left off the list shows no widget, says why, and the admin allows it', async () => {
    const admin = pages.admin;
    await admin.reload();
    const origins = admin.getByTestId('allowed-origins');
    await origins.click();
    await admin.keyboard.type('https://tea.example.com');
    await admin.keyboard.press('Enter');
    await admin.getByTestId('ws-save').click();
    await until('the list saved', async () => (await rest('GET', '/api/v1/widget-settings', undefined, su.token)).allowed_origins.length === 1);

    const shop = await shopPage('refused', await context(), su.tenant.widget_key);
    await until('the console warning', async () => shop.warnings.some((w) => w.includes("is not in the workspace's allowed origins")));
    check((await shop.locator('kefu-widget').count()) === 0, 'the widget is drawn on a refused origin');

    await admin.reload();
    await admin.getByTestId('ws-refused').getByText(SHOP).waitFor();
    await admin.getByTestId(`ws-allow-${SHOP}`).click();
    await admin.getByTestId('ws-save').click();
    await until('the shop allowed', async () => (await rest('GET', '/api/v1/widget-settings', undefined, su.token)).allowed_origins.includes(SHOP));
    await shop.waitForTimeout(11000); // the server's settings cache on other nodes: seconds
    await shop.reload();
    await shop.getByTestId('kefu-launcher').waitFor();
    await shootPage(admin, 'widget-settings-refused');
  });

  await step('in zh-CN the settings page and the preview speak Chinese', async () => {
    const zh = await open('zh', { locale: 'zh-CN', lang: 'zh-CN' });
    await login(zh, su.tenant.slug, owner, owner.password);
    await zh.waitForURL(/\/app/);
    await zh.goto(`${BASE}/app/admin/widget`);
    await zh.getByText('外观与行为').waitFor();
    await zh.getByText('咨询前表单').waitFor();
    await zh.getByTestId('widget-preview').locator('kefu-widget >> [data-testid="kefu-prechat"]').waitFor();
    // Words of Latin letters on the editor, but user content, code and names of things.
    const text = await zh.evaluate(() => {
      const root = document.querySelector('[data-testid="widget-settings"]');
      const skip = (el) => el.closest('code, pre, input, textarea, .ant-select-selection-item, .ant-table-cell, [data-testid="widget-preview"]');
      let s = '';
      const walk = (n) => {
        for (const c of n.childNodes) {
          if (c.nodeType === 3 && !skip(c.parentElement)) s += ` ${c.textContent}`;
          else if (c.nodeType === 1) walk(c);
        }
      };
      walk(root);
      return s;
    });
    const allowed = new Set(['Kefu', 'identify', 'id', 'name', 'email', 'hash', 'HMAC', 'SHA', 'https', 'example', 'com', 'shop', 'body', 'ID']);
    const words = (text.match(/[A-Za-z]{2,}/g) ?? []).filter((w) => !allowed.has(w));
    check(words.length === 0, `English on the zh-CN settings page: ${[...new Set(words)].join(' ')}`);
    await shootPage(zh, 'widget-settings-zh');
    await shootPage(zh, 'widget-settings-zh-preview', 'widget-preview');
  });

  await cleanPages();
} finally {
  await browser.close();
}

finish();
