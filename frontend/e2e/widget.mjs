// The visitor's side of issue 9 against a running Kefu server: a visitor on a
// shop's own site (a real origin, served by the browser's router) writes, the
// agent resolves, the widget asks for a rating, and the agent sees it in the
// console; the same in zh-CN, with no English word on the widget but what
// the visitor typed.
//
//   KEFU_URL=http://127.0.0.1:18139 node frontend/e2e/widget.mjs
import { check, journey, rand } from './lib.mjs';

const { BASE, SHOTS, step, rest, until, shoot, login, launch, context, open, shopPage, cleanPages, finish } = journey('widget');
const owner = {
  company: `Widget Shop ${rand}`,
  name: 'Olga Owner',
  email: `olga+${rand}@example.com`,
  password: `correct-horse-${rand}`,
};

/** Everything the widget shows, as text (its shadow root included). */
function widgetText(page) {
  return page.evaluate(() => {
    const host = document.querySelector('kefu-widget');
    const walk = (n) => {
      let s = '';
      for (const c of n.childNodes) {
        if (c.nodeType === 3) s += ` ${c.textContent}`;
        else if (c.nodeType === 1 && c.tagName !== 'STYLE' && c.tagName !== 'SCRIPT') {
          for (const a of ['aria-label', 'placeholder', 'title']) if (c.getAttribute(a)) s += ` ${c.getAttribute(a)}`;
          s += walk(c);
        }
      }
      return s;
    };
    return host?.shadowRoot ? walk(host.shadowRoot) : '';
  });
}

const browser = await launch({ shop: true });

try {
  console.log(`widget against ${BASE} (screenshots in ${SHOTS})`);
  let su;
  let agent;
  let shop;
  await step('a business signs up and its owner has the console open', async () => {
    su = await rest('POST', '/api/v1/signup', owner);
    agent = await open('agent');
    await login(agent, su.tenant.slug, owner, owner.password);
    await agent.waitForURL(/\/app/);
    await agent.getByTestId('inbox').waitFor();
  });

  let conv = '';
  await step('a visitor on the shop writes, the agent resolves, the widget asks for a rating', async () => {
    shop = await shopPage('shop', await context(), su.tenant.widget_key);
    await shop.getByTestId('kefu-launcher').click();
    await shop.getByTestId('kefu-input').fill('My order never came');
    await shop.getByTestId('kefu-send').click();
    await shop.locator('[data-testid="kefu-message"][data-author="visitor"]:not([data-pending])').first().waitFor();
    conv = await until('a conversation to reach the server', async () => (await rest('GET', '/api/v1/conversations?limit=5', undefined, su.token)).conversations[0]?.id);
    await rest('POST', `/api/v1/conversations/${conv}/resolve`, undefined, su.token);
    await shop.getByTestId('kefu-csat').waitFor();
    await shoot(shop, 'widget-csat');
  });

  await step('the visitor gives four stars and a comment; the widget thanks them', async () => {
    await shop.getByTestId('kefu-star-4').click();
    await shop.getByTestId('kefu-csat-comment').fill('Quick and kind');
    await shop.getByTestId('kefu-csat-send').click();
    await shop.getByTestId('kefu-csat-thanks').waitFor();
    check((await shop.getByTestId('kefu-csat').count()) === 0, 'the rating card stays after the rating');
    const c = await rest('GET', `/api/v1/conversations/${conv}`, undefined, su.token);
    check(c.csat?.score === 4 && c.csat?.comment === 'Quick and kind', `stored ${JSON.stringify(c.csat)}`);
  });

  await step('the agent sees the rating on the conversation', async () => {
    await agent.goto(`${BASE}/app/conversations/${conv}`);
    const rated = agent.locator('[data-testid="visitor-csat"][data-score="4"]');
    await rated.waitFor();
    check(/Quick and kind/.test((await rated.textContent()) ?? ''), 'the comment is not shown');
    await shoot(agent, 'console-csat');
  });

  await step('a zh-CN visitor sees no English in the widget, the rating card included', async () => {
    // A business of its own that signed up in Chinese (its greeting and
    // names are Chinese); the tenant's name and people's names are its content.
    const zsu = await rest('POST', '/api/v1/signup', {
      company: `茶馆${rand}`,
      name: '王经理',
      email: `wang+${rand}@example.com`,
      password: owner.password,
      language: 'zh-CN',
    });
    const zh = await shopPage('zh', await context({ locale: 'zh-CN' }), zsu.tenant.widget_key, { lang: 'zh-CN' });
    await zh.getByTestId('kefu-launcher').click();
    await zh.getByTestId('kefu-input').fill('你好，我的快递到哪了');
    await zh.getByTestId('kefu-send').click();
    await zh.locator('[data-testid="kefu-message"][data-author="visitor"]:not([data-pending])').first().waitFor();
    const zconv = await until('a conversation to reach the server', async () => (await rest('GET', '/api/v1/conversations?limit=5', undefined, zsu.token)).conversations[0]?.id);
    await rest('POST', `/api/v1/conversations/${zconv}/resolve`, undefined, zsu.token);
    await zh.getByTestId('kefu-csat').waitFor();
    // Words of Latin letters, but the brand name: none may remain.
    const words = ((await widgetText(zh)).replace(rand, '').match(/[A-Za-z]{2,}/g) ?? []).filter((w) => w !== 'Kefu');
    check(words.length === 0, `English on the zh-CN widget: ${words.join(' ')}`);
    await shoot(zh, 'widget-csat-zh');
  });

  await cleanPages();
} finally {
  await browser.close();
}

finish();
