// Benchmark of copying between registries and pushing an archive, on the rig (loopback):
//  - `skopeo copy` registry to registry against Skiff's copy;
//  - `skopeo copy docker-archive:` → registry against Skiff pushing the same archive file;
// each (release app and proxy, headless Chromium on an on-disk profile) into a repository of
// its own behind the rig's relay (another host, so no blob is mounted: every byte goes
// through), with Chromium's PSS at peak, to show memory stays flat whatever the image's size,
// and each process's CPU seconds per GB. The first image runs PUSH_RUNS times (default 3), paired
// run by run with skopeo; the others once.
//
// Usage (scripts/bench.sh starts the rig and pushes the images):
//   node tests/bench/push.mjs IMAGE [IMAGE ...]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rig, serveApp, startProxy, registryManifest } from '../e2e/harness.mjs';
import { chromiumPss, samplePss, launchProfile, cpuByKind, cpuSpent } from './chromium.mjs';

const images = process.argv.slice(2);
const mb = (bytes) => bytes / 1e6;
const f = (n, digits = 1) => n.toFixed(digits);
const run = Date.now().toString(36);

async function imageBytes(image) {
  const manifest = await registryManifest(image, 'application/vnd.oci.image.manifest.v1+json');
  return manifest.layers.reduce((sum, l) => sum + l.size, 0) + manifest.config.size;
}

function skopeoCopy(source, target) {
  // skopeo's blob-info cache remembers where an earlier run put the blobs and mounts them from
  // there, moving no bytes: it is cleared first (root keeps it in /var/lib/containers/cache).
  for (const dir of ['/var/lib/containers/cache', join(homedir(), '.local/share/containers/cache')]) {
    for (const file of ['blob-info-cache-v1.boltdb', 'blob-info-cache-v1.sqlite']) rmSync(join(dir, file), { force: true });
  }
  const started = process.hrtime.bigint();
  const before = cpuByKind();
  // bash's `times` prints its children's user and system time: skopeo's, once it has ended.
  const times = execFileSync('bash', ['-c', 'skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false "$1" "$2" >/dev/null; times',
    'bench', source, `docker://${target}`], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuSpent(before, cpuByKind());
  cpu.skopeo = [...times.trim().split('\n').pop().matchAll(/(\d+)m([\d.]+)s/g)]
    .reduce((sum, [, m, sec]) => sum + Number(m) * 60 + Number(sec), 0);
  lastCpu.skopeo = cpu;
  return seconds;
}

/** The CPU seconds of the last skopeo run and the last Skiff run, by process. */
const lastCpu = {};

/** Both runs' CPU seconds per GB, by process (the bench's own node left out). */
function cpuLine(bytes) {
  const gb = mb(bytes) / 1000;
  const show = (cpu) => Object.entries(cpu).filter(([k]) => k !== 'node' && k !== 'bash')
    .sort(([, a], [, b]) => b - a).map(([k, v]) => `${k} ${f(v / gb, 2)}`).join(', ');
  return `CPU-s per GB — skopeo run: ${show(lastCpu.skopeo)}; Skiff run: ${show(lastCpu.skiff)}`;
}

/** Skiff in a fresh on-disk profile: `act(page)` starts the work; time and PSS until done. */
async function skiffRun(app, proxy, act) {
  const { profile, downloads, context } = await launchProfile();
  try {
    const page = context.pages()[0] ?? await context.newPage();
    await page.goto(app.url);
    await page.waitForSelector('#image');
    await page.fill('#proxy', proxy.url);
    await page.click('#push summary');
    await new Promise((ok) => setTimeout(ok, 1000));
    const idle = chromiumPss(profile);
    const memory = samplePss(profile);
    const started = Date.now();
    const cpuBefore = cpuByKind();
    await act(page);
    await page.waitForSelector('#push-done, #push-error', { timeout: 60 * 60_000 });
    const seconds = (Date.now() - started) / 1000;
    lastCpu.skiff = cpuSpent(cpuBefore, cpuByKind());
    const peak = memory.stop();
    const error = await page.$('#push-error');
    if (error) throw new Error(`Skiff failed: ${await error.innerText()}`);
    return { seconds, idle, peak, counts: await page.innerText('#push-counts') };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(downloads, { recursive: true, force: true });
  }
}

function row(bytes, skopeoSeconds, k) {
  return `| ${f(mb(bytes) / 1000, 2)} GB | ${f(skopeoSeconds)} s | ${f(k.seconds)} s (${f(k.seconds / skopeoSeconds, 2)}×) | ` +
    `${f(mb(k.idle.total), 0)} / ${f(mb(k.idle.largest), 0)} MB | ${f(mb(k.peak.total), 0)} / ${f(mb(k.peak.largest), 0)} MB (${k.peak.largestKind}) | ` +
    `${f(mb(k.peak.total - k.idle.total), 0)} MB | ${k.counts} |`;
}

const app = await serveApp();
const proxy = await startProxy(['--allow-push', '--allow-origin', app.url, '--allow-host', rig.relay]);
const work = mkdtempSync(join(tmpdir(), 'skiff-bench-push-'));
const header = (what) => {
  console.log(`\n| image | skopeo ${what} | Skiff ${what} | Chromium PSS idle (all / largest) | peak (all / largest) | it costs | Skiff says |`);
  console.log('|---|---|---|---|---|---|---|');
};
// BENCH_ONLY=copy or BENCH_ONLY=push measures one half.
const only = process.env.BENCH_ONLY;
const cpuLines = [];
// The first image is run PAIRED_RUNS times (skopeo, then Skiff, each run), the others once.
const PAIRED_RUNS = Number(process.env.PUSH_RUNS ?? 3);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Runs `pair(n)` → { bytes, s, k } as many times as the image gets; prints rows and the median. */
async function paired(i, pair) {
  const runs = i === 0 ? PAIRED_RUNS : 1;
  const ratios = [];
  for (let n = 0; n < runs; n++) {
    const { bytes, s, k } = await pair(n);
    console.log(row(bytes, s, k));
    cpuLines.push(`${f(mb(bytes) / 1000, 2)} GB, run ${n + 1}: ${cpuLine(bytes)}`);
    ratios.push(k.seconds / s);
  }
  if (runs > 1) {
    console.log(`| median ratio (spread) | | ${f(median(ratios), 2)}× (${f(Math.min(...ratios), 2)}–${f(Math.max(...ratios), 2)}) | | | | |`);
  }
}

if (only !== 'push') header('copy');
for (const [i, image] of only === 'push' ? [] : images.entries()) {
  await paired(i, async (n) => {
    const bytes = await imageBytes(image);
    const s = skopeoCopy(`docker://${image}`, `${rig.relay}/skiff/bench-skopeo-${run}-${i}-${n}:1`);
    const k = await skiffRun(app, proxy, async (page) => {
      await page.fill('#copy-from', image);
      await page.fill('#copy-to', `${rig.relay}/skiff/bench-skiff-${run}-${i}-${n}:1`);
      await page.click('#copy-start');
    });
    return { bytes, s, k };
  });
}
if (only !== 'copy') header('push of an archive');
for (const [i, image] of only === 'copy' ? [] : images.entries()) {
  const bytes = await imageBytes(image);
  const archive = join(work, 'image.tar');
  rmSync(archive, { force: true });
  execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${image}`, `docker-archive:${archive}:${image}`], { stdio: 'ignore' });
  await paired(i, async (n) => {
    const s = skopeoCopy(`docker-archive:${archive}`, `${rig.relay}/skiff/bench-skopeo-push-${run}-${i}-${n}:1`);
    const k = await skiffRun(app, proxy, async (page) => {
      await page.setInputFiles('#push-file', archive);
      await page.fill('#push-target', `${rig.relay}/skiff/bench-skiff-push-${run}-${i}-${n}:1`);
      await page.click('#push-start');
    });
    return { bytes, s, k };
  });
  rmSync(archive, { force: true });
}
console.log(`\n${cpuLines.join('\n')}`);
rmSync(work, { recursive: true, force: true });
proxy.close();
app.close();
