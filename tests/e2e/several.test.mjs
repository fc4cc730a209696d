// Several images in one archive, like `docker save a b c`, and picking a tag from the
// repository's (paginated) tag list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  rig, newPage, saveArchive, expectPulled, dockerLoad, docker, rigServices, rigStats,
  FIXTURE_OUTPUT, useSuite,
} from './harness.mjs';

const suite = useSuite(['--allow-host', rig.relay, '--allow-host', new URL(rig.cdn).host]);

async function openApp(page) {
  await page.goto(`${suite.app.url}/`);
  await page.waitForSelector('#image');
  await page.fill('#proxy', suite.proxy.url);
}

test('three queued images go into one tar; shared blobs once; docker loads every tag', async () => {
  const images = [rig.fixtures.v2s2, rig.fixtures.oddMixed, rig.fixtures.multi];
  const page = await newPage(suite.browser);
  await openApp(page);
  for (const image of images.slice(0, 2)) {
    await page.fill('#image', image);
    await page.click('#enqueue');
  }
  assert.deepEqual(await page.$$eval('#queue code', (c) => c.map((x) => x.textContent)), images.slice(0, 2));
  await page.fill('#image', images[2]);
  assert.equal(await page.innerText('#pull'), 'Pull 3 images into one archive');
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  const tar = await saveArchive(page, 'busybox_v2s2_and_2_more.tar');

  // Each blob is stored once: the busybox layers are shared by the first and third image.
  const blobs = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' })
    .split('\n').filter((n) => /^blobs\/sha256\/[0-9a-f]{64}$/.test(n));
  assert.equal(new Set(blobs).size, blobs.length, 'no blob twice');
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', tar, 'manifest.json'], { encoding: 'utf8' }));
  assert.deepEqual(manifest.map((m) => m.RepoTags), images.map((i) => [i]));
  const referenced = new Set(manifest.flatMap((m) => [m.Config, ...m.Layers]));
  assert.ok(referenced.size < manifest.reduce((n, m) => n + 1 + m.Layers.length, 0), 'images share blobs');

  const { out } = dockerLoad(tar, images[0]);
  for (const image of images) assert.match(out, new RegExp(`Loaded image: ${image.replace(/[.]/g, '\\.')}\\n`));
  assert.equal(docker(['run', '--rm', '--network', 'none', images[0]]), FIXTURE_OUTPUT);
  assert.equal(docker(['run', '--rm', '--network', 'none', images[1]]),
    'hello from the skiff fixture\nand hello from a foreign layer\nodd layers: ok\n');
  assert.equal(docker(['run', '--rm', '--network', 'none', images[2]]), FIXTURE_OUTPUT);
  docker(['rmi', ...images]);
  await page.context().close();
});

test('an error in one queued image names that image and offers no tar', async () => {
  const page = await newPage(suite.browser);
  await openApp(page);
  await page.fill('#image', rig.fixtures.v2s2);
  await page.click('#enqueue');
  await page.fill('#image', `${rig.registry}/skiff/busybox:missing`);
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  const message = await page.innerText('#error');
  assert.match(message, /image 2 of 2 \(127\.0\.0\.1:\d+\/skiff\/busybox:missing\)/);
  assert.match(message, /MANIFEST_UNKNOWN/);
  assert.equal(await page.$('#save'), null);
  await page.context().close();
});

test('the tag list follows Link pages; picking a tag fills the image field', async () => {
  await rigServices({ paginateTags: 100 });
  const repo = `${rig.relay}/skiff/tags`;
  const page = await newPage(suite.browser);
  await openApp(page);
  await page.fill('#image', `${repo}:base`);
  await page.click('#list-tags');
  await page.waitForSelector('#tags h2');
  assert.equal(await page.innerText('#tags h2'), `250 tags of ${repo} (3 pages)`);
  const listed = (await rigStats()).relayRequests['/v2/skiff/tags/tags/list'];
  assert.equal(listed, 3);
  await page.click('#tags button.tag:text-is("v1.123")');
  assert.equal(await page.inputValue('#image'), `${repo}:v1.123`);
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  await page.context().close();
});
