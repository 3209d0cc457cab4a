// Precompresses the built app for the Go server (api/web.go), which serves
// NAME.br or NAME.gz in place of NAME to clients that accept it: the bytes
// are squeezed once, at build time, at the highest settings, and the server
// spends no CPU on them. Node's own zlib does both (no dependency). Only
// text files of 1 KiB or more get copies, and only copies that save at
// least a tenth are kept.
import { readdirSync, readFileSync, writeFileSync, statSync, rmSync, existsSync } from 'node:fs';
import { join, dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'app');
if (!existsSync(join(dist, 'index.html'))) {
  console.error('compress: frontend/dist/app/index.html not found; run the vite builds first');
  process.exit(1);
}
const text = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.txt', '.map', '.webmanifest']);

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

let raw = 0,
  br = 0,
  gz = 0,
  n = 0;
for (const path of [...files(dist)]) {
  if (path.endsWith('.br') || path.endsWith('.gz')) {
    rmSync(path); // a copy left by an earlier build
    continue;
  }
  if (!text.has(extname(path))) continue;
  const body = readFileSync(path);
  if (body.length < 1024) continue;
  const copies = {
    '.br': brotliCompressSync(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
    '.gz': gzipSync(body, { level: 9 }),
  };
  for (const [suffix, copy] of Object.entries(copies)) {
    if (copy.length <= body.length * 0.9) writeFileSync(path + suffix, copy);
  }
  n++;
  raw += body.length;
  br += copies['.br'].length;
  gz += copies['.gz'].length;
}
const kb = (x) => `${(x / 1024).toFixed(1)} KB`;
console.log(`compress: ${n} files, ${kb(raw)} → brotli ${kb(br)}, gzip ${kb(gz)}`);
