// The no-proxy path: a registry mirror (CNCF Distribution as a pull-through cache) that sends
// CORS headers itself. The app pulls from it with the proxy field empty: the browser talks to
// the mirror directly, the mirror fetches from the upstream once and keeps it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  rig, newPage, expectPulled, saveArchive, dockerLoadAndRun, FIXTURE_OUTPUT, useSuite,
} from './harness.mjs';

const suite = useSuite();

test('a pull-through cache with CORS headers: pulled with no Skiff proxy at all', async () => {
  const reference = `${rig.mirror}/skiff/busybox:v2s2`;
  const page = await newPage(suite.browser);
  const elsewhere = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.protocol.startsWith('http') && url.origin !== suite.app.url && url.host !== rig.mirror) elsewhere.push(r.url());
  });
  await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(reference)}`);
  await page.waitForSelector('#image');
  await page.fill('#proxy', '');
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  assert.deepEqual(elsewhere, [], 'the browser asked only the mirror (and the app its own files)');
  assert.equal(suite.proxy.log.filter((l) => l.includes('"upstream"')).length, 0, 'the Skiff proxy relayed nothing');
  const tar = await saveArchive(page, 'busybox_v2s2.tar');
  dockerLoadAndRun(tar, reference, FIXTURE_OUTPUT);

  // The mirror keeps what it fetched: its catalog now lists the repository.
  const catalog = await (await fetch(`http://${rig.mirror}/v2/_catalog`)).json();
  assert.ok(catalog.repositories.includes('skiff/busybox'), JSON.stringify(catalog));
  await page.context().close();
});
