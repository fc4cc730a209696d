// Copying between registries from the browser, like `skopeo copy`: every platform (the index
// keeps its digest) or the chosen ones (a new index), a source with its own login, blobs
// streamed from one registry into the other in chunks and committed only once they match their
// digest, a chunk broken on the way, and a corrupt source blob that is never committed.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  rig, root, newPage, useSuite, FIXTURE_OUTPUT, registryManifest, rigServices, rigStats,
} from './harness.mjs';
import { logInApp, pullAndRun, dockerLogoutAll } from './pushing.mjs';

const tokenHost = new URL(rig.tokenService).host;
const suite = useSuite(['--allow-push', '--allow-host', rig.tokenRegistry, '--allow-host', tokenHost,
  '--allow-host', new URL(rig.cdn).host, '--allow-host', rig.relay, '--allow-host', rig.basicRegistry,
  '--allow-host', rig.registry]);
const run = Date.now().toString(36);
const INDEX = 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json';

after(dockerLogoutAll);

// 80 MB in four incompressible layers of about 20 MB: each goes up in two chunks (16 MB + rest).
const big = `${rig.registry}/skiff/bench:copy-${run}`;
before(() => {
  execFileSync(join(root, 'tests/rig/rig.sh'), ['bench-fixture', process.env.SKIFF_RIG_DIR, '80', `copy-${run}`], { stdio: 'ignore' });
});

async function openCopy(page, targetRegistry = rig.tokenRegistry) {
  await page.goto(suite.app.url);
  await page.fill('#proxy', suite.proxy.url);
  await logInApp(page, targetRegistry);
  await page.click('#nav-push');
}

/** Copies `from` to `to` and returns what the panel says (or its error). */
async function copy(page, from, to) {
  await page.fill('#copy-from', from);
  await page.fill('#copy-to', to);
  await page.click('#copy-start');
  await page.waitForSelector('#push-done, #push-error', { timeout: 180_000 });
  const error = await page.$('#push-error');
  if (error) return { error: await error.innerText() };
  return { done: await page.innerText('#push-done'), counts: await page.innerText('#push-counts') };
}

/** The upload requests the explorer lists, as `METHOD status`. */
async function uploads(page) {
  await page.click('.tab[data-view=requests]').catch(() => {});
  return page.$$eval('.exchange[data-purpose="blob upload"]', (rows) =>
    rows.map((r) => `${r.querySelector('.url').textContent.split(' ')[0]} ${r.dataset.status}`));
}

test('copy between registries: every platform, the index keeps its digest; within one registry, blobs are mounted', async () => {
  const page = await newPage(suite.browser);
  await openCopy(page);
  const target = `${rig.tokenRegistry}/skiff/copied-${run}:1`;
  const first = await copy(page, rig.fixtures.multi, target);
  assert.equal(first.error, undefined, first.error);
  assert.match(first.done, /^Copied 1 image/);
  assert.ok(first.done.includes(`${target}@${rig.multiIndexDigest}`), first.done);
  assert.match(first.counts, /^[1-9]\d* blobs uploaded/);
  pullAndRun(target, FIXTURE_OUTPUT);

  const mounted = `${rig.tokenRegistry}/skiff/copied-${run}-again:1`;
  const second = await copy(page, target, mounted);
  assert.equal(second.error, undefined, second.error);
  assert.ok(second.done.includes(`@${rig.multiIndexDigest}`), second.done);
  assert.match(second.counts, /^0 blobs uploaded \(0 B\), 0 already there, [1-9]\d* mounted\.$/);
  await page.context().close();
});

test('copy only the chosen platform, from a Basic-auth source with its own login into the token registry', async () => {
  const page = await newPage(suite.browser);
  await openCopy(page);
  const from = `${rig.basicRegistry}/skiff/multi:latest`;
  await page.fill('#copy-from', from);
  // Without the source's login, reading it is refused, and the error says so.
  await page.click('#copy-read-platforms');
  await page.waitForSelector('#copy-platforms-error');
  assert.match(await page.innerText('#copy-platforms-error'), /credentials|log in|401|denied/i);
  await page.click('#copy-login summary');
  await page.fill('#copy-username', rig.user);
  await page.fill('#copy-password', rig.password);
  await page.click('#copy-read-platforms');
  await page.waitForSelector('#copy-platforms');
  const offered = await page.$$eval('#copy-platforms input[type=checkbox]', (c) => c.map((x) => `${x.dataset.platform} ${x.checked}`));
  assert.deepEqual(offered, ['linux/amd64 true', 'linux/arm64/v8 true']);
  await page.uncheck('#copy-platforms input[data-platform="linux/arm64/v8"]');
  const target = `${rig.tokenRegistry}/skiff/chosen-${run}:1`;
  const result = await copy(page, from, target);
  assert.equal(result.error, undefined, result.error);
  await page.locator('#push').screenshot({ path: join(root, 'docs/screenshot-copy.png') });
  assert.match(await page.innerText('#push-chosen'), /^A new index with 1 of the 2 platforms \(linux\/amd64\); its digest differs from the source's /);
  const pushed = result.done.match(/@(sha256:[0-9a-f]{64})/)[1];
  assert.notEqual(pushed, rig.multiIndexDigest);
  // The registries share storage: read the new index from the open one, without auth.
  const index = await registryManifest(`${rig.registry}/skiff/chosen-${run}:1`, INDEX);
  // The amd64 image, and the attestation that describes it (arm64 had none).
  assert.deepEqual(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`), ['linux/amd64', 'unknown/unknown']);
  const source = await registryManifest(rig.fixtures.multi, INDEX);
  assert.deepEqual(index.manifests[0], source.manifests.find((m) => m.platform.architecture === 'amd64'));
  assert.equal(index.manifests[1].annotations['vnd.docker.reference.digest'], index.manifests[0].digest);
  pullAndRun(target, FIXTURE_OUTPUT);
  await page.context().close();
});

/** The names in a folder of the layer cache (`partial` or `blobs`). */
async function cacheFolder(page, folder) {
  return page.evaluate(async (folder) => {
    await new Promise((ok) => setTimeout(ok, 500));
    const names = [];
    try {
      const cache = await (await navigator.storage.getDirectory()).getDirectoryHandle('skiff-cache');
      for await (const name of (await cache.getDirectoryHandle(folder)).keys()) names.push(name);
    } catch { /* no cache */ }
    return names;
  }, folder);
}

/** Copies the big fixture to a new repository of the relay with `faults` on its uploads. */
async function copyBigWith(page, name, faults) {
  // One blob at a time (read when the copy starts), so the chunk that breaks is the first
  // blob's second one and the request after it is that blob's.
  await page.evaluate(() => localStorage.setItem('skiff.settings', JSON.stringify({ parallelLayers: 1 })));
  await rigServices({ faults });
  const target = `${rig.relay}/skiff/${name}-${run}:1`;
  const result = await copy(page, big, target);
  const { brokenUploads } = await rigStats();
  await rigServices({});
  assert.equal(result.error, undefined, result.error);
  assert.equal(brokenUploads, 1, 'a chunk broke');
  // What arrived is the source's manifest, byte for byte (and the registry checked each blob).
  const manifest = 'application/vnd.oci.image.manifest.v1+json';
  assert.deepEqual(await registryManifest(`${rig.registry}/skiff/${name}-${run}:1`, manifest), await registryManifest(big, manifest));
  // Each chunk went up from the file a layer worker staged the blob in (OPFS); the files are
  // gone once their blob is done, and the layer cache keeps none of the copied blobs.
  assert.deepEqual(await cacheFolder(page, 'partial'), []);
  assert.deepEqual(await cacheFolder(page, 'blobs'), []);
  const requests = await uploads(page);
  const broken = requests.findIndex((r) => /^PATCH 50\d$/.test(r));
  assert.ok(broken >= 0, requests.join('\n'));
  return { counts: result.counts, requests, after: requests[broken + 1] };
}

// The relay lets the first chunk through and breaks the second.
const secondChunk = (breakUploadAfter) => [
  { match: '/blobs/uploads/', method: 'PATCH', times: 1 },
  { match: '/blobs/uploads/', method: 'PATCH', breakUploadAfter, times: 1 },
];

test('big blobs stream in 16 MB chunks; a chunk that broke before the registry got any of it continues from the registry\'s Range', async () => {
  const page = await newPage(suite.browser);
  await openCopy(page);
  const { counts, requests, after } = await copyBigWith(page, 'streamed', secondChunk(0));
  assert.equal(after, 'GET 204', 'the registry says what it holds');
  assert.ok(requests.filter((r) => r === 'PATCH 202').length >= 8, requests.join('\n'));
  // Not a byte sent twice: 80 MB of layers and the config.
  assert.match(counts, /^5 blobs uploaded \(80\.0 MB\), 0 already there, 0 mounted\.$/);
  await page.context().close();
});

test('a chunk broken half-way, which Distribution then forgets, starts that blob over and completes', async () => {
  const page = await newPage(suite.browser);
  await openCopy(page);
  const { counts, after } = await copyBigWith(page, 'restarted', secondChunk(1_000_000));
  // Distribution cannot resume a session whose last chunk arrived in part: it answers 404.
  assert.equal(after, 'GET 404');
  assert.match(counts, /^5 blobs uploaded \(96\.\d MB\), 0 already there, 0 mounted\.$/, 'the first chunk went twice');
  await page.context().close();
});

test('a source blob that arrives corrupt once is fetched again and the copy completes with the verified bytes', async () => {
  const page = await newPage(suite.browser);
  await openCopy(page);
  const manifest = 'application/vnd.oci.image.manifest.v1+json';
  const layer = (await registryManifest(big, manifest)).layers[0].digest;
  await page.evaluate(() => localStorage.setItem('skiff.settings', JSON.stringify({ parallelLayers: 1 })));
  // Near its end: the layer's first 16 MB may be on its way up before the mismatch shows.
  await rigServices({ faults: [{ match: `/blobs/${layer}`, method: 'GET', corruptFraction: 0.95, times: 1 }] });
  // Through the relay (which corrupts) into the token registry (another host: no mount).
  const target = `${rig.tokenRegistry}/skiff/refetched-${run}:1`;
  const result = await copy(page, big.replace(rig.registry, rig.relay), target);
  const { relayRequests } = await rigStats();
  await rigServices({});
  assert.equal(result.error, undefined, result.error);
  const fetched = Object.entries(relayRequests).filter(([path]) => path.endsWith(`/blobs/${layer}`)).map(([, n]) => n);
  assert.ok(fetched.reduce((a, b) => a + b, 0) >= 2, `the corrupt layer was fetched again: ${JSON.stringify(relayRequests)}`);
  assert.match(result.counts, /^5 blobs uploaded/);
  // The registry checked every blob against its digest when it was committed: the copy is the
  // source's image, byte for byte (the registries share storage: read from the open one).
  assert.deepEqual(await registryManifest(`${rig.registry}/skiff/refetched-${run}:1`, manifest), await registryManifest(big, manifest));
  const head = await fetch(`http://${rig.registry}/v2/skiff/refetched-${run}/blobs/${layer}`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.deepEqual(await cacheFolder(page, 'partial'), []);
  await page.context().close();
});

test('a corrupt blob in the source is never committed to the target', async () => {
  const page = await newPage(suite.browser);
  await openCopy(page);
  const target = `${rig.relay}/skiff/corrupt-copy-${run}:1`;
  const result = await copy(page, rig.fixtures.corrupt, target);
  assert.match(result.error ?? '', /^The copy stopped\n/);
  // Fetched twice by the layer worker (a corrupt body is read again once), refused both times.
  assert.match(result.error, new RegExp(`blob ${rig.corruptLayer} from the source: digest mismatch: expected ${rig.corruptLayer}, got sha256:[0-9a-f]{64}; the registry \\(or something between it and you\\) served corrupt data\\. Nothing of it was committed to the target`));
  assert.deepEqual(await cacheFolder(page, 'partial'), [], 'its staging file is gone');
  const head = await fetch(`http://${rig.registry}/v2/skiff/corrupt-copy-${run}/blobs/${rig.corruptLayer}`, { method: 'HEAD' });
  assert.equal(head.status, 404, 'the corrupt blob is not in the target');
  const manifest = await fetch(`http://${rig.registry}/v2/skiff/corrupt-copy-${run}/manifests/1`, { method: 'HEAD' });
  assert.equal(manifest.status, 404, 'nor is the manifest');
  await page.context().close();
});

test('a copy whose manifest names a foreign layer, refused by the target, says why and what to do', async () => {
  const page = await newPage(suite.browser);
  await openCopy(page);
  const result = await copy(page, rig.fixtures.oddMixed, `${rig.tokenRegistry}/skiff/foreign-copy-${run}:1`);
  assert.match(result.error ?? '', /The manifest names 1 foreign layer by URL, as the source has them, and registries such as Distribution refuse such manifests unless configured to allow the URLs \(validation\.manifests\.urls\.allow\)\. Pull the image into an archive and push that instead/);
  assert.match(result.error, /HTTP 500.*\(Skiff sent it once\)/);
  // The foreign layer itself was left at its URL, like skopeo copy does; the others went up.
  const manifest = await registryManifest(rig.fixtures.oddMixed, 'application/vnd.oci.image.manifest.v1+json');
  const foreign = manifest.layers.find((l) => l.urls).digest;
  await page.click('.tab[data-view=requests]').catch(() => {});
  const urls = await page.$$eval('.exchange[data-purpose="blob upload"] .url', (u) => u.map((x) => x.textContent));
  assert.equal(urls.filter((u) => u.startsWith('HEAD')).length, 5, 'the config and four distinct layers');
  assert.ok(urls.every((u) => !u.includes(foreign)), urls.join('\n'));
  await page.context().close();
});
