// Benchmark: pulls a large image with the real app in headless Chromium, through the real
// proxy, from the rig's registry, and reports throughput and Chromium's peak memory; curl
// through the same proxy and straight from the registry give the baselines.
//
// Run by scripts/bench.sh, which starts the rig and pushes the image.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveApp, startProxy, launchBrowser, newPage, registryManifest } from '../e2e/harness.mjs';

const image = process.argv[2];
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const mb = (bytes) => bytes / 1e6;

/** Peak resident memory of this benchmark's Chromium, sampled every 200 ms. */
function sampleChromium(browserPid) {
  const peak = { total: 0, renderer: 0 };
  const timer = setInterval(() => {
    let table;
    try {
      table = execFileSync('ps', ['-eo', 'pid=,ppid=,rss=,args='], { encoding: 'utf8', maxBuffer: 16 << 20 });
    } catch {
      return;
    }
    const rows = table.split('\n').filter(Boolean).map((line) => {
      const [pid, ppid, rss, ...args] = line.trim().split(/\s+/);
      return { pid: +pid, ppid: +ppid, rss: +rss * 1024, args: args.join(' ') };
    });
    // The browser process and everything below it.
    const ours = new Set([browserPid]);
    for (let grew = true; grew;) {
      grew = false;
      for (const row of rows) if (ours.has(row.ppid) && !ours.has(row.pid)) { ours.add(row.pid); grew = true; }
    }
    const mine = rows.filter((r) => ours.has(r.pid));
    peak.total = Math.max(peak.total, mine.reduce((sum, r) => sum + r.rss, 0));
    peak.renderer = Math.max(peak.renderer, ...mine.filter((r) => r.args.includes('--type=renderer')).map((r) => r.rss), 0);
  }, 200);
  return { peak, stop: () => clearInterval(timer) };
}

function curlSeconds(urls) {
  const started = process.hrtime.bigint();
  for (const url of urls) execFileSync('curl', ['-sf', '-o', '/dev/null', url]);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const manifest = await registryManifest(image, OCI_MANIFEST);
const bytes = manifest.layers.reduce((sum, l) => sum + l.size, 0) + manifest.config.size;
const [, registry, repo] = image.match(/^([^/]+)\/(.+):[^:]+$/);
const blobUrls = [manifest.config, ...manifest.layers].map((d) => `http://${registry}/v2/${repo}/blobs/${d.digest}`);

const app = await serveApp();
const proxy = await startProxy();
const results = { image, megabytes: mb(bytes), runs: [] };
results.curlDirectSeconds = curlSeconds(blobUrls);
results.curlProxySeconds = curlSeconds(blobUrls.map((u) => `${proxy.url}${u}`));

for (const mode of ['as-downloaded', 'uncompressed']) {
  const browser = await launchBrowser();
  const browserPid = browser._connection?._transport?._process?.pid
    ?? Number(execFileSync('pgrep', ['-n', '-f', 'chromium.*--remote-debugging-pipe'], { encoding: 'utf8' }).trim());
  const page = await newPage(browser);
  await page.goto(`${app.url}/#/?image=${encodeURIComponent(image)}`);
  await page.waitForSelector('#image');
  await page.fill('#proxy', proxy.url);
  await page.check(`#${mode}`);
  const memory = sampleChromium(browserPid);
  const started = Date.now();
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 30 * 60_000 });
  const pullSeconds = (Date.now() - started) / 1000;
  const error = await page.$('#error');
  if (error) throw new Error(`the pull failed: ${await error.innerText()}`);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
  const saveStarted = Date.now();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  const tar = join(dir, 'bench.tar');
  await download.saveAs(tar);
  const saveSeconds = (Date.now() - saveStarted) / 1000;
  memory.stop();
  results.runs.push({
    mode,
    pullSeconds,
    pullMBps: mb(bytes) / pullSeconds,
    saveSeconds,
    tarMegabytes: mb(statSync(tar).size),
    peakChromiumMB: mb(memory.peak.total),
    peakRendererMB: mb(memory.peak.renderer),
  });
  rmSync(dir, { recursive: true, force: true });
  await browser.close();
}
proxy.close();
app.close();

const f = (n) => n.toFixed(1);
console.log(`\nImage: ${f(results.megabytes)} MB in ${manifest.layers.length} layers (${image})`);
console.log(`curl straight from the registry: ${f(results.curlDirectSeconds)} s (${f(results.megabytes / results.curlDirectSeconds)} MB/s)`);
console.log(`curl through skiff-proxy:        ${f(results.curlProxySeconds)} s (${f(results.megabytes / results.curlProxySeconds)} MB/s)\n`);
console.log('| layers stored | pull + verify | throughput | save | tar size | peak Chromium RSS | peak renderer RSS |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results.runs) {
  console.log(`| ${r.mode} | ${f(r.pullSeconds)} s | ${f(r.pullMBps)} MB/s | ${f(r.saveSeconds)} s | ${f(r.tarMegabytes)} MB | ${f(r.peakChromiumMB)} MB | ${f(r.peakRendererMB)} MB |`);
}
console.log(`\nJSON: ${JSON.stringify(results)}`);
