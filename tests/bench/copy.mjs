// Benchmark of copying between registries, on the rig (loopback): `skopeo copy` registry to
// registry against Skiff's copy (release app and proxy, headless Chromium on an on-disk
// profile), each into a repository of its own behind the rig's relay (another host, so no blob
// is mounted: every byte goes through), and Chromium's PSS at peak while Skiff copies, to show
// the copy holds about one 16 MB chunk per blob whatever the image's size.
//
// Usage (scripts/bench.sh starts the rig and pushes the images):
//   node tests/bench/copy.mjs IMAGE [IMAGE ...]
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { rig, serveApp, startProxy, registryManifest } from '../e2e/harness.mjs';
import { chromiumPss, samplePss, launchProfile } from './chromium.mjs';

const images = process.argv.slice(2);
const mb = (bytes) => bytes / 1e6;
const f = (n, digits = 1) => n.toFixed(digits);
const run = Date.now().toString(36);

async function imageBytes(image) {
  const manifest = await registryManifest(image, 'application/vnd.oci.image.manifest.v1+json');
  return manifest.layers.reduce((sum, l) => sum + l.size, 0) + manifest.config.size;
}

function skopeoCopy(image, target) {
  // skopeo's blob-info cache remembers where an earlier run put the blobs and mounts them from
  // there, moving no bytes: it is cleared first (root keeps it in /var/lib/containers/cache).
  for (const dir of ['/var/lib/containers/cache', join(homedir(), '.local/share/containers/cache')]) {
    for (const file of ['blob-info-cache-v1.boltdb', 'blob-info-cache-v1.sqlite']) rmSync(join(dir, file), { force: true });
  }
  const started = process.hrtime.bigint();
  execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false',
    `docker://${image}`, `docker://${target}`], { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function skiffCopy(app, proxy, image, target) {
  const { profile, downloads, context } = await launchProfile();
  try {
    const page = context.pages()[0] ?? await context.newPage();
    await page.goto(app.url);
    await page.waitForSelector('#image');
    await page.fill('#proxy', proxy.url);
    await page.click('#push summary');
    await page.fill('#copy-from', image);
    await page.fill('#copy-to', target);
    await new Promise((ok) => setTimeout(ok, 1000));
    const idle = chromiumPss(profile);
    const memory = samplePss(profile);
    const started = Date.now();
    await page.click('#copy-start');
    await page.waitForSelector('#push-done, #push-error', { timeout: 60 * 60_000 });
    const seconds = (Date.now() - started) / 1000;
    const peak = memory.stop();
    const error = await page.$('#push-error');
    if (error) throw new Error(`the copy failed: ${await error.innerText()}`);
    return { seconds, idle, peak, counts: await page.innerText('#push-counts') };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(downloads, { recursive: true, force: true });
  }
}

const app = await serveApp();
const proxy = await startProxy(['--allow-push', '--allow-host', rig.relay]);
console.log('\n| image | skopeo copy | Skiff copy | Chromium PSS idle (all / largest) | peak while copying (all / largest) | the copy costs | Skiff says |');
console.log('|---|---|---|---|---|---|---|');
for (const [i, image] of images.entries()) {
  const bytes = await imageBytes(image);
  const s = skopeoCopy(image, `${rig.relay}/skiff/bench-skopeo-${run}-${i}:1`);
  const k = await skiffCopy(app, proxy, image, `${rig.relay}/skiff/bench-skiff-${run}-${i}:1`);
  console.log(`| ${f(mb(bytes) / 1000, 2)} GB | ${f(s)} s | ${f(k.seconds)} s (${f(k.seconds / s, 2)}×) | ` +
    `${f(mb(k.idle.total), 0)} / ${f(mb(k.idle.largest), 0)} MB | ${f(mb(k.peak.total), 0)} / ${f(mb(k.peak.largest), 0)} MB (${k.peak.largestKind}) | ` +
    `${f(mb(k.peak.total - k.idle.total), 0)} MB | ${k.counts} |`);
}
proxy.close();
app.close();
