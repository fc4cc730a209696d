// Scaling out on software organisations already run: two stateless skiff-proxy instances behind
// Debian's nginx; one is killed mid-pull, and the app's resume carries the pull to the end
// through the other.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  rig, root, startProxy, launchBrowser, newPage, expectPulled, saveArchive, dockerLoadAndRun,
  rigServices, rigStats, ensureOutDir, FIXTURE_OUTPUT,
  freePort,
} from './harness.mjs';

const tokenHost = new URL(rig.tokenService).host;
const cdnHost = new URL(rig.cdn).host;
const cleanup = [];
after(async () => {
  await rigServices({});
  for (const step of cleanup.reverse()) await step();
});

/** nginx in front of `backends`, as README's recipe has it; returns its URL. */
async function startNginx(backends) {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-nginx-'));
  const port = await freePort();
  const servers = backends.map((url) => `    server ${new URL(url).host} max_fails=1 fail_timeout=60s;`).join('\n');
  const template = readFileSync(join(root, 'deploy/nginx.conf'), 'utf8');
  const conf = template
    .replace(/^( *)server 127\.0\.0\.1:8787.*\n( *server 127\.0\.0\.1:8788.*\n)?/m, `${servers}\n`)
    .replace('listen 80;', `listen 127.0.0.1:${port};`)
    .replace('http {', `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nhttp {\n  access_log ${dir}/access.log;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;`);
  writeFileSync(join(dir, 'nginx.conf'), `daemon off;\n${conf}`);
  execFileSync('/usr/sbin/nginx', ['-t', '-q', '-p', dir, '-c', join(dir, 'nginx.conf')]);
  const child = spawn('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'inherit' });
  cleanup.push(() => child.kill());
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${url}healthz`).then((r) => r.ok, () => false)) return url;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error('nginx did not start');
}

test('two instances behind nginx: one killed mid-pull, the pull ends through the other', { timeout: 180_000 }, async () => {
  await ensureOutDir();
  const args = ['--serve-app', join(root, 'dist'), '--allow-host', rig.tokenRegistry, '--allow-host', tokenHost,
    '--allow-host', cdnHost];
  const a = await startProxy(args);
  const b = await startProxy(args);
  cleanup.push(() => a.close(), () => b.close());
  const front = await startNginx([a.url, b.url]);
  // Slow enough that a kill lands mid-layer: five 1 MB layers at 600 kB/s.
  await rigServices({ cdnBytesPerSecond: 600_000 });
  const reference = `${rig.tokenRegistry}/skiff/big:latest`;
  const browser = await launchBrowser();
  cleanup.push(() => browser.close());
  const page = await newPage(browser);
  await page.goto(`${front}#/?image=${encodeURIComponent(reference)}`);
  await page.waitForSelector('#image');
  assert.equal(await page.inputValue('#proxy'), front, 'the app uses the origin it came from');
  await page.click('#pull');

  // Both instances take layer requests (nginx round-robins); kill one that is serving one.
  const blobLines = (proxy) => proxy.log.filter((l) => l.includes('/blobs/')).length;
  for (let i = 0; i < 200 && !(blobLines(a) && blobLines(b)); i++) await new Promise((ok) => setTimeout(ok, 50));
  // Let the layers get under way, so the kill breaks bodies half-read.
  await page.waitForFunction(() => [...document.querySelectorAll('tr.layer progress')]
    .filter((p) => p.value > 0.15 * p.max && p.value < p.max).length >= 2, null, { timeout: 30_000 });
  const victim = blobLines(a) >= blobLines(b) ? a : b;
  const survivor = victim === a ? b : a;
  assert.ok(blobLines(victim) > 0, 'the killed instance was serving layers');
  victim.child.kill('SIGKILL');
  const servedBefore = blobLines(survivor);

  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  assert.ok(blobLines(survivor) > servedBefore, 'the survivor carried the rest');
  const stats = await rigStats();
  const resumed = Object.values(stats.cdnRanges).flat();
  assert.ok(resumed.length > 0, `a broken layer resumed with Range: ${JSON.stringify(stats.cdnRanges)}`);
  const tar = await saveArchive(page, 'big_latest.tar');
  dockerLoadAndRun(tar, reference, FIXTURE_OUTPUT);
});
