// Pushing from the browser: an archive Skiff saved and one `docker save` wrote go into the
// token-auth registry through the proxy (--allow-push); `docker pull` of what was pushed then
// runs; a second push uploads no blob bytes; a corrupted archive is refused before any upload,
// naming the blob.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  rig, root, outDir, newPage, pullInApp, expectPulled, saveArchive, useSuite, FIXTURE_OUTPUT, docker,
  rigServices, rigStats,
} from './harness.mjs';

const tokenHost = new URL(rig.tokenService).host;
const suite = useSuite(['--allow-push', '--allow-host', rig.tokenRegistry, '--allow-host', tokenHost,
  '--allow-host', new URL(rig.cdn).host, '--allow-host', rig.relay]);
const dockerConfig = mkdtempSync(join(tmpdir(), 'skiff-docker-config-'));
// Repositories of their own per run: a registry keeps what an earlier run pushed.
const run = Date.now().toString(36);

/** docker with its own config folder, so `docker login` leaves nothing behind. */
function dockerAs(args) {
  return execFileSync('/usr/bin/docker', args, {
    env: { ...process.env, DOCKER_HOST: rig.dockerHost, DOCKER_CONFIG: dockerConfig },
    encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'],
  });
}

after(() => { try { dockerAs(['logout', rig.tokenRegistry]); } catch {} });

/** Opens the push panel, logs in for the token registry, and pushes `tar` to `target`. */
async function push(page, tar, target) {
  if (!(await page.$eval('#credentials', (d) => d.open))) await page.click('#credentials summary');
  await page.fill('#credentials-registry', rig.tokenRegistry);
  await page.fill('#username', rig.user);
  await page.fill('#password', rig.password);
  if (!(await page.$eval('#push', (d) => d.open))) await page.click('#push summary');
  await page.setInputFiles('#push-file', tar);
  await page.fill('#push-target', target);
  await page.click('#push-start');
  await page.waitForSelector('#push-done, #push-error', { timeout: 120_000 });
  const error = await page.$('#push-error');
  return error ? { error: await error.innerText() } : { counts: await page.innerText('#push-counts'), pushed: await page.innerText('#push-done') };
}

function pullAndRun(reference, expected) {
  try { dockerAs(['rmi', '-f', reference]); } catch {}
  execFileSync('/usr/bin/docker', ['login', '-u', rig.user, '--password-stdin', rig.tokenRegistry], {
    env: { ...process.env, DOCKER_HOST: rig.dockerHost, DOCKER_CONFIG: dockerConfig }, input: rig.password, encoding: 'utf8',
  });
  dockerAs(['pull', reference]);
  const output = dockerAs(['run', '--rm', '--network', 'none', reference]);
  assert.equal(output, expected);
}

test('an archive Skiff saved is pushed, pulled by docker and run; pushed again, no blob is uploaded', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.oci);
  await expectPulled(page);
  const tar = await saveArchive(page, 'busybox_oci.tar');
  const target = `${rig.tokenRegistry}/skiff/pushed-skiff-${run}:1`;
  const first = await push(page, tar, target);
  assert.equal(first.error, undefined, first.error);
  assert.match(first.pushed, new RegExp(`${target.replace(/[.]/g, '\\.')}@sha256:[0-9a-f]{64}`));
  assert.match(first.counts, /^4 blobs uploaded \([\d.]+ [kM]B\), 0 already there, 0 mounted\.$/);
  assert.equal(await page.locator('.push-blob[data-state="uploaded"]').count(), 4);
  pullAndRun(target, FIXTURE_OUTPUT);

  await page.locator('#push').screenshot({ path: join(root, 'docs/screenshot-push.png') });
  const again = await push(page, tar, target);
  assert.equal(again.error, undefined, again.error);
  assert.match(again.counts, /^0 blobs uploaded \(0 B\), 4 already there, 0 mounted\.$/);
  await page.context().close();
});

test('an archive docker save wrote (the older layout) is pushed, pulled and run', async () => {
  // Docker 20.10's `docker save`: manifest.json, <id>.json configs, <id>/layer.tar layers.
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.v2s2);
  await expectPulled(page);
  const skiffTar = await saveArchive(page, 'busybox_v2s2.tar');
  docker(['load', '-i', skiffTar]);
  const saved = join(outDir, 'docker-saved.tar');
  docker(['save', '-o', saved, rig.fixtures.v2s2]);
  const listing = execFileSync('tar', ['-tf', saved], { encoding: 'utf8' });
  assert.match(listing, /layer\.tar/, 'the older layout');
  const target = `${rig.tokenRegistry}/skiff/pushed-save-${run}:1`;
  const result = await push(page, saved, target);
  assert.equal(result.error, undefined, result.error);
  pullAndRun(target, FIXTURE_OUTPUT);
  await page.context().close();
});

test('a corrupted archive is refused before any upload, naming the blob', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.oci);
  await expectPulled(page);
  const tar = await saveArchive(page, 'busybox_oci.tar');
  const bytes = readFileSync(tar);
  // Flip a byte in the middle of the biggest blob (found from the tar's own headers).
  let biggest = null;
  for (let at = 0; at + 512 <= bytes.length;) {
    const name = bytes.subarray(at, at + 100).toString().replace(/\0.*$/s, '');
    const size = parseInt(bytes.subarray(at + 124, at + 136).toString().replace(/\0.*$/s, '').trim() || '0', 8);
    if (!name) break;
    if (name.startsWith('blobs/sha256/') && (!biggest || size > biggest.size)) biggest = { name, at: at + 512, size };
    at += 512 + Math.ceil(size / 512) * 512;
  }
  bytes[biggest.at + Math.floor(biggest.size / 2)] ^= 0xff;
  const corrupt = join(outDir, 'corrupt-push.tar');
  writeFileSync(corrupt, bytes);
  await page.click('.tab[data-view=requests]').catch(() => {});
  const before = await page.locator('.exchange[data-purpose="blob upload"]').count();
  const result = await push(page, corrupt, `${rig.tokenRegistry}/skiff/pushed-corrupt-${run}:1`);
  assert.match(result.error ?? '', new RegExp(`the archive is corrupt: ${biggest.name} does not match its digest`));
  assert.match(result.error, /Nothing was uploaded/);
  assert.equal(await page.locator('.exchange[data-purpose="blob upload"]').count(), before, 'no upload request was made');
  await page.context().close();
});

test('an upload that breaks on the way continues from what the registry holds', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, `${rig.registry}/skiff/big:latest`);
  await expectPulled(page);
  const tar = await saveArchive(page, 'big_latest.tar');
  // The relay passes 300 kB of the first layer's PUT on, then drops the connection.
  await rigServices({ faults: [{ match: '/blobs/uploads/', method: 'PUT', breakUploadAfter: 300_000, times: 1 }] });
  const target = `${rig.relay}/skiff/pushed-broken-${run}:1`;
  const result = await push(page, tar, target);
  const { brokenUploads } = await rigStats();
  await rigServices({});
  assert.equal(result.error, undefined, result.error);
  assert.equal(brokenUploads, 1, 'an upload broke');
  const uploads = await page.$$eval('.exchange[data-purpose="blob upload"]', (rows) =>
    rows.map((r) => `${r.querySelector('.url').textContent.split(' ')[0]} ${r.dataset.status}`));
  const broken = uploads.findIndex((u) => /^PUT 50\d$/.test(u));
  assert.ok(broken >= 0, uploads.join('\n'));
  assert.match(uploads[broken + 1], /^GET (204|404)$/, 'then the registry is asked what it holds');
  const pushed = target.replace(rig.relay, rig.registry);
  try { docker(['rmi', '-f', pushed]); } catch {}
  docker(['pull', pushed]);
  assert.equal(docker(['run', '--rm', '--network', 'none', pushed]), FIXTURE_OUTPUT);
  await page.context().close();
});

test('copy between registries: every platform, the index keeps its digest; within one registry, blobs are mounted', async () => {
  const page = await newPage(suite.browser);
  await page.goto(suite.app.url);
  await page.fill('#proxy', suite.proxy.url);
  if (!(await page.$eval('#credentials', (d) => d.open))) await page.click('#credentials summary');
  await page.fill('#credentials-registry', rig.tokenRegistry);
  await page.fill('#username', rig.user);
  await page.fill('#password', rig.password);
  await page.click('#push summary');
  const copy = async (from, to) => {
    await page.fill('#copy-from', from);
    await page.fill('#copy-to', to);
    await page.click('#copy-start');
    await page.waitForSelector('#push-done, #push-error', { timeout: 120_000 });
    const error = await page.$('#push-error');
    assert.equal(error && await error.innerText(), null);
    return { done: await page.innerText('#push-done'), counts: await page.innerText('#push-counts') };
  };
  const target = `${rig.tokenRegistry}/skiff/copied-${run}:1`;
  const first = await copy(rig.fixtures.multi, target);
  assert.ok(first.done.includes(`${target}@${rig.multiIndexDigest}`), first.done);
  assert.match(first.counts, /^[1-9]\d* blobs uploaded/);
  pullAndRun(target, FIXTURE_OUTPUT);

  const mounted = `${rig.tokenRegistry}/skiff/copied-${run}-again:1`;
  const second = await copy(target, mounted);
  assert.ok(second.done.includes(`@${rig.multiIndexDigest}`), second.done);
  assert.match(second.counts, /^0 blobs uploaded \(0 B\), 0 already there, [1-9]\d* mounted\.$/);
  await page.context().close();
});

test("an archive saved from this registry is pushed to another repository of it by mounting: no bytes uploaded", async () => {
  const page = await newPage(suite.browser);
  const source = `${rig.tokenRegistry}/skiff/busybox:v2s2`;
  await pullInApp(page, suite.app.url, suite.proxy.url, source);
  await expectPulled(page);
  const tar = await saveArchive(page, 'busybox_v2s2.tar');
  const target = `${rig.tokenRegistry}/skiff/mounted-${run}:1`;
  const result = await push(page, tar, target);
  assert.equal(result.error, undefined, result.error);
  assert.match(result.counts, /^0 blobs uploaded \(0 B\), 0 already there, 4 mounted\.$/);
  pullAndRun(target, FIXTURE_OUTPUT);
  await page.context().close();
});
