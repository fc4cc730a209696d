// Bad answers get clear errors and lose nothing: each case is injected by the rig's relay in
// front of the real registry (tests/rig/services.mjs), the app runs in headless Chromium.
import { test, before, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  rig, startProxy, newPage, pullInApp, saveArchive, rigServices, rigStats, dockerLoadAndRun,
  registryManifest, FIXTURE_OUTPUT, useSuite,
} from './harness.mjs';

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const reference = `${rig.relay}/skiff/busybox:v2s2`;
const manifestPath = '/v2/skiff/busybox/manifests/v2s2';
const suite = useSuite(['--allow-host', rig.relay]);
let bigLayer;

before(async () => {
  const manifest = await registryManifest(rig.fixtures.v2s2, DOCKER_MANIFEST);
  bigLayer = manifest.layers.reduce((a, b) => (a.size > b.size ? a : b));
});

afterEach(() => rigServices({}));

/** Pulls `image` with the given relay faults; returns the page (still open) and error text. */
async function pullWithFaults(faults, image = reference, proxyUrl = suite.proxy.url) {
  await rigServices({ faults });
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, proxyUrl, image);
  const error = await page.$('#error');
  return { page, error: error ? await error.innerText() : null };
}

async function expectFailure(faults, pattern, image) {
  const { page, error } = await pullWithFaults(faults, image);
  assert.ok(error, 'the pull must fail');
  assert.match(error, pattern);
  assert.equal(await page.$('#save'), null, 'no tar may be offered');
  await page.context().close();
  return error;
}

test('429: the rate-limit headers and Retry-After are shown', async () => {
  const headers = { 'retry-after': '60', 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' };
  const error = await expectFailure([{ match: '/manifests/', status: 429, headers }], /Rate limited/);
  assert.match(error, /HTTP 429/);
  assert.match(error, /retry-after: 60/);
  assert.match(error, /ratelimit-limit: 100;w=21600/);
  assert.match(error, /ratelimit-remaining: 0;w=21600/);
  assert.match(error, /pull through a registry mirror \(a pull-through cache/);
});

test("a registry's rate-limit headers are shown in the explorer as what is left", async () => {
  const headers = { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600', 'docker-ratelimit-source': '203.0.113.9' };
  const { page, error } = await pullWithFaults([{ match: '/manifests/', headers }]);
  assert.equal(error, null);
  assert.match(await page.innerText('#rate-limit'), /76 of 100 pulls left in a 6-hour window, counted for 203\.0\.113\.9/);
  const manifest = page.locator('.exchange[data-purpose="manifest"]');
  assert.match(await manifest.locator('.header-table').last().textContent(), /ratelimit-remaining\s*76;w=21600/);
  await page.context().close();
});

test('429 with a short Retry-After is waited out once', async () => {
  const { page, error } = await pullWithFaults([{ match: '/manifests/', status: 429, times: 1, headers: { 'retry-after': '1' } }]);
  assert.equal(error, null);
  assert.equal((await rigStats()).relayRequests[manifestPath], 2);
  await page.context().close();
});

test('5xx: retried with backoff, then succeeds', async () => {
  const { page, error } = await pullWithFaults([{ match: '/manifests/', status: 503, times: 2 }]);
  assert.equal(error, null);
  assert.equal((await rigStats()).relayRequests[manifestPath], 3);
  await page.context().close();
});

test('5xx that persists: a bounded number of retries, then a clear message', async () => {
  const error = await expectFailure([{ match: '/manifests/', status: 502 }], /HTTP 502[\s\S]*kept failing through retries/);
  assert.ok(error);
  assert.equal((await rigStats()).relayRequests[manifestPath], 5, 'five attempts, then the message');
});

test('a layer cut off mid-way is resumed with Range, and the tar loads', async () => {
  const { page, error } = await pullWithFaults([{ match: bigLayer.digest, truncateAfter: 300_000, times: 1 }]);
  assert.equal(error, null);
  const blobPath = `/v2/skiff/busybox/blobs/${bigLayer.digest}`;
  assert.equal((await rigStats()).relayRequests[blobPath], 2, 'fetched once more, from where it broke');
  const tar = await saveArchive(page, 'busybox_v2s2.tar');
  dockerLoadAndRun(tar, reference, FIXTURE_OUTPUT);
  await page.context().close();
});

test('a layer that breaks off again and again, but further each time, is carried to the end', async () => {
  // Every response is cut after 100 kB: a resume that moves forward costs no budget.
  const { page, error } = await pullWithFaults([{ match: bigLayer.digest, truncateAfter: 100_000 }]);
  assert.equal(error, null);
  const requests = (await rigStats()).relayRequests[`/v2/skiff/busybox/blobs/${bigLayer.digest}`];
  assert.equal(requests, Math.ceil(bigLayer.size / 100_000), 'one request per 100 kB, each from where the last broke');
  const tar = await saveArchive(page, 'busybox_v2s2.tar');
  dockerLoadAndRun(tar, reference, FIXTURE_OUTPUT);
  await page.context().close();
});

test('a layer that keeps breaking off without progress fails clearly and offers no tar', async () => {
  await expectFailure([{ match: bigLayer.digest, truncateAfter: 0 }],
    new RegExp(`kept breaking off[\\s\\S]*at 0 of ${bigLayer.size} bytes[\\s\\S]*3 tries in a row`));
  assert.equal((await rigStats()).relayRequests[`/v2/skiff/busybox/blobs/${bigLayer.digest}`], 3);
});

test('403 on the manifest', async () => {
  await expectFailure([{ match: '/manifests/', status: 403, body: '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}' }],
    /Access denied[\s\S]*HTTP 403, DENIED: requested access to the resource is denied/);
});

test('a manifest larger than any real one is refused, not read into memory', async () => {
  const huge = JSON.stringify({ schemaVersion: 2, padding: 'x'.repeat(5 << 20) });
  await expectFailure([{ match: '/manifests/', replaceBody: huge, headers: { 'content-type': DOCKER_MANIFEST } }],
    /manifest is \d+ bytes, more than the 4194304 bytes Skiff reads/);
});

test('malformed JSON in the manifest', async () => {
  await expectFailure([{ match: '/manifests/', replaceBody: '{"schemaVersion": 2, "layers": [', headers: { 'content-type': DOCKER_MANIFEST } }],
    /malformed JSON in the manifest/);
});

test('an unknown manifest media type', async () => {
  await expectFailure([{ match: '/manifests/', headers: { 'content-type': 'application/vnd.example.thing+json' } }],
    /unsupported media type "application\/vnd.example.thing\+json"/);
});

test('a schema 1 manifest gets the deprecated-format message', async () => {
  const schema1 = JSON.stringify({ schemaVersion: 1, name: 'skiff/busybox', tag: 'v2s2', architecture: 'amd64', fsLayers: [], history: [] });
  await expectFailure([{ match: '/manifests/', replaceBody: schema1, headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' } }],
    /deprecated Docker schema 1/);
});

test('a manifest that does not match Docker-Content-Digest is rejected', async () => {
  const other = `sha256:${'0'.repeat(64)}`;
  await expectFailure([{ match: '/manifests/', headers: { 'docker-content-digest': other } }],
    new RegExp(`Docker-Content-Digest header says ${other}`));
});

test('a manifest that does not match the digest the reference pins is rejected', async () => {
  const raw = await (await fetch(`http://${rig.registry}${manifestPath}`, { headers: { accept: DOCKER_MANIFEST } })).text();
  const manifest = JSON.parse(raw);
  const pinned = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  // The relay serves another (valid) manifest for that digest.
  const other = JSON.stringify({ ...manifest, annotations: undefined, layers: manifest.layers.slice(0, 1) });
  await expectFailure([{ match: `/manifests/${pinned}`, replaceBody: other, headers: { 'content-type': DOCKER_MANIFEST } }],
    new RegExp(`the reference says ${pinned}`), `${rig.relay}/skiff/busybox@${pinned}`);
});

test('an unreachable proxy', async () => {
  await rigServices({});
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, 'http://127.0.0.1:9/', reference);
  assert.match(await page.innerText('#error'), /Cannot reach the proxy[\s\S]*http:\/\/127\.0\.0\.1:9\/[\s\S]*scripts\/serve\.sh/);
  await page.context().close();
});

test('a registry the proxy cannot reach', async () => {
  const open = await startProxy(['--allow-host', '127.0.0.1:9']);
  try {
    const page = await newPage(suite.browser);
    await pullInApp(page, suite.app.url, open.url, '127.0.0.1:9/team/app:1');
    const message = await page.innerText('#error');
    assert.match(message, /Cannot reach the registry/);
    assert.match(message, /no answer from the registry[\s\S]*could not complete the request to 127\.0\.0\.1/);
    assert.match(message, /machine running the proxy can reach it/);
    await page.context().close();
  } finally {
    open.close();
  }
});
