// Signatures and SBOMs travel (issue #21, item 3, the pull): with "include signatures and
// SBOMs", the image's referrers (found as the explorer finds them: here a cosign signature under
// its tag and an SPDX SBOM listed under the OCI tag schema) go into the archive's OCI layout,
// byte for byte as the registry holds them; docker still loads the image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { push, logInApp } from './pushing.mjs';
import {
  rig, newPage, saveArchive, expectPulled, tarListing, dockerLoadAndRun, FIXTURE_OUTPUT, useSuite,
} from './harness.mjs';

const tokenHost = new URL(rig.tokenService).host;
const suite = useSuite(['--allow-push', '--allow-host', rig.tokenRegistry, '--allow-host', tokenHost]);
// A repository of its own per run: a registry keeps what an earlier run pushed.
const run = Date.now().toString(36);
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function registryBytes(path, accept) {
  const response = await fetch(`http://${rig.registry}/v2/skiff/signed/${path}`, { headers: accept ? { accept } : {} });
  assert.equal(response.status, 200, path);
  return Buffer.from(await response.arrayBuffer());
}

/** The referrers the explorer's lookup finds for `target` (logged in already): their digests. */
async function referrersOf(page, target) {
  await page.click('#nav-pull');
  await page.fill('#image', target);
  await page.click('#inspect');
  await page.waitForSelector('#resolved-reference');
  await page.click('.tab[data-view=referrers]');
  await page.click('#find-referrers');
  await page.waitForSelector('#referrers');
  return page.$$eval('#referrers .digest-link', (links) => links.map((l) => l.dataset.digest));
}

async function pullSigned(include) {
  const page = await newPage(suite.browser);
  await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(rig.fixtures.signed)}`);
  await page.fill('#proxy', suite.proxy.url);
  if (include) await page.check('#include-referrers');
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  return page;
}

test('an image pulled with its signature and SBOM carries them in its OCI layout, byte for byte', async () => {
  const page = await pullSigned(true);
  const hex = rig.signedDigest.slice(7);
  const carried = await page.innerText('#referrers-carried');
  assert.match(carried, new RegExp(`signature \\(cosign's tag sha256-${hex}\\.sig\\)`));
  assert.match(carried, new RegExp(`SBOM \\(the OCI referrers tag schema \\(tag sha256-${hex}\\)\\)`));
  const path = await saveArchive(page, 'signed_latest.tar');
  const entries = tarListing(path);
  const index = JSON.parse(entries.get('index.json').content);
  assert.equal(index.manifests.length, 3);
  assert.equal(index.manifests[0].digest, rig.signedDigest);

  // The signature: its manifest under its cosign tag, and its payload.
  const signature = await registryBytes(`manifests/sha256-${hex}.sig`, OCI_MANIFEST);
  const listed = index.manifests.find((m) => m.digest === sha256(signature));
  assert.ok(listed, 'the signature manifest is listed in index.json');
  assert.equal(listed.annotations['org.opencontainers.image.ref.name'], `sha256-${hex}.sig`);
  assert.ok(entries.get(`blobs/sha256/${sha256(signature).slice(7)}`).content.equals(signature));
  for (const blob of [JSON.parse(signature).config, ...JSON.parse(signature).layers]) {
    const bytes = await registryBytes(`blobs/${blob.digest}`);
    assert.ok(entries.get(`blobs/sha256/${blob.digest.slice(7)}`).content.equals(bytes), blob.digest);
  }
  // The SBOM: the manifest the tag schema's index lists, with its subject, and its document.
  const schema = JSON.parse(await registryBytes(`manifests/sha256-${hex}`, 'application/vnd.oci.image.index.v1+json'));
  const sbomDigest = schema.manifests[0].digest;
  const sbom = JSON.parse(entries.get(`blobs/sha256/${sbomDigest.slice(7)}`).content);
  assert.equal(sbom.subject.digest, rig.signedDigest);
  const document = entries.get(`blobs/sha256/${sbom.layers[0].digest.slice(7)}`).content;
  assert.equal(JSON.parse(document).spdxVersion, 'SPDX-2.3');
  assert.ok(index.manifests.some((m) => m.digest === sbomDigest));

  dockerLoadAndRun(path, rig.fixtures.signed, FIXTURE_OUTPUT);

  // Pushed into another registry: the signature under its cosign tag, the SBOM by its digest
  // and listed in the tag schema's index (the rig's registry has no referrers API)...
  const target = `${rig.tokenRegistry}/skiff/travelled-${run}:1`;
  const result = await push(page, path, target);
  assert.ok(!result.error, result.error);
  const written = await page.innerText('#push-referrers');
  assert.match(written, /^2 signatures and SBOMs beside it: /);
  assert.match(written, new RegExp(`${sha256(signature)} under cosign's tag sha256-${hex}\\.sig`));
  assert.match(written, new RegExp(`${sbomDigest} listed in the OCI tag schema's index sha256-${hex}`));
  // ...where the explorer's lookup finds both, with their digests unchanged.
  const found = await referrersOf(page, target);
  assert.deepEqual(found.sort(), [sha256(signature), sbomDigest].sort());
  await page.context().close();
});

test('copied between registries with the same choice, the signature and SBOM are found on the target', async () => {
  const page = await newPage(suite.browser);
  await page.goto(suite.app.url);
  await page.fill('#proxy', suite.proxy.url);
  await logInApp(page, rig.tokenRegistry);
  await page.click('#nav-push');
  const target = `${rig.tokenRegistry}/skiff/copied-signed-${run}:1`;
  await page.fill('#copy-from', rig.fixtures.signed);
  await page.fill('#copy-to', target);
  await page.check('#copy-referrers');
  await page.click('#copy-start');
  await page.waitForSelector('#push-done, #push-error', { timeout: 120_000 });
  assert.equal(await page.$('#push-error'), null, await page.innerText('#push-error').catch(() => ''));
  const hex = rig.signedDigest.slice(7);
  const signature = await registryBytes(`manifests/sha256-${hex}.sig`, OCI_MANIFEST);
  const schema = JSON.parse(await registryBytes(`manifests/sha256-${hex}`, 'application/vnd.oci.image.index.v1+json'));
  const written = await page.innerText('#push-referrers');
  assert.match(written, new RegExp(`${sha256(signature)} under cosign's tag sha256-${hex}\\.sig`));
  assert.match(written, new RegExp(`${schema.manifests[0].digest} listed in the OCI tag schema's index sha256-${hex}`));

  const found = await referrersOf(page, target);
  assert.deepEqual(found.sort(), [sha256(signature), schema.manifests[0].digest].sort());
  await page.context().close();
});

test('without the choice the archive holds the image alone', async () => {
  const page = await pullSigned(false);
  assert.equal(await page.$('#referrers-carried'), null);
  const path = await saveArchive(page, 'signed_latest.tar');
  assert.equal(JSON.parse(tarListing(path).get('index.json').content).manifests.length, 1);
  await page.context().close();
});
