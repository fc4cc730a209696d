// Every layer format a user meets: gzip, plain tar, zstd, an empty layer, one layer listed
// twice, and a foreign (non-distributable) layer fetched from its URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  rig, startProxy, newPage, pullInApp, saveArchive, expectPulled, dockerLoadAndRun, podman,
  registryManifest, useSuite, rigServices, rigStats,
} from './harness.mjs';

const cdnHost = new URL(rig.cdn).host;
const suite = useSuite(['--allow-host', cdnHost, '--allow-host', rig.relay]);

const layerTypes = (page) => page.$$eval('tr.layer td:nth-child(3)', (cells) => cells.map((c) => c.textContent));

test('gzip, plain tar (listed twice), empty and foreign layers: docker loads and runs it', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.oddMixed);
  await expectPulled(page);
  // Six layers in the manifest, five distinct: the repeated one is fetched once.
  assert.deepEqual(await layerTypes(page), ['tar+gzip', 'tar', 'tar+gzip', 'tar+gzip', 'foreign tar+gzip']);
  const notes = await page.$$eval('.exchanges li', (items) => items.map((i) => i.textContent));
  assert.ok(notes.some((n) => n.includes('from its URL') && n.includes(`${cdnHost}/foreign/`)), notes.join('\n'));
  const tar = await saveArchive(page, 'odd_mixed.tar');
  const inspect = dockerLoadAndRun(tar, rig.fixtures.oddMixed,
    'hello from the skiff fixture\nand hello from a foreign layer\nodd layers: ok\n');
  assert.equal(inspect.RootFS.Layers.length, 6);
  assert.match(podman(['load', '-i', tar]), /Loaded image/);
  await page.context().close();
});

test('zstd layers, kept as downloaded: podman loads it', async () => {
  // Debian's docker 20.10 cannot read zstd layers ("invalid tar header"), so this archive is
  // checked with podman load (podman run cannot set its rlimits in this sandbox); the
  // uncompressed layer option makes the same image load and run in docker too.
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.oddZstd);
  await expectPulled(page);
  assert.deepEqual(await layerTypes(page), ['tar+gzip', 'tar+zstd', 'tar+zstd']);
  const tar = await saveArchive(page, 'odd_zstd.tar');
  assert.match(podman(['load', '-i', tar]), new RegExp(`Loaded image: ${rig.fixtures.oddZstd.replace(/[.]/g, '\\.')}`));
  // podman unpacked all three layers into its store.
  const [inspect] = JSON.parse(podman(['image', 'inspect', rig.fixtures.oddZstd]));
  assert.equal(inspect.RootFS.Layers.length, 3);
  await page.context().close();
});

test('a foreign layer whose URL host the proxy refuses: the error says how to allow it', async () => {
  const strict = await startProxy();
  try {
    const page = await newPage(suite.browser);
    await pullInApp(page, suite.app.url, strict.url, rig.fixtures.oddMixed);
    const message = await page.innerText('#error');
    assert.match(message, /foreign \(non-distributable\) layer/);
    assert.match(message, new RegExp(`--allow-host ${cdnHost.replace(/[.]/g, '\\.')}`));
    assert.equal(await page.$('#save'), null);
    await page.context().close();
  } finally {
    strict.close();
  }
});

test('uncompressed layers: a zstd image then loads and runs even in docker 20.10', async () => {
  const page = await newPage(suite.browser);
  await page.goto(`${suite.app.url}/`);
  await page.waitForSelector('#uncompressed');
  await page.check('#uncompressed');
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.oddZstd);
  await expectPulled(page);
  const tar = await saveArchive(page, 'odd_zstd.tar');
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', tar, 'manifest.json'], { encoding: 'utf8' }));
  for (const layer of manifest[0].Layers) {
    const bytes = execFileSync('tar', ['-xOf', tar, layer], { maxBuffer: 64 << 20 });
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, `sha256:${layer.split('/').pop()}`);
    assert.equal(bytes.subarray(257, 262).toString(), 'ustar', `${layer} is a plain tar`);
  }
  const config = JSON.parse(execFileSync('tar', ['-xOf', tar, manifest[0].Config], { encoding: 'utf8' }));
  assert.deepEqual(manifest[0].Layers.map((l) => `sha256:${l.split('/').pop()}`), config.rootfs.diff_ids);
  const inspect = dockerLoadAndRun(tar, rig.fixtures.oddZstd, 'hello from the skiff fixture\nodd layers: ok\n');
  const expected = await registryManifest(rig.fixtures.oddZstd, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(inspect.Id, expected.config.digest, 'the same image, only stored differently');
  // The choice is remembered.
  await page.reload();
  await page.waitForSelector('#uncompressed');
  assert.ok(await page.isChecked('#uncompressed'));
  await page.context().close();
});

test('uncompressed layers with a foreign layer and a repeated layer', async () => {
  const page = await newPage(suite.browser);
  await page.goto(`${suite.app.url}/`);
  await page.waitForSelector('#uncompressed');
  await page.check('#uncompressed');
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.oddMixed);
  await expectPulled(page);
  const tar = await saveArchive(page, 'odd_mixed.tar');
  dockerLoadAndRun(tar, rig.fixtures.oddMixed, 'hello from the skiff fixture\nand hello from a foreign layer\nodd layers: ok\n');
  assert.match(podman(['load', '-i', tar]), /Loaded image/);
  await page.context().close();
});

test('zstd layers: the ready panel warns about old docker and makes the archive uncompressed from the cache', async () => {
  const viaRelay = rig.fixtures.oddZstd.replace(rig.registry, rig.relay);
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, viaRelay);
  await expectPulled(page);
  assert.match(await page.innerText('#zstd-note'), /2 layers of this archive are zstd-compressed: docker older than 23\.0 cannot load it/);
  await rigServices({});
  await page.click('#save-uncompressed');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  assert.equal(await page.$('#zstd-note'), null, 'no warning once uncompressed');
  assert.match(await page.innerText('#transfer'), /No layer bytes were transferred: all 3 layers came from the layer cache/);
  const { config } = await registryManifest(rig.fixtures.oddZstd, 'application/vnd.oci.image.manifest.v1+json');
  const blobs = Object.keys((await rigStats()).relayRequests).filter((p) => p.includes('/blobs/') && !p.endsWith(config.digest));
  assert.deepEqual(blobs, [], 'no layer fetched from the registry again');
  // docker 20.10 cannot read zstd layers at all: loading and running proves they are plain now.
  const tar = await saveArchive(page, 'odd_zstd.tar');
  dockerLoadAndRun(tar, viaRelay, 'hello from the skiff fixture\nodd layers: ok\n');
  assert.ok(await page.isChecked('#uncompressed'), 'the form shows the format used');
  await page.context().close();
});
