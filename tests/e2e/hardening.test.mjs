// What a hostile page or registry can get out of Skiff: nothing. Credentials reach only their
// own registry (tag lists included, and not via a Link to another host), and a page an
// allowlisted upstream serves never runs in the proxy's origin, nor can other pages load it.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { rig, newPage, rigServices, rigStats, useSuite } from './harness.mjs';

const tokenServiceHost = new URL(rig.tokenService).host;
const suite = useSuite(['--allow-host', rig.tokenRegistry, '--allow-host', rig.basicRegistry,
  '--allow-host', rig.relay, '--allow-host', tokenServiceHost, '--allow-host', new URL(rig.cdn).host]);

afterEach(() => rigServices({}));

async function openApp(page) {
  await page.goto(`${suite.app.url}/`);
  await page.waitForSelector('#image');
  await page.fill('#proxy', suite.proxy.url);
}

async function setCredentials(page, registry) {
  if (!(await page.$eval('#credentials', (d) => d.open))) await page.click('#credentials summary');
  await page.fill('#credentials-registry', registry);
  await page.fill('#username', rig.user);
  await page.fill('#password', rig.password);
}

async function listTags(page, image) {
  await page.fill('#image', image);
  await page.click('#list-tags');
  await page.waitForSelector('#tags h2');
  return page.innerText('#tags');
}

test('"List tags" on another registry sends it no credentials', async () => {
  await rigServices({});
  const page = await newPage(suite.browser);
  await openApp(page);
  await setCredentials(page, rig.basicRegistry);
  const listed = await listTags(page, `${rig.tokenRegistry}/skiff/busybox:v2s2`);
  assert.match(listed, /tags? of .*skiff\/busybox/, listed);
  let stats = await rigStats();
  assert.ok(stats.tokenRequests >= 1, 'the token registry was asked, anonymously');
  assert.equal(stats.tokenRequestsWithCredentials, 0, 'credentials for another registry were sent');

  // The same list with credentials bound to this registry does send them: the check above
  // would have seen them.
  await rigServices({});
  await setCredentials(page, rig.tokenRegistry);
  await listTags(page, `${rig.tokenRegistry}/skiff/busybox:v2s2`);
  stats = await rigStats();
  assert.deepEqual([...new Set(stats.tokenAuthorizations)], [rig.user]);
  await page.context().close();
});

test('unbound credentials are bound to the registry whose tags are listed first', async () => {
  await rigServices({});
  const page = await newPage(suite.browser);
  await openApp(page);
  await setCredentials(page, '');
  await listTags(page, `${rig.tokenRegistry}/skiff/busybox:v2s2`);
  assert.equal(await page.inputValue('#credentials-registry'), rig.tokenRegistry);
  assert.ok((await rigStats()).tokenRequestsWithCredentials >= 1);
  await page.context().close();
});

test('a tag page linked to another origin is not followed', async () => {
  await rigServices({ paginateTags: 100, tagLinkOrigin: rig.tokenService });
  const repo = `${rig.relay}/skiff/tags`;
  const page = await newPage(suite.browser);
  await openApp(page);
  const listed = await listTags(page, `${repo}:base`);
  assert.match(listed, new RegExp(`^100 tags of ${repo}`), listed);
  const stats = await rigStats();
  assert.equal(stats.relayRequests['/v2/skiff/tags/tags/list'], 1);
  assert.deepEqual(stats.strayRequests, [], 'the app followed the Link to another host');
  await page.context().close();
});

test('a page served by an allowlisted host never runs in the proxy origin or loads elsewhere', async () => {
  await rigServices({});
  const proxied = `${suite.proxy.url}${rig.tokenService}/hostile/page.html`;
  // A navigation to it (what a malicious link does): refused before the upstream is asked, and
  // the refusal itself is a download, not a document.
  const tab = await newPage(suite.browser);
  const navigation = await tab.goto(proxied).catch((error) => error);
  if (!(navigation instanceof Error)) assert.equal(navigation.status(), 403);
  assert.notEqual(await tab.title().catch(() => ''), 'pwned', 'the page ran');
  await tab.context().close();

  // Loads from any page that skip CORS: <img>, <script>, a no-cors fetch.
  const page = await newPage(suite.browser);
  await openApp(page);
  await page.evaluate(async (url) => {
    const loaded = (element) => new Promise((done) => {
      element.onload = done;
      element.onerror = done;
      document.body.append(element);
    });
    await loaded(Object.assign(document.createElement('img'), { src: url }));
    await loaded(Object.assign(document.createElement('script'), { src: `${url}?script` }));
    await fetch(`${url}?no-cors`, { mode: 'no-cors' }).catch(() => {});
  }, proxied);
  let stats = await rigStats();
  assert.deepEqual(stats.hostileRequests, {}, 'a navigation or no-cors load reached the upstream');

  // The app's own CORS fetch of the same URL works: the refusals above were the fetch mode.
  const status = await page.evaluate(async (url) => (await fetch(url)).status, proxied);
  assert.equal(status, 200);
  stats = await rigStats();
  assert.deepEqual(stats.hostileRequests, { '/hostile/page.html': 1 });
  await page.context().close();
});
