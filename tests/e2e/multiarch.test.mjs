// Multi-platform images: the app lists what an index offers (attestations hidden), preselects
// the last choice or linux/amd64, pulls the chosen entry; digests pin what is pulled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  rig, newPage, pullInApp, docker, podman, registryManifest, saveArchive, expectPulled,
  dockerLoad, useSuite,
} from './harness.mjs';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const suite = useSuite([]);
let context;
const repo = rig.fixtures.multi.replace(/:latest$/, '');

async function configDigestFor(platformTag) {
  return (await registryManifest(`${repo}:${platformTag}`, OCI_MANIFEST)).config.digest;
}

async function offersShown(page) {
  return page.$$eval('#platforms-offered button.platform', (buttons) =>
    buttons.map((b) => ({ platform: b.dataset.platform, chosen: b.classList.contains('chosen') })));
}

test('an OCI index: offers listed without the attestation, linux/amd64 preselected and pulled', async () => {
  const page = await newPage(suite.browser);
  context = page.context(); // kept: the next test relies on its localStorage
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.multi);
  await expectPulled(page);
  assert.equal(await page.inputValue('#platform'), 'linux/amd64');
  assert.deepEqual(await offersShown(page), [
    { platform: 'linux/amd64', chosen: true },
    { platform: 'linux/arm64/v8', chosen: false },
  ]);
  const tar = await saveArchive(page, 'multi_latest.tar');
  const { inspect } = dockerLoad(tar, rig.fixtures.multi);
  assert.equal(inspect.Id, await configDigestFor('amd64-oci'));
  assert.equal(inspect.Architecture, 'amd64');
  docker(['rmi', rig.fixtures.multi]);
});

test('choosing another offered platform pulls it, and is preselected next time', async () => {
  const page = context.pages()[0];
  await page.click('#platforms-offered button[data-platform="linux/arm64/v8"]');
  await page.waitForSelector('#platforms-offered button.platform.chosen[data-platform="linux/arm64/v8"]');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  const tar = await saveArchive(page, 'multi_latest.tar');
  const { inspect } = dockerLoad(tar, rig.fixtures.multi);
  assert.equal(inspect.Id, await configDigestFor('arm64-oci'));
  assert.equal(inspect.Architecture, 'arm64');
  docker(['rmi', rig.fixtures.multi]);
  assert.match(podman(['load', '-i', tar]), /Loaded image/);

  // A new visit remembers the choice.
  const again = await context.newPage();
  await again.goto(`${suite.app.url}/`);
  await again.waitForSelector('#platform');
  assert.equal(await again.inputValue('#platform'), 'linux/arm64/v8');
  await context.close();
});

test('a Docker manifest list with a pasted `docker pull --platform` line', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, `docker pull --platform linux/arm64 ${rig.fixtures.multiList}`);
  await expectPulled(page);
  assert.deepEqual(await offersShown(page), [
    { platform: 'linux/amd64', chosen: false },
    { platform: 'linux/arm64/v8', chosen: true },
  ]);
  const tar = await saveArchive(page, 'multi_list.tar');
  const { inspect } = dockerLoad(tar, rig.fixtures.multiList);
  assert.equal(inspect.Architecture, 'arm64');
  docker(['rmi', rig.fixtures.multiList]);
  await page.context().close();
});

test('name@sha256 of an index, and of one platform\'s manifest', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, `${repo}@${rig.multiIndexDigest}`);
  await expectPulled(page);
  assert.equal((await offersShown(page)).length, 2);
  const short = rig.multiIndexDigest.slice(7, 19);
  let tar = await saveArchive(page, `multi_sha256-${short}.tar`);
  let loaded = dockerLoad(tar, null);
  assert.match(loaded.out, /Loaded image ID: /, 'a pull by digest loads untagged, as docker pull does');
  assert.equal(loaded.inspect.Id, await configDigestFor('amd64-oci'));

  await pullInApp(page, suite.app.url, suite.proxy.url, `${repo}@${rig.multiArm64Digest}`);
  await expectPulled(page);
  assert.deepEqual(await offersShown(page), [], 'a platform manifest is no index');
  tar = await saveArchive(page, `multi_sha256-${rig.multiArm64Digest.slice(7, 19)}.tar`);
  loaded = dockerLoad(tar, null);
  assert.equal(loaded.inspect.Architecture, 'arm64');
  await page.context().close();
});

test('name:tag@sha256 pins to the digest, not the tag', async () => {
  const page = await newPage(suite.browser);
  // `list` names the Docker manifest list; the digest names the OCI index, which wins.
  await pullInApp(page, suite.app.url, suite.proxy.url, `${rig.fixtures.multiList}@${rig.multiIndexDigest}`);
  await expectPulled(page);
  const urls = await page.$$eval('.exchanges .url', (codes) => codes.map((c) => c.textContent));
  assert.ok(urls.some((u) => u.endsWith(`/manifests/${rig.multiIndexDigest}`)), urls.join('\n'));
  assert.ok(!urls.some((u) => u.endsWith('/manifests/list')), urls.join('\n'));
  // The index, the chosen manifest and its config, each openable in the explorer.
  await page.click('.tab[data-view=objects]');
  assert.equal(await page.locator('.object-tab').count(), 3);
  await page.context().close();
});

test('a platform the index does not offer: the error lists what it offers', async () => {
  const page = await newPage(suite.browser);
  await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(rig.fixtures.multi)}&platform=linux/s390x`);
  await page.waitForSelector('#image');
  assert.equal(await page.inputValue('#platform'), 'linux/s390x');
  await page.fill('#proxy', suite.proxy.url);
  await page.click('#pull');
  await page.waitForSelector('#error', { timeout: 60_000 });
  const message = await page.innerText('#error');
  assert.match(message, /no image for linux\/s390x/);
  assert.match(message, /linux\/amd64, linux\/arm64\/v8/);
  assert.doesNotMatch(message, /unknown/);
  assert.equal(await page.$('#save'), null);
  await page.context().close();
});
