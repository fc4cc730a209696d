// Authentication as registries really do it: Docker Hub's token flow with a separate token
// service (real signed JWTs the registry verifies) and blobs redirected to a CDN that rejects
// Authorization; credentials for private repositories; plain Basic; tokens expiring mid-pull.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  rig, outDir, newPage, pullInApp, saveArchive, expectPulled, rigServices, rigStats,
  dockerLoadAndRun, dockerLoad, docker, FIXTURE_OUTPUT, useSuite,
} from './harness.mjs';

const cdnHost = new URL(rig.cdn).host;
const suite = useSuite(['--allow-host', rig.tokenRegistry, '--allow-host', rig.basicRegistry,
  '--allow-host', new URL(rig.tokenService).host, '--allow-host', cdnHost]);

afterEach(() => rigServices({}));

async function fillCredentials(page, username, password, remember = false, registry = null) {
  if (!(await page.$eval('#credentials', (d) => d.open))) await page.click('#credentials summary');
  if (registry !== null) await page.fill('#credentials-registry', registry);
  await page.fill('#username', username);
  await page.fill('#password', password);
  if (remember) await page.check('#remember');
}

async function pressPull(page) {
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
}

test("Docker Hub's flow: anonymous token, blobs 307 to a CDN that rejects Authorization", async () => {
  await rigServices({});
  const reference = `${rig.tokenRegistry}/skiff/busybox:v2s2`;
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, reference);
  await expectPulled(page);
  const stats = await rigStats();
  assert.ok(stats.tokenRequests >= 1, 'a token was fetched');
  assert.equal(stats.tokenRequestsWithCredentials, 0, 'anonymously');
  assert.equal(stats.cdnRejectedAuthorization, 0, 'Authorization never reached the CDN');
  assert.equal(Object.keys(stats.cdnRequests).length, 4, 'config and 3 layers came from the CDN');
  const notes = await page.$$eval('.exchange .explain', (n) => n.map((x) => x.textContent));
  assert.ok(notes.some((n) => n.includes(`redirected to ${cdnHost}`)), notes.join('\n'));
  const tar = await saveArchive(page, 'busybox_v2s2.tar');
  dockerLoadAndRun(tar, reference, FIXTURE_OUTPUT);
  await page.context().close();
});

test('a private repository: the app asks for credentials, rejects wrong ones, pulls with right ones', async () => {
  const reference = `${rig.tokenRegistry}/skiff/private:latest`;
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, reference);
  assert.match(await page.innerText('#error'), /Login required[\s\S]*Credentials/);
  assert.ok(await page.$eval('#credentials', (d) => d.open), 'the credentials panel opens');
  await page.screenshot({ path: join(outDir, 'login-required.png'), fullPage: true });

  await fillCredentials(page, rig.user, 'wrong-password');
  await pressPull(page);
  assert.match(await page.innerText('#error'), /Wrong credentials[\s\S]*rejected the username or password/);

  await fillCredentials(page, rig.user, rig.password);
  await pressPull(page);
  await expectPulled(page);
  assert.ok((await rigStats()).tokenRequestsWithCredentials >= 1);
  assert.equal(await page.inputValue('#credentials-registry'), rig.tokenRegistry,
    'unbound credentials are bound to the registry they were first used with');

  // The secret is nowhere a person or a log could see it.
  const html = await page.content();
  const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  for (const [where, text] of [['page', html], ['URL', page.url()], ['storage', storage]]) {
    assert.ok(!text.includes(rig.password), `the password shows in the ${where}`);
  }
  const tar = await saveArchive(page, 'private_latest.tar');
  dockerLoadAndRun(tar, reference, FIXTURE_OUTPUT);

  // Not remembered unless asked: a reload forgets.
  await page.reload();
  await page.waitForSelector('#username', { state: 'attached' });
  assert.equal(await page.inputValue('#password'), '');
  await page.context().close();
});

test('"remember for this tab" keeps credentials in sessionStorage only', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, `${rig.tokenRegistry}/skiff/private:latest`);
  await fillCredentials(page, rig.user, rig.password, true);
  await pressPull(page);
  await expectPulled(page);
  await page.reload();
  await page.waitForSelector('#username');
  assert.equal(await page.inputValue('#username'), rig.user);
  assert.equal(await page.inputValue('#password'), rig.password);
  const local = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  assert.ok(!local.includes(rig.password), 'never in localStorage');
  await page.context().close();
});

test('plain Basic auth (htpasswd registry)', async () => {
  const reference = `${rig.basicRegistry}/skiff/busybox:v2s2`;
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, reference);
  assert.match(await page.innerText('#error'), /Login required[\s\S]*HTTP Basic/);
  await fillCredentials(page, rig.user, 'nope');
  await pressPull(page);
  assert.match(await page.innerText('#error'), /Wrong credentials/);
  await fillCredentials(page, rig.user, rig.password);
  await pressPull(page);
  await expectPulled(page);
  const tar = await saveArchive(page, 'busybox_v2s2.tar');
  dockerLoadAndRun(tar, reference, FIXTURE_OUTPUT);
  await page.context().close();
});

// Distribution accepts a token up to 60 s past its `exp`; registryLifetime = lifetime - 60
// makes the registry really refuse it after `lifetime` seconds.
for (const [name, config] of [
  ['renewed before expiry when the token service says it expires', { tokenLifetime: 2, registryLifetime: -58 }],
  ['re-fetched on 401 when the token dies earlier than it claimed', { tokenLifetime: 300, registryLifetime: -58 }],
]) {
  test(`tokens expiring mid-pull are ${name}; finished layers are never fetched again`, async () => {
    await rigServices({ ...config, cdnBytesPerSecond: 400_000 });
    const reference = `${rig.tokenRegistry}/skiff/big:latest`;
    const page = await newPage(suite.browser);
    const started = Date.now();
    await pullInApp(page, suite.app.url, suite.proxy.url, reference);
    await expectPulled(page);
    const seconds = (Date.now() - started) / 1000;
    const stats = await rigStats();
    assert.ok(seconds > 3, `the throttled pull must outlive the 2 s token (took ${seconds} s)`);
    assert.ok(stats.tokenRequests >= 2, `tokens were renewed: ${JSON.stringify(stats)}`);
    for (const [path, count] of Object.entries(stats.cdnRequests)) {
      assert.equal(count, 1, `${path} was fetched ${count} times`);
    }
    assert.equal(Object.keys(stats.cdnRequests).length, 9, 'config and 8 layers');
    const tar = await saveArchive(page, 'big_latest.tar');
    const { inspect } = dockerLoad(tar, reference);
    assert.equal(inspect.RootFS.Layers.length, 8);
    docker(['rmi', reference]);
    await page.context().close();
  });
}

test('token services that answer `access_token` without `expires_in`', async () => {
  await rigServices({ tokenField: 'access_token', omitExpiresIn: true });
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, `${rig.tokenRegistry}/skiff/busybox:oci`);
  await expectPulled(page);
  await page.context().close();
});

test('Cancel stops a running pull at once; nothing is offered', async () => {
  await rigServices({ cdnBytesPerSecond: 100_000 });
  const page = await newPage(suite.browser);
  await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(`${rig.tokenRegistry}/skiff/big:latest`)}`);
  await page.waitForSelector('#image');
  await page.fill('#proxy', suite.proxy.url);
  await page.click('#pull');
  await page.waitForSelector('tr.layer.downloading', { timeout: 30_000 });
  const started = Date.now();
  await page.click('#cancel');
  await page.waitForSelector('#error', { timeout: 10_000 });
  assert.ok(Date.now() - started < 5_000, 'the pull stops within seconds');
  assert.match(await page.innerText('#error'), /Cancelled[\s\S]*you cancelled the pull/);
  assert.equal(await page.$('#save'), null);
  assert.ok(await page.isEnabled('#pull'), 'a new pull can start');
  await page.context().close();
});

test('credentials go only to the registry they belong to', async () => {
  const reference = `${rig.basicRegistry}/skiff/busybox:v2s2`;
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, reference);
  await fillCredentials(page, rig.user, rig.password, false, rig.tokenRegistry);
  await pressPull(page);
  assert.match(await page.innerText('#error'), /Login required/, 'not sent to another registry');
  await fillCredentials(page, rig.user, rig.password, false, rig.basicRegistry);
  await pressPull(page);
  await expectPulled(page);
  await page.context().close();
});
