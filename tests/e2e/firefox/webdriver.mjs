// A small W3C WebDriver client for Debian's firefox-esr through geckodriver (`cargo install
// geckodriver`, see scripts/setup.sh), with Node's fetch and nothing else. Playwright cannot
// drive a stock Firefox (it needs its own patched build), so the Firefox tests use this.
//
//   const firefox = await Firefox.launch({ downloadDir, profileDir });
//   await firefox.goto(url);
//   await firefox.fill('#proxy', 'http://…');
//   await firefox.click('#pull');
//   await firefox.waitFor('#save, #error');
//   await firefox.quit();
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** The process holding a Firefox profile: its `lock` is a symlink to `<ip>:+<pid>`, left behind
 *  at exit. Null when no live process holds it. */
function profileHolder(profileDir) {
  try {
    const pid = Number(readlinkSync(join(profileDir, 'lock')).split('+').pop());
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** An error answered by geckodriver: `error` is the WebDriver error code ("no such element", …). */
export class WebDriverError extends Error {
  constructor(command, value) {
    super(`${command}: ${value?.error ?? 'error'}: ${value?.message ?? JSON.stringify(value)}`);
    this.error = value?.error;
  }
}

export class Firefox {
  /**
   * Starts geckodriver and a headless Firefox session whose downloads go into `downloadDir`
   * without asking, on the on-disk profile `profileDir` (kept between sessions: OPFS persists).
   */
  static async launch({
    downloadDir,
    profileDir,
    binary = process.env.FIREFOX ?? '/usr/bin/firefox-esr',
    geckodriver = process.env.GECKODRIVER ?? 'geckodriver',
    width = 1100,
    height = 900,
    prefs = {},
  }) {
    mkdirSync(downloadDir, { recursive: true });
    mkdirSync(profileDir, { recursive: true });
    const port = await freePort();
    const child = spawn(geckodriver, ['--port', String(port), '--websocket-port', String(await freePort())], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const firefox = new Firefox(`http://127.0.0.1:${port}`, child);
    firefox.profileDir = profileDir;
    child.on('error', (error) => firefox.output.push(`cannot start ${geckodriver}: ${error.message}`));
    try {
      for (let i = 0; ; i++) {
        try {
          if ((await (await fetch(`${firefox.base}/status`)).json()).value) break;
        } catch (error) {
          if (i >= 100 || child.exitCode !== null) throw new Error(`geckodriver did not start: ${error}\n${firefox.log()}`);
        }
        await sleep(100);
      }
      const { sessionId } = await firefox.command('POST', '/session', {
        capabilities: {
          alwaysMatch: {
            browserName: 'firefox',
            pageLoadStrategy: 'normal',
            timeouts: { script: 120_000, pageLoad: 60_000, implicit: 0 },
            'moz:firefoxOptions': {
              binary,
              args: ['-headless', '-profile', profileDir],
              prefs: {
                'browser.download.folderList': 2,
                'browser.download.dir': downloadDir,
                'browser.download.useDownloadDir': true,
                'browser.download.always_ask_before_handling_new_types': false,
                'browser.download.alwaysOpenPanel': false,
                'browser.helperApps.neverAsk.saveToDisk': 'application/x-tar,application/octet-stream',
                // The page's console (errors included) goes to Firefox's stdout, kept in log().
                'devtools.console.stdout.content': true,
                // Tests talk to loopback only: everything else goes to a dead proxy, so Firefox's
                // own background services (updates, telemetry, remote settings) reach nothing.
                'network.proxy.type': 1,
                'network.proxy.http': '127.0.0.1',
                'network.proxy.http_port': 9,
                'network.proxy.ssl': '127.0.0.1',
                'network.proxy.ssl_port': 9,
                'network.proxy.allow_hijacking_localhost': false,
                'network.proxy.no_proxies_on': 'localhost, 127.0.0.1',
                ...prefs,
              },
            },
          },
        },
      });
      firefox.session = `/session/${sessionId}`;
      await firefox.command('POST', `${firefox.session}/window/rect`, { width, height });
      return firefox;
    } catch (error) {
      child.kill();
      throw error;
    }
  }

  constructor(base, child) {
    this.base = base;
    this.child = child;
    this.output = [];
    const keep = (chunk) => {
      this.output.push(...String(chunk).split('\n').filter(Boolean));
      if (this.output.length > 2000) this.output.splice(0, this.output.length - 2000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
  }

  /** geckodriver's and Firefox's output so far (the page's console lines among it). */
  log() {
    return this.output.join('\n');
  }

  /** The page's console errors and uncaught exceptions, as Firefox printed them. */
  consoleErrors() {
    // Firefox's own chrome code logs here too (resource://, chrome://); those are left out.
    return this.output.filter((line) => /^(console\.error|JavaScript error):/.test(line)
      && !/resource:\/\/|chrome:\/\/|RSLoader/.test(line));
  }

  async command(method, path, body) {
    const response = await fetch(this.base + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const { value } = await response.json();
    if (!response.ok) throw new WebDriverError(`${method} ${path.replace(/^\/session\/[^/]+/, '')}`, value);
    return value;
  }

  goto(url) {
    return this.command('POST', `${this.session}/url`, { url });
  }

  async url() {
    return this.command('GET', `${this.session}/url`);
  }

  refresh() {
    return this.command('POST', `${this.session}/refresh`, {});
  }

  /** The first element matching the CSS selector, or null. */
  async $(selector) {
    const found = await this.command('POST', `${this.session}/elements`, { using: 'css selector', value: selector });
    return found.length ? found[0][ELEMENT] : null;
  }

  async $$(selector) {
    const found = await this.command('POST', `${this.session}/elements`, { using: 'css selector', value: selector });
    return found.map((element) => element[ELEMENT]);
  }

  async element(selector) {
    const id = await this.$(selector);
    if (!id) throw new Error(`no element matches ${selector}`);
    return id;
  }

  async click(selector) {
    await this.command('POST', `${this.session}/element/${await this.element(selector)}/click`, {});
  }

  async clear(selector) {
    await this.command('POST', `${this.session}/element/${await this.element(selector)}/clear`, {});
  }

  async type(selector, text) {
    await this.command('POST', `${this.session}/element/${await this.element(selector)}/value`, { text });
  }

  /**
   * Replaces an input's text as a person would: clear it, then type; again if the page
   * re-rendered the field in between (the text typed would land after the old one).
   */
  async fill(selector, text) {
    for (let attempt = 1; ; attempt++) {
      await this.clear(selector);
      if (text) await this.type(selector, text);
      const value = await this.property(selector, 'value');
      if (value === text) return;
      if (attempt === 5) throw new Error(`${selector} holds ${JSON.stringify(value)} after typing ${JSON.stringify(text)}`);
      await sleep(100);
    }
  }

  /** The element's rendered text (what a person sees). */
  async text(selector) {
    return this.command('GET', `${this.session}/element/${await this.element(selector)}/text`);
  }

  async property(selector, name) {
    return this.command('GET', `${this.session}/element/${await this.element(selector)}/property/${name}`);
  }

  /** Runs `script` (a function body; `arguments` are `args`) in the page and returns its result. */
  execute(script, ...args) {
    return this.command('POST', `${this.session}/execute/sync`, { script, args });
  }

  /** Like execute, but the result is what the script passes to `arguments[arguments.length - 1]`. */
  executeAsync(script, ...args) {
    return this.command('POST', `${this.session}/execute/async`, { script, args });
  }

  /** Waits until `selector` matches an element; returns it. */
  async waitFor(selector, { timeout = 30_000 } = {}) {
    return this.waitUntil(() => this.$(selector), { timeout, what: selector });
  }

  /** Polls `check` (async) until it returns something truthy; returns that. */
  async waitUntil(check, { timeout = 30_000, interval = 100, what = 'the condition' } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
      await sleep(interval);
    }
  }

  /** The viewport as PNG bytes. */
  async screenshot() {
    return Buffer.from(await this.command('GET', `${this.session}/screenshot`), 'base64');
  }

  /** Ends the session (Firefox exits) and geckodriver; then the profile can be used again. */
  async quit() {
    try {
      if (this.session) await this.command('DELETE', this.session);
    } catch {}
    this.session = null;
    if (this.child.exitCode === null) {
      const exited = new Promise((ok) => this.child.once('exit', ok));
      this.child.kill();
      await Promise.race([exited, sleep(5_000)]);
    }
    // A Firefox started on the profile while the last one still holds it exits at once; one
    // that outlived its session (and geckodriver) for 10 s is ended.
    for (let i = 0; i < 100 && profileHolder(this.profileDir); i++) await sleep(100);
    const stuck = profileHolder(this.profileDir);
    if (stuck) process.kill(stuck, 'SIGKILL');
  }
}
