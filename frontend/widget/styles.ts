// All of the widget's CSS; it lives inside the shadow root, so nothing here
// reaches the host page and the page's rules do not reach in.
export const FONT = '-apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';

/**
 * The text colour that reads on a background colour (#rrggbb): white or near
 * black, whichever contrasts more (WCAG relative luminance), so any brand
 * colour keeps its header and buttons readable.
 */
export function readableOn(hex: string): string {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex.trim());
  if (!m) return '#fff';
  const n = parseInt(m[1]!, 16);
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin((n >> 16) & 255) + 0.7152 * lin((n >> 8) & 255) + 0.0722 * lin(n & 255);
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? '#fff' : '#1f1f1f';
}

/** The default brand: antd's blue-7, 6.3:1 against white text (AA). */
export const DEFAULT_BRAND = '#0958d9';

export function css(brand: string): string {
  const on = readableOn(brand);
  return `
:host { all: initial; }
* { box-sizing: border-box; }
.root { font-family: ${FONT}; font-size: 14px; line-height: 1.5; color: #1f1f1f; -webkit-font-smoothing: antialiased; }
button { font: inherit; }
:focus-visible { outline: 2px solid ${brand}; outline-offset: 2px; }
.launcher { position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; border-radius: 50%; border: 0; background: ${brand}; color: ${on}; cursor: pointer; box-shadow: 0 6px 20px rgba(0,0,0,.2); display: flex; align-items: center; justify-content: center; z-index: 2147483000; transition: transform .15s ease; padding: 0; }
.launcher:hover { transform: scale(1.06); }
.launcher svg { width: 26px; height: 26px; fill: currentColor; }
.badge { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px; padding: 0 6px; border-radius: 10px; background: #f5222d; color: #fff; font-size: 12px; font-weight: 600; line-height: 20px; text-align: center; box-shadow: 0 0 0 2px #fff; }
.badge[hidden] { display: none; }
.panel { position: fixed; right: 20px; bottom: 88px; width: 370px; height: 600px; max-height: calc(100vh - 108px); background: #fff; border-radius: 16px; box-shadow: 0 12px 48px rgba(0,0,0,.18); display: flex; flex-direction: column; overflow: hidden; z-index: 2147483001; opacity: 0; transform: translateY(12px); pointer-events: none; visibility: hidden; transition: opacity .18s ease, transform .18s ease, visibility 0s linear .18s; }
.panel.open { opacity: 1; transform: none; pointer-events: auto; visibility: visible; transition: opacity .18s ease, transform .18s ease; }
.head { background: ${brand}; color: ${on}; padding: 16px 16px 14px; display: flex; align-items: flex-start; gap: 12px; flex: none; }
.head-text { flex: 1; min-width: 0; }
.title { font-size: 16px; font-weight: 600; margin: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.sub { font-size: 12px; margin-top: 2px; display: flex; align-items: center; gap: 6px; }
.dot { width: 8px; height: 8px; border-radius: 50%; background: #95de64; flex: none; }
.dot.off { background: #d9d9d9; }
.x { background: rgba(255,255,255,.15); border: 0; color: ${on}; width: 32px; height: 32px; border-radius: 8px; cursor: pointer; display: flex; align-items: center; justify-content: center; padding: 0; flex: none; }
.x:hover { background: rgba(255,255,255,.28); }
.human { background: rgba(255,255,255,.15); border: 1px solid rgba(255,255,255,.45); color: #fff; height: 28px; border-radius: 14px; padding: 0 10px; margin-right: 6px; font: inherit; font-size: 12px; cursor: pointer; flex: none; }
.human:hover { background: rgba(255,255,255,.28); }
.human:disabled { opacity: .6; cursor: default; }
.streaming .b::after { content: "▍"; margin-left: 1px; animation: kblink 1s steps(1) infinite; }
@keyframes kblink { 50% { opacity: 0; } }
.x svg { width: 16px; height: 16px; fill: currentColor; }
.status { background: #fffbe6; color: #614700; font-size: 12px; padding: 4px 12px; text-align: center; flex: none; }
.status[hidden] { display: none; }
.list { flex: 1; overflow-y: auto; padding: 16px 12px; display: flex; flex-direction: column; gap: 8px; background: #f7f8fa; overscroll-behavior: contain; }
.m { display: flex; flex-direction: column; max-width: 80%; }
.m.me { align-self: flex-end; align-items: flex-end; }
.m.them { align-self: flex-start; align-items: flex-start; }
.who { font-size: 11px; color: #595959; margin: 0 4px 2px; display: flex; align-items: center; gap: 4px; }
.who svg { width: 12px; height: 12px; fill: #722ed1; }
.b { padding: 8px 12px; border-radius: 14px; white-space: pre-wrap; word-break: break-word; }
.me .b { background: ${brand}; color: ${on}; border-bottom-right-radius: 4px; }
.them .b { background: #fff; border: 1px solid #ececec; border-bottom-left-radius: 4px; }
.bot .b { background: #f4f0ff; border-color: #e4dafc; }
.m.pending .b { opacity: .65; }
.m.failed .b { background: #fff1f0; color: #a8071a; border: 1px solid #ffa39e; cursor: pointer; }
.meta { font-size: 11px; color: #595959; margin: 2px 4px 0; }
.m.failed .meta { color: #cf1322; cursor: pointer; }
.sys { align-self: center; font-size: 12px; color: #595959; background: #eceef1; border-radius: 10px; padding: 2px 10px; max-width: 90%; text-align: center; }
.typing { font-size: 12px; color: #595959; padding: 0 4px; display: flex; align-items: center; gap: 6px; }
.typing[hidden] { display: none; }
.typing i { width: 5px; height: 5px; border-radius: 50%; background: #bfbfbf; display: inline-block; animation: k-blink 1.2s infinite; }
.typing i:nth-child(2) { animation-delay: .2s; }
.typing i:nth-child(3) { animation-delay: .4s; }
@keyframes k-blink { 0%, 80%, 100% { opacity: .3; } 40% { opacity: 1; } }
.compose { display: flex; align-items: flex-end; gap: 8px; padding: 10px 12px; border-top: 1px solid #f0f0f0; background: #fff; flex: none; }
textarea { flex: 1; min-width: 0; resize: none; border: 1px solid #d9d9d9; border-radius: 10px; padding: 8px 10px; font: inherit; color: inherit; max-height: 120px; min-height: 38px; outline: none; background: #fff; }
textarea:focus { border-color: ${brand}; box-shadow: 0 0 0 2px ${brand}22; }
textarea:focus-visible { outline: none; }
.send { width: 38px; height: 38px; border-radius: 10px; border: 0; background: ${brand}; color: ${on}; cursor: pointer; display: flex; align-items: center; justify-content: center; padding: 0; flex: none; }
.send:disabled { opacity: .4; cursor: default; }
.send svg { width: 18px; height: 18px; fill: currentColor; }
.clip { margin: 0 -4px 0 -4px; width: 32px; height: 38px; border: 0; background: none; color: #595959; cursor: pointer; display: flex; align-items: center; justify-content: center; padding: 0; flex: none; border-radius: 8px; }
.clip:hover { color: ${brand}; background: #f5f5f5; }
.clip svg { width: 20px; height: 20px; fill: currentColor; }
.file { display: none; }
.cerr { background: #fff1f0; color: #a8071a; font-size: 12px; padding: 4px 12px; flex: none; }
.cerr[hidden] { display: none; }
.atts { display: flex; flex-direction: column; align-items: flex-start; gap: 4px; margin-bottom: 4px; max-width: 100%; }
.me .atts { align-items: flex-end; }
.atts .img { display: block; border-radius: 12px; overflow: hidden; border: 1px solid #ececec; background: #fff; line-height: 0; }
.atts img { display: block; max-width: 220px; max-height: 180px; min-width: 40px; min-height: 40px; object-fit: cover; }
.chip { display: flex; align-items: center; gap: 8px; padding: 8px 10px; border-radius: 12px; background: #fff; border: 1px solid #ececec; color: #1f1f1f; text-decoration: none; max-width: 260px; }
a.chip:hover { border-color: ${brand}; }
.chip svg { width: 20px; height: 20px; fill: #8c8c8c; flex: none; }
.fn { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
.fs { font-size: 11px; color: #595959; flex: none; }
.m.pending .atts { opacity: .65; }
.foot { text-align: center; font-size: 11px; color: #595959; padding: 0 0 6px; background: #fff; flex: none; }
.b a { color: inherit; text-decoration: underline; word-break: break-all; }
.them .b a { color: #0958d9; }
.meta .seen { color: #0958d9; }
.csat { align-self: stretch; background: #fff; border: 1px solid #ececec; border-radius: 12px; padding: 12px; display: flex; flex-direction: column; gap: 8px; }
.csat-q { font-weight: 600; }
.stars { display: flex; gap: 4px; }
.star { border: 0; background: none; font-size: 26px; line-height: 1; color: #bfbfbf; cursor: pointer; padding: 2px; border-radius: 6px; }
.star.on { color: #d48806; }
.star:focus-visible, .csat-send:focus-visible { outline: 2px solid ${brand}; outline-offset: 1px; }
.csat-send { align-self: flex-end; border: 0; border-radius: 8px; padding: 6px 14px; background: ${brand}; color: ${on}; cursor: pointer; font: inherit; }
.csat-send:disabled { opacity: .4; cursor: default; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 479px) {
  .panel { right: 0; bottom: 0; width: 100%; height: 100%; max-height: none; border-radius: 0; }
  .panel.open ~ .launcher { display: none; }
}
@media (prefers-reduced-motion: reduce) { .panel, .launcher { transition: none; } .typing i { animation: none; } }
`;
}
