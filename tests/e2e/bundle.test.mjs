// Bundles (issue #21, item 2): a compose file or Kubernetes manifests give the images of a whole
// application; Skiff names each with where it came from, names a reference it cannot read with
// its line and still offers the rest, and pulls the chosen ones into one archive: `docker load`
// loads every image with its name, each runs, shared layers are stored once, and `images.txt`
// lists each image with its digest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  rig, root, newPage, saveArchive, expectPulled, docker, registryManifest, FIXTURE_OUTPUT, useSuite,
} from './harness.mjs';

const suite = useSuite();
const composeImages = [rig.fixtures.v2s2, rig.fixtures.oci, rig.fixtures.multi];

async function openBundle(page) {
  await page.goto(`${suite.app.url}/`);
  await page.waitForSelector('#image');
  await page.fill('#proxy', suite.proxy.url);
  await page.click('#nav-bundle');
  await page.waitForSelector('#bundle-text');
}

const listed = (page) => page.$$eval('.bundle-image', (rows) => rows.map((r) => r.dataset.reference));

/** Pulls what the bundle view has chosen; the saved tar's path. */
async function pullBundle(page, expectedName) {
  await page.click('#bundle-pull');
  await page.waitForSelector('#save, #error', { timeout: 180_000 });
  await expectPulled(page);
  assert.equal(await page.getAttribute('#nav-pull', 'aria-current'), 'page');
  return saveArchive(page, expectedName);
}

/** Loads the tar once; runs each image by its name; removes them again. */
function loadAndRunEach(path, references) {
  const out = docker(['load', '-i', path]);
  for (const reference of references) {
    assert.match(out, new RegExp(`^Loaded image: ${reference.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.equal(docker(['run', '--rm', '--network', 'none', reference]), FIXTURE_OUTPUT, reference);
  }
  docker(['rmi', ...references]);
}

test('a compose file dropped in: every image named with its service, one archive docker loads and runs', async () => {
  const page = await newPage(suite.browser);
  await openBundle(page);
  await page.setInputFiles('#bundle-file', join(rig.bundles, 'compose.yaml'));
  await page.waitForSelector('#bundle-summary');
  assert.equal(await page.innerText('#bundle-summary'), 'Read as a compose file: 3 images');
  assert.deepEqual(await listed(page), composeImages);
  assert.match(await page.innerText('.bundle-image[data-reference$="busybox:v2s2"]'), /service web \(line 4\)/);
  const unreadable = await page.innerText('#bundle-unreadable');
  assert.match(unreadable, /line 14: \$\{CACHE_IMAGE\} — it uses the variable \$\{CACHE_IMAGE\}/);
  assert.equal(await page.innerText('#bundle-pull'), 'Pull 3 images into one archive');
  await page.fill('#bundle-platform', 'linux/amd64');

  const path = await pullBundle(page, 'busybox_v2s2_and_2_more.tar');
  // Shared layers once: no path twice in the tar, and every layer of every image there.
  const names = execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(new Set(names).size, names.length, 'a path appears twice in the archive');
  const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
  const layers = new Set();
  for (const image of [rig.fixtures.v2s2, rig.fixtures.oci]) {
    for (const layer of (await registryManifest(image, accept)).layers) layers.add(layer.digest);
  }
  for (const digest of layers) assert.ok(names.includes(`blobs/sha256/${digest.slice(7)}`), digest);
  // The list of what it holds, with each image's manifest digest.
  const list = execFileSync('tar', ['-xOf', path, 'images.txt'], { encoding: 'utf8' });
  const rows = list.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/\s+/));
  assert.deepEqual(rows.map(([reference]) => reference), composeImages);
  const index = JSON.parse(execFileSync('tar', ['-xOf', path, 'index.json'], { encoding: 'utf8' }));
  assert.deepEqual(rows.map(([, digest]) => digest), index.manifests.map((m) => m.digest));

  loadAndRunEach(path, composeImages);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('Kubernetes manifests pasted: workloads, init containers and a CronJob; a bad line named; one image left out', async () => {
  const page = await newPage(suite.browser);
  await openBundle(page);
  await page.fill('#bundle-text', readFileSync(join(rig.bundles, 'k8s.yaml'), 'utf8'));
  await page.click('#bundle-find');
  assert.equal(await page.innerText('#bundle-summary'), 'Read as Kubernetes manifests: 3 images');
  assert.deepEqual(await listed(page), [rig.fixtures.oci, rig.fixtures.v2s2, rig.fixtures.multi]);
  assert.match(await page.innerText('.bundle-image[data-reference$="busybox:oci"]'), /Deployment shop\/web, init container setup \(line 12\)/);
  assert.match(await page.innerText('.bundle-image[data-reference$="multi:latest"]'), /CronJob nightly, container job/);
  assert.match(await page.innerText('#bundle-unreadable'), /line 38: Not A Reference — invalid image reference/);

  await page.uncheck('.bundle-image[data-reference$="multi:latest"] input');
  await page.screenshot({ path: join(root, 'docs/screenshot-bundle.png'), fullPage: true });
  assert.equal(await page.innerText('#bundle-pull'), 'Pull 2 images into one archive');
  const path = await pullBundle(page, 'busybox_oci_and_1_more.tar');
  loadAndRunEach(path, [rig.fixtures.oci, rig.fixtures.v2s2]);
  await page.context().close();
});
