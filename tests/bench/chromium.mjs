// Chromium as users run it, for the benchmarks: a persistent on-disk profile (a fresh
// Playwright context keeps OPFS in memory), and its memory as PSS (shared pages counted once).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '../e2e/harness.mjs';

/** Headless Chromium on a new on-disk profile, downloads allowed. */
export async function launchProfile() {
  const profile = mkdtempSync(join(tmpdir(), 'skiff-bench-profile-'));
  const downloads = mkdtempSync(join(tmpdir(), 'skiff-bench-downloads-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    acceptDownloads: true,
    downloadsPath: downloads,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { profile, downloads, context };
}

/** Every process of the Chromium whose profile is `profile`, with its PSS (kB → bytes). */
export function chromiumPss(profile) {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const rows = table.split('\n').filter(Boolean).map((line) => {
    const [pid, ppid, ...args] = line.trim().split(/\s+/);
    return { pid: +pid, ppid: +ppid, args: args.join(' ') };
  });
  const ours = new Set(rows.filter((r) => r.args.includes(`--user-data-dir=${profile}`)).map((r) => r.pid));
  for (let grew = true; grew;) {
    grew = false;
    for (const row of rows) if (ours.has(row.ppid) && !ours.has(row.pid)) { ours.add(row.pid); grew = true; }
  }
  const pss = [];
  for (const pid of ours) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const args = rows.find((r) => r.pid === pid)?.args ?? '';
      // Chromium names its processes: renderer, gpu-process, utility (network, storage), or the browser.
      const kind = /--utility-sub-type=(\S+)/.exec(args)?.[1] ?? /--type=(\S+)/.exec(args)?.[1] ?? 'browser';
      pss.push({ bytes: Number(/^Pss:\s+(\d+) kB/m.exec(rollup)[1]) * 1024, kind });
    } catch {}
  }
  const largest = pss.reduce((a, b) => (b.bytes > a.bytes ? b : a), { bytes: 0, kind: '-' });
  return { total: pss.reduce((a, b) => a + b.bytes, 0), largest: largest.bytes, largestKind: largest.kind };
}

/** Peak PSS, sampled every 200 ms; `mark()` returns the peak so far and starts a new one. */
export function samplePss(profile) {
  let peak = { total: 0, largest: 0 };
  const timer = setInterval(() => {
    const now = chromiumPss(profile);
    peak.total = Math.max(peak.total, now.total);
    if (now.largest > peak.largest) {
      peak.largest = now.largest;
      peak.largestKind = now.largestKind;
    }
  }, 200);
  return {
    mark: () => {
      const before = peak;
      peak = { total: 0, largest: 0 };
      return before;
    },
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}


/** A process's short name: Chromium's by its `--type` (network, storage, renderer…), else its program. */
function kindOf(args) {
  const chromiumKind = /--utility-sub-type=(\S+)/.exec(args)?.[1] ?? /--type=(\S+)/.exec(args)?.[1];
  if (chromiumKind) return chromiumKind.replace(/\.mojom\.\w+$/, '');
  const program = args.split(' ')[0].split('/').pop();
  return program === 'chromium' || program === 'chrome' ? 'browser' : program;
}

/** CPU seconds (user + system, or each apart with `split`) of every live process, by kind, summed. */
export function cpuByKind({ split = false } = {}) {
  const seconds = {};
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const kind = kindOf(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
      const parts = split ? [[`${kind} user`, fields[11]], [`${kind} sys`, fields[12]]]
        : [[kind, Number(fields[11]) + Number(fields[12])]];
      for (const [name, ticks] of parts) seconds[name] = (seconds[name] ?? 0) + Number(ticks) / 100;
    } catch {}
  }
  return seconds;
}

/** What each kind spent between two `cpuByKind()` readings (kinds under 0.05 s left out). */
export function cpuSpent(before, after) {
  const spent = {};
  for (const [kind, seconds] of Object.entries(after)) {
    const delta = seconds - (before[kind] ?? 0);
    if (delta >= 0.05) spent[kind] = delta;
  }
  return spent;
}
