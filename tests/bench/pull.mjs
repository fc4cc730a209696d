// Benchmark, in one go, on the rig's registry (loopback):
//  1. speed on the SPEED image: `skopeo copy` → docker-archive, `docker pull` + `docker save`,
//     and Skiff (release app, release proxy, headless Chromium with an on-disk profile, as users
//     run it), run after run, printing each Skiff time as a ratio of skopeo's;
//     with the CPU seconds per GB each process spent (renderer, network, proxy, registry,
//     skopeo) and which SHA-256 checked each layer; the same again for a REALISTIC image
//     (layer sizes like a common base image's);
//  2. memory on the MEMORY image: Chromium's proportional set size (PSS: shared pages counted
//     once), all processes and the largest, idle and at peak, the layer workers' wasm memory,
//     and the longest task on the page's main thread.
//
// Usage (scripts/bench.sh starts the rig and pushes the images):
//   node tests/bench/pull.mjs SPEED_IMAGE MEMORY_IMAGE [RUNS] [REALISTIC_IMAGE]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveApp, startProxy, registryManifest, docker } from '../e2e/harness.mjs';
import { chromiumPss, samplePss, launchProfile, cpuByKind, cpuSpent } from './chromium.mjs';

const [speedImage, memoryImage, runsText = '3', realisticImage] = process.argv.slice(2);
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

/** `skopeo copy` → docker-archive: its time, and the CPU seconds of skopeo and the rest. */
function skopeo(image, dir) {
  const tar = join(dir, 'skopeo.tar');
  rmSync(tar, { force: true });
  const before = cpuByKind();
  let times = '';
  // bash's `times` prints its children's user and system time: skopeo's, once it has ended.
  const elapsed = seconds(() => {
    times = execFileSync('bash', ['-c', 'skopeo copy --quiet --src-tls-verify=false "$1" "$2" >/dev/null; times',
      'bench', `docker://${image}`, `docker-archive:${tar}:${image}`], { encoding: 'utf8' });
  });
  const cpu = cpuSpent(before, cpuByKind());
  const [user, sys] = [...times.trim().split('\n').pop().matchAll(/(\d+)m([\d.]+)s/g)]
    .map(([, m, sec]) => Number(m) * 60 + Number(sec));
  cpu.skopeo = user + sys;
  return { seconds: elapsed, cpu };
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
      new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => [e.startTime, e.duration])))
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
    // Entries reach the observer late: the app's start (a ~60–80 ms task while the wasm
    // instantiates and first renders) can arrive after the click. Only tasks that began at or
    // after the click count as the pull's.
    await page.evaluate(() => { window.pullStarted = performance.now(); });
    const started = Date.now();
    const cpuBefore = cpuByKind();
    await page.click('#pull');
    await page.waitForSelector('#save, #saved, #error', { timeout: 30 * 60_000 });
    const pullSeconds = (Date.now() - started) / 1000;
    const cpu = cpuSpent(cpuBefore, cpuByKind());
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
    // [ms after the click, duration] of each long task the pull's page had.
    const longTasks = await page.evaluate(() => window.longTasks
      .filter(([start]) => start >= window.pullStarted)
      .map(([start, duration]) => [Math.round(start - window.pullStarted), Math.round(duration)]));
    if (longTasks.length) console.log(`  long tasks after the click ([ms after it, ms]): ${JSON.stringify(longTasks)}`);
    const longestTask = Math.max(0, ...longTasks.map(([, duration]) => duration));
    const workerMemory = await page.$eval('#worker-memory', (e) => e.textContent).catch(() => '');
    const hashedBy = await page.$$eval('tr.layer .state', (cells) => cells.map((c) => c.dataset.hashedBy ?? 'cache'));
    return {
      cpu,
      hashedBy,
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
const machine = `${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores, ` +
  `${f(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))[1]) / 1048576, 0)} GiB, ` +
  `${execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim()}`;

console.log(`\nMachine: ${machine}`);

/** CPU kinds as the tables name them; the rest is summed under "other". */
const CPU_KINDS = [['renderer', 'renderer (page + workers)'], ['network', 'network'], ['storage', 'storage'],
  ['browser', 'browser'], ['gpu-process', 'gpu'], ['skiff-proxy', 'proxy'], ['docker-registry', 'registry'],
  ['skopeo', 'skopeo']];

function cpuPerGb(spent, gb) {
  const row = {};
  let total = 0;
  for (const [kind, seconds] of Object.entries(spent)) {
    // The benchmark's own node (Playwright) and the rig's services are not part of either tool.
    if (kind === 'node' || kind === 'bash') continue;
    const named = CPU_KINDS.find(([k]) => k === kind)?.[1] ?? 'other';
    row[named] = (row[named] ?? 0) + seconds / gb;
    total += seconds / gb;
  }
  row.total = total;
  return row;
}

async function speedRuns(image, label) {
  if (!RUNS) return;
  const bytes = await imageBytes(image);
  const gb = mb(bytes) / 1000;
  console.log(`\n${label}: ${f(mb(bytes))} MB (${image}), ${RUNS} runs, paired run by run\n`);
  console.log('| run | skopeo copy → docker-archive | docker pull + save | Skiff: layers verified and stored | Skiff: downloaded file finished | Skiff: written into a chosen file |');
  console.log('|---|---|---|---|---|---|');
  const rows = [];
  for (let run = 1; run <= RUNS; run++) {
    const sk = skopeo(image, work);
    const s = sk.seconds;
    const d = dockerPullSave(image, work);
    const k = await skiff(app, proxy, image);
    const c = await skiff(app, proxy, image, { chosenFile: true });
    rows.push({ s, d, k, c, skopeoCpu: cpuPerGb(sk.cpu, gb), skiffCpu: cpuPerGb(k.cpu, gb), chosenCpu: cpuPerGb(c.cpu, gb) });
    console.log(`| ${run} | ${f(s)} s | ${f(d)} s (${f(d / s, 2)}×) | ${f(k.pullSeconds)} s (${f(k.pullSeconds / s, 2)}×) | ` +
      `${f(k.totalSeconds)} s (${f(k.totalSeconds / s, 2)}×) | ${f(c.totalSeconds)} s (${f(c.totalSeconds / s, 2)}×) |`);
  }
  const ratios = (pick) => rows.map((r) => pick(r) / r.s);
  const spread = (values) => `${f(median(values), 2)}× (${f(Math.min(...values), 2)}–${f(Math.max(...values), 2)})`;
  console.log(`| median ratio (spread) | 1.00× | ${spread(ratios((r) => r.d))} | ${spread(ratios((r) => r.k.pullSeconds))} | ` +
    `${spread(ratios((r) => r.k.totalSeconds))} | ${spread(ratios((r) => r.c.totalSeconds))} |`);
  console.log(`\nLongest main-thread task while pulling: ${f(Math.max(...rows.map((r) => r.k.longestTask)), 0)} ms; ` +
    `layer workers' wasm memory: ${rows.map((r) => r.k.workerMemory).join(', ')}`);
  const backends = {};
  for (const by of rows[0].k.hashedBy) backends[by] = (backends[by] ?? 0) + 1;
  console.log(`Layers checked by: ${Object.entries(backends).map(([b, n]) => `${b} ${n}`).join(', ')} ` +
    `(layer by layer: ${rows[0].k.hashedBy.join(', ')})`);
  // CPU seconds per GB of image, each process's median over the runs.
  const names = [...new Set(rows.flatMap((r) => [...Object.keys(r.skopeoCpu), ...Object.keys(r.skiffCpu)]))]
    .sort((a, b) => (a === 'total') - (b === 'total'));
  console.log('\n| CPU-s per GB (median) | skopeo run | Skiff run (pull) | Skiff run (into a chosen file) |');
  console.log('|---|---|---|---|');
  for (const name of names) {
    const cell = (pick) => {
      const values = rows.map(pick).filter((v) => v !== undefined);
      return values.length ? f(median(values), 2) : '–';
    };
    console.log(`| ${name} | ${cell((r) => r.skopeoCpu[name])} | ${cell((r) => r.skiffCpu[name])} | ${cell((r) => r.chosenCpu[name])} |`);
  }
}

await speedRuns(speedImage, 'Speed image');
if (realisticImage) await speedRuns(realisticImage, 'Realistic image (layer sizes like node:20\'s)');

console.log('\n| image | Chromium PSS idle (all / largest) | peak while pulling (all / largest) | the pull costs | peak while saving the download (all / largest) | the save costs | worker wasm memory | longest task |');
console.log('|---|---|---|---|---|---|---|---|');
const memoryRuns = [speedImage, realisticImage, memoryImage].filter(Boolean).map((image) => [image, false]);
// The chosen file's bytes pass through the page: its memory too, on the largest image.
memoryRuns.push([memoryImage || speedImage, true]);
for (const [image, chosenFile] of memoryRuns) {
  const k = await skiff(app, proxy, image, { measureMemory: true, chosenFile });
  const bytes = await imageBytes(image);
  console.log(`| ${f(mb(bytes) / 1000, 2)} GB${chosenFile ? ', into a chosen file' : ''} | ${f(mb(k.idle.total), 0)} / ${f(mb(k.idle.largest), 0)} MB | ` +
    `${f(mb(k.pullPeak.total), 0)} / ${f(mb(k.pullPeak.largest), 0)} MB (${k.pullPeak.largestKind}) | ${f(mb(k.pullPeak.total - k.idle.total), 0)} MB | ` +
    // A chosen file has no save step: the file is whole when the pull ends.
    (chosenFile ? '– | – | ' : `${f(mb(k.savePeak.total), 0)} / ${f(mb(k.savePeak.largest), 0)} MB | ${f(mb(k.savePeak.total - k.idle.total), 0)} MB | `) +
    `${k.workerMemory} | ${f(k.longestTask, 0)} ms |`);
}
rmSync(work, { recursive: true, force: true });
proxy.close();
app.close();
