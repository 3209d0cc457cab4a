// Copies Redoc's standalone bundle (the npm package, vendored by the lock
// file) into the built app, so that /api/docs renders the API reference from
// this server alone: no CDN, and the page's Content-Security-Policy allows
// scripts from the server itself only. The Go server serves it as
// /api/docs/redoc.standalone.js (api/docs.go).
import { copyFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const from = join(here, '..', '..', 'node_modules', 'redoc', 'bundles', 'redoc.standalone.js');
const to = join(here, '..', 'dist', 'app', 'redoc.standalone.js');
if (!existsSync(from)) {
  console.error('redoc: node_modules/redoc/bundles/redoc.standalone.js not found; run npm ci');
  process.exit(1);
}
copyFileSync(from, to);
console.log('redoc: copied the standalone bundle into dist/app');
