// The landing page as a small static entry: plain DOM, no React and no antd,
// so a first visit downloads a few kilobytes. Sign up and log in are links to
// the app's pages. The strings are the app's own (i18n/landing.ts), in the
// language the app would pick.
import { landingEn, landingZh } from '../i18n/landing';
import { readStorage, writeStorage } from '../stores/storage';
import logo from '../assets/logo.svg';

const LANG_KEY = 'kefu:lang';

function language(): 'en' | 'zh-CN' {
  const saved = readStorage(LANG_KEY);
  if (saved === 'en' || saved === 'zh-CN') return saved;
  for (const l of navigator.languages?.length ? navigator.languages : [navigator.language ?? '']) {
    const low = l.toLowerCase();
    if (low.startsWith('zh')) return 'zh-CN';
    if (low.startsWith('en')) return 'en';
  }
  return 'en';
}

const CSS = `
.l{min-height:100vh;background:linear-gradient(180deg,#eef4ff 0%,#fff 60%);color:rgba(0,0,0,.88);font-family:-apple-system,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",sans-serif}
.l-h{display:flex;justify-content:space-between;align-items:center;padding:16px 24px;max-width:1120px;margin:0 auto}
.l-logo{display:inline-flex;align-items:center;gap:8px;font-weight:600;font-size:18px;color:inherit;text-decoration:none}
.l-nav{display:flex;gap:8px;align-items:center}
.l-m{max-width:1120px;margin:0 auto;padding:56px 24px 80px}
.l-t{font-size:44px;line-height:1.2;max-width:760px;margin:0 0 16px;font-weight:600}
.l-s{font-size:18px;color:#595959;max-width:680px;margin:0 0 32px;line-height:1.6}
.l-b{display:inline-flex;align-items:center;justify-content:center;height:40px;padding:0 20px;border-radius:8px;font-size:16px;text-decoration:none;border:1px solid #d9d9d9;color:rgba(0,0,0,.88);background:#fff;cursor:pointer;font-family:inherit}
.l-b.p{background:#0958d9;border-color:#0958d9;color:#fff}
.l-b.t{border-color:transparent;background:transparent;height:32px;padding:0 12px;font-size:14px}
.l-b:focus-visible{outline:2px solid #0958d9;outline-offset:2px}
.l-cta{display:flex;gap:12px;flex-wrap:wrap}
.l-ps{display:grid;grid-template-columns:repeat(3,1fr);gap:24px;margin-top:72px}
.l-p{background:#fff;border:1px solid #f0f0f0;border-radius:12px;padding:24px}
.l-p h2{font-size:18px;margin:0 0 8px}
.l-p p{margin:0;color:#595959;line-height:1.6}
@media (max-width:720px){.l-t{font-size:30px}.l-s{font-size:16px}.l-ps{grid-template-columns:1fr;margin-top:40px}.l-m{padding-top:24px}.l-h{padding:12px 16px}}
@media (prefers-color-scheme:dark){.l{background:linear-gradient(180deg,#0f1a2e 0%,#0b0d12 60%);color:rgba(255,255,255,.88)}.l-s,.l-p p{color:#bfbfbf}.l-p{background:#141414;border-color:#303030}.l-b{background:#141414;border-color:#424242;color:rgba(255,255,255,.88)}.l-b.p{background:#1677ff;border-color:#1677ff}.l-b.t{background:transparent}}
`;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** Draws the landing page into root. */
export function renderLanding(root: HTMLElement): void {
  const lang = language();
  const s = lang === 'zh-CN' ? landingZh : landingEn;
  document.documentElement.lang = lang;
  if (!document.getElementById('l-css')) document.head.append(h('style', { id: 'l-css' }, CSS));
  const name = lang === 'zh-CN' ? 'Kefu 客服' : 'Kefu';
  const switcher = h(
    'button',
    { class: 'l-b t', type: 'button', 'aria-label': s.switchLanguageLabel, 'data-testid': 'landing-lang', lang: s.switchLanguage === 'English' ? 'en' : 'zh-CN' },
    s.switchLanguage,
  );
  switcher.addEventListener('click', () => {
    writeStorage(LANG_KEY, lang === 'zh-CN' ? 'en' : 'zh-CN');
    renderLanding(root);
  });
  const points = (
    [
      [s.point1Title, s.point1],
      [s.point2Title, s.point2],
      [s.point3Title, s.point3],
    ] as const
  ).map(([title, text]) => h('div', { class: 'l-p' }, h('h2', {}, title), h('p', {}, text)));
  root.replaceChildren(
    h(
      'div',
      { class: 'l', 'data-testid': 'landing' },
      h(
        'header',
        { class: 'l-h' },
        h('a', { class: 'l-logo', href: '/' }, h('img', { src: logo, width: '28', height: '28', alt: '' }), name),
        h('nav', { class: 'l-nav' }, switcher, h('a', { class: 'l-b t', href: '/login' }, s.login)),
      ),
      h(
        'main',
        { class: 'l-m' },
        h('h1', { class: 'l-t' }, s.title),
        h('p', { class: 'l-s' }, s.subtitle),
        h(
          'div',
          { class: 'l-cta' },
          h('a', { class: 'l-b p', href: '/signup', 'data-testid': 'landing-signup' }, s.signup),
          h('a', { class: 'l-b', href: '/login', 'data-testid': 'landing-login' }, s.login),
        ),
        h('div', { class: 'l-ps' }, ...points),
      ),
    ),
  );
}
