// Hashing backends: the browser's own SHA-256 (blobs that fit the memory budget), four layers in
// step in one worker (wasm SIMD), and `sha2` alone. Each is chosen through the settings the
// benchmark uses; for each, every layer row says which one checked it, the archive loads and runs
// in docker, and a corrupt layer is refused with no tar offered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  rig, outDir, newPage, pullInApp, saveArchive, expectPulled, dockerLoadAndRun,
  FIXTURE_OUTPUT, useSuite, archiveProblems,
} from './harness.mjs';

const suite = useSuite();
// The fixture image and five layers of 1 MB of random bytes.
const BIG = `${rig.registry}/skiff/big:latest`;

const BACKENDS = [
  { name: 'native', label: 'browser SHA-256', settings: { nativeHashBytes: 1 << 30 } },
  // A budget of 0 hashes every blob as it streams: with lanes, four at once share a worker.
  { name: 'lanes', label: '4-lane wasm SHA-256', settings: { nativeHashBytes: 0, hashLanes: 4 } },
  // The default for streamed blobs: `sha2`, each in a worker of its own.
  { name: 'wasm', label: 'wasm SHA-256', settings: { nativeHashBytes: 0 } },
];

async function withSettings(settings) {
  const page = await newPage(suite.browser);
  await page.goto(suite.app.url);
  await page.evaluate((s) => localStorage.setItem('skiff.settings', JSON.stringify(s)), settings);
  return page;
}

const hashedBy = (page) => page.$$eval('tr.layer .state', (cells) => cells.map((c) => c.dataset.hashedBy));

for (const { name, label, settings } of BACKENDS) {
  test(`${name} hashing: every layer is checked by it, and the archive loads and runs`, async () => {
    const page = await withSettings(settings);
    await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.v2s2);
    await expectPulled(page);
    assert.deepEqual(await hashedBy(page), [name, name, name]);
    // The summary says it too, in words.
    assert.equal((await page.innerText('#hashed-by')).trim(), `Digests computed by the ${label} (3 layers).`);
    const tar = await saveArchive(page, 'busybox_v2s2.tar');
    assert.deepEqual(archiveProblems(tar), []);
    dockerLoadAndRun(tar, rig.fixtures.v2s2, FIXTURE_OUTPUT);
    await page.context().close();
  });

  test(`${name} hashing: a corrupt layer is refused, named, and no tar is offered`, async () => {
    const page = await withSettings(settings);
    await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.corrupt);
    const message = await page.innerText('#error');
    assert.match(message, /digest mismatch/i);
    assert.ok(message.includes(rig.corruptLayer), `the error must name ${rig.corruptLayer}: ${message}`);
    assert.equal(await page.$('#save'), null, 'no tar may be offered');
    // The good layers were checked by the backend under test; the corrupt one by nobody.
    const rows = await page.$$eval('tr.layer', (rs) => rs.map((r) => [r.className, r.querySelector('.state').dataset.hashedBy]));
    assert.deepEqual(rows.filter(([c]) => c.includes('failed')).length, 1, JSON.stringify(rows));
    for (const [cls, by] of rows.filter(([c]) => c.includes('verified'))) assert.equal(by, name, cls);
    await page.context().close();
  });
}

test('four layers hashed in step in one worker: eight 1 MB-scale layers, each checked, the image runs', async () => {
  const page = await withSettings({ nativeHashBytes: 0, hashLanes: 4 });
  await pullInApp(page, suite.app.url, suite.proxy.url, BIG);
  await expectPulled(page);
  const by = await hashedBy(page);
  assert.equal(by.length, 8);
  assert.ok(by.every((b) => b === 'lanes'), JSON.stringify(by));
  const tar = await saveArchive(page, 'big_latest.tar');
  assert.deepEqual(archiveProblems(tar), []);
  dockerLoadAndRun(tar, BIG, FIXTURE_OUTPUT);
  await page.screenshot({ path: join(outDir, 'hashing-lanes.png'), fullPage: true });
  await page.context().close();
});

test('a budget smaller than a layer streams that layer and hashes the small ones natively', async () => {
  // The fixture's layers: busybox (~1 MB), two of a few hundred bytes. 2x each must fit.
  const page = await withSettings({ nativeHashBytes: 64 * 1024 });
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.v2s2);
  await expectPulled(page);
  const sizes = await page.$$eval('tr.layer td:nth-child(4) span', (cells) => cells.map((c) => c.textContent));
  const by = await hashedBy(page);
  assert.ok(by.includes('native') && by.includes('wasm'), `${JSON.stringify(by)} for ${JSON.stringify(sizes)}`);
  await page.context().close();
});
