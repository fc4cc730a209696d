// The explorer: every exchange of a token-auth pull with its headers and timings, the auth dance
// as steps, documents opened by their digests (checked), referrers found through the tag schema
// and cosign's tags, and the view kept in the page's address (shared links, back and forward).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { rig, root, newPage, pullInApp, expectPulled, registryManifest, useSuite } from './harness.mjs';

const cdnHost = new URL(rig.cdn).host;
const tokenHost = new URL(rig.tokenService).host;
const suite = useSuite(['--allow-host', rig.tokenRegistry, '--allow-host', tokenHost, '--allow-host', cdnHost]);
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** The rows of the request timeline: purpose, status, URL, and the headers shown in each. */
const timeline = (page) => page.$$eval('.exchange', (rows) => rows.map((row) => ({
  purpose: row.dataset.purpose,
  status: row.dataset.status,
  url: row.querySelector('.url').textContent,
  timing: row.querySelector('.timing').textContent,
  explain: row.querySelector('.explain').textContent,
  headers: Object.fromEntries([...row.querySelectorAll('.header-table tr')].map((tr) =>
    [tr.querySelector('th').textContent, tr.querySelector('td').textContent])),
})));

/** A new page whose browser already uses the suite's proxy (a recipient's own setting). */
async function pageWithProxy() {
  const page = await newPage(suite.browser);
  await page.context().addInitScript((proxy) => localStorage.setItem('skiff.proxy', proxy), suite.proxy.url);
  return page;
}

test('a token-auth pull: the challenge, the token, the retry, the manifest digest and the headers', async () => {
  const reference = `${rig.tokenRegistry}/skiff/busybox:v2s2`;
  const [, repo, tag] = reference.match(/^[^/]+\/(.+):([^:]+)$/);
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, reference);
  await expectPulled(page);

  const steps = await page.$$eval('#auth-dance .dance-step', (s) => s.map((x) => [x.dataset.step, x.textContent]));
  assert.deepEqual(steps.map(([step]) => step), ['challenge', 'token', 'retry with it']);
  assert.match(steps[0][1], new RegExp(`401.*wants a token from the token service ${rig.tokenService}/token`));
  assert.match(steps[1][1], new RegExp(`GET ${rig.tokenService}/token\\?.*200.*issued a token for anonymous pulls`));
  assert.match(steps[2][1], /→ 200.*accepted/);

  const rows = await timeline(page);
  const challenge = rows.find((r) => r.status === '401');
  assert.match(challenge.headers['www-authenticate'], /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token"/);
  const token = rows.find((r) => r.purpose === 'token');
  assert.match(token.url, /scope=repository%3Askiff%2Fbusybox%3Apull|scope=repository:skiff\/busybox:pull/);
  const manifest = rows.find((r) => r.purpose === 'manifest');
  const served = await fetch(`http://${rig.registry}/v2/${repo}/manifests/${tag}`, { headers: { accept: DOCKER_MANIFEST } });
  const digest = served.headers.get('docker-content-digest');
  assert.equal(manifest.headers['docker-content-digest'], digest);
  assert.equal(manifest.headers['content-type'], DOCKER_MANIFEST);
  assert.equal(manifest.headers['content-length'], served.headers.get('content-length'));
  assert.match(manifest.headers.authorization, /^Bearer ‹a token, \d+ characters, hidden›$/);
  assert.match(manifest.explain, new RegExp(`digest as ${digest}`));
  assert.match(manifest.timing, /^\+\d+ ms · \d+ ms · [\d.]+ (B|kB)$/, manifest.timing);
  const layers = rows.filter((r) => r.purpose === 'layer');
  assert.equal(layers.length, 3);
  assert.ok(layers.every((l) => l.headers['x-skiff-redirected-to'] === cdnHost), 'each blob names the CDN it came from');
  // No secret anywhere in the page: the rig's tokens are JWTs (eyJ…), its password is known.
  const html = await page.content();
  assert.ok(!/eyJ[\w-]{10,}/.test(html), 'no token in the page');
  assert.ok(!html.includes(rig.password));

  // The manifest, opened from the list of documents: its digest computed and compared.
  await page.click('.tab[data-view=objects]');
  await page.click(`.object-tab[data-digest="${digest}"]`);
  assert.equal(await page.innerText('#opened-digest'), digest);
  const checks = await page.innerText('.checks');
  assert.match(checks, new RegExp(`computed here: ${digest}`));
  assert.match(checks, /Docker-Content-Digest.*the same ✓/);
  await page.locator('#explorer').screenshot({ path: join(root, 'docs/screenshot-explorer.png') });
  await page.click('.tab[data-view=requests]');
  await page.click('.exchange[data-purpose="manifest"] summary');
  await page.locator('#explorer').screenshot({ path: join(root, 'docs/screenshot-requests.png') });
  await page.context().close();
});

test('digests open their objects; the address keeps the view; back, forward and a shared link work', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.multi);
  await expectPulled(page);
  const index = await registryManifest(rig.fixtures.multi, 'application/vnd.oci.image.index.v1+json');
  const amd64 = index.manifests.find((m) => m.platform.architecture === 'amd64');
  const arm64 = index.manifests.find((m) => m.platform.architecture === 'arm64');

  await page.click('.tab[data-view=objects]');
  assert.match(page.url(), /view=objects/);
  await page.click(`.object-tab[data-digest="${rig.multiIndexDigest}"]`);
  assert.match(await page.innerText('.media-types'), /OCI image index: it points to one manifest per platform/);
  // Another platform's manifest, not fetched by the pull: fetched now, and checked.
  await page.click(`#opened-object .digest-link[data-digest="${arm64.digest}"]`);
  await page.waitForSelector(`#opened-object[data-digest="${arm64.digest}"]`);
  assert.match(await page.innerText('.checks'), /Asked for by the link as sha256:[0-9a-f]{64}: the same ✓/);
  assert.match(page.url(), new RegExp(`object=${arm64.digest.replace(':', '%3A')}|object=${arm64.digest}`));
  // Its config, and one of its layers (described, not downloaded).
  const configLink = page.locator('#opened-object .digest-link').first();
  const configDigest = await configLink.getAttribute('data-digest');
  await configLink.click();
  await page.waitForSelector(`#opened-object[data-digest="${configDigest}"]`);
  assert.match(await page.innerText('#opened-object'), /"architecture": "arm64"/);
  await page.goBack();
  await page.waitForSelector(`#opened-object[data-digest="${arm64.digest}"]`);
  const layerLink = page.locator('#opened-object .digest-link').nth(1);
  const layerDigest = await layerLink.getAttribute('data-digest');
  await layerLink.click();
  await page.waitForSelector(`#opened-object[data-digest="${layerDigest}"]`);
  assert.match(await page.innerText('#opened-object h3'), /Layer/);
  await page.goBack();
  await page.waitForSelector(`#opened-object[data-digest="${arm64.digest}"]`);
  await page.goForward();
  await page.waitForSelector(`#opened-object[data-digest="${layerDigest}"]`);
  await page.goBack();
  await page.waitForSelector(`#opened-object[data-digest="${arm64.digest}"]`);
  await page.goBack();
  await page.waitForSelector(`#opened-object[data-digest="${rig.multiIndexDigest}"]`);
  await page.goForward();
  await page.waitForSelector(`#opened-object[data-digest="${arm64.digest}"]`);

  // The link, opened in a fresh browser: the same view, the same object, nothing downloaded.
  const shared = page.url();
  const other = await pageWithProxy();
  await other.goto(shared);
  await other.waitForSelector(`#opened-object[data-digest="${arm64.digest}"]`, { timeout: 30_000 });
  assert.equal(await other.getAttribute('.tab[data-view=objects]', 'aria-pressed'), 'true');
  assert.equal(await other.inputValue('#image'), rig.fixtures.multi);
  assert.equal(await other.$('#save'), null, 'a link to a view downloads no image');
  const fetched = await timeline(other).catch(() => []);
  assert.deepEqual(fetched, [], 'the requests tab is not the one shown');
  await other.click('.tab[data-view=summary]');
  assert.equal(await other.innerText('#summary-platforms'), 'linux/amd64, linux/arm64/v8');
  await other.click('.tab[data-view=requests]');
  assert.ok((await timeline(other)).every((r) => r.purpose !== 'layer'), 'no layer was fetched');
  await other.context().close();
  assert.ok(amd64);
  await page.context().close();
});

test('looking inside without a download: the summary with the build history', async () => {
  const page = await pageWithProxy();
  await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(rig.fixtures.overlay)}`);
  await page.click('#inspect');
  await page.waitForSelector('.tab[data-view=summary]');
  await page.click('.tab[data-view=summary]');
  const config = await (await fetch(`http://${rig.registry}/v2/skiff/overlay/blobs/${(await registryManifest(rig.fixtures.overlay, OCI_MANIFEST)).config.digest}`)).json();
  const rows = await page.$$eval('#history tbody tr', (trs) => trs.map((tr) => tr.children[1].textContent));
  assert.deepEqual(rows, config.history.map((h) => h.created_by));
  assert.match(await page.innerText('#summary'), /linux\/amd64/);
  // The unpacked size, from the layers' gzip trailers: what gunzip makes of them, summed.
  const manifest = await registryManifest(rig.fixtures.overlay, OCI_MANIFEST);
  let unpacked = 0;
  for (const layer of manifest.layers) {
    const blob = Buffer.from(await (await fetch(`http://${rig.registry}/v2/skiff/overlay/blobs/${layer.digest}`)).arrayBuffer());
    unpacked += layer.mediaType.endsWith('gzip') ? gunzipSync(blob).length : blob.length;
  }
  const mb = (unpacked / 1e6).toFixed(1);
  assert.match(await page.innerText('#summary'), new RegExp(`in 3 layers, ${mb.replace('.', '\\.')} MB unpacked`));
  assert.equal(await page.$('#save'), null);
  assert.match(page.url(), /view=summary/);
  await page.locator('#explorer').screenshot({ path: join(root, 'docs/screenshot-summary.png') });
  await page.context().close();
});

test('referrers: a cosign signature and an SBOM found without a referrers API', async () => {
  const page = await pageWithProxy();
  await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(rig.fixtures.signed)}&view=referrers`);
  await page.waitForSelector('#find-referrers:not([disabled])', { timeout: 30_000 });
  await page.click('#find-referrers');
  await page.waitForSelector('#referrers, #referrers-none, #referrers-panel .error');
  const found = await page.$$eval('.referrer', (rows) => rows.map((r) => [r.dataset.kind, r.children[1].textContent, r.children[4].textContent]));
  const hex = rig.signedDigest.slice('sha256:'.length);
  assert.deepEqual(found.sort(), [
    ['SBOM', 'application/spdx+json', `the OCI referrers tag schema (tag sha256-${hex})`],
    ['signature', 'application/vnd.dev.cosign.simplesigning.v1+json', `cosign's tag sha256-${hex}.sig`],
  ]);
  const ways = await page.$$eval('.ways li', (li) => li.map((x) => x.textContent));
  assert.ok(ways.some((w) => /no referrers API here \(404\)/.test(w)), ways.join('\n'));
  // The SBOM's manifest opens, with its subject: the image.
  await page.click('.referrer[data-kind="SBOM"] .digest-link');
  await page.waitForSelector('#opened-object .digest-link');
  const text = await page.innerText('#opened-object');
  assert.match(text, /"subject"/);
  assert.ok(text.includes(rig.signedDigest));
  const sbom = await page.getAttribute('#opened-object', 'data-digest');
  const body = await (await fetch(`http://${rig.registry}/v2/skiff/signed/manifests/${sbom}`, { headers: { accept: OCI_MANIFEST } })).arrayBuffer();
  assert.equal(`sha256:${createHash('sha256').update(Buffer.from(body)).digest('hex')}`, sbom);
  await page.context().close();
});
