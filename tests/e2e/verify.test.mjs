// Signatures verified in the browser (issue #22, item 1): the rig signs images as `cosign sign
// --key` does (openssl over the simple-signing payload, ECDSA P-256); the explorer checks them
// with a pasted public key: the right key verifies, another key fails, a payload altered after
// signing fails naming why, an image without signature is unsigned, a bad key is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rig, newPage, useSuite } from './harness.mjs';
import { openSignatures, pullRequiring as pullRequiringSigner } from './trusting.mjs';

const suite = useSuite();
const rigKey = readFileSync(rig.cosignPublicKey, 'utf8');
const otherKey = readFileSync(rig.otherPublicKey, 'utf8');
const fingerprint = (pem) => `sha256:${createHash('sha256').update(createPublicKey(pem).export({ type: 'spki', format: 'der' })).digest('hex')}`;

/** Opens `image` in the explorer's signatures view, checks it with `key`; what it says. */
async function verdicts(image, key) {
  const page = await openSignatures(suite, image);
  await page.fill('#verify-key', key);
  await page.click('#verify-signatures');
  await page.waitForSelector('#verdicts, #verdict-unsigned, #verify-error', { timeout: 60_000 });
  const result = {
    verdicts: await page.$$eval('.verdict', (rows) => rows.map((r) => [r.dataset.verdict, r.textContent])),
    unsigned: await page.$('#verdict-unsigned') !== null,
    error: await page.$eval('#verify-error', (e) => e.textContent).catch(() => null),
    key: await page.$eval('#key-fingerprint', (e) => e.textContent).catch(() => null),
    consoleErrors: page.consoleErrors,
  };
  await page.context().close();
  return result;
}

test('the right key verifies; the fingerprint is the key\'s', async () => {
  const result = await verdicts(rig.fixtures.signed, rigKey);
  assert.equal(result.verdicts.length, 1, JSON.stringify(result));
  assert.equal(result.verdicts[0][0], 'verified', result.verdicts[0][1]);
  assert.equal(result.key, fingerprint(rigKey));
  // The lookup's 404s (no referrers API, no tag schema) are the browser's own log lines.
  assert.deepEqual(result.consoleErrors.filter((e) => !/Failed to load resource: .* 404/.test(e)), []);
});

test('another key fails; a signature by another key fails with the right one', async () => {
  for (const [image, key] of [[rig.fixtures.signed, otherKey], [rig.fixtures.signedOtherKey, rigKey]]) {
    const result = await verdicts(image, key);
    assert.equal(result.verdicts.length, 1, JSON.stringify(result));
    assert.equal(result.verdicts[0][0], 'failed');
    assert.match(result.verdicts[0][1], /does not verify with this key/);
  }
});

test('a payload altered after signing fails, naming why; no signature is unsigned; a bad key is refused', async () => {
  const tampered = await verdicts(rig.fixtures.signedTampered, rigKey);
  assert.equal(tampered.verdicts[0][0], 'failed');
  assert.match(tampered.verdicts[0][1], /is for sha256:0{64}, not for this image/);
  const unsigned = await verdicts(rig.fixtures.v2s2, rigKey);
  assert.ok(unsigned.unsigned, JSON.stringify(unsigned));
  const bad = await verdicts(rig.fixtures.signed, 'not a key');
  assert.match(bad.error, /not a PEM public key/);
  const secret = await verdicts(rig.fixtures.signed, '-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----');
  assert.match(secret.error, /private key: paste the public one/);
});

/** Pulls `image` requiring `key`; the error shown, or null when the archive is offered. */
const pullRequiring = (image, key) => pullRequiringSigner(suite, image, (page) => page.fill('#require-key', key));

test('"save only if signed by this key": the signed image is saved; the unsigned and the failed are refused, no tar', async () => {
  const signed = await pullRequiring(rig.fixtures.signed, rigKey);
  assert.ok(signed.offered, signed.error);
  for (const [image, key, why] of [
    [rig.fixtures.v2s2, rigKey, /it has no signature/],
    [rig.fixtures.signed, otherKey, /does not verify with this key/],
    [rig.fixtures.signedTampered, rigKey, /not for this image/],
  ]) {
    const refused = await pullRequiring(image, key);
    assert.equal(refused.offered, false, image);
    assert.match(refused.error, /is not signed by the key you require \(sha256:[0-9a-f]{64}\)/);
    assert.match(refused.error, why);
    assert.match(refused.error, /Nothing was downloaded or saved/);
    assert.equal(refused.layers, 0, 'no layer was fetched');
  }
});

test('an SBOM opens as a searchable table of exactly the packages it lists', async () => {
  const page = await newPage(suite.browser);
  await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(rig.fixtures.signed)}`);
  await page.fill('#proxy', suite.proxy.url);
  await page.click('#inspect');
  await page.waitForSelector('#resolved-reference');
  await page.click('.tab[data-view=referrers]');
  await page.click('#find-referrers');
  await page.click('.referrer[data-kind="SBOM"] .digest-link');
  await page.waitForSelector('#opened-object .digest-link');
  // The SBOM manifest's layer: the SPDX document.
  const manifest = JSON.parse(await page.innerText('#opened-object pre').catch(async () => {
    const digest = await page.getAttribute('#opened-object', 'data-digest');
    return (await fetch(`http://${rig.registry}/v2/skiff/signed/manifests/${digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).text();
  }));
  const layer = manifest.layers[0].digest;
  await page.click(`#opened-object .digest-link[data-digest="${layer}"]`);
  await page.waitForSelector('#sbom-packages');
  const spdx = await (await fetch(`http://${rig.registry}/v2/skiff/signed/blobs/${layer}`)).json();
  assert.equal(await page.innerText('#sbom-packages h4'), `${spdx.packages.length} packages (SPDX ${spdx.spdxVersion})`);
  const rows = await page.$$eval('#sbom-packages .package', (r) => r.map((x) => [...x.children].map((c) => c.textContent)));
  assert.deepEqual(rows, spdx.packages.map((p) => [p.name, p.versionInfo ?? '', '', '']));
  await page.fill('#packages-filter', 'no such package');
  assert.equal(await page.$$eval('#sbom-packages .package', (r) => r.length), 0);
  await page.context().close();
});

test('a multi-platform image signed on its index (as `cosign sign` signs a tag) verifies and is saved', async () => {
  const found = await verdicts(rig.fixtures.signedIndex, rigKey);
  assert.deepEqual(found.verdicts.map(([v]) => v), ['verified'], JSON.stringify(found));
  const pulled = await pullRequiring(rig.fixtures.signedIndex, rigKey);
  assert.ok(pulled.offered, pulled.error);
});

test('without a key, a key\'s signature is said not checked (not failed)', async () => {
  const found = await verdicts(rig.fixtures.signed, '');
  assert.deepEqual(found.verdicts.map(([v]) => v), ['unchecked'], JSON.stringify(found));
  assert.match(found.verdicts[0][1], /not checked .* it was signed with a key: paste the public key/);
  assert.equal(found.key, null, 'no key, no fingerprint');
});
