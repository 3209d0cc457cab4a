// A Kefu of a journey's own, for what the shared server of `make
// test-browser` must not have (e-mail on): the built binary on a fresh data
// dir, and a small SMTP catcher its e-mail goes to.
//
//   const smtp = await smtpCatcher();
//   const kefu = await startKefu(addr, { KEFU_SMTP_URL: smtp.url });
//   try { … kefu.base … smtp.mails … } finally { await kefu.stop(); smtp.close(); }
//
//   KEFU_BIN=path    the binary to start (default ./bin/kefu)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './lib.mjs';

/**
 * A plain SMTP server on a free loopback port (no extensions, no auth) that
 * keeps every message: `to` (the recipients), `raw` (headers and body as
 * sent, dot-unstuffed) and `body` (the decoded text: Kefu's bodies are base64).
 */
export async function smtpCatcher() {
  const mails = [];
  const server = createServer((sock) => {
    sock.setEncoding('utf8');
    let buf = '';
    let data = false;
    let cur = { to: [], raw: '' };
    const reply = (s) => sock.write(`${s}\r\n`);
    reply('220 catcher ESMTP');
    sock.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data) {
          if (line === '.') {
            data = false;
            // Headers, a blank line, then the base64 body.
            const [, ...body] = cur.raw.split('\r\n\r\n');
            mails.push({ ...cur, body: Buffer.from(body.join('').replace(/\s+/g, ''), 'base64').toString('utf8') });
            cur = { to: [], raw: '' };
            reply('250 queued');
          } else cur.raw += `${line.startsWith('..') ? line.slice(1) : line}\r\n`;
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') reply('250 catcher');
        else if (cmd === 'RCPT') {
          cur.to.push(line.replace(/^RCPT TO:\s*<?([^>]*)>?.*$/i, '$1'));
          reply('250 ok');
        } else if (cmd === 'DATA') {
          data = true;
          reply('354 go ahead');
        } else if (cmd === 'QUIT') {
          reply('221 bye');
          sock.end();
          return;
        } else if (cmd === 'MAIL' || cmd === 'RSET' || cmd === 'NOOP') reply('250 ok');
        else reply('502 not implemented');
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { mails, port, url: `smtp://127.0.0.1:${port}`, close: () => server.close() };
}

/**
 * Starts `kefu serve` on `addr` with a fresh data dir, the settings of `make
 * test-browser` and `env` over them, and waits until it is ready. Returns its
 * base URL, its log so far, and stop (SIGTERM, then the data dir removed).
 */
export async function startKefu(addr, env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kefu-e2e-'));
  let log = '';
  const server = spawn(process.env.KEFU_BIN || './bin/kefu', ['serve'], {
    env: {
      ...process.env,
      KEFU_ADDR: addr,
      KEFU_DATA_DIR: dir,
      KEFU_ALLOW_PRIVATE_NETWORKS: 'true',
      KEFU_DEFAULT_PLAN: 'enterprise',
      KEFU_WIDGET_PER_MINUTE: '600',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (d) => (log += d));
  server.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => server.once('exit', resolve));
  const base = `http://${addr}`;
  const stop = async () => {
    if (server.exitCode === null) server.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    if ((await fetch(`${base}/readyz`).catch(() => null))?.ok) break;
    if (i > 200 || server.exitCode !== null) {
      await stop();
      throw new Error(`kefu on ${addr} did not start:\n${log.slice(-4000)}`);
    }
    await sleep(100);
  }
  return { base, log: () => log, stop };
}
