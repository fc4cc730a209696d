// What the page's main thread did in each task over 50 ms during one pull: a Chromium trace
// (CDP Tracing) of a pull, and for every long task after the click its start (ms after the
// click), its length and the longest things inside it (script calls with their function, style,
// layout, paint, garbage collection). For tracing what the benchmark's "longest task" reports.
//
//   SKIFF_RIG_DIR=… SKIFF_PROXY_BIN=target/release/skiff-proxy node tests/bench/long-tasks.mjs IMAGE [chosen]
// `chosen` pulls into a chosen file (an OPFS file in place of the save picker's); otherwise the
// download is saved too; `start` traces the app's start instead (from navigation to the form).
import { rmSync } from 'node:fs';
import { chromium, serveApp, startProxy } from '../e2e/harness.mjs';
import { launchProfile } from './chromium.mjs';

const [image, mode] = process.argv.slice(2);
const chosenFile = mode === 'chosen';
const appStart = mode === 'start';
const CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'v8.execute',
  'blink', 'blink.user_timing', 'toplevel', 'disabled-by-default-v8.gc'].join(',');

const app = await serveApp();
const proxy = await startProxy();
const { profile, downloads, context } = await launchProfile();
try {
  const page = context.pages()[0] ?? await context.newPage();
  if (appStart) {
    // A first visit (no code cache), traced from before the navigation: a browser of its own,
    // since only a whole browser's trace follows a page into the renderer it navigates to.
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu'] });
    const first = await (await browser.newContext()).newPage();
    await browser.startTracing(first, { categories: CATEGORIES.split(',') });
    await first.goto(`${app.url}/#/?image=${encodeURIComponent(image)}`);
    await first.waitForSelector('#image');
    await new Promise((ok) => setTimeout(ok, 1000));
    report(JSON.parse((await browser.stopTracing()).toString()));
    await browser.close();
  } else {
    await page.goto(`${app.url}/#/?image=${encodeURIComponent(image)}`);
    await page.waitForSelector('#image');
    await page.fill('#proxy', proxy.url);
    if (chosenFile) {
      await page.evaluate(async () => {
        const dir = await navigator.storage.getDirectory();
        window.__skiffSaveTargetForTests = await dir.getFileHandle('chosen.tar', { create: true });
      });
      await page.check('#save-to-file');
    }
    await new Promise((ok) => setTimeout(ok, 1000));
    const cdp = await context.newCDPSession(page);
    await cdp.send('Tracing.start', { categories: CATEGORIES, transferMode: 'ReturnAsStream' });
    await page.evaluate(() => performance.mark('skiff-click'));
    await page.click('#pull');
    await page.waitForSelector('#save, #saved, #error', { timeout: 30 * 60_000 });
    if (!chosenFile && await page.$('#save')) {
      await Promise.all([page.waitForEvent('download').then((d) => d.path()), page.click('#save')]);
    }
    report(await endTrace(cdp));
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(downloads, { recursive: true, force: true });
  proxy.close();
  app.close();
}

async function endTrace(cdp) {
  const finished = new Promise((ok) => cdp.once('Tracing.tracingComplete', ok));
  await cdp.send('Tracing.end');
  const { stream } = await finished;
  let text = '';
  for (;;) {
    const chunk = await cdp.send('IO.read', { handle: stream, size: 1 << 20 });
    text += chunk.base64Encoded ? Buffer.from(chunk.data, 'base64').toString() : chunk.data;
    if (chunk.eof) break;
  }
  return JSON.parse(text);
}

function report(trace) {
  const events = trace.traceEvents ?? trace;
  // The app's start has no click: its trace begins at the navigation.
  const mark = events.find((e) => e.name === 'skiff-click') ??
    events.find((e) => e.name === 'navigationStart' && e.args?.data?.isLoadingMainFrame && e.args?.data?.documentLoaderURL?.startsWith('http'));
  if (!mark) throw new Error('the trace has no click mark');
  const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && e.pid === mark.pid);
  const onMain = events.filter((e) => e.pid === mark.pid && e.tid === main.tid && e.ph === 'X');
  const threshold = Number(process.env.LONG_TASK_MS ?? 50) * 1000;
  const runs = onMain.filter((e) => /RunTask/.test(e.name) && e.dur > threshold && e.ts >= mark.ts);
  // A task's run is traced at two levels: keep the outermost.
  const tasks = runs.filter((e) => !runs.some((o) => o !== e && o.ts <= e.ts && o.ts + o.dur >= e.ts + e.dur && o.dur > e.dur));
  console.log(`${tasks.length} task(s) over ${threshold / 1000} ms on the page's main thread after the click`);
  for (const task of tasks) {
    const inside = onMain
      .filter((e) => e !== task && e.ts >= task.ts && e.ts + e.dur <= task.ts + task.dur && e.dur > 2_000)
      .sort((a, b) => b.dur - a.dur)
      .slice(0, 12)
      .map((e) => {
        const data = e.args?.data ?? e.args?.beginData ?? {};
        const what = [data.functionName, data.url?.split('/').pop(), data.type, data.name].filter(Boolean).join(' ');
        return `${(e.dur / 1000).toFixed(1)} ms ${e.name}${what ? ` (${what})` : ''}`;
      });
    console.log(`- at ${((task.ts - mark.ts) / 1000).toFixed(0)} ms after the click: ${(task.dur / 1000).toFixed(1)} ms` +
      ` (thread CPU ${task.tdur ? (task.tdur / 1000).toFixed(1) : '?'} ms)`);
    for (const line of inside) console.log(`    ${line}`);
  }
}
