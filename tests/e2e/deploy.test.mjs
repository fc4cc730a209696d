// Deploying Skiff as one process: skiff-proxy serves the built app and the proxy on one origin
// (no CORS, nothing to configure in the page), answers /healthz, logs a JSON line per request
// with nothing secret in it, reads a config file, and stops cleanly on SIGTERM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  rig, root, outDir, startProxy, launchBrowser, newPage, expectPulled, saveArchive,
  dockerLoadAndRun, ensureOutDir, FIXTURE_OUTPUT, freePort,
} from './harness.mjs';

const bin = process.env.SKIFF_PROXY_BIN ?? join(root, 'target/debug/skiff-proxy');
const tokenHost = new URL(rig.tokenService).host;
const cdnHost = new URL(rig.cdn).host;
let server;
let browser;

before(async () => {
  await ensureOutDir();
  server = await startProxy(['--serve-app', join(root, 'dist'), '--allow-host', rig.tokenRegistry,
    '--allow-host', tokenHost, '--allow-host', cdnHost]);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  server?.close();
});

test('one origin: the app comes from the proxy and uses it with no proxy to set, and no CORS', async () => {
  const reference = `${rig.tokenRegistry}/skiff/busybox:v2s2`;
  const page = await newPage(browser);
  const crossOrigin = [];
  page.on('request', (r) => { if (!r.url().startsWith(server.url)) crossOrigin.push(r.url()); });
  await page.goto(`${server.url}#/?image=${encodeURIComponent(reference)}`);
  await page.waitForSelector('#image');
  assert.equal(await page.inputValue('#proxy'), server.url, 'the proxy field is this origin');
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  assert.deepEqual(crossOrigin.filter((u) => !u.startsWith('blob:')), [], 'every request went to the one origin');
  const tar = await saveArchive(page, 'busybox_v2s2.tar');
  dockerLoadAndRun(tar, reference, FIXTURE_OUTPUT);
  await page.context().close();

  // The access log: a JSON line per request, the upstream's host and path, no secret.
  const lines = server.log.map((l) => JSON.parse(l));
  const manifest = lines.find((l) => l.upstream === rig.tokenRegistry && /\/manifests\/v2s2$/.test(l.path));
  assert.equal(manifest.status, 200);
  assert.equal(typeof manifest.ms, 'number');
  assert.ok(lines.some((l) => l.upstream === tokenHost && l.path === '/token'), 'the token request, without its query');
  assert.ok(lines.some((l) => l.redirected_to === cdnHost), 'a blob redirect names only the host');
  assert.ok(lines.some((l) => l.app === '/' && l.status === 200), 'the app page');
  const text = server.log.join('\n');
  for (const secret of ['Bearer', 'eyJ', 'scope=', rig.password, 'X-Amz']) {
    assert.ok(!text.includes(secret), `the log must not hold ${secret}`);
  }
});

test('/healthz, the app files only, and a relayed page stays inert in the app origin', async () => {
  const health = await fetch(`${server.url}healthz`);
  assert.equal(health.status, 200);
  const body = await health.json();
  assert.equal(body.status, 'ok');
  assert.equal(body.service, 'skiff-proxy');
  assert.equal(body.serves_app, true);
  const index = await fetch(server.url);
  assert.match(index.headers.get('content-type'), /text\/html/);
  assert.match(await index.text(), /<meta name="skiff-proxy" content="same-origin">/);
  for (const path of ['/../Cargo.toml', '/.git/config', '/%2e%2e/Cargo.toml', '/nope.js']) {
    const response = await fetch(`${server.url.slice(0, -1)}${path}`);
    assert.equal(response.status, 404, path);
  }
  // What the proxy relays can never run as a page of the app's origin.
  const relayed = await fetch(`${server.url}http://${rig.registry}/v2/`);
  assert.equal(relayed.headers.get('content-security-policy'), 'sandbox');
  assert.equal(relayed.headers.get('content-disposition'), 'attachment');
  // (Node's fetch drops Sec-Fetch-* headers: a plain HTTP request says what a browser would.)
  const navigation = await new Promise((ok, fail) => {
    request(`${server.url}http://${rig.registry}/v2/`, { headers: { 'sec-fetch-mode': 'navigate' } }, (res) => {
      res.resume();
      ok(res.statusCode);
    }).on('error', fail).end();
  });
  assert.equal(navigation, 403);
});

test('a config file holds the options; SIGTERM stops it cleanly; a bad app folder is named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-conf-'));
  const config = join(dir, 'skiff.conf');
  const port = await freePort();
  writeFileSync(config, `# the team's Skiff\nlisten = 127.0.0.1:${port}\nserve-app = ${join(root, 'dist')}\nno-default-hosts\nallow-host = ${rig.registry}\nshutdown-grace = 5\n`);
  const child = spawn(bin, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (!up) await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.ok(up, `the proxy did not start from its config file: ${stderr}`);
  const refused = await fetch(`http://127.0.0.1:${port}/https://registry-1.docker.io/v2/`);
  assert.equal(refused.headers.get('x-skiff-proxy-error'), 'host-not-allowed', 'no-default-hosts from the file');
  const exited = new Promise((ok) => child.on('exit', (code, signal) => ok({ code, signal })));
  const sent = Date.now();
  child.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, signal: null });
  assert.ok(Date.now() - sent < 5000, 'an idle proxy stops at once');
  assert.match(stderr, /stopping: no new connections/);

  const bad = spawnSync(bin, ['--serve-app', join(outDir, 'no-such-dir')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--serve-app .*no-such-dir/);
});
