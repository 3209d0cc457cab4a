// Issue 9, item 7 (nobody available), in real Chromium against the built
// binary: an admin sets business hours and sees whether e-mail is on; with
// no agent online a visitor on the shop's site gets the offline form (the
// header says so, in zh-CN), leaves their e-mail and question; the contact
// carries the e-mail; the agent replies from the console; the visitor has
// left, so the reply is e-mailed (with a link back to the shop) through an
// SMTP server this script runs, to a Kefu this script starts with
// KEFU_SMTP_URL pointing at it.
//
//   node frontend/e2e/offline.mjs            (starts ./bin/kefu on KEFU_OFFLINE_ADDR, default 127.0.0.1:18211)
//   KEFU_BIN=path                            the binary to start (default ./bin/kefu)
import { check, journey, rand, SHOP } from './lib.mjs';
import { smtpCatcher, startKefu } from './own-server.mjs';

const ADDR = process.env.KEFU_OFFLINE_ADDR || '127.0.0.1:18211';
const smtp = await smtpCatcher();
const kefu = await startKefu(ADDR, {
  KEFU_SMTP_URL: smtp.url,
  KEFU_SMTP_FROM: 'Kefu <no-reply@kefu.test>',
  KEFU_REPLY_MAIL_DELAY: '1s',
  KEFU_PUBLIC_URL: `http://${ADDR}`,
});
const { BASE, SHOTS, step, rest, until, shoot, login, launch, context, watch, shopPage, forget, cleanPages, failed, finish } = journey('offline', { base: kefu.base });
const owner = {
  company: `Offline Shop ${rand}`,
  name: 'Olga Owner',
  email: `olga+${rand}@example.com`,
  password: `correct-horse-${rand}`,
};
const visitorEmail = `zhang+${rand}@example.com`;

const browser = await launch({ shop: true });

try {
  console.log(`offline against ${BASE} (SMTP on ${smtp.port}; screenshots in ${SHOTS})`);
  let su;
  let agent;
  let agentCtx;
  await step('the admin sets business hours and sees that e-mail is on', async () => {
    su = await rest('POST', '/api/v1/signup', {
      ...owner,
      language: 'zh-CN',
    });
    await rest('PATCH', '/api/v1/tenant', { allowed_origins: [SHOP] }, su.token);
    agentCtx = await context({ locale: 'zh-CN' });
    agent = watch('agent', await agentCtx.newPage());
    await login(agent, su.tenant.slug, owner, owner.password);
    await agent.waitForURL(/\/app/);
    await agent.goto(`${BASE}/app/admin/business-hours`);
    await agent.getByTestId('hours-page').waitFor();
    await agent.getByTestId('hours-email-on').waitFor();
    await agent
      .getByRole('button', { name: /7×24|全天|24/ })
      .first()
      .click();
    await agent.getByTestId('hours-save').click();
    await until('the saved hours', async () => (await agent.getByTestId('hours-status').textContent())?.includes('服务中'));
    const h = await rest('GET', '/api/v1/business-hours', undefined, su.token);
    check(h.configured && h.enabled && h.open_now === true && h.email_configured === true, `hours: ${JSON.stringify(h)}`);
    await shoot(agent, 'offline-admin-hours');
  });

  let shop;
  let conv = '';
  let visitorId = '';
  await step('nobody online: the widget offers the form in zh-CN, the visitor leaves e-mail and question', async () => {
    // The owner's console counts as an online agent: it closes (their tab is gone).
    await agent.close();
    forget('agent');
    const cfg = await until('nobody online', async () => {
      const c = await rest('GET', `/api/v1/widget/config?key=${su.tenant.widget_key}`);
      return c.agents_online === 0 ? c : null;
    });
    check(cfg.offline === true && cfg.agents_online === 0, `config: ${JSON.stringify(cfg)}`);
    shop = await shopPage('shop', await context({ locale: 'zh-CN' }), su.tenant.widget_key, { lang: 'zh-CN', title: '小店', path: '/cart' });
    await shop.getByTestId('kefu-launcher').click();
    await shop.getByTestId('kefu-offline').waitFor();
    const sub = await shop.getByTestId('kefu-sub').textContent();
    check(sub.includes('客服暂时不在'), `header: ${sub}`);
    check(!/few minutes|几分钟/.test(sub), `a promise the numbers do not back: ${sub}`);
    await shop.getByTestId('kefu-offline-email').fill('not-an-address');
    await shop.getByTestId('kefu-offline-send').click();
    await shop.getByTestId('kefu-offline-email-error').filter({ hasText: '邮箱' }).waitFor();
    await shoot(shop, 'offline-widget-form');
    await shop.getByTestId('kefu-offline-name').fill('张三');
    await shop.getByTestId('kefu-offline-email').fill(visitorEmail);
    await shop.getByTestId('kefu-offline-message').fill('我的包裹到哪了？');
    await shop.getByTestId('kefu-offline-send').click();
    await shop.getByTestId('kefu-offline-thanks').waitFor();
    await shop.locator('[data-testid="kefu-message"][data-author="visitor"]').filter({ hasText: '我的包裹到哪了？' }).waitFor();
    await shoot(shop, 'offline-widget-thanks');
    const list = await rest('GET', '/api/v1/conversations?limit=5', undefined, su.token);
    conv = list.conversations[0].id;
    visitorId = list.conversations[0].visitor.id;
    check(list.conversations[0].visitor.email === visitorEmail, `conversation's visitor: ${JSON.stringify(list.conversations[0].visitor)}`);
  });

  await step('the contact carries the e-mail', async () => {
    const c = await rest('GET', `/api/v1/contacts/${visitorId}`, undefined, su.token);
    const email = c.email ?? c.contact?.email;
    check(email === visitorEmail, `contact: ${JSON.stringify(c)}`);
  });

  await step('the visitor leaves; the agent replies from the console; the reply is e-mailed with a link back', async () => {
    await shop.context().close();
    forget('shop');
    agent = watch('agent', await agentCtx.newPage());
    await agent.goto(`${BASE}/app/conversations/${conv}`);
    const composer = agent.getByTestId('composer-input');
    await composer.waitFor();
    await composer.fill('已发货，单号 SF123，预计明天送达。');
    await composer.press('Enter');
    await agent.getByText('已发货，单号 SF123，预计明天送达。').first().waitFor();
    const mail = await until('the reply e-mail', async () => smtp.mails.find((m) => m.to.includes(visitorEmail)), 20000);
    const text = mail.body;
    check(text.includes('已发货，单号 SF123，预计明天送达。'), `body: ${text}`);
    check(text.includes(`${SHOP}/cart`), `no link back to the shop: ${text}`);
    check(/Subject: =\?utf-8\?b\?/i.test(mail.raw), 'subject not encoded');
    await shoot(agent, 'offline-agent-replied');
  });

  await cleanPages(' in any page');
} finally {
  await browser.close();
  await kefu.stop();
  smtp.close();
}

if (failed()) console.log(`--- server log ---\n${kefu.log().slice(-4000)}`);
finish(`${smtp.mails.length} e-mail(s) received`);
