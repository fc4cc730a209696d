// Pushing from the browser: an archive Skiff saved and one `docker save` wrote go into the
// token-auth registry through the proxy (--allow-push); `docker pull` of what was pushed then
// runs; a second push uploads no blob bytes; a corrupted archive commits nothing (no blob, no manifest),
// naming the blob; an archive of two images goes, each image, into the Basic-auth registry.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  rig, root, outDir, newPage, pullInApp, expectPulled, saveArchive, useSuite, FIXTURE_OUTPUT, docker,
  rigServices, rigStats,
} from './harness.mjs';
import { push, pullAndRun, dockerLogoutAll } from './pushing.mjs';

const tokenHost = new URL(rig.tokenService).host;
const suite = useSuite(['--allow-push', '--allow-host', rig.tokenRegistry, '--allow-host', tokenHost,
  '--allow-host', new URL(rig.cdn).host, '--allow-host', rig.relay, '--allow-host', rig.basicRegistry]);
// Repositories of their own per run: a registry keeps what an earlier run pushed.
const run = Date.now().toString(36);

after(dockerLogoutAll);

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

/** The archive's blob members (from the tar's own headers): name, where the bytes start, size. */
function blobMembers(bytes) {
  const members = [];
  for (let at = 0; at + 512 <= bytes.length;) {
    const name = bytes.subarray(at, at + 100).toString().replace(/\0.*$/s, '');
    const size = parseInt(bytes.subarray(at + 124, at + 136).toString().replace(/\0.*$/s, '').trim() || '0', 8);
    if (!name) break;
    if (name.startsWith('blobs/sha256/') && size > 0) members.push({ name, at: at + 512, size });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return members;
}

/** The registry (the same storage, asked directly) holds none of `members` and no manifest. */
async function assertNothingCommitted(repository, members) {
  for (const { name } of members) {
    const hex = name.slice('blobs/sha256/'.length);
    const head = await fetch(`http://${rig.registry}/v2/${repository}/blobs/sha256:${hex}`, { method: 'HEAD' });
    assert.equal(head.status, 404, `blob ${hex} must not be committed`);
  }
  const manifest = await fetch(`http://${rig.registry}/v2/${repository}/manifests/1`, { method: 'HEAD' });
  assert.equal(manifest.status, 404, 'no manifest');
}

test('a corrupted archive commits nothing: no blob, no manifest, and the error names the blob', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.oci);
  await expectPulled(page);
  const tar = await saveArchive(page, 'busybox_oci.tar');
  const bytes = readFileSync(tar);
  // Flip a byte in the middle of the biggest blob (found from the tar's own headers).
  const members = blobMembers(bytes);
  const biggest = members.reduce((a, b) => (b.size > a.size ? b : a));
  bytes[biggest.at + Math.floor(biggest.size / 2)] ^= 0xff;
  const corrupt = join(outDir, 'corrupt-push.tar');
  writeFileSync(corrupt, bytes);
  const repository = `skiff/pushed-corrupt-${run}`;
  const result = await push(page, corrupt, `${rig.tokenRegistry}/${repository}:1`);
  assert.match(result.error ?? '', new RegExp(`the archive is corrupt: ${biggest.name} does not match its digest`));
  assert.match(result.error, /Nothing was committed/);
  assert.match(result.error, /^The push stopped\n/);
  await assertNothingCommitted(repository, members);
  await page.context().close();
});

test('a corrupt big layer stops its upload part way, and still nothing is committed', async () => {
  const page = await newPage(suite.browser);
  // 20 MB layers: sent in chunks, so bytes go up while the check runs beside them.
  const image = `${rig.registry}/skiff/bench:push-corrupt-${run}`;
  execFileSync(join(root, 'tests/rig/rig.sh'), ['bench-fixture', process.env.SKIFF_RIG_DIR, '80', `push-corrupt-${run}`], { stdio: 'ignore' });
  await pullInApp(page, suite.app.url, suite.proxy.url, image);
  await expectPulled(page);
  const tar = await saveArchive(page, `bench_push-corrupt-${run}.tar`);
  const bytes = readFileSync(tar);
  const members = blobMembers(bytes);
  const last = members.filter((m) => m.size > 10_000_000).pop();
  // The last big layer's last byte: every other blob checks fine.
  bytes[last.at + last.size - 1] ^= 0xff;
  const corrupt = join(outDir, 'corrupt-big-push.tar');
  writeFileSync(corrupt, bytes);
  const repository = `skiff/pushed-corrupt-big-${run}`;
  const result = await push(page, corrupt, `${rig.tokenRegistry}/${repository}:1`);
  assert.match(result.error ?? '', new RegExp(`the archive is corrupt: ${last.name} does not match its digest`));
  await assertNothingCommitted(repository, members);
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

test('an archive of two images pushes each one under the typed registry and namespace, into the Basic-auth registry', async () => {
  const page = await newPage(suite.browser);
  await page.goto(suite.app.url);
  await page.fill('#proxy', suite.proxy.url);
  await page.fill('#image', rig.fixtures.v2s2);
  await page.click('#enqueue');
  await page.fill('#image', rig.fixtures.oddMixed);
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  const tar = await saveArchive(page, 'busybox_v2s2_and_1_more.tar');
  const namespace = `${rig.basicRegistry}/team-${run}`;
  const result = await push(page, tar, namespace, rig.basicRegistry);
  assert.equal(result.error, undefined, result.error);
  assert.match(result.pushed, /^Pushed 2 images/);
  const expected = [`${namespace}/skiff/busybox:v2s2`, `${namespace}/skiff/odd:mixed`];
  const refs = await page.$$eval('.pushed-ref', (r) => r.map((x) => x.textContent.replace(/@sha256:[0-9a-f]{64}$/, '')));
  assert.deepEqual(refs, expected);
  // odd:mixed has a foreign layer: uploaded, and named as an ordinary one (Distribution refuses
  // manifests with URLs to elsewhere).
  assert.deepEqual(await page.$$eval('.made-ordinary', (p) => p.map((x) => x.textContent.replace(/ sha256:[0-9a-f]{12}\.$/, ''))),
    [`${expected[1]}: 1 foreign layer uploaded and named as ordinary layers (the bytes came in the archive; their URLs may be out of reach on this side), so the manifest's digest differs from the archive's`]);
  // The uploads carried Basic auth (shown by scheme and length only), never a token.
  await page.click('.tab[data-view=requests]').catch(() => {});
  const uploads = await page.$$eval('.exchange[data-purpose="blob upload"]', (rows) => rows.map((r) => r.querySelector('.header-table').textContent));
  assert.ok(uploads.length > 0 && uploads.every((u) => /Basic/.test(u) && !/Bearer/.test(u)), uploads.join('\n'));
  pullAndRun(expected[0], FIXTURE_OUTPUT);
  pullAndRun(expected[1], 'hello from the skiff fixture\nand hello from a foreign layer\nodd layers: ok\n');
  await page.context().close();
});
