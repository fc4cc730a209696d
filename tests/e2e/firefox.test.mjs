// The pull, end to end, in Debian's firefox-esr (headless, driven by geckodriver through the
// small WebDriver client in firefox/webdriver.mjs: Playwright cannot drive a stock Firefox).
// Same rig, app and proxy as the Chromium tests, and the same checks: the download is the tar,
// docker loads and runs it; Docker Hub's token flow through the proxy; clear errors and no tar.
// And what Firefox cannot do, said by the app: no "save to a file I choose" (Firefox has no
// showSaveFilePicker), no layer cache in a private window (no OPFS there).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firefox } from './firefox/webdriver.mjs';
import {
  rig, outDir, serveApp, startProxy, ensureOutDir, rigServices, rigStats, docker, podman,
  registryManifest, archiveProblems, dockerLoadAndRun, FIXTURE_OUTPUT,
} from './harness.mjs';

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const cdnHost = new URL(rig.cdn).host;

const suite = {};
/** Every Firefox started, so `after` can end those a failed test left running. */
const running = new Set();
let current = null;

before(async () => {
  await ensureOutDir();
  suite.profiles = mkdtempSync(join(tmpdir(), 'skiff-firefox-'));
  suite.app = await serveApp();
  suite.proxy = await startProxy(['--allow-host', rig.tokenRegistry,
    '--allow-host', new URL(rig.tokenService).host, '--allow-host', cdnHost]);
});

after(async () => {
  await rigServices({});
  for (const firefox of running) await firefox.quit();
  suite.proxy?.close();
  suite.app?.close();
  if (suite.profiles) rmSync(suite.profiles, { recursive: true, force: true });
});

// A picture of where a test left its browser open (a failed one does), for whoever reads it.
afterEach(async (t) => {
  if (current?.session) {
    const name = `firefox-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`;
    try {
      writeFileSync(join(outDir, name), await current.screenshot());
    } catch {} // a browser that died says so in the test's own failure
  }
});

/**
 * Headless firefox-esr on the on-disk profile `name` (`fresh`: an empty one, like a new
 * browser context), downloading into out/firefox-downloads/<name>.
 */
async function launch(name, { fresh = true, prefs } = {}) {
  const profileDir = join(suite.profiles, name);
  const downloadDir = join(outDir, 'firefox-downloads', name);
  if (fresh) rmSync(profileDir, { recursive: true, force: true });
  rmSync(downloadDir, { recursive: true, force: true });
  const firefox = await Firefox.launch({ profileDir, downloadDir, prefs });
  Object.assign(firefox, { name, downloadDir });
  running.add(firefox);
  current = firefox;
  return firefox;
}

/** The running Firefox on profile `name` (a test goes on where the one before it stopped), or
 *  a new one on that profile when the test runs alone. */
async function reuse(name) {
  return current?.session && current.name === name ? current : launch(name, { fresh: false });
}

async function quit(firefox) {
  await firefox.quit();
  running.delete(firefox);
}

/** Opens the app with `image` in the link and sets the proxy, as a person would. */
async function openApp(firefox, image) {
  await firefox.goto(`${suite.app.url}/#/?image=${encodeURIComponent(image)}`);
  await firefox.waitFor('#image');
  assert.equal(await firefox.property('#image', 'value'), image, 'the link fills the form');
  await firefox.fill('#proxy', suite.proxy.url);
}

async function pressPull(firefox) {
  await firefox.click('#pull');
  await firefox.waitFor('#save, #error', { timeout: 60_000 });
}

async function pullInApp(firefox, image) {
  await openApp(firefox, image);
  await pressPull(firefox);
}

/** Fails with the page's error text and Firefox's console lines if the pull did not succeed. */
async function expectPulled(firefox) {
  if (await firefox.$('#error')) {
    throw new Error(`the pull failed in Firefox: ${await firefox.text('#error')}\nconsole:\n${firefox.consoleErrors().join('\n')}`);
  }
}

const layerStates = (firefox) =>
  firefox.execute(`return [...document.querySelectorAll('tr.layer .state')].map((c) => c.textContent)`);

/** Clicks Save and waits for Firefox to finish the download; it must be `expectedName`. */
async function saveArchive(firefox, expectedName) {
  const dir = firefox.downloadDir;
  rmSync(dir, { recursive: true, force: true });
  await firefox.click('#save');
  // Firefox writes into `<name>.part` and renames it when the download is complete.
  const files = await firefox.waitUntil(() => {
    const names = existsSync(dir) ? readdirSync(dir) : [];
    return names.length && !names.some((n) => n.endsWith('.part')) ? names : null;
  }, { timeout: 30_000, what: `the download of ${expectedName} in ${dir}` });
  assert.deepEqual(files, [expectedName], 'the download is offered under the archive name');
  const path = join(dir, expectedName);
  assert.ok(statSync(path).size > 0);
  return path;
}

test('Firefox pulls a Docker v2s2 image; the download is the tar; docker loads and runs it, podman loads it', { timeout: 90_000 }, async () => {
  const firefox = await launch('open');
  const reference = rig.fixtures.v2s2;
  await pullInApp(firefox, reference);
  await expectPulled(firefox);
  assert.deepEqual(await layerStates(firefox), ['verified ✓', 'verified ✓', 'verified ✓']);
  assert.match(await firefox.text('#transfer'), /MB of layers transferred \(3 layers\)/);

  const tar = await saveArchive(firefox, 'busybox_v2s2.tar');
  assert.deepEqual(archiveProblems(tar), []);
  const entries = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }).split('\n');
  for (const name of ['manifest.json', 'index.json', 'oci-layout', 'repositories']) {
    assert.ok(entries.includes(name), `${name} missing from the tar: ${entries}`);
  }
  const manifest = await registryManifest(reference, DOCKER_MANIFEST);
  const loaded = docker(['load', '-i', tar]);
  assert.match(loaded, new RegExp(`Loaded image: ${reference.replace(/[.]/g, '\\.')}\\n`));
  const id = docker(['image', 'inspect', '--format', '{{.Id}}', reference]).trim();
  assert.equal(id, manifest.config.digest, 'docker image ID must equal the config digest');
  assert.equal(docker(['run', '--rm', '--network', 'none', reference]), FIXTURE_OUTPUT);
  docker(['rmi', reference]);
  assert.match(podman(['load', '-i', tar]), new RegExp(`Loaded image: ${reference.replace(/[.]/g, '\\.')}`));
  await quit(firefox);
});

test('the layer cache lives in the on-disk profile: after Firefox restarts, an OCI image sharing the layers transfers none', { timeout: 90_000 }, async () => {
  const firefox = await launch('open', { fresh: false });
  const reference = rig.fixtures.oci;
  await pullInApp(firefox, reference);
  await expectPulled(firefox);
  assert.match(await firefox.text('#transfer'), /No layer bytes were transferred: all 3 layers came from the layer cache/);
  assert.deepEqual(await layerStates(firefox), ['from cache ✓', 'from cache ✓', 'from cache ✓']);
  const tar = await saveArchive(firefox, 'busybox_oci.tar');
  assert.deepEqual(archiveProblems(tar), []);
  const inspect = dockerLoadAndRun(tar, reference, FIXTURE_OUTPUT);
  assert.equal(inspect.Id, (await registryManifest(reference, OCI_MANIFEST)).config.digest);
  await quit(firefox);
});

test("Firefox, Docker Hub's flow through the proxy: anonymous token, blobs 307 to a CDN that rejects Authorization", { timeout: 90_000 }, async () => {
  await rigServices({});
  const firefox = await launch('token');
  const reference = `${rig.tokenRegistry}/skiff/busybox:v2s2`;
  await pullInApp(firefox, reference);
  await expectPulled(firefox);
  const stats = await rigStats();
  assert.ok(stats.tokenRequests >= 1, 'a token was fetched');
  assert.equal(stats.tokenRequestsWithCredentials, 0, 'anonymously');
  assert.equal(stats.cdnRejectedAuthorization, 0, 'Authorization never reached the CDN');
  assert.equal(Object.keys(stats.cdnRequests).length, 4, 'config and 3 layers came from the CDN');
  // The request log says where the blobs really came from.
  const log = await firefox.execute(`return document.querySelector('.exchanges').textContent`);
  assert.match(log, new RegExp(`redirected to ${cdnHost.replace(/[.]/g, '\\.')}`), log);
  // The explorer draws the auth dance in Firefox too.
  const steps = await firefox.execute(`return [...document.querySelectorAll('#auth-dance .dance-step')].map((s) => s.dataset.step)`);
  assert.deepEqual(steps, ['challenge', 'token', 'retry with it']);
  const tar = await saveArchive(firefox, 'busybox_v2s2.tar');
  dockerLoadAndRun(tar, reference, FIXTURE_OUTPUT);
});

test('Firefox, a private repository behind token auth: login asked for, wrong credentials refused, right ones pull', { timeout: 90_000 }, async () => {
  const firefox = await reuse('token');
  const reference = `${rig.tokenRegistry}/skiff/private:latest`;
  await pullInApp(firefox, reference);
  assert.match(await firefox.text('#error'), /Login required[\s\S]*Credentials/);
  assert.ok(await firefox.property('#credentials', 'open'), 'the credentials panel opens');
  await firefox.fill('#username', rig.user);
  await firefox.fill('#password', 'wrong-password');
  await pressPull(firefox);
  assert.match(await firefox.text('#error'), /Wrong credentials[\s\S]*rejected the username or password/);
  await firefox.fill('#password', rig.password);
  await pressPull(firefox);
  await expectPulled(firefox);
  assert.ok((await rigStats()).tokenRequestsWithCredentials >= 1);
  const seen = await firefox.execute(
    'return [document.documentElement.outerHTML, location.href, JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })]');
  for (const [where, text] of [['page', seen[0]], ['URL', seen[1]], ['storage', seen[2]]]) {
    assert.ok(!text.includes(rig.password), `the password shows in the ${where}`);
  }
  const tar = await saveArchive(firefox, 'private_latest.tar');
  dockerLoadAndRun(tar, reference, FIXTURE_OUTPUT);
});

test('Firefox: a bad reference, an unknown tag and a corrupt layer each get a clear error, and no tar', { timeout: 90_000 }, async () => {
  const firefox = await reuse('token');
  await pullInApp(firefox, 'Docker.io/Library/NGINX');
  let message = await firefox.text('#error');
  assert.match(message, /not an image reference/i);
  assert.match(message, /lowercase/);
  assert.equal(await firefox.$('.exchanges'), null, 'no request may be made');
  assert.equal(await firefox.$('#save'), null);

  await pullInApp(firefox, `${rig.registry}/skiff/busybox:no-such-tag`);
  message = await firefox.text('#error');
  assert.match(message, /404/);
  assert.match(message, /MANIFEST_UNKNOWN/);
  assert.equal(await firefox.$('#save'), null);

  await pullInApp(firefox, rig.fixtures.corrupt);
  message = await firefox.text('#error');
  assert.match(message, /digest mismatch/i);
  assert.ok(message.includes(rig.corruptLayer), `the error must name ${rig.corruptLayer}: ${message}`);
  assert.equal(await firefox.$('#save'), null, 'no tar may be offered');
  assert.equal((await firefox.$$('tr.layer.failed')).length, 1);
  await quit(firefox);
});

test('what Firefox cannot do, the app says: no "save to a file I choose"; no layer cache in a private window', { timeout: 60_000 }, async () => {
  let firefox = await launch('limits');
  await openApp(firefox, rig.fixtures.v2s2);
  assert.equal(await firefox.execute('return typeof window.showSaveFilePicker'), 'undefined');
  assert.equal(await firefox.$('#save-to-file'), null, 'the option is not offered where it cannot work');
  assert.match(await firefox.text('#save-to-file-unavailable'), /cannot write into a file you choose[\s\S]*press Save/);
  await quit(firefox);

  // Firefox offers no OPFS in private windows: the app must say so instead of pulling.
  firefox = await launch('private', { prefs: { 'browser.privatebrowsing.autostart': true } });
  await openApp(firefox, rig.fixtures.v2s2);
  await firefox.waitFor('#storage-note');
  assert.match(await firefox.text('#storage-note'), /private window\?\)\. Pull in a normal window/, 'said before any pull');
  await pullInApp(firefox, rig.fixtures.v2s2);
  const message = await firefox.text('#error');
  assert.match(message, /Browser storage problem/);
  assert.match(message, /private file system \(OPFS\)[\s\S]*private window/);
  assert.equal(await firefox.$('#save'), null);
  await quit(firefox);
});
