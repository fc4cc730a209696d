// Inside the image: the merged tree of the overlay fixture (file and opaque whiteouts, a file
// replaced by a directory and back, hard links, symlinks, a 255+-character path), checked
// against docker's own answer: `docker export` of a container made from the same archive, and
// `docker run … cat` for a saved file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  rig, outDir, root, newPage, pullInApp, expectPulled, saveArchive, dockerLoad, docker,
  tarListing, useSuite,
} from './harness.mjs';

const suite = useSuite();
const image = rig.fixtures.overlay;

/** What `docker export` adds to every container: its init layer and mount points. */
const addedByDocker = (path) =>
  ['.dockerenv', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'etc/mtab'].includes(path) ||
  /^(dev|proc|sys)(\/|$)/.test(path);

async function download(page, click) {
  const [file] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = join(outDir, `files-${file.suggestedFilename()}`);
  await file.saveAs(path);
  return { path, name: file.suggestedFilename() };
}

function row(page, path) {
  return page.locator(`.file-row[data-path="${path}"]`);
}

test('the file browser shows the merged tree, and the root filesystem matches docker export', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, image);
  await expectPulled(page);

  // The image summary: how it runs, and each history step with the layer it made.
  assert.match(await page.innerText('#summary'), /Platform\s+linux\/amd64[\s\S]*Cmd\s+\/bin\/sh/);
  const steps = await page.$$eval('#history tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.deepEqual(steps.map(([n, step, layer]) => [n, step, layer.replace(/ ·.*/, '')]), [
    ['1', 'ADD l1.tar.gz /', '1'], ['2', 'ADD l2.tar /', '2'], ['3', 'ADD l3.tar.gz /', '3'],
    ['4', 'CMD ["/bin/sh"]', 'none (empty step)'],
  ]);

  await page.click('#browse-files');
  await page.waitForSelector('#files-summary', { timeout: 60_000 });
  const summary = await page.innerText('#files-summary');
  assert.match(summary, /Later layers deleted or replaced \d+ paths/, summary);

  // Top level: directories closed; opening one shows its entries and who wrote them.
  assert.equal(await row(page, 'data/keep.txt').count(), 0, 'closed directories hide their rows');
  await row(page, 'data').locator('.file-toggle').click();
  await row(page, 'data/keep.txt').waitFor();
  assert.match(await row(page, 'data/keep.txt').innerText(), /1, changed in 3/);
  assert.equal(await row(page, 'data/gone.txt').count(), 0, 'a whited-out file is gone');
  assert.match(await row(page, 'data/link-to-keep').innerText(), /→ keep\.txt/);
  assert.match(await row(page, 'data/secret').innerText(), /-rw-------/);
  // The keyboard opens directories too.
  await row(page, 'opq').locator('.file-toggle').focus();
  await page.keyboard.press('Enter');
  await row(page, 'opq/new.txt').waitFor();
  assert.equal(await row(page, 'opq/a.txt').count(), 0, 'an opaque directory hides the lower layer');
  await page.click('#files-removed summary');
  assert.match(await page.locator('#files-removed [data-path="data/gone.txt"]').innerText(), /added in layer 1, deleted or replaced in layer 2 \(10 B\)/);
  assert.match(await page.locator('#files-removed [data-path="opq/a.txt"]').innerText(), /added in layer 1, deleted or replaced in layer 2/);
  // One layer's view: what layer 3 wrote last.
  await page.selectOption('#file-layer', '3');
  await page.waitForFunction(() => /5 of 26 paths shown/.test(document.querySelector('#files').textContent));
  assert.deepEqual(await page.$$eval('.file-row', (rows) => rows.map((r) => r.dataset.path)),
    ['data', 'data/keep.txt', 'swap', 'swap/was-dir', 'swap/was-dir/y.txt']);
  await page.selectOption('#file-layer', '');
  await page.fill('#file-search', 'inner');
  await row(page, 'swap/was-file/inner.txt').waitFor();
  await page.fill('#file-search', '');
  await page.screenshot({ path: join(root, 'docs/screenshot-files.png'), fullPage: true });

  // The root filesystem, against docker export of a container from the same archive.
  const rootfs = await download(page, () => page.click('#save-rootfs'));
  assert.equal(rootfs.name, 'overlay_latest-rootfs.tar');
  assert.match(await page.innerText('#files-status'), /Saved the root filesystem as overlay_latest-rootfs\.tar/);
  const archive = await saveArchive(page, 'overlay_latest.tar');
  const loaded = dockerLoad(archive, image);
  const container = docker(['create', loaded.name, '/bin/sh']).trim();
  const exported = join(outDir, 'files-docker-export.tar');
  try {
    docker(['export', '-o', exported, container]);
  } finally {
    docker(['rm', '-f', container]);
  }
  const ours = tarListing(rootfs.path);
  const theirs = tarListing(exported);
  const shape = (entries, keep) => [...entries]
    .filter(([path]) => keep(path))
    .map(([path, e]) => `${path} ${e.type} ${e.mode.toString(8)} ${e.type === 'file' ? e.size : ''} ${e.type === 'symlink' || e.type === 'hardlink' ? e.link : ''}`)
    .sort();
  // `etc` exists only because docker made it for its own files.
  const theirsKept = (path) => !addedByDocker(path) && !(path === 'etc' && !ours.has('etc'));
  assert.deepEqual(shape(ours, () => true), shape(theirs, theirsKept));
  assert.ok([...ours.keys()].some((p) => p.length >= 255), 'the long path is in the export');
  assert.equal(ours.get('hl/link').type, 'file', 'a link whose first name was deleted is the file');
  assert.equal(ours.get('hl/link').content.toString(), 'linked content\n');

  // One file saved from the tree equals what the container prints.
  await page.fill('#file-search', 'keep.txt');
  const saved = await download(page, () => row(page, 'data/keep.txt').locator('.save-path').click());
  assert.equal(saved.name, 'keep.txt');
  const printed = docker(['run', '--rm', loaded.name, 'cat', '/data/keep.txt']);
  assert.equal(readFileSync(saved.path, 'utf8'), printed);
  await page.context().close();
});

test('a directory saved as a tar holds that directory only', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, image);
  await expectPulled(page);
  await page.click('#browse-files');
  await page.waitForSelector('#files-summary', { timeout: 60_000 });
  const saved = await download(page, () => row(page, 'swap').locator('.save-path').click());
  assert.equal(saved.name, 'swap.tar');
  const paths = [...tarListing(saved.path).keys()].sort();
  assert.deepEqual(paths, ['swap', 'swap/was-dir', 'swap/was-dir/y.txt', 'swap/was-file', 'swap/was-file/inner.txt']);
  await page.context().close();
});

test('100 000 files: the list draws only what shows, and the page keeps answering', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.many);
  await expectPulled(page);
  await page.click('#browse-files');
  await page.waitForSelector('#files-summary', { timeout: 120_000 });
  assert.match(await page.innerText('#files-summary'), /^100100 paths, 100000 of them files/);
  await page.fill('#file-search', 'file-');
  await page.waitForFunction(() => /100000 of 100100 paths shown/.test(document.querySelector('#files').textContent));
  assert.ok(await page.locator('.file-row').count() <= 60, 'only the rows in view are in the page');
  await page.$eval('#file-tree', (tree) => { tree.scrollTop = tree.scrollHeight; });
  await row(page, 'dir-99/file-999.txt').waitFor();
  // A click is answered at once, with 100 000 rows behind the list.
  const reaction = await page.evaluate(() => new Promise((done) => {
    const started = performance.now();
    document.querySelector('#file-search').value = '';
    document.querySelector('#file-search').dispatchEvent(new InputEvent('input', { bubbles: true }));
    requestAnimationFrame(() => done(performance.now() - started));
  }));
  assert.ok(reaction < 100, `clearing the search took ${reaction.toFixed(0)} ms`);
  await page.waitForFunction(() => /100 of 100100 paths shown/.test(document.querySelector('#files').textContent));
  await page.context().close();
});

test('comparing two tags that share a base: shared bytes exactly, config and file differences', async () => {
  const page = await newPage(suite.browser);
  await page.goto(`${suite.app.url}/`);
  await page.waitForSelector('#image');
  await page.fill('#proxy', suite.proxy.url);
  await page.fill('#image', image);
  await page.click('#enqueue');
  await page.fill('#image', rig.fixtures.overlayNext);
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);

  await page.click('#compare-run');
  await page.waitForSelector('#compare-files-summary', { timeout: 60_000 });
  // The registry's own manifests say what is shared (read here without the app).
  const manifest = async (reference) => (await fetch(`http://${rig.registry}/v2/${reference.split('/').slice(1).join('/').replace(/:([^:]+)$/, '/manifests/$1')}`,
    { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json();
  const [a, b] = [await manifest(image), await manifest(rig.fixtures.overlayNext)];
  const inA = new Set(a.layers.map((l) => l.digest));
  const shared = b.layers.filter((l) => inA.has(l.digest));
  const sharedBytes = shared.reduce((sum, l) => sum + l.size, 0);
  const newBytes = b.layers.filter((l) => !inA.has(l.digest)).reduce((sum, l) => sum + l.size, 0);
  const layers = await page.innerText('#compare-layers');
  assert.ok(layers.includes(`2 layers shared (`) && layers.includes(`, ${sharedBytes} bytes)`), layers);
  assert.ok(layers.includes(`1 new in ${rig.fixtures.overlayNext} (`) && layers.includes(`, ${newBytes} bytes)`), layers);

  const config = await page.innerText('#compare-config');
  assert.match(config, /env MODE\s+—\s+next/);
  assert.match(config, /label skiff\.fixture\s+skiff\/overlay:latest\s+skiff\/overlay:next/);

  assert.equal(await page.innerText('#compare-files-summary'), 'Files: 2 added, 3 changed, 2 removed.');
  const differences = await page.$$eval('#compare-files .difference', (rows) => rows.map((r) => r.querySelector('code').textContent));
  assert.deepEqual(differences, [
    '+ app', '+ app/new.bin', '~ data/keep.txt', '− data/secret', '~ hl2/one', '~ swap/was-dir', '− swap/was-dir/y.txt',
  ]);
  await page.locator('#files').screenshot({ path: join(root, 'docs/screenshot-compare.png') });
  await page.context().close();
});
