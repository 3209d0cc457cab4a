// Page weight (issue 9): reports the gzip size of the JavaScript each kind of
// page loads first, and fails (exit 1) when one is over its budget. It runs
// at the end of `npm run build`, so a build that grows past a budget fails.
//   landing /            ≤  80 KB gzip (a small static entry, no React)
//   console /app         ≤ 300 KB gzip (entry + React app + console pages)
//   flow editor chunk    ≤ 150 KB gzip (FlowEditorPage-*.js: the editor, xyflow, dagre);
//                        what else opening it adds (antd's form, table, modal…) is reported

//   widget.js            ≤  40 KB gzip
// Sizes are gzip -9 of the files as built; "first load" is the entry's
// closure of static imports plus the lazy chunks the page needs at once.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const KB = 1024;
const BUDGETS = { landing: 80 * KB, console: 300 * KB, editor: 150 * KB, widget: 40 * KB };

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'app');
const assets = join(dist, 'assets');
if (!existsSync(join(dist, 'index.html'))) {
  console.error('size: frontend/dist/app/index.html not found; run `npm run build` first');
  process.exit(1);
}
const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
const kb = (n) => `${(n / KB).toFixed(1)} KB`;

const html = readFileSync(join(dist, 'index.html'), 'utf8');
const entry = /<script type="module"[^>]*src="\/assets\/([^"]+)"/.exec(html)?.[1];
const files = readdirSync(assets).filter((f) => f.endsWith('.js'));
const staticImports = (f) => [...readFileSync(join(assets, f), 'utf8').matchAll(/(?:import|from)\s*["']\.\/([^"']+\.js)["']/g)].map((m) => m[1]);

/** Every file the roots load by static import. */
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
const lazy = (prefix) => {
  const f = files.find((x) => x.startsWith(`${prefix}-`));
  if (!f) {
    console.error(`size: no chunk named ${prefix}-*.js (was it renamed?)`);
    process.exit(1);
  }
  return f;
};
const bytes = (set) => [...set].reduce((n, f) => n + gz(join(assets, f)), 0);

const landing = closure([entry, lazy('static')]);
const consoleSet = closure([entry, lazy('boot'), lazy('ConsoleShell'), lazy('InboxPage')]);
const consoleZh = new Set([...consoleSet, lazy('zh-CN')]);
const editorChunk = new Set([lazy('FlowEditorPage')]);
const editorAll = closure([lazy('FlowEditorPage')]);
const editorExtra = new Set([...editorAll].filter((f) => !consoleSet.has(f)));
const widget = existsSync(join(dist, 'widget.js')) ? gz(join(dist, 'widget.js')) : NaN;

const rows = [
  ['landing /', bytes(landing), landing.size, BUDGETS.landing],
  ['console /app', bytes(consoleSet), consoleSet.size, BUDGETS.console],
  ['console /app zh-CN', bytes(consoleZh), consoleZh.size, BUDGETS.console],
  ['flow editor chunk', bytes(editorChunk), editorChunk.size, BUDGETS.editor],
  ['widget.js', widget, 1, BUDGETS.widget],
];
let bad = 0;
for (const [name, n, count, budget] of rows) {
  const over = !(n <= budget);
  if (over) bad++;
  console.log(`${over ? '✗' : '✓'} ${name.padEnd(20)} ${kb(n).padStart(9)} gzip in ${count} file(s)   budget ${kb(budget)}`);
}
console.log(`  (opening the editor from the console loads ${kb(bytes(editorExtra))} gzip in ${editorExtra.size} file(s) in all)`);
console.log(`  (opening a conversation: ${kb(bytes(new Set([...closure([lazy('ThreadPane')])].filter((f) => !consoleSet.has(f)))))} gzip more, prefetched while idle)`);
if (bad) console.error(`size: ${bad} page(s) over budget`);
process.exit(bad ? 1 : 0);
