// The pull engine: layers in workers, a layer cache that makes a second pull free, resuming a
// pull that a reload interrupted, limits checked before downloading, and a page that stays
// responsive while layers stream.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  rig, outDir, newPage, saveArchive, expectPulled, rigServices, rigStats, dockerLoadAndRun,
  FIXTURE_OUTPUT, useSuite, root, archiveProblems,
} from './harness.mjs';

const cdnHost = new URL(rig.cdn).host;
const suite = useSuite(['--allow-host', rig.relay, '--allow-host', rig.tokenRegistry,
  '--allow-host', new URL(rig.tokenService).host, '--allow-host', cdnHost]);

afterEach(() => rigServices({}));

const viaRelay = rig.fixtures.v2s2.replace(rig.registry, rig.relay);
const viaCdn = rig.fixtures.v2s2.replace(rig.registry, rig.tokenRegistry);

async function openApp(page, image) {
  await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(image)}`);
  await page.waitForSelector('#image');
  await page.fill('#proxy', suite.proxy.url);
}

async function pull(page) {
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
}

const blobRequests = (stats) => Object.entries(stats.relayRequests)
  .filter(([path]) => path.includes('/blobs/'))
  .reduce((sum, [, n]) => sum + n, 0);

test('a second pull of the same image transfers no layer bytes, and says so', async () => {
  await rigServices({});
  const page = await newPage(suite.browser);
  await openApp(page, viaRelay);
  await pull(page);
  await expectPulled(page);
  assert.match(await page.innerText('#transfer'), /MB of layers transferred \(3 layers\)/);
  const first = blobRequests(await rigStats());
  assert.equal(first, 4, 'the config and 3 layers');

  await rigServices({});
  await pull(page);
  await expectPulled(page);
  assert.match(await page.innerText('#transfer'), /No layer bytes were transferred: all 3 layers came from the layer cache/);
  assert.equal(blobRequests(await rigStats()), 1, 'only the config was fetched again');
  const states = await page.$$eval('.layer .state', (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(states, ['from cache ✓', 'from cache ✓', 'from cache ✓']);
  const tar = await saveArchive(page, 'busybox_v2s2.tar');
  dockerLoadAndRun(tar, viaRelay, FIXTURE_OUTPUT);

  // Clearing the cache: the next pull fetches every layer again.
  await page.click('#cache summary');
  assert.match(await page.innerText('#cache-summary'), /3 layers/);
  await page.click('#clear-cache');
  await page.waitForFunction(() => /— 0 layers/.test(document.querySelector('#cache-summary').textContent));
  await rigServices({});
  await pull(page);
  await expectPulled(page);
  assert.equal(blobRequests(await rigStats()), 4, 'every layer fetched again');
  await page.context().close();
});

test('reloading mid-pull resumes: finished layers are not fetched again, the partial one continues', async () => {
  // Slow enough to reload while the 1 MB layer is part way.
  await rigServices({ cdnBytesPerSecond: 150_000 });
  const page = await newPage(suite.browser);
  await openApp(page, viaCdn);
  await page.click('#pull');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('.layer')];
    const done = rows.filter((r) => r.classList.contains('verified')).length;
    const partial = rows.some((r) => r.classList.contains('downloading') && /[1-9]\d\d\.\d kB \//.test(r.textContent));
    return done === 2 && partial;
  }, null, { timeout: 60_000 });
  await page.reload();
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  assert.match(await page.innerText('#transfer'), /2 of 3 layers came from the layer cache/);

  const stats = await rigStats();
  const layerPaths = Object.keys(stats.cdnRequests);
  const counts = Object.values(stats.cdnRequests).sort();
  // The config is fetched by both page loads; each small layer once; the big one twice.
  assert.deepEqual(counts, [1, 1, 2, 2], JSON.stringify(stats.cdnRequests));
  const ranges = Object.values(stats.cdnRanges).flat();
  assert.equal(ranges.length, 1, `one resumed request: ${JSON.stringify(stats.cdnRanges)}`);
  assert.match(ranges[0], /^bytes=[1-9]\d{5,}-$/, 'continued after the bytes kept before the reload');
  assert.ok(layerPaths.length === 4);
  const tar = await saveArchive(page, 'busybox_v2s2.tar');
  dockerLoadAndRun(tar, viaCdn, FIXTURE_OUTPUT);
  await page.context().close();
});

test('during a pull the page answers a click at once, and a screenshot can be taken', async () => {
  await rigServices({ cdnBytesPerSecond: 300_000 });
  const page = await newPage(suite.browser);
  await openApp(page, viaCdn);
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => e.duration)))
      .observe({ type: 'longtask' });
  });
  await page.click('#pull');
  await page.waitForSelector('.layer.downloading');
  const reactions = [];
  for (let i = 0; i < 5; i++) {
    reactions.push(await page.evaluate(() => new Promise((done) => {
      const started = performance.now();
      document.querySelector('#cache summary').click();
      requestAnimationFrame(() => done(performance.now() - started));
    })));
    await new Promise((ok) => setTimeout(ok, 200));
  }
  assert.ok(Math.max(...reactions) < 100, `reactions: ${reactions.map((r) => r.toFixed(0)).join(', ')} ms`);
  await page.screenshot({ path: join(outDir, 'mid-pull.png'), fullPage: true, timeout: 10_000 });
  await page.screenshot({ path: join(root, 'docs/screenshot-mid-pull.png'), timeout: 10_000 });
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  const longTasks = await page.evaluate(() => window.longTasks);
  assert.ok(longTasks.every((d) => d < 200), `long tasks: ${longTasks}`);
  await page.context().close();
});

test('an image larger than the free browser storage is refused before any layer is fetched', async () => {
  await rigServices({});
  const page = await newPage(suite.browser);
  // Chromium enforces a quota set over CDP but does not report it through
  // navigator.storage.estimate(); this page's estimate says what such a browser would.
  await page.addInitScript(() => {
    navigator.storage.estimate = async () => ({ quota: 200_000, usage: 0 });
  });
  await openApp(page, viaRelay);
  await pull(page);
  assert.match(await page.innerText('#error'), /needs 2 MB of browser storage but only 0 MB are free/);
  assert.equal(await page.$('#save'), null);
  assert.equal(blobRequests(await rigStats()), 1, 'only the config was fetched');
  await page.context().close();
});

test('with layers stored uncompressed, the quota check counts what they expand to', async () => {
  await rigServices({});
  const page = await newPage(suite.browser);
  // 1.6 MB free: the image fits as downloaded (1.1 MB), not uncompressed (busybox is ~2 MB).
  await page.addInitScript(() => {
    navigator.storage.estimate = async () => ({ quota: 1_600_000, usage: 0 });
  });
  await openApp(page, viaRelay);
  await page.check('#uncompressed');
  await pull(page);
  assert.match(await page.innerText('#error'), /needs [2-9] MB of browser storage but only 1 MB are free/);
  const notes = await page.$$eval('.exchanges li', (items) => items.map((li) => li.textContent));
  assert.ok(notes.some((n) => /layer size probe/.test(n)), 'the gzip trailers were asked for');
  await page.check('#as-downloaded');
  await pull(page);
  await expectPulled(page);
  await page.context().close();
});

test('a quota the browser enforces mid-pull fails clearly, and no tar is offered', async () => {
  await rigServices({});
  const page = await newPage(suite.browser);
  await openApp(page, viaRelay);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: suite.app.url, quotaSize: 200_000 });
  await pull(page);
  assert.match(await page.innerText('#error'), /storage quota \(or the disk\) is full/);
  assert.equal(await page.$('#save'), null);
  await page.context().close();
});

test('an image larger than the layer cache limit is refused before any layer is fetched', async () => {
  await rigServices({});
  const page = await newPage(suite.browser);
  await page.goto(`${suite.app.url}/`);
  await page.evaluate(() => localStorage.setItem('skiff.settings', JSON.stringify({ cacheCapBytes: 1_000_000 })));
  await openApp(page, viaRelay);
  await pull(page);
  assert.match(await page.innerText('#error'), /layer cache is limited to 1048576 bytes[\s\S]*raise the limit under Layer cache/);
  assert.equal(blobRequests(await rigStats()), 1, 'only the config was fetched');
  await page.context().close();
});

/** Hands the app an OPFS file in place of the native save picker (no headless browser can
 *  drive it); the app's code after the picker is the same. */
async function chooseFile(page, name, content = '') {
  await page.evaluate(async ({ name, content }) => {
    const dir = await navigator.storage.getDirectory();
    const handle = await dir.getFileHandle(name, { create: true });
    const writable = await handle.createWritable();
    await writable.write(content);
    await writable.close();
    window.__skiffSaveTargetForTests = handle;
  }, { name, content });
}

async function chosenFileText(page, name) {
  return page.evaluate(async (name) => {
    const dir = await navigator.storage.getDirectory();
    return (await (await dir.getFileHandle(name)).getFile()).text();
  }, name);
}

/** The blobs the layer cache holds (its committed files). */
async function cachedBlobs(page) {
  return page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const names = [];
    try {
      const blobs = await (await root.getDirectoryHandle('skiff-cache')).getDirectoryHandle('blobs');
      for await (const name of blobs.keys()) names.push(name);
    } catch { /* no cache yet */ }
    return names;
  });
}

async function pullIntoChosenFile(page, name, { keepInCache }) {
  await page.check('#save-to-file');
  await page.setChecked('#cache-chosen-file', keepInCache);
  await page.click('#pull');
  await page.waitForSelector('#saved, #error', { timeout: 120_000 });
}

async function expectChosenFileLoads(page, name) {
  assert.match(await page.innerText('#saved'), new RegExp(`Saved into ${name.replace('.', '\\.')} \\(\\d`));
  assert.equal(await page.$('#save'), null, 'no download step');
  const [download] = await Promise.all([page.waitForEvent('download'), page.evaluate(async (name) => {
    const dir = await navigator.storage.getDirectory();
    const file = await (await dir.getFileHandle(name)).getFile();
    Object.assign(document.createElement('a'), { href: URL.createObjectURL(file), download: name }).click();
  }, name)]);
  const tar = join(outDir, name);
  await download.saveAs(tar);
  assert.deepEqual(archiveProblems(tar), []);
  dockerLoadAndRun(tar, viaRelay, FIXTURE_OUTPUT);
}

test('saving straight into a chosen file: written once as the layers stream, or also kept in the cache; a failed pull leaves that file as it was', async () => {
  await rigServices({});
  const page = await newPage(suite.browser);
  await openApp(page, viaRelay);

  // The default: each layer's bytes go into the file as they stream, and nowhere else.
  await chooseFile(page, 'once.tar');
  await pullIntoChosenFile(page, 'once.tar', { keepInCache: false });
  await expectPulled(page);
  await expectChosenFileLoads(page, 'once.tar');
  assert.deepEqual(await cachedBlobs(page), [], 'written once: nothing in the layer cache');

  // Also kept: the file is the same archive, and the cache holds every layer.
  await chooseFile(page, 'kept-too.tar');
  await pullIntoChosenFile(page, 'kept-too.tar', { keepInCache: true });
  await expectPulled(page);
  await expectChosenFileLoads(page, 'kept-too.tar');
  const cached = await cachedBlobs(page);
  assert.ok(cached.length >= 2, `the cache holds the layers: ${cached}`);
  assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('skiff.settings')).cacheChosenFile), true,
    'the choice is remembered');

  // Written once again: the layers now come from the cache into the file.
  await chooseFile(page, 'from-cache.tar');
  await pullIntoChosenFile(page, 'from-cache.tar', { keepInCache: false });
  await expectChosenFileLoads(page, 'from-cache.tar');

  // A corrupt layer, in either mode: its bytes went into the browser's copy of the file as
  // they streamed, yet the pull fails and the chosen file keeps what it held.
  for (const keepInCache of [false, true]) {
    await openApp(page, rig.fixtures.corrupt);
    await chooseFile(page, 'kept.tar', 'what the file held before');
    await pullIntoChosenFile(page, 'kept.tar', { keepInCache });
    assert.match(await page.innerText('#error'), /digest mismatch/i);
    assert.equal(await chosenFileText(page, 'kept.tar'), 'what the file held before');
  }
  await page.context().close();
});
