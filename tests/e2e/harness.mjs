// Shared set-up for the end-to-end tests: the Trunk-built app served from dist/, the real
// skiff-proxy binary, headless Chromium (Debian's, driven by playwright-core), and the rig's
// registry and dockerd (tests/rig/rig.sh, started by scripts/test.sh).
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { extname, join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

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

/** Serves dist/ on a free loopback port: the app's own origin, distinct from the proxy's. */
export async function serveApp() {
  const dist = join(root, 'dist');
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = join(dist, path === '/' ? 'index.html' : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** Starts the real proxy binary, allowing the rig's registry. */
export async function startProxy(extraArgs = []) {
  const bin = process.env.SKIFF_PROXY_BIN ?? join(root, 'target/debug/skiff-proxy');
  const port = await freePort();
  const child = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--allow-host', rig.registry, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return { url, close: () => child.kill() };
    } catch {}
    await new Promise((ok) => setTimeout(ok, 100));
  }
  child.kill();
  throw new Error(`skiff-proxy did not start on ${url}`);
}

async function freePort() {
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
export async function newPage(browser) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
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

export async function ensureOutDir() {
  await mkdir(outDir, { recursive: true });
}
