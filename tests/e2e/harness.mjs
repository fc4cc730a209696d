// Shared set-up for the end-to-end tests: the Trunk-built app served from dist/, the real
// skiff-proxy binary, headless Chromium (Debian's, driven by playwright-core), and the rig's
// registry and dockerd (tests/rig/rig.sh, started by scripts/test.sh).
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { extname, join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export { chromium };

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const outDir = join(root, 'tests/e2e/out');

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with scripts/test.sh, which starts the rig`);
  return value;
}

export const rig = JSON.parse(readFileSync(join(required('SKIFF_RIG_DIR'), 'env.json'), 'utf8'));

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
};

/**
 * The page's Content-Security-Policy as skiff-proxy --serve-app sends it (the core's
 * page_policy.rs): the app runs under it in every test.
 */
export function appPagePolicy(page) {
  const hashes = [...page.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)]
    .filter(([, attributes]) => !/ src=/.test(attributes))
    .map(([, , body]) => ` 'sha256-${createHash('sha256').update(body).digest('base64')}'`)
    .join('');
  return `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'${hashes}; `
    + "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    + "connect-src 'self' http: https: blob:; worker-src 'self'; object-src 'none'; "
    + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

/** Serves dist/ on a free loopback port: the app's own origin, distinct from the proxy's. */
export async function serveApp() {
  const dist = join(root, 'dist');
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = join(dist, path === '/' ? 'index.html' : path);
    try {
      const body = await readFile(file);
      const headers = { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' };
      if (file.endsWith('index.html')) headers['content-security-policy'] = appPagePolicy(body.toString());
      res.writeHead(200, headers);
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** Starts the real proxy binary, allowing the rig's registry. */
export async function startProxy(extraArgs = [], { port: wanted } = {}) {
  const bin = process.env.SKIFF_PROXY_BIN ?? join(root, 'target/debug/skiff-proxy');
  const port = wanted ?? await freePort();
  const child = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--allow-host', rig.registry, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The proxy's access log (a JSON line per request), kept for the tests to read; read, so
  // the pipe never fills and stops the proxy.
  const log = [];
  let partial = '';
  child.stdout.on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop();
    log.push(...lines);
    if (log.length > 20_000) log.splice(0, log.length - 20_000);
  });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return { url, close: () => child.kill(), log, child };
    } catch {}
    await new Promise((ok) => setTimeout(ok, 100));
  }
  child.kill();
  throw new Error(`skiff-proxy did not start on ${url}`);
}

/** A loopback port nothing listens on now. */
export async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh page whose console errors are kept for failure messages. */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 }, ...options });
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on('console', (msg) => msg.type() === 'error' && page.consoleErrors.push(msg.text()));
  page.on('pageerror', (err) => page.consoleErrors.push(String(err)));
  return page;
}

/** Opens the app with `image` in the link, sets the proxy, presses Pull, waits for the end. */
export async function pullInApp(page, appUrl, proxyUrl, image) {
  await page.goto(`${appUrl}/#/?image=${encodeURIComponent(image)}`);
  await page.waitForSelector('#image');
  const shown = await page.inputValue('#image');
  if (shown !== image) throw new Error(`the link did not fill the form: ${JSON.stringify(shown)}`);
  await page.fill('#proxy', proxyUrl);
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
}

export function docker(args) {
  return execFileSync('/usr/bin/docker', args, {
    env: { ...process.env, DOCKER_HOST: rig.dockerHost },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function podman(args) {
  return execFileSync(
    'podman',
    ['--root', join(rig.podmanRoot, 'root'), '--runroot', join(rig.podmanRoot, 'run'), '--storage-driver', 'vfs', ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/** The manifest as the registry serves it, fetched without the app, for independent checks. */
export async function registryManifest(reference, accept) {
  const [, repo, tag] = reference.match(/^[^/]+\/(.+):([^:]+)$/);
  const response = await fetch(`http://${rig.registry}/v2/${repo}/manifests/${tag}`, { headers: { accept } });
  if (!response.ok) throw new Error(`registry answered ${response.status} for ${reference}`);
  return response.json();
}

/** Clicks Save, checks the offered file name, stores the tar in out/ and returns its path. */
export async function saveArchive(page, expectedName) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  if (download.suggestedFilename() !== expectedName) {
    throw new Error(`offered ${download.suggestedFilename()}, expected ${expectedName}`);
  }
  const path = join(outDir, expectedName);
  await download.saveAs(path);
  return path;
}

/** Fails with the page's error text (and console errors) if the pull did not succeed. */
export async function expectPulled(page) {
  const error = await page.$('#error');
  if (error) throw new Error(`the pull failed: ${await error.innerText()}\nconsole: ${page.consoleErrors}`);
}

/** `docker load`; returns the loaded image's inspect data (by tag, or by ID when untagged). */
export function dockerLoad(tarPath, reference) {
  const out = docker(['load', '-i', tarPath]);
  const byTag = reference && out.match(/^Loaded image: (.+)$/m);
  const byId = out.match(/^Loaded image ID: (sha256:[0-9a-f]{64})$/m);
  const name = byTag ? byTag[1] : byId?.[1];
  if (!name) throw new Error(`docker load printed no image: ${out}`);
  const [inspect] = JSON.parse(docker(['image', 'inspect', name]));
  return { out, name, inspect };
}

export async function ensureOutDir() {
  await mkdir(outDir, { recursive: true });
}

/** Sets the rig's token service and CDN behaviour (and resets their counters). */
export async function rigServices(config = {}) {
  const response = await fetch(`${rig.tokenService}/__config`, { method: 'POST', body: JSON.stringify(config) });
  if (!response.ok) throw new Error(`rig services refused config: ${response.status}`);
}

export async function rigStats() {
  return (await fetch(`${rig.tokenService}/__stats`)).json();
}

/** Loads the tar into docker, checks the tag, runs it; removes the image again. */
export function dockerLoadAndRun(tarPath, reference, expectedOutput) {
  const { inspect } = dockerLoad(tarPath, reference);
  const output = docker(['run', '--rm', '--network', 'none', reference]);
  if (output !== expectedOutput) throw new Error(`docker run printed ${JSON.stringify(output)}`);
  docker(['rmi', reference]);
  return inspect;
}

export const FIXTURE_OUTPUT = 'hello from the skiff fixture\nfixture layers: 3\n';

/**
 * Registers the hooks every test file needs: the app served from dist/, the real proxy (with
 * `proxyArgs`), headless Chromium. Returns an object whose `app`, `proxy` and `browser` are set
 * once the hooks ran.
 */
export function useSuite(proxyArgs = []) {
  const suite = {};
  before(async () => {
    await ensureOutDir();
    suite.app = await serveApp();
    // A proxy that writes (--allow-push) serves only the origins it is told of.
    suite.proxy = await startProxy(['--allow-origin', suite.app.url, ...proxyArgs]);
    suite.browser = await launchBrowser();
  });
  after(async () => {
    await rigServices({});
    await suite.browser?.close();
    suite.proxy?.close();
    suite.app?.close();
  });
  return suite;
}

/**
 * Checks a saved archive without the app: every `blobs/sha256/<hex>` entry hashes to its name
 * and every path `manifest.json` names is there. Returns the problems found (none: []).
 */
export function archiveProblems(tarPath) {
  const tar = readFileSync(tarPath);
  const entries = new Map();
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start, length) => header.subarray(start, start + length).toString('latin1').replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    entries.set(name, tar.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  const problems = [];
  for (const [name, content] of entries) {
    const hex = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name)?.[1];
    if (hex && createHash('sha256').update(content).digest('hex') !== hex) problems.push(`${name} does not hash to its name`);
  }
  const manifest = JSON.parse(entries.get('manifest.json')?.toString() ?? '[]');
  for (const image of manifest) {
    for (const path of [image.Config, ...image.Layers]) {
      if (!entries.has(path)) problems.push(`manifest.json names ${path}, which is missing`);
    }
  }
  if (manifest.length === 0) problems.push('no manifest.json entries');
  return problems;
}

/**
 * Every entry of a tar as `docker export` and Skiff write them (PAX `path`/`linkpath`, GNU
 * long names): path (no `./`, no trailing `/`) → { type, mode, size, link }. Read here, without
 * the app's code.
 */
export function tarListing(tarPath) {
  const tar = readFileSync(tarPath);
  const entries = new Map();
  let longName = null;
  let longLink = null;
  let pax = {};
  const types = { 0: 'file', '': 'file', 1: 'hardlink', 2: 'symlink', 3: 'char', 4: 'block', 5: 'dir', 6: 'fifo' };
  const clean = (p) => p.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start, length) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const body = tar.subarray(at + 512, at + 512 + size);
    const type = field(156, 1);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') { longName = body.toString('utf8').replace(/\0.*$/s, ''); continue; }
    if (type === 'K') { longLink = body.toString('utf8').replace(/\0.*$/s, ''); continue; }
    if (type === 'x') {
      pax = {};
      for (let text = body.toString('utf8'); text.length;) {
        const space = text.indexOf(' ');
        const length = Number(text.slice(0, space));
        const [key, ...value] = text.slice(space + 1, length - 1).split('=');
        pax[key] = value.join('=');
        text = text.slice(length);
      }
      continue;
    }
    if (type === 'g') continue;
    const prefix = field(345, 155);
    const path = clean(pax.path ?? longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100)));
    const link = pax.linkpath ?? longLink ?? field(157, 100);
    longName = longLink = null;
    pax = {};
    if (!path) continue;
    entries.set(path, {
      type: types[type] ?? `type ${type}`,
      mode: parseInt(field(100, 8).trim() || '0', 8) & 0o7777,
      size,
      link: type === '1' ? clean(link) : link,
      content: body,
    });
  }
  return entries;
}
