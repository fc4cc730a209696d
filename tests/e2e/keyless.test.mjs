// Keyless signatures (issue #22, item 2), verified offline in the browser: the rig runs its own
// Sigstore instance (tests/rig/sigstore_rig.py: a CA, a CT log and a Rekor log, with their
// trusted_root.json) and signs skiff/keyless twice, as cosign v3 does (a Sigstore bundle
// referrer) and as cosign v2 did (certificate and Rekor bundle in annotations). With the rig's
// trusted root both verify and name the identity; with Sigstore's public-good root (the
// default) both fail as coming from another instance; another identity fails; a pull requiring
// the identity saves the image and refuses the others before any layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rig, root, useSuite } from './harness.mjs';
import { openImage, openSignatures, pullRequiring as pullRequiringSigner } from './trusting.mjs';

const suite = useSuite();

const open = (image) => openImage(suite, image);

/** The explorer's verdicts on `image` for `signer` ({identity, issuer, root}). */
async function verdicts(image, signer, screenshot) {
  const page = await openSignatures(suite, image);
  if (signer.identity) await page.fill('#verify-identity', signer.identity);
  if (signer.issuer) await page.fill('#verify-issuer', signer.issuer);
  if (signer.root) {
    await page.setInputFiles('#verify-root', signer.root);
    await page.waitForSelector('#verify-root-public-good');
  }
  await page.click('#verify-signatures');
  await page.waitForSelector('#verdicts, #verdict-unsigned, #verify-error', { timeout: 60_000 });
  const result = await page.$$eval('.verdict', (rows) => rows.map((r) => ({
    verdict: r.dataset.verdict, identity: r.dataset.identity, issuer: r.dataset.issuer, text: r.textContent,
  })));
  const errors = page.consoleErrors;
  if (screenshot) await page.locator('#verify-panel').screenshot({ path: join(root, screenshot) });
  await page.context().close();
  return { verdicts: result, errors };
}

const rigSigner = { identity: rig.keylessIdentity, issuer: rig.keylessIssuer, root: rig.sigstoreTrustedRoot };

test('with the rig\'s trusted root, both keyless signatures verify and name who signed', async () => {
  const { verdicts: found } = await verdicts(rig.fixtures.keyless, rigSigner, 'docs/screenshot-keyless.png');
  assert.equal(found.length, 2, JSON.stringify(found));
  for (const v of found) {
    assert.equal(v.verdict, 'verified', v.text);
    assert.equal(v.identity, rig.keylessIdentity);
    assert.equal(v.issuer, rig.keylessIssuer);
    assert.match(v.text, /keyless, signed by .* at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, as the transparency log attests/);
  }
});

test('with Sigstore\'s public-good root they fail as another instance\'s; another identity fails', async () => {
  const publicGood = await verdicts(rig.fixtures.keyless, { identity: rig.keylessIdentity, issuer: rig.keylessIssuer });
  assert.equal(publicGood.verdicts.length, 2);
  for (const v of publicGood.verdicts) {
    assert.equal(v.verdict, 'failed', v.text);
    assert.match(v.text, /another Sigstore instance/);
  }
  const impostor = await verdicts(rig.fixtures.keyless, { ...rigSigner, identity: 'https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main' });
  for (const v of impostor.verdicts) {
    assert.equal(v.verdict, 'failed', v.text);
    assert.match(v.text, new RegExp(`made by ${rig.keylessIdentity.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, not by the required https://github.com/someone/else`));
  }
  // A trusted root that is no such thing is refused before anything is checked.
  const notARoot = join(rig.sbomFiles, 'comparisons.json');
  const page = await openSignatures(suite, rig.fixtures.keyless);
  await page.setInputFiles('#verify-root', notARoot);
  await page.waitForSelector('#verify-root-public-good');
  await page.click('#verify-signatures');
  await page.waitForSelector('#verify-error');
  assert.match(await page.innerText('#verify-error'), /the trusted root cannot be read \(missing field `mediaType`.*give Sigstore's trusted_root\.json/);
  await page.context().close();
  const wrongIssuer = await verdicts(rig.fixtures.keyless, { ...rigSigner, issuer: 'https://accounts.google.com' });
  for (const v of wrongIssuer.verdicts) {
    assert.equal(v.verdict, 'failed', v.text);
    assert.match(v.text, /not by the required issuer https:\/\/accounts.google.com/);
  }
});

/** Pulls `image` requiring `signer` ({identity, issuer, root}). */
const pullRequiring = (image, signer) => pullRequiringSigner(suite, image, async (page) => {
  await page.fill('#require-identity', signer.identity);
  await page.fill('#require-issuer', signer.issuer);
  if (signer.root) {
    await page.setInputFiles('#require-root', signer.root);
    await page.waitForSelector('#require-root-public-good');
  }
});

test('"save only if signed by" an identity: the keyless image is saved; the others are refused, no tar', async () => {
  const saved = await pullRequiring(rig.fixtures.keyless, rigSigner);
  assert.ok(saved.offered, saved.error);
  for (const [image, signer, why] of [
    [rig.fixtures.v2s2, rigSigner, /it has no signature/],
    [rig.fixtures.signed, rigSigner, /it was signed with a key: paste the public key/],
    [rig.fixtures.keyless, { ...rigSigner, root: undefined }, /another Sigstore instance/],
    [rig.fixtures.keyless, { ...rigSigner, identity: 'https://github.com/someone/else' }, /not by the required/],
  ]) {
    const refused = await pullRequiring(image, signer);
    assert.equal(refused.offered, false, image);
    assert.match(refused.error, new RegExp(`is not signed by ${signer.identity.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(issuer`));
    assert.match(refused.error, why);
    assert.match(refused.error, /Nothing was downloaded or saved/);
    assert.equal(refused.layers, 0, 'no layer was fetched');
  }
});

test('an SBOM attestation in a Sigstore bundle is listed as an SBOM and opens as its table', async () => {
  const page = await open(rig.fixtures.keyless);
  await page.click('#inspect');
  await page.waitForSelector('#resolved-reference');
  await page.click('.tab[data-view=referrers]');
  await page.click('#find-referrers');
  await page.waitForSelector('.referrer[data-kind="SBOM"]');
  const kinds = await page.$$eval('.referrer', (rows) => rows.map((r) => r.dataset.kind).sort());
  assert.deepEqual(kinds, ['SBOM', 'signature', 'signature']);
  await page.click('.referrer[data-kind="SBOM"] .digest-link');
  await page.waitForSelector('#opened-object .digest-link');
  const digest = await page.getAttribute('#opened-object', 'data-digest');
  const manifest = await (await fetch(`http://${rig.registry}/v2/skiff/keyless/manifests/${digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json();
  assert.equal(manifest.annotations['dev.sigstore.bundle.predicateType'], 'https://cyclonedx.org/bom');
  await page.click(`#opened-object .digest-link[data-digest="${manifest.layers[0].digest}"]`);
  await page.waitForSelector('#sbom-packages');
  const cdx = JSON.parse(readFileSync(join(rig.sbomFiles, 'latest.cdx.json'), 'utf8'));
  const flatten = (components = []) => components.flatMap((c) => [c, ...flatten(c.components)]);
  const rows = await page.$$eval('#sbom-packages tr.package', (rs) => rs.map((r) => `${r.dataset.name} ${r.dataset.version}`));
  assert.deepEqual(rows.sort(), flatten(cdx.components).map((c) => `${c.name} ${c.version}`).sort());
  await page.context().close();
});

test('requiring an identity without its issuer is refused, saying why', async () => {
  const page = await open(rig.fixtures.keyless);
  await page.click('#require-signature summary');
  await page.fill('#require-identity', rig.keylessIdentity);
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  assert.equal(await page.$('#save'), null);
  assert.match(await page.innerText('#error'), /name its OIDC issuer too/);
  await page.context().close();
});
