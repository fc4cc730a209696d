// Benchmark, in one go, on the rig's registry (loopback):
//  1. speed on the SPEED image: `skopeo copy` → docker-archive, `docker pull` + `docker save`,
//     and Skiff (release app, release proxy, headless Chromium with an on-disk profile, as users
//     run it), run after run, printing each Skiff time as a ratio of skopeo's;
//  2. memory on the MEMORY image: Chromium's proportional set size (PSS: shared pages counted
//     once), all processes and the largest, idle and at peak, the layer workers' wasm memory,
//     and the longest task on the page's main thread.
//
// Usage (scripts/bench.sh starts the rig and pushes the images):
//   node tests/bench/pull.mjs SPEED_IMAGE MEMORY_IMAGE [RUNS]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveApp, startProxy, registryManifest, docker } from '../e2e/harness.mjs';
import { chromiumPss, samplePss, launchProfile } from './chromium.mjs';

const [speedImage, memoryImage, runsText = '3'] = process.argv.slice(2);
const RUNS = Number(runsText);
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const mb = (bytes) => bytes / 1e6;
const f = (n, digits = 1) => n.toFixed(digits);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function imageBytes(image) {
  const manifest = await registryManifest(image, OCI_MANIFEST);
  return manifest.layers.reduce((sum, l) => sum + l.size, 0) + manifest.config.size;
}

function seconds(run) {
  const started = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function skopeo(image, dir) {
  const tar = join(dir, 'skopeo.tar');
  rmSync(tar, { force: true });
  return seconds(() => execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false',
    `docker://${image}`, `docker-archive:${tar}:${image}`], { stdio: 'ignore' }));
}

function dockerPullSave(image, dir) {
  const tar = join(dir, 'docker.tar');
  rmSync(tar, { force: true });
  try {
    return seconds(() => {
      docker(['pull', '--quiet', image]);
      docker(['save', '-o', tar, image]);
    });
  } finally {
    try { docker(['rmi', '-f', image]); } catch {}
  }
}

/** One Skiff pull and save in a fresh on-disk profile; times, memory and main-thread tasks. */
async function skiff(app, proxy, image, { measureMemory = false, chosenFile = false } = {}) {
  const { profile, downloads, context } = await launchProfile();
  try {
    const page = context.pages()[0] ?? await context.newPage();
    if (process.env.BENCH_SETTINGS) {
      // Engine settings to compare (see src/services/prefs.rs), e.g. '{"parallelLayers": 2}'.
      await page.addInitScript((json) => localStorage.setItem('skiff.settings', json), process.env.BENCH_SETTINGS);
    }
    await page.addInitScript(() => {
      window.longTasks = [];
      new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => e.duration)))
        .observe({ type: 'longtask', buffered: true });
    });
    await page.goto(`${app.url}/#/?image=${encodeURIComponent(image)}`);
    await page.waitForSelector('#image');
    await page.fill('#proxy', proxy.url);
    if (chosenFile) {
      // The same code as after the native save picker, with an OPFS file in its place.
      await page.evaluate(async () => {
        const dir = await navigator.storage.getDirectory();
        window.__skiffSaveTargetForTests = await dir.getFileHandle('chosen.tar', { create: true });
      });
      await page.check('#save-to-file');
    }
    await new Promise((ok) => setTimeout(ok, 1000));
    const idle = chromiumPss(profile);
    const memory = samplePss(profile);
    await page.evaluate(() => { window.longTasks = []; });
    const started = Date.now();
    await page.click('#pull');
    await page.waitForSelector('#save, #saved, #error', { timeout: 30 * 60_000 });
    const pullSeconds = (Date.now() - started) / 1000;
    const pullPeak = memory.mark();
    const error = await page.$('#error');
    if (error) throw new Error(`the pull failed: ${await error.innerText()}`);
    let tarBytes;
    if (chosenFile) {
      tarBytes = await page.evaluate(async () => {
        const dir = await navigator.storage.getDirectory();
        return (await (await dir.getFileHandle('chosen.tar')).getFile()).size;
      });
    } else {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
      // Resolves when the browser has finished writing the file where the user gets it (a
      // `saveAs` would add a copy of our own to the time).
      tarBytes = statSync(await download.path()).size;
    }
    const totalSeconds = (Date.now() - started) / 1000;
    const savePeak = memory.stop();
    const longestTask = Math.max(0, ...(await page.evaluate(() => window.longTasks)));
    const workerMemory = await page.$eval('#worker-memory', (e) => e.textContent).catch(() => '');
    return {
      pullSeconds,
      totalSeconds,
      tarMegabytes: mb(tarBytes),
      idle,
      pullPeak,
      savePeak,
      longestTask,
      workerMemory: /at most (.+) of memory/.exec(workerMemory)?.[1] ?? '?',
      measured: measureMemory,
    };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(downloads, { recursive: true, force: true });
  }
}

const app = await serveApp();
const proxy = await startProxy();
const work = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
const speedBytes = await imageBytes(speedImage);
const machine = `${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores, ` +
  `${f(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))[1]) / 1048576, 0)} GiB, ` +
  `${execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim()}`;

console.log(`\nMachine: ${machine}`);
console.log(`Speed image: ${f(mb(speedBytes))} MB (${speedImage}), ${RUNS} runs, paired run by run\n`);
console.log('| run | skopeo copy → docker-archive | docker pull + save | Skiff: layers verified and stored | Skiff: downloaded file finished | Skiff: written into a chosen file |');
console.log('|---|---|---|---|---|---|');
const rows = [];
for (let run = 1; run <= RUNS; run++) {
  const s = skopeo(speedImage, work);
  const d = dockerPullSave(speedImage, work);
  const k = await skiff(app, proxy, speedImage);
  const c = await skiff(app, proxy, speedImage, { chosenFile: true });
  rows.push({ s, d, k, c });
  console.log(`| ${run} | ${f(s)} s | ${f(d)} s (${f(d / s, 2)}×) | ${f(k.pullSeconds)} s (${f(k.pullSeconds / s, 2)}×) | ` +
    `${f(k.totalSeconds)} s (${f(k.totalSeconds / s, 2)}×) | ${f(c.totalSeconds)} s (${f(c.totalSeconds / s, 2)}×) |`);
}
if (rows.length) {
  const ratio = (pick) => median(rows.map((r) => pick(r) / r.s));
  console.log(`| median ratio | 1.00× | ${f(ratio((r) => r.d), 2)}× | ${f(ratio((r) => r.k.pullSeconds), 2)}× | ` +
    `${f(ratio((r) => r.k.totalSeconds), 2)}× | ${f(ratio((r) => r.c.totalSeconds), 2)}× |`);
  console.log(`Longest main-thread task while pulling: ${f(Math.max(...rows.map((r) => r.k.longestTask)), 0)} ms; ` +
    `layer workers' wasm memory: ${rows.map((r) => r.k.workerMemory).join(', ')}`);
}

console.log('\n| image | Chromium PSS idle (all / largest) | peak while pulling (all / largest) | the pull costs | peak while saving the download (all / largest) | the save costs | worker wasm memory | longest task |');
console.log('|---|---|---|---|---|---|---|---|');
for (const image of [speedImage, memoryImage].filter(Boolean)) {
  const k = await skiff(app, proxy, image, { measureMemory: true });
  const bytes = await imageBytes(image);
  console.log(`| ${f(mb(bytes) / 1000, 2)} GB | ${f(mb(k.idle.total), 0)} / ${f(mb(k.idle.largest), 0)} MB | ` +
    `${f(mb(k.pullPeak.total), 0)} / ${f(mb(k.pullPeak.largest), 0)} MB (${k.pullPeak.largestKind}) | ${f(mb(k.pullPeak.total - k.idle.total), 0)} MB | ` +
    `${f(mb(k.savePeak.total), 0)} / ${f(mb(k.savePeak.largest), 0)} MB | ${f(mb(k.savePeak.total - k.idle.total), 0)} MB | ` +
    `${k.workerMemory} | ${f(k.longestTask, 0)} ms |`);
}
rmSync(work, { recursive: true, force: true });
proxy.close();
app.close();
