// The second review's holes, closed (issue #17): the browser never sees a registry's login
// challenge (no native login dialog, no login cached and replayed to another registry),
// credentials never follow an upload Location to another host, no URL's query is shown, a
// relayed script cannot become a service worker on the app's origin, the app's page has a CSP
// and cannot be framed, and a proxy that writes serves only the origins it is told of.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import {
  rig, root, startProxy, launchBrowser, newPage, expectPulled, saveArchive, pullInApp,
  rigServices, rigStats, useSuite, ensureOutDir, appPagePolicy,
} from './harness.mjs';
import { push, logInApp } from './pushing.mjs';

const tokenHost = new URL(rig.tokenService).host;
const cdnHost = new URL(rig.cdn).host;
const suite = useSuite(['--allow-push', '--allow-host', rig.relay, '--allow-host', cdnHost,
  '--allow-host', tokenHost]);
const run = Date.now().toString(36);
let served;
let browser;

before(async () => {
  await ensureOutDir();
  // The deployment shape: the app and the proxy on one origin.
  served = await startProxy(['--serve-app', join(root, 'dist'), '--allow-push', '--allow-host', rig.basicRegistry,
    '--allow-host', tokenHost]);
  browser = await launchBrowser();
});
after(async () => {
  await rigServices({});
  await browser?.close();
  served?.close();
});

/** Every HTTP auth challenge the browser itself would act on (a login dialog), answered with
 * "cancel" so the page gets the 401 as it would without a dialog. */
async function watchChallenges(page) {
  const challenges = [];
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Fetch.requestPaused', (event) => {
    cdp.send('Fetch.continueRequest', { requestId: event.requestId }).catch(() => {});
  });
  cdp.on('Fetch.authRequired', (event) => {
    challenges.push(`${event.authChallenge.scheme} ${event.authChallenge.realm} (${event.authChallenge.origin})`);
    cdp.send('Fetch.continueWithAuth', { requestId: event.requestId, authChallengeResponse: { response: 'CancelAuth' } })
      .catch(() => {});
  });
  await cdp.send('Fetch.enable', { handleAuthRequests: true, patterns: [{ urlPattern: '*' }] });
  return challenges;
}

test('a Basic registry pulled on the app\'s own origin shows the browser no challenge', async () => {
  const reference = `${rig.basicRegistry}/skiff/busybox:v2s2`;
  const page = await newPage(browser);
  const challenges = await watchChallenges(page);
  await page.goto(`${served.url}#/?image=${encodeURIComponent(reference)}`);
  await page.waitForSelector('#image');
  // Without a login: a clear "login required", not a hang behind a dialog.
  await page.click('#pull');
  await page.waitForSelector('#error', { timeout: 60_000 });
  assert.match(await page.innerText('#error'), /Login required/);
  // With the app's login: pulled; the login went in Skiff's own header, as Authorization to the
  // registry only.
  await logInApp(page, rig.basicRegistry);
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  assert.deepEqual(challenges, [], 'the browser saw a login challenge');
  await page.context().close();
});

test('credentials never follow an upload Location to another host', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.oci);
  await expectPulled(page);
  const tar = await saveArchive(page, 'busybox_oci.tar');
  for (const relayTo of ['basic', 'token']) {
    await rigServices({ relayTo, uploadsElsewhere: true });
    const target = `${rig.relay}/skiff/elsewhere-${relayTo}-${run}:1`;
    const result = await push(page, tar, target, rig.relay);
    assert.equal(result.error, undefined, `${relayTo}: ${result.error}`);
    const { elsewhereRequests, relayRequests } = await rigStats();
    assert.ok(elsewhereRequests.length >= 4, `${relayTo}: uploads went elsewhere: ${JSON.stringify(elsewhereRequests)}`);
    assert.deepEqual(elsewhereRequests.filter((r) => r.authorization), [],
      `${relayTo}: the registry's credential went to the upload's other host`);
    assert.ok(Object.keys(relayRequests).some((p) => p.includes('/manifests/')), 'the manifest went to the registry');
  }
  await page.context().close();
});

test('no URL is shown with its query: an upload session is a capability', async () => {
  await rigServices({});
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.oci);
  await expectPulled(page);
  const tar = await saveArchive(page, 'busybox_oci.tar');
  const result = await push(page, tar, `${rig.relay}/skiff/no-query-${run}:1`, rig.relay);
  assert.equal(result.error, undefined, result.error);
  await page.click('.tab[data-view=requests]');
  const shown = await page.content();
  assert.match(shown, /blobs\/uploads\/[0-9a-f-]+\?…/, 'the upload requests are listed, without their query');
  for (const secret of ['_state=', 'digest=sha256']) {
    assert.ok(!shown.includes(secret), `the page shows ${secret}`);
  }
  await page.context().close();
});

test('a relayed script cannot become a service worker on the app\'s origin', async () => {
  await rigServices({});
  const page = await newPage(browser);
  await page.goto(served.url);
  await page.waitForSelector('#image');
  const outcome = await page.evaluate(async (script) => {
    try {
      await navigator.serviceWorker.register(script);
      return 'registered';
    } catch (error) {
      return `refused: ${error.message}`;
    }
  }, `/${rig.tokenService}/hostile/sw.js`);
  assert.match(outcome, /^refused/);
  assert.deepEqual((await rigStats()).hostileRequests, {}, 'the script was fetched from the upstream');
  await page.context().close();
});

test('the app\'s page carries its CSP, runs under it, and no other site can frame it', async () => {
  const answer = await fetch(served.url);
  const page = await answer.text();
  const policy = answer.headers.get('content-security-policy');
  assert.equal(policy, appPagePolicy(page));
  assert.match(policy, /script-src 'self' 'wasm-unsafe-eval'( 'sha256-[A-Za-z0-9+/=]+'){2};/);
  assert.match(policy, /frame-ancestors 'none'/);

  // Another site tries to frame it.
  const framer = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<iframe id="skiff" src="${served.url}"></iframe>`);
  });
  await new Promise((ok) => framer.listen(0, '127.0.0.1', ok));
  const tab = await newPage(browser);
  await tab.goto(`http://127.0.0.1:${framer.address().port}/`);
  await tab.waitForTimeout(1500);
  const frame = tab.frames().find((f) => f !== tab.mainFrame());
  const framed = frame ? await frame.$('#image').catch(() => null) : null;
  assert.equal(framed, null, 'the app ran inside another site\'s frame');
  framer.close();
  await tab.context().close();

  // The app itself starts under the policy: nothing refused.
  const app = await newPage(browser);
  await app.goto(served.url);
  await app.waitForSelector('#image');
  assert.deepEqual(app.consoleErrors.filter((e) => /Content Security Policy/i.test(e)), []);
  await app.context().close();
});

test('a proxy that writes refuses other pages on this machine', async () => {
  await rigServices({});
  const other = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>another app'));
  await new Promise((ok) => other.listen(0, '127.0.0.1', ok));
  const page = await newPage(suite.browser);
  await page.goto(`http://127.0.0.1:${other.address().port}/`);
  const status = await page.evaluate(async (url) => {
    const answer = await fetch(url, { method: 'POST' });
    return `${answer.status} ${answer.headers.get('x-skiff-proxy-error')}`;
  }, `${suite.proxy.url}http://${rig.relay}/v2/skiff/other-page/blobs/uploads/`);
  assert.equal(status, '403 origin-not-allowed');
  assert.deepEqual((await rigStats()).relayRequests, {}, 'the write reached the registry');
  other.close();
  await page.context().close();
});
