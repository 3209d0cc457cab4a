// Copies Redoc's standalone bundle (the npm package, vendored by the lock
// file) into the built app, so that /api/docs renders the API reference from
// this server alone: no CDN, and the page's Content-Security-Policy allows
// scripts from the server itself only. The Go server serves it as
// /api/docs/redoc.standalone.js (api/docs.go). The bundle's one remote asset,
// Redocly's logo from its CDN, becomes an empty inline image: the page loads
// nothing from anywhere else.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const from = join(here, '..', '..', 'node_modules', 'redoc', 'bundles', 'redoc.standalone.js');
const to = join(here, '..', 'dist', 'app', 'redoc.standalone.js');
if (!existsSync(from)) {
  console.error('redoc: node_modules/redoc/bundles/redoc.standalone.js not found; run npm ci');
  process.exit(1);
}
const remote = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
const bundle = readFileSync(from, 'utf8');
if (!bundle.includes(remote)) {
  console.error(`redoc: the bundle no longer loads ${remote}; check it for other remote assets and update this script`);
  process.exit(1);
}
writeFileSync(to, bundle.replaceAll(remote, 'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E'));
if (/https:\/\/cdn\./.test(readFileSync(to, 'utf8'))) {
  console.error('redoc: the bundle still names a CDN');
  process.exit(1);
}
console.log('redoc: copied the standalone bundle into dist/app');
