// Reports gzip sizes of what a browser loads first for the console (/app) and
// of widget.js, and fails when a budget (ui.md) is exceeded.
//   console initial JS ≤ 350 KB gzip, widget.js ≤ 40 KB gzip
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'app');
const assets = join(dist, 'assets');
if (!existsSync(join(dist, 'index.html'))) {
  console.error('size: frontend/dist/app/index.html not found; run `npm run build` first');
  process.exit(1);
}
const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

const html = readFileSync(join(dist, 'index.html'), 'utf8');
const entry = /<script type="module"[^>]*src="\/assets\/([^"]+)"/.exec(html)?.[1];
const files = readdirSync(assets).filter((f) => f.endsWith('.js'));
const staticImports = (f) =>
  [...readFileSync(join(assets, f), 'utf8').matchAll(/(?:import|from)\s*["']\.\/([^"']+\.js)["']/g)].map((m) => m[1]);

function closure(roots) {
  const seen = new Set();
  const stack = [...roots];
  while (stack.length) {
    const f = stack.pop();
    if (!f || seen.has(f)) continue;
    seen.add(f);
    stack.push(...staticImports(f));
  }
  return seen;
}

const lazy = (prefix) => files.find((f) => f.startsWith(`${prefix}-`));
const consoleRoots = [entry, lazy('ConsoleShell'), lazy('InboxPage')].filter(Boolean);
const initial = closure(consoleRoots);
const css = [...html.matchAll(/href="\/assets\/([^"]+\.css)"/g)].map((m) => m[1]);
const jsBytes = [...initial].reduce((n, f) => n + gz(join(assets, f)), 0);
const cssBytes = css.reduce((n, f) => n + gz(join(assets, f)), 0);
const widgetBytes = existsSync(join(dist, 'widget.js')) ? gz(join(dist, 'widget.js')) : NaN;
const landingBytes = [...closure([entry, lazy('Landing')])].reduce((n, f) => n + gz(join(assets, f)), 0);

console.log(`console /app initial JS: ${kb(jsBytes)} gzip in ${initial.size} files (budget 350 KB); CSS ${kb(cssBytes)}`);
console.log(`landing / initial JS:    ${kb(landingBytes)} gzip`);
console.log(`widget.js:               ${kb(widgetBytes)} gzip (budget 40 KB)`);
let bad = 0;
if (jsBytes > 350 * 1024) (bad++, console.error('size: console initial JS over budget'));
if (!(widgetBytes <= 40 * 1024)) (bad++, console.error('size: widget.js missing or over budget'));
process.exit(bad ? 1 : 0);
