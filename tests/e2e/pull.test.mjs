// The walking skeleton, end to end: the app in headless Chromium pulls fixtures from the real
// registry through the real proxy, saves the tar, and real docker and podman load and run it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  rig, root, outDir, newPage, pullInApp, docker, podman, registryManifest, saveArchive,
  expectPulled, useSuite, dockerLoadAndRun,
} from './harness.mjs';

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const EXPECTED_OUTPUT = 'hello from the skiff fixture\nfixture layers: 3\n';

const suite = useSuite([]);

async function pullSaveLoadRun(fixture, accept, { screenshot } = {}) {
  const reference = rig.fixtures[fixture];
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, reference);
  await expectPulled(page);

  // Every layer row says verified.
  const states = await page.$$eval('tr.layer .state', (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(states, ['verified ✓', 'verified ✓', 'verified ✓']);
  if (screenshot) await page.screenshot({ path: join(root, 'docs/screenshot.png'), fullPage: true });

  const tarPath = await saveArchive(page, `busybox_${fixture}.tar`);
  await page.context().close();

  const entries = execFileSync('tar', ['-tf', tarPath], { encoding: 'utf8' }).split('\n');
  for (const name of ['manifest.json', 'index.json', 'oci-layout', 'repositories']) {
    assert.ok(entries.includes(name), `${name} missing from the tar: ${entries}`);
  }

  const manifest = await registryManifest(reference, accept);
  const loaded = docker(['load', '-i', tarPath]);
  assert.match(loaded, new RegExp(`Loaded image: ${reference.replace(/[.]/g, '\\.')}\\n`));
  const id = docker(['image', 'inspect', '--format', '{{.Id}}', reference]).trim();
  assert.equal(id, manifest.config.digest, 'docker image ID must equal the config digest');
  const output = docker(['run', '--rm', '--network', 'none', reference]);
  assert.equal(output, EXPECTED_OUTPUT);
  docker(['rmi', reference]);

  const podmanLoaded = podman(['load', '-i', tarPath]);
  assert.match(podmanLoaded, new RegExp(`Loaded image: ${reference.replace(/[.]/g, '\\.')}`));
}

test('pulls a Docker v2s2 image; docker loads and runs it, podman loads it', async () => {
  await pullSaveLoadRun('v2s2', DOCKER_MANIFEST, { screenshot: true });
});

test('pulls an OCI image; docker loads and runs it, podman loads it', async () => {
  await pullSaveLoadRun('oci', OCI_MANIFEST);
});

test('a corrupt layer on the registry is named in a digest-mismatch error and no tar is offered', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.corrupt);
  const message = await page.innerText('#error');
  assert.match(message, /digest mismatch/i);
  assert.ok(message.includes(rig.corruptLayer), `the error must name ${rig.corruptLayer}: ${message}`);
  assert.equal(await page.$('#save'), null, 'no tar may be offered');
  const failed = await page.$$eval('tr.layer.failed', (rows) => rows.length);
  assert.equal(failed, 1);
  await page.screenshot({ path: join(outDir, 'corrupt.png'), fullPage: true });
  await page.context().close();
});

test('an invalid reference gets a clear error before any request', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, 'Docker.io/Library/NGINX');
  const message = await page.innerText('#error');
  assert.match(message, /not an image reference/i);
  assert.match(message, /lowercase/);
  assert.equal(await page.$('.exchanges'), null, 'no request may be made');
  await page.context().close();
});

test('an unknown tag is reported as not found, with the registry error code', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, `${rig.registry}/skiff/busybox:no-such-tag`);
  const message = await page.innerText('#error');
  assert.match(message, /404/);
  assert.match(message, /MANIFEST_UNKNOWN/);
  await page.context().close();
});

test('a host the proxy does not allow is refused with the flag to allow it', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, 'registry.invalid/team/app:1');
  const message = await page.innerText('#error');
  assert.match(message, /--allow-host registry\.invalid/);
  await page.context().close();
});

test('name:tag@digest pulls the digest, as docker pull does, and says what tag the archive gets', async () => {
  const [, repo, tag] = rig.fixtures.v2s2.match(/^[^/]+\/(.+):([^:]+)$/);
  const served = await fetch(`http://${rig.registry}/v2/${repo}/manifests/${tag}`, { headers: { accept: DOCKER_MANIFEST } });
  const digest = served.headers.get('docker-content-digest');
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, `${rig.fixtures.v2s2}@${digest}`);
  await expectPulled(page);
  const urls = await page.$$eval('.exchanges .url', (cells) => cells.map((c) => c.textContent));
  assert.ok(urls.some((u) => u.endsWith(`/manifests/${digest}`)), `the manifest is fetched by digest: ${urls}`);
  assert.ok(!urls.some((u) => u.endsWith(`/manifests/${tag}`)), 'the tag is not looked up');
  const note = await page.innerText('.pin-note');
  assert.match(note, new RegExp(`Pulled by its digest ${digest.slice(0, 19)}`));
  assert.match(note, new RegExp(`docker load tags the image ${rig.fixtures.v2s2.replace(/[.]/g, '\\.')}\\.`));
  const tar = await saveArchive(page, 'busybox_v2s2.tar');
  dockerLoadAndRun(tar, rig.fixtures.v2s2, EXPECTED_OUTPUT);
  await page.context().close();
});
