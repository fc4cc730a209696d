// Where one pull's time goes: each request's start and end relative to the click, the CPU
// seconds every process spent (registry, proxy, each Chromium process), and the page thread's
// task time. For finding the next bottleneck; scripts/bench.sh gives the numbers that count.
//
//   SKIFF_RIG_DIR=… SKIFF_PROXY_BIN=target/release/skiff-proxy node tests/bench/timeline.mjs IMAGE
// BENCH_SETTINGS='{"parallelLayers": 2}' runs with other engine settings (src/services/prefs.rs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, serveApp, startProxy } from '../e2e/harness.mjs';
import { cpuByKind, cpuSpent } from './chromium.mjs';

const image = process.argv[2];

const app = await serveApp();
const proxy = await startProxy();
const profile = mkdtempSync(join(tmpdir(), 'skiff-timeline-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
});
try {
  const page = context.pages()[0] ?? await context.newPage();
  if (process.env.BENCH_SETTINGS) {
    await page.addInitScript((json) => localStorage.setItem('skiff.settings', json), process.env.BENCH_SETTINGS);
  }
  await page.goto(`${app.url}/#/?image=${encodeURIComponent(image)}`);
  await page.waitForSelector('#image');
  await page.fill('#proxy', proxy.url);
  await new Promise((ok) => setTimeout(ok, 1000));
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () =>
    Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));

  let clicked = 0;
  const at = () => ((Date.now() - clicked) / 1000).toFixed(2);
  context.on('request', (r) => console.log(at(), 'start', r.url()));
  context.on('requestfinished', (r) => console.log(at(), 'done ', r.url()));
  const cpuBefore = cpuByKind({ split: true });
  const pageBefore = await metrics();
  clicked = Date.now();
  await page.click('#pull');
  await page.waitForSelector('#save, #saved, #error', { timeout: 30 * 60_000 });
  console.log(at(), 'ready');
  const cpuAfter = cpuByKind({ split: true });
  const pageAfter = await metrics();
  for (const [kind, spent] of Object.entries(cpuSpent(cpuBefore, cpuAfter))) {
    console.log('cpu', kind, spent.toFixed(2), 's');
  }
  for (const name of ['TaskDuration', 'ScriptDuration', 'LayoutDuration', 'TaskOtherDuration']) {
    console.log('page thread', name, (pageAfter[name] - pageBefore[name]).toFixed(2), 's');
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  proxy.close();
  app.close();
}
