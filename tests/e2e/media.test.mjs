// Every layer format a user meets: gzip, plain tar, zstd, an empty layer, one layer listed
// twice, and a foreign (non-distributable) layer fetched from its URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  rig, serveApp, startProxy, launchBrowser, newPage, pullInApp, ensureOutDir, saveArchive,
  expectPulled, dockerLoadAndRun, podman,
} from './harness.mjs';

const cdnHost = new URL(rig.cdn).host;
let app, proxy, browser;

before(async () => {
  await ensureOutDir();
  app = await serveApp();
  proxy = await startProxy(['--allow-host', cdnHost]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  proxy?.close();
  app?.close();
});

const layerTypes = (page) => page.$$eval('tr.layer td:nth-child(3)', (cells) => cells.map((c) => c.textContent));

test('gzip, plain tar (listed twice), empty and foreign layers: docker loads and runs it', async () => {
  const page = await newPage(browser);
  await pullInApp(page, app.url, proxy.url, rig.fixtures.oddMixed);
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
  const page = await newPage(browser);
  await pullInApp(page, app.url, proxy.url, rig.fixtures.oddZstd);
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
    const page = await newPage(browser);
    await pullInApp(page, app.url, strict.url, rig.fixtures.oddMixed);
    const message = await page.innerText('#error');
    assert.match(message, /foreign \(non-distributable\) layer/);
    assert.match(message, new RegExp(`--allow-host ${cdnHost.replace(/[.]/g, '\\.')}`));
    assert.equal(await page.$('#save'), null);
    await page.context().close();
  } finally {
    strict.close();
  }
});
