// Browsing a registry (issue #21, item 4): its repositories from /v2/_catalog, paged with Link,
// each repository's tags, a tag's platforms, size and date (opened in the explorer beside),
// and a clear word when the registry keeps its catalog to itself or to logged-in accounts.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  rig, root, newPage, rigServices, rigStats, registryManifest, useSuite,
} from './harness.mjs';
import { logInApp } from './pushing.mjs';

const suite = useSuite(['--allow-host', rig.relay, '--allow-host', new URL(rig.cdn).host,
  '--allow-host', rig.tokenRegistry, '--allow-host', new URL(rig.tokenService).host]);
const PAGE = 10;

afterEach(() => rigServices({}));

async function openBrowse(page) {
  await page.goto(`${suite.app.url}/`);
  await page.waitForSelector('#image');
  await page.fill('#proxy', suite.proxy.url);
  await page.click('#nav-browse');
  await page.waitForSelector('#browse-registry');
}

async function listRepositories(page, registry) {
  await page.fill('#browse-registry', registry);
  await page.click('#browse-list');
  await page.waitForSelector('.repository, #catalog-unavailable, #catalog-error');
}

/** The registry's own catalog, asked directly (every page at once). */
async function catalogOf(registry, authorization) {
  const headers = authorization ? { authorization } : {};
  const response = await fetch(`http://${registry}/v2/_catalog?n=1000`, { headers });
  assert.equal(response.status, 200, `the registry's own catalog: ${response.status}`);
  return (await response.json()).repositories;
}

test('the catalog, paged with Link, down to a tag opened in the explorer, then pulled', async () => {
  await rigServices({ paginateCatalog: PAGE });
  const names = (await catalogOf(rig.registry)).sort();
  const pages = Math.ceil(names.length / PAGE);
  // Wide: the explorer beside the job, as on a desktop screen.
  const page = await newPage(suite.browser, { viewport: { width: 1600, height: 1000 } });
  await openBrowse(page);
  assert.equal(await page.getAttribute('#nav-browse', 'aria-current'), 'page');
  await listRepositories(page, rig.relay);
  assert.equal(await page.innerText('#catalog h2'), `${names.length} repositories in ${rig.relay} (${pages} pages)`);
  assert.deepEqual((await page.$$eval('.repository', (b) => b.map((x) => x.dataset.name))).sort(), names);
  assert.equal((await rigStats()).relayRequests['/v2/_catalog'], pages);

  await page.fill('#catalog-filter', 'BUSYBOX');
  const shown = await page.$$eval('.repository', (b) => b.map((x) => x.dataset.name));
  assert.deepEqual(shown, names.filter((n) => n.includes('busybox')));

  await page.click('.repository[data-name="skiff/busybox"]');
  await page.waitForSelector('#browse-tags .tag');
  const tags = (await (await fetch(`http://${rig.registry}/v2/skiff/busybox/tags/list`)).json()).tags;
  assert.deepEqual((await page.$$eval('#browse-tags .tag', (b) => b.map((x) => x.dataset.tag))).sort(), [...tags].sort());

  // A single-platform tag: its platform, size and date are the config's and the manifest's.
  await page.click('#browse-tags .tag[data-tag="v2s2"]');
  await page.waitForSelector('#tag-size');
  const manifest = await registryManifest(rig.fixtures.v2s2, 'application/vnd.docker.distribution.manifest.v2+json');
  const config = await (await fetch(`http://${rig.registry}/v2/skiff/busybox/blobs/${manifest.config.digest}`)).json();
  const size = manifest.layers.reduce((sum, l) => sum + l.size, 0);
  assert.equal(await page.innerText('#tag-created'), config.created);
  assert.equal(await page.innerText('#tag-platform'), `${config.os}/${config.architecture}`);
  assert.match(await page.innerText('#tag-size'), new RegExp(`^${(size / 1e6).toFixed(1)} MB in ${manifest.layers.length} layers$`));
  // The explorer beside holds the registry's answers for it, down to the tag's manifest,
  // opened and checked against its digest.
  assert.ok(await page.$('.explorer-side .exchange'));
  const raw = await (await fetch(`http://${rig.registry}/v2/skiff/busybox/manifests/v2s2`,
    { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).arrayBuffer();
  const digest = `sha256:${createHash('sha256').update(Buffer.from(raw)).digest('hex')}`;
  await page.click('.tab[data-view=objects]');
  await page.click(`.object-tab[data-digest="${digest}"]`);
  assert.equal(await page.innerText('#opened-digest'), digest);
  assert.match(await page.innerText('.checks'), new RegExp(`computed here: ${digest}`));
  await page.click('.tab[data-view=requests]');
  const [job, explorer] = await Promise.all(['.job-view', '.explorer-side'].map((s) => page.locator(s).boundingBox()));
  assert.ok(explorer.x >= job.x + job.width, 'the explorer is beside the job');
  assert.match(page.url(), /#\/browse\?image=/);
  await page.screenshot({ path: join(root, 'docs/screenshot-browse.png') });

  // A multi-platform tag: every platform of its index.
  await page.fill('#catalog-filter', 'multi');
  await page.click('.repository[data-name="skiff/multi"]');
  await page.click('#browse-tags .tag[data-tag="latest"]');
  await page.waitForSelector('#tag-platforms');
  const index = await registryManifest(rig.fixtures.multi, 'application/vnd.oci.image.index.v1+json');
  const platforms = index.manifests.filter((m) => m.platform.os !== 'unknown')
    .map((m) => [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/'));
  assert.deepEqual((await page.innerText('#tag-platforms')).split(', ').sort(), platforms.sort());

  // Pull this tag: the pull job, with the tag, pulled.
  await page.click('#browse-pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  assert.equal(await page.getAttribute('#nav-pull', 'aria-current'), 'page');
  assert.equal(await page.inputValue('#image'), `${rig.relay}/skiff/multi:latest`);
  assert.ok(await page.$('#save'), await page.innerText('#error').catch(() => ''));
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('a registry that serves smaller pages than asked is asked again; one without a catalog is said so', async () => {
  // Some registries cap a page below Skiff's 1000 and answer 400: Skiff asks for 100.
  await rigServices({ faults: [{ match: '/v2/_catalog?n=1000', status: 400, body: '{"errors":[{"code":"PAGINATION_NUMBER_INVALID","message":"invalid number of results requested"}]}' }] });
  const names = (await catalogOf(rig.registry)).sort();
  const page = await newPage(suite.browser);
  await openBrowse(page);
  await listRepositories(page, rig.relay);
  assert.deepEqual((await page.$$eval('.repository', (b) => b.map((x) => x.dataset.name))).sort(), names);

  await rigServices({ faults: [{ match: '/v2/_catalog', status: 404, body: '{"errors":[{"code":"NOT_FOUND","message":"not found"}]}' }] });
  await page.click('#browse-list');
  await page.waitForSelector('#catalog-unavailable');
  assert.match(await page.innerText('#catalog-unavailable'), /does not list its repositories .*Docker Hub.*Type a repository's name/s);
  await page.fill('#browse-repository', 'skiff/tags');
  await page.click('#browse-repository-tags');
  await page.waitForSelector('#browse-tags h3');
  assert.match(await page.innerText('#browse-tags h3'), new RegExp(`^\\d+ tags of ${rig.relay.replace(/\./g, '\\.')}/skiff/tags`));
  await page.context().close();
});

test('a token registry lists its catalog only to a logged-in account; a bad registry is named', async () => {
  const page = await newPage(suite.browser);
  await openBrowse(page);
  await listRepositories(page, rig.tokenRegistry);
  assert.match(await page.innerText('#catalog'), /lists its repositories only to accounts allowed to see them \(the token scope registry:catalog:\*\): log in under Credentials/);
  assert.ok(await page.$('#catalog-unavailable'));
  assert.equal(await page.$('.repository'), null);

  await logInApp(page, rig.tokenRegistry);
  await page.click('#browse-list');
  await page.waitForSelector('.repository');
  const basic = `Basic ${Buffer.from(`${rig.user}:${rig.password}`).toString('base64')}`;
  const token = (await (await fetch(`${rig.tokenService}/token?service=skiff-rig&scope=registry:catalog:*`,
    { headers: { authorization: basic } })).json()).token;
  const names = await catalogOf(rig.tokenRegistry, `Bearer ${token}`);
  assert.ok(names.length > 0);
  assert.deepEqual((await page.$$eval('.repository', (b) => b.map((x) => x.dataset.name))).sort(), names.sort());

  await page.fill('#browse-registry', 'my registry');
  await page.click('#browse-list');
  await page.waitForSelector('#catalog-error');
  assert.match(await page.innerText('#catalog-error'), /invalid registry "my registry": ' ' cannot be part of a host name; write its host/);
  await page.context().close();
});
