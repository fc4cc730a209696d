// Any OCI artifact (issue #21, item 1): what a manifest holds is said in words, and a pull saves
// what that artifact's own tool would give, every byte verified: `helm pull`'s chart .tgz, `oras
// pull`'s files under their titles, a wasm module as .wasm; an artifact of an unknown kind as an
// OCI layout that skopeo reads. Compared byte for byte with the originals the rig pushed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  rig, newPage, pullInApp, saveArchive, expectPulled, tarListing, useSuite,
} from './harness.mjs';

const suite = useSuite();
const original = (name) => readFileSync(join(rig.artifacts, name));

async function pulled(image) {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, image);
  await expectPulled(page);
  return page;
}

test('a Helm chart is said to be one and saved as helm pull saves it, byte for byte', async () => {
  const page = await pulled(rig.fixtures.chart);
  assert.match(await page.innerText('#artifact-kind'), /a Helm chart .*not a container image/);
  assert.match(await page.innerText('#artifact-saved'), /Every blob verified\. This is a Helm chart/);
  assert.match(await page.innerText('#artifact-saved'), /helm install <release> hello-0\.1\.0\.tgz/);
  const path = await saveArchive(page, 'hello-0.1.0.tgz');
  assert.ok(readFileSync(path).equals(original('hello-0.1.0.tgz')), 'the chart differs from what was pushed');
  const listing = execFileSync('tar', ['-tzf', path], { encoding: 'utf8' });
  assert.match(listing, /^hello\/Chart\.yaml$/m);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('titled files: one saved as itself, several in one tar under their titles', async () => {
  let page = await pulled(rig.fixtures.filesOne);
  assert.match(await page.innerText('#artifact-kind'), /files \(an ORAS artifact/);
  let path = await saveArchive(page, 'readme.md');
  assert.ok(readFileSync(path).equals(original('files/readme.md')));
  await page.context().close();

  page = await pulled(rig.fixtures.filesTwo);
  path = await saveArchive(page, 'files_two.tar');
  const entries = tarListing(path);
  assert.deepEqual([...entries.keys()].sort(), ['data', 'data/values.txt', 'readme.md']);
  assert.ok(entries.get('readme.md').content.equals(original('files/readme.md')));
  assert.ok(entries.get('data/values.txt').content.equals(original('files/data/values.txt')));
  await page.context().close();
});

test('a wasm module is saved as a .wasm, byte for byte', async () => {
  const page = await pulled(rig.fixtures.wasm);
  assert.match(await page.innerText('#artifact-kind'), /a WebAssembly module/);
  const path = await saveArchive(page, 'wasm_latest.wasm');
  const bytes = readFileSync(path);
  assert.ok(bytes.equals(original('hello.wasm')));
  assert.ok(WebAssembly.validate(bytes), 'a valid module');
  await page.context().close();
});

test('an index of wasm modules works like one of images: the platform picks the module', async () => {
  const page = await newPage(suite.browser);
  await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(rig.fixtures.wasmIndex)}`);
  await page.fill('#proxy', suite.proxy.url);
  await page.fill('#platform', 'wasip2/wasm');
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  const path = await saveArchive(page, 'wasm_multi.wasm');
  assert.ok(readFileSync(path).equals(original('hello-p2.wasm')));
  await page.context().close();
});

test('an artifact of an unknown kind is saved as an OCI layout that skopeo reads', async () => {
  const page = await pulled(rig.fixtures.unknownArtifact);
  assert.match(await page.innerText('#artifact-kind'), /a kind Skiff does not know \(application\/vnd\.skiff\.mystery\.v1\)/);
  const path = await saveArchive(page, 'unknown_latest.oci.tar');
  const entries = tarListing(path);
  assert.ok(entries.has('oci-layout') && entries.has('index.json'));
  assert.ok(!entries.has('manifest.json'), 'no docker manifest.json: docker cannot load an artifact');
  const out = mkdtempSync(join(tmpdir(), 'skiff-oci-'));
  execFileSync('skopeo', ['--insecure-policy', 'copy', '-q', `oci-archive:${path}`, `dir:${out}`]);
  const copied = readdirSync(out).filter((f) => /^[0-9a-f]{64}$/.test(f)).map((f) => readFileSync(join(out, f)));
  assert.ok(copied.some((blob) => blob.equals(original('unknown.bin'))), 'skopeo copied the artifact\'s blob out of the layout');
  await page.context().close();
});

test('Look inside a chart names it; a chart among images is refused with the reason', async () => {
  const page = await newPage(suite.browser);
  await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(rig.fixtures.chart)}`);
  await page.fill('#proxy', suite.proxy.url);
  await page.click('#inspect');
  await page.waitForSelector('#artifact-kind');
  await page.click('.tab[data-view=summary]');
  assert.match(await page.innerText('#summary-what'), /^a Helm chart/);
  assert.doesNotMatch(await page.innerText('main'), /malformed|rootfs/);

  await page.fill('#image', rig.fixtures.v2s2);
  await page.click('#enqueue');
  await page.fill('#image', rig.fixtures.chart);
  await page.click('#pull');
  await page.waitForSelector('#error, #save');
  assert.match(await page.innerText('#error'), /is a Helm chart .*not a container image: .*pull it on its own/s);
  assert.equal(await page.$('#save'), null);
  await page.context().close();
});
