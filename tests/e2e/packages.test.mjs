// Packages (issue #22, items 3–5): an image's own package databases read from its merged root
// file system (the rig's Debian-style image carries this machine's real dpkg status, replaced
// by a later layer, plus a distroless status.d file; its Alpine-style image a real apk
// database; its rpm image an rpm database, not read and said so), each list equal to what
// dpkg-query (and the rig's own listing) say; the list exported as SPDX 2.3 and CycloneDX 1.5,
// valid JSON of their schema's required shape, read back to the same packages; two images'
// packages compared; SBOMs compared with another (SPDX with CycloneDX, and two images' SPDX).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { rig, root, outDir, newPage, pullInApp, expectPulled, useSuite } from './harness.mjs';
import { openSignatures } from './trusting.mjs';

const suite = useSuite();

/** The exports' validators: SPDX 2.3's and CycloneDX 1.5's published JSON schemas. */
const schema = (name) => JSON.parse(readFileSync(join(root, 'tests/e2e/schemas', name), 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
for (const name of ['spdx.schema.json', 'jsf-0.82.schema.json']) ajv.addSchema(schema(name));
const validSpdx = ajv.compile(schema('spdx-2.3.schema.json'));
const validCycloneDx = ajv.compile(schema('bom-1.5.schema.json'));
const expected = (name) => readFileSync(join(rig.packageFiles, name), 'utf8').trim().split('\n')
  .map((line) => line.split('\t')).map(([n, version]) => `${n} ${version}`).sort();

/** Pulls `image`, lists its packages; the page (open) and what it shows. */
async function listed(image) {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, image);
  await expectPulled(page);
  await page.click('#list-packages');
  await page.waitForSelector('#package-databases, #packages-error', { timeout: 60_000 });
  const shown = {
    os: await page.innerText('#packages-os'),
    databases: await page.$$eval('#package-databases .database', (rows) => rows.map((r) => [r.dataset.path, r.dataset.read, r.textContent])),
    packages: (await page.$$eval('#image-packages tr.package', (rows) => rows.map((r) => `${r.dataset.name} ${r.dataset.version}`))).sort(),
  };
  return { page, shown };
}

async function download(page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const path = join(outDir, `packages-${file.suggestedFilename()}`);
  await file.saveAs(path);
  return JSON.parse(readFileSync(path, 'utf8'));
}

test('a Debian image: the merged dpkg database (and status.d) as dpkg-query reads it; SPDX and CycloneDX exports', async () => {
  const { page, shown } = await listed(rig.fixtures.debianPkgs);
  assert.match(shown.os, /Debian GNU\/Linux 12 \(bookworm\)/);
  const wanted = expected('debian-expected.tsv');
  assert.equal(shown.packages.length, wanted.length);
  assert.deepEqual(shown.packages, wanted);
  assert.deepEqual(shown.databases.map(([path, read]) => [path, read]), [
    ['var/lib/dpkg/status', 'yes'], ['var/lib/dpkg/status.d/tzdata', 'yes'],
  ]);
  // The deinstalled package (config files only) and those the later layer removed are not listed.
  const changes = JSON.parse(readFileSync(join(rig.packageFiles, 'debian-changes.json'), 'utf8'));
  const gones = [...changes.removed.filter((n) => n !== changes.statusD.package), changes.configFilesOnly];
  assert.ok(gones.length >= 2);
  for (const gone of gones) {
    assert.ok(!shown.packages.some((p) => p.startsWith(`${gone} `)), `${gone} is not installed`);
  }

  await page.fill('#image-packages #packages-filter', 'openssl');
  await page.locator('#image-packages').screenshot({ path: join(root, 'docs/screenshot-packages.png') });
  await page.fill('#image-packages #packages-filter', '');
  const spdx = await download(page, '#export-spdx');
  assert.ok(validSpdx(spdx), JSON.stringify(validSpdx.errors?.slice(0, 5)));
  assert.equal(spdx.spdxVersion, 'SPDX-2.3');
  assert.equal(spdx.dataLicense, 'CC0-1.0');
  assert.equal(spdx.SPDXID, 'SPDXRef-DOCUMENT');
  assert.match(spdx.documentNamespace, /^https:\/\//);
  assert.match(spdx.creationInfo.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(spdx.creationInfo.creators.some((c) => /^Tool: skiff-/.test(c)));
  assert.equal(new Set(spdx.packages.map((p) => p.SPDXID)).size, spdx.packages.length, 'SPDXIDs are unique');
  for (const p of spdx.packages) {
    assert.match(p.SPDXID, /^SPDXRef-[A-Za-z0-9.-]+$/);
    assert.equal(p.downloadLocation, 'NOASSERTION');
  }
  assert.deepEqual(spdx.packages.map((p) => `${p.name} ${p.versionInfo}`).sort(), wanted);
  for (const p of spdx.packages) {
    const purl = decodeURIComponent(p.externalRefs?.[0]?.referenceLocator ?? '');
    assert.ok(purl.startsWith(`pkg:deb/debian/${p.name.toLowerCase()}@${p.versionInfo}`), `${p.name}: ${purl}`);
  }

  const cdx = await download(page, '#export-cyclonedx');
  assert.ok(validCycloneDx(cdx), JSON.stringify(validCycloneDx.errors?.slice(0, 5)));
  // The validators can fail: a document without its required fields is refused.
  assert.equal(validSpdx({ ...spdx, spdxVersion: undefined, SPDXID: 7 }), false);
  assert.equal(validCycloneDx({ ...cdx, bomFormat: 'SPDX' }), false);
  assert.equal(cdx.bomFormat, 'CycloneDX');
  assert.equal(cdx.specVersion, '1.5');
  assert.match(cdx.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(cdx.components.map((c) => c['bom-ref'])).size, cdx.components.length, 'bom-refs are unique');
  assert.deepEqual(cdx.components.map((c) => `${c.name} ${c.version}`).sort(), wanted);
  await page.context().close();
});

test('an Alpine image: the apk database, licenses and purls; an rpm image: its database found, not read', async () => {
  const { page, shown } = await listed(rig.fixtures.alpinePkgs);
  assert.match(shown.os, /Alpine|alpine/);
  assert.deepEqual(shown.packages, expected('alpine-expected.tsv'));
  const musl = await page.$eval('#image-packages tr.package[data-name="musl"]', (r) => [...r.cells].map((c) => c.textContent));
  assert.equal(musl[2], 'MIT');
  assert.match(musl[3], /^pkg:apk\/alpine\/musl@[^?]+\?arch=x86_64$/);
  // apk's free-form licenses still make valid documents.
  const spdx = await download(page, '#export-spdx');
  assert.ok(validSpdx(spdx), JSON.stringify(validSpdx.errors?.slice(0, 5)));
  const cdx = await download(page, '#export-cyclonedx');
  assert.ok(validCycloneDx(cdx), JSON.stringify(validCycloneDx.errors?.slice(0, 5)));
  assert.deepEqual(cdx.components.map((c) => `${c.name} ${c.version}`).sort(), expected('alpine-expected.tsv'));
  await page.context().close();

  const rpm = await listed(rig.fixtures.rpmPkgs);
  assert.deepEqual(rpm.shown.databases.map(([path, read]) => [path, read]), [['var/lib/rpm/rpmdb.sqlite', 'no']]);
  assert.match(rpm.shown.databases[0][2], /^var\/lib\/rpm\/rpmdb\.sqlite is not read: it is rpm's database, in SQLite, which Skiff does not read/);
  assert.deepEqual(rpm.shown.packages, []);
  await rpm.page.context().close();
});

test('two pulled images: their installed packages compared', async () => {
  const page = await newPage(suite.browser);
  await page.goto(`${suite.app.url}/`);
  await page.waitForSelector('#image');
  await page.fill('#proxy', suite.proxy.url);
  await page.fill('#image', rig.fixtures.debianPkgs);
  await page.click('#enqueue');
  await page.fill('#image', rig.fixtures.alpinePkgs);
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  await page.click('#compare-run');
  await page.waitForSelector('#package-changes', { timeout: 120_000 });
  const rows = await page.$$eval('.package-change', (rs) => rs.map((r) => [r.dataset.change, r.dataset.name]));
  const names = (tsv) => expected(tsv).map((line) => line.split(' ')[0]);
  const [debian, alpine] = [names('debian-expected.tsv'), names('alpine-expected.tsv')];
  const want = [
    ...alpine.filter((n) => !debian.includes(n)).map((n) => ['added', n]),
    ...debian.filter((n) => !alpine.includes(n)).map((n) => ['removed', n]),
  ].sort();
  assert.deepEqual(rows.filter(([c]) => c !== 'changed').sort(), want);
  assert.match(await page.innerText('#package-changes .package-changes-summary'), new RegExp(`${alpine.filter((n) => !debian.includes(n)).length} added, ${debian.filter((n) => !alpine.includes(n)).length} removed`));
  await page.context().close();
});

/** Opens `image`'s SBOM of `kind` (SPDX or CycloneDX) in the explorer. */
async function openSbom(image, mediaType) {
  const page = await openSignatures(suite, image);
  await page.click('#find-referrers');
  await page.waitForSelector('.referrer[data-kind="SBOM"]');
  const referrers = await page.$$('.referrer[data-kind="SBOM"]');
  for (const referrer of referrers) {
    if ((await referrer.innerText()).includes(mediaType)) {
      await (await referrer.$('.digest-link')).click();
      break;
    }
  }
  await page.waitForSelector('#opened-object .digest-link');
  const digest = await page.getAttribute('#opened-object', 'data-digest');
  const repository = new URL(`http://${image}`).pathname.slice(1).replace(/:[^/]*$/, '');
  const manifest = await (await fetch(`http://${rig.registry}/v2/${repository}/manifests/${digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json();
  await page.click(`#opened-object .digest-link[data-digest="${manifest.layers[0].digest}"]`);
  await page.waitForSelector('#sbom-packages');
  return page;
}

test('the SPDX and CycloneDX SBOMs\' tables list exactly their packages (nested components too)', async () => {
  const spdx = JSON.parse(readFileSync(join(rig.sbomFiles, 'latest.spdx.json'), 'utf8'));
  const cdx = JSON.parse(readFileSync(join(rig.sbomFiles, 'latest.cdx.json'), 'utf8'));
  const flatten = (components = []) => components.flatMap((c) => [c, ...flatten(c.components)]);
  for (const [mediaType, want] of [
    ['spdx', spdx.packages.map((p) => `${p.name} ${p.versionInfo}`)],
    ['cyclonedx', flatten(cdx.components).map((c) => `${c.name} ${c.version}`)],
  ]) {
    const page = await openSbom(rig.fixtures.sboms, mediaType);
    const rows = await page.$$eval('#sbom-packages tr.package', (rs) => rs.map((r) => `${r.dataset.name} ${r.dataset.version}`));
    assert.deepEqual(rows.sort(), want.sort(), mediaType);
    await page.context().close();
  }
});

test('SBOMs compared: this image\'s SPDX with its CycloneDX, and with the next image\'s SPDX', async () => {
  const comparisons = JSON.parse(readFileSync(join(rig.sbomFiles, 'comparisons.json'), 'utf8'));
  for (const [file, want] of [
    ['latest.cdx.json', comparisons.latestSpdxToLatestCyclonedx],
    ['next.spdx.json', comparisons.latestSpdxToNextSpdx],
  ]) {
    const page = await openSbom(rig.fixtures.sboms, 'spdx');
    await page.setInputFiles('#compare-sbom', join(rig.sbomFiles, file));
    await page.waitForSelector('#package-changes');
    const rows = await page.$$eval('.package-change', (rs) => rs.map((r) => [r.dataset.change, r.dataset.name]));
    const by = (change) => rows.filter(([c]) => c === change).map(([, n]) => n).sort();
    assert.deepEqual(by('added'), [...want.added].sort(), file);
    assert.deepEqual(by('removed'), [...want.removed].sort(), file);
    assert.deepEqual(by('changed'), [...want.changed].sort(), file);
    await page.context().close();
  }
  // Something that is no SBOM is refused with the reason.
  const page = await openSbom(rig.fixtures.sboms, 'spdx');
  await page.setInputFiles('#compare-sbom', join(rig.packageFiles, 'debian-changes.json'));
  await page.waitForSelector('#package-changes.error');
  assert.match(await page.innerText('#package-changes'), /debian-changes\.json: the SBOM cannot be read/);
  await page.context().close();
});

test('an SBOM compared with another image\'s SBOM, found in the registry by its reference', async () => {
  const want = JSON.parse(readFileSync(join(rig.sbomFiles, 'comparisons.json'), 'utf8')).latestSpdxToNextSpdx;
  const page = await openSbom(rig.fixtures.sboms, 'spdx');
  await page.fill('#compare-sbom-image', rig.fixtures.sbomsNext);
  await page.click('#compare-sbom-image-run');
  await page.waitForSelector('#image-sbom-changes', { timeout: 60_000 });
  const rows = await page.$$eval('#image-sbom-changes .package-change', (rs) => rs.map((r) => [r.dataset.change, r.dataset.name]));
  const by = (change) => rows.filter(([c]) => c === change).map(([, n]) => n).sort();
  assert.deepEqual([by('added'), by('removed'), by('changed')], [[...want.added].sort(), [...want.removed].sort(), [...want.changed].sort()]);
  assert.match(await page.innerText('#image-sbom-changes .package-changes-summary'), new RegExp(`to ${rig.fixtures.sbomsNext.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:`));
  await page.locator('#sbom-packages').screenshot({ path: join(root, 'docs/screenshot-sbom-compare.png') });
  // An image with no SBOM, and a reference that is none, say so.
  for (const [typed, why] of [[rig.fixtures.v2s2, /no SBOM refers to .*compare with an SBOM file instead/], ['Not A Reference!', /Not A Reference!: /]]) {
    await page.fill('#compare-sbom-image', typed);
    await page.click('#compare-sbom-image-run');
    await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('#image-sbom-changes.error')?.textContent ?? ''),
      why.source, { timeout: 60_000 });
    assert.match(await page.innerText('#image-sbom-changes'), why);
  }
  await page.context().close();
});
