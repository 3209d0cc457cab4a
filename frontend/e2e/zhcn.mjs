// zh-CN end to end (issue 9): a business signs up in Chinese and its owner
// walks every console and admin page; on each, at 1280 and 390 px, the
// visible text (and the placeholders of empty inputs) must hold no ASCII
// word of two letters or more outside user content and a tiny allow-list.
// Screenshots of every screen go to $KEFU_SCREENSHOTS as zh-<page>-<width>.png.
//
//   KEFU_URL=http://127.0.0.1:18220 node frontend/e2e/zhcn.mjs
//
// What is not scanned, and why:
//  - user content: every string this script typed or the server made from
//    it (names, e-mails, the slug, the widget key, messages) — removed from
//    the text before the scan, by exact value;
//  - e-mail addresses and URLs (they are addresses, not words);
//  - <code>, <pre>, <kbd> and anything marked translate="no" (HTML's mark
//    for names and code: node ids, expressions, model ids, product names);
//  - text marked as another language (lang="en": the language switch
//    offers "English" by its own name) and the editor library's credit;
//  - the workspace's data shown in settings (class user-content: handoff
//    phrases visitors may type in any language);
//  - the allow-list below.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, journey, rand, visitorsWrite } from './lib.mjs';

const { BASE, SHOTS, step, rest, shoot, launch, open, cleanPages, finish } = journey('zhcn', { timeout: 20000, headers: { 'Accept-Language': 'zh-CN' } });
/** The REST API from Node, the token before the body. */
const api = (method, path, token, body) => rest(method, path, body, token);

// The allow-list, kept tiny:
//  Kefu     the product's name (a brand is not translated);
//  API      the standard term in Chinese developer UIs (API 密钥);
//  FAQ      likewise (常见问题 FAQ) in the bot pages;
//  LLM      the model provider's kind, as Chinese AI products write it;
//  URL      as in "Webhook URL", the usual term;
//  Webhook  no settled Chinese word; Chinese SaaS (钉钉, 飞书) write Webhook;
//  CSV      the file format of exports;
//  OpenAI   "OpenAI 兼容" names a kind of interface; it has no Chinese name;
//  Ctrl Shift Alt Enter Esc Delete   the keys as printed on keyboards sold in China.
const ALLOWED = new Set(['Kefu', 'API', 'FAQ', 'LLM', 'URL', 'Webhook', 'CSV', 'OpenAI', 'Ctrl', 'Shift', 'Alt', 'Enter', 'Esc', 'Delete']);

const zhDigits = '零一二三四五六七八九';
const tag = String(Date.now() % 1e6)
  .split('')
  .map((d) => zhDigits[Number(d)])
  .join('');
const owner = { company: `青山茶舍${tag}`, name: '王老板', email: `wang+${rand}@example.com`, password: `qingshan-${rand}` };

// Strings of user content, removed before the scan (longest first).
const userContent = new Set([owner.company, owner.name, owner.email]);

const findings = [];

/** The visible text of the page and the placeholders of its empty visible inputs. */
async function visibleText(page) {
  return page.evaluate(() => {
    const out = [];
    const skip = (el) => {
      if (el.closest('code, pre, kbd, script, style, noscript, svg, [translate="no"], [data-user-content], .user-content, .react-flow__attribution')) return true;
      const l = el.closest('[lang]');
      return !!l && l !== document.documentElement && !/^zh/i.test(l.getAttribute('lang'));
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      const text = n.nodeValue?.trim();
      if (!el || !text || skip(el)) continue;
      if (typeof el.checkVisibility === 'function' ? !el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true }) : el.offsetParent === null) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      out.push(text);
    }
    for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
      if (el.value || skip(el) || el.getBoundingClientRect().width === 0) continue;
      out.push(el.getAttribute('placeholder'));
    }
    return out;
  });
}

/** The English words in what the page shows, outside user content and the allow-list. */
function englishIn(texts) {
  const found = new Set();
  const content = [...userContent].filter(Boolean).sort((a, b) => b.length - a.length);
  for (let t of texts) {
    for (const c of content) t = t.split(c).join(' ');
    t = t.replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, ' ').replace(/\b(https?|wss?):\/\/\S+/g, ' ');
    for (const m of t.matchAll(/[A-Za-z]{2,}/g)) if (!ALLOWED.has(m[0])) found.add(`${m[0]}  ⟵ "${t.trim().slice(0, 80)}"`);
  }
  return [...found];
}

/** Waits for the network and a moment of quiet. */
async function settle(page) {
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.waitForTimeout(400);
}

/** Scans the page at both widths and screenshots it; findings are collected, not thrown, so one run lists them all. */
async function scan(page, name) {
  await shoot(page, `zh-${name}`, {
    settle,
    then: async (label) => {
      for (const w of englishIn(await visibleText(page))) findings.push(`${name} @${label}: ${w}`);
    },
  });
}

const browser = await launch();

const S = {};
try {
  console.log(`zh-CN journey against ${BASE} (screenshots in ${SHOTS})`);
  const page = await open('zh', { locale: 'zh-CN' });
  const ctx = page.context();

  await step('the landing, signup and login pages are in Chinese', async () => {
    await page.goto(`${BASE}/`);
    await scan(page, 'landing');
    await page.goto(`${BASE}/login`);
    await page.getByTestId('login-form').waitFor();
    await scan(page, 'login');
    await page.goto(`${BASE}/signup`);
    await page.getByTestId('signup-form').waitFor();
    await scan(page, 'signup');
  });

  await step('a business signs up in Chinese', async () => {
    await page.getByTestId('signup-company').fill(owner.company);
    await page.getByTestId('signup-name').fill(owner.name);
    await page.getByTestId('signup-email').fill(owner.email);
    await page.getByTestId('signup-password').fill(owner.password);
    await page.getByTestId('signup-submit').click();
    await page.waitForURL(/\/app/);
    S.token = await page.evaluate(() => localStorage.getItem('kefu:token'));
    check(S.token, 'no token after signup');
    const me = await api('GET', '/api/v1/me', S.token);
    check(me.tenant.language === 'zh-CN', `the workspace's language is ${me.tenant.language}`);
    S.slug = me.tenant.slug;
    S.key = me.tenant.widget_key;
    userContent.add(S.slug);
    userContent.add(S.key);
  });

  await step('the inbox shows the onboarding checklist, all to do', async () => {
    await page.goto(`${BASE}/app`);
    await page.getByTestId('onboarding-card').waitFor();
    const done = await page.locator('[data-testid^="onboarding-step-"][data-done="true"]').count();
    check(done === 0, `${done} steps done in a new workspace`);
    await scan(page, 'inbox-onboarding');
  });

  await step('a day of data, in Chinese (API and a visitor on the demo page)', async () => {
    const tok = S.token;
    const team = await api('POST', '/api/v1/teams', tok, { name: '售后组' });
    userContent.add('售后组');
    const agent = await api('POST', '/api/v1/agents', tok, { email: `li+${rand}@example.com`, name: '李客服', password: `li-pass-${rand}`, role: 'agent', skills: ['退货'] });
    userContent.add('李客服');
    await api('PUT', `/api/v1/teams/${team.id}`, tok, { name: '售后组', members: [agent.id] }).catch(() => undefined);
    await api('POST', '/api/v1/invites', tok, { email: `zhao+${rand}@example.com`, role: 'supervisor' });
    await api('POST', '/api/v1/canned-replies', tok, { shortcut: 'tuihuo', body: '您好 {{visitor.name}}，退货请在七天内申请。', scope: 'tenant' });
    userContent.add('tuihuo');
    userContent.add('您好 {{visitor.name}}，退货请在七天内申请。');
    await api('POST', '/api/v1/faqs', tok, { question: '怎么退货？', answer: '七天内可以无理由退货。', keywords: ['退货'] });
    await api('POST', '/api/v1/articles', tok, { title: '配送说明', body: '我们使用顺丰快递，两天送达。' }).catch(() => undefined);
    await api('POST', '/api/v1/webhooks', tok, { url: 'https://hooks.example.com/kefu', events: ['conversation.created'] });
    await api('POST', '/api/v1/api-keys', tok, { name: '订单系统', role: 'developer' });
    // A visitor writes from the demo page's origin, through the widget's socket.
    const v = await api('POST', '/api/v1/widget/sessions', null, { widget_key: S.key, visitor: { name: '张三', attributes: {} } });
    userContent.add('张三');
    const vp = await ctx.newPage();
    await vp.goto(`${BASE}/login`);
    [S.conv] = await visitorsWrite(vp, [{ token: v.visitor_token, body: '你好，我想退货，茶壶坏了' }]);
    await vp.close();
    check(S.conv, 'no conversation');
  });

  await step('the inbox and the conversation (with its contact) have no English', async () => {
    await page.goto(`${BASE}/app`);
    await page.locator('[data-testid="conversation-item"]').first().waitFor();
    await scan(page, 'inbox');
    await page.goto(`${BASE}/app/conversations/${S.conv}`);
    await page.getByText('你好，我想退货，茶壶坏了').first().waitFor();
    await page.waitForTimeout(1500);
    await scan(page, 'conversation');
    await page.keyboard.press('Escape');
  });

  const adminPages = [
    ['onboarding', 'onboarding-page'],
    ['widget', null],
    ['agents', null],
    ['roles', null],
    ['teams', null],
    ['canned-replies', null],
    ['flows', null],
    ['faq', null],
    ['articles', null],
    ['bots', null],
    ['reports', null],
    ['webhooks', null],
    ['api-keys', null],
    ['audit', null],
  ];
  for (const [path, testid] of adminPages) {
    await step(`settings: ${path}`, async () => {
      await page.goto(`${BASE}/app/admin/${path}`);
      if (testid) await page.getByTestId(testid).waitFor();
      await page.locator('.admin-content').first().waitFor();
      await scan(page, `admin-${path}`);
    });
  }

  await step('the flow editor', async () => {
    const flows = await api('GET', '/api/v1/flows', S.token);
    const list = flows.flows ?? flows;
    check(list.length > 0, 'no flows');
    for (const f of list) userContent.add(f.name);
    await page.goto(`${BASE}/app/admin/flows/${list[0].id}`);
    await page.locator('.react-flow').first().waitFor();
    await scan(page, 'flow-editor');
  });

  await step('the onboarding card ticks itself (a visitor wrote, a teammate was invited)', async () => {
    const o = await api('GET', '/api/v1/onboarding', S.token);
    const done = Object.fromEntries(o.steps.map((s) => [s.id, s.done]));
    check(done.snippet && done.invite && done.test_message, `steps: ${JSON.stringify(o.steps)}`);
    await page.goto(`${BASE}/app/admin/onboarding`);
    await page.locator('[data-testid="onboarding-step-test_message"][data-done="true"]').waitFor();
  });

  await step('no English on any screen', async () => {
    if (findings.length) {
      console.log(`    ${findings.length} English word(s) on zh-CN screens:\n      ${findings.join('\n      ')}`);
    }
    check(findings.length === 0, `${findings.length} English words on zh-CN screens`);
  });

  await cleanPages(' in any page');
} finally {
  await browser.close();
  writeFileSync(join(SHOTS, 'zhcn-findings.txt'), findings.join('\n') + '\n');
}

finish();
