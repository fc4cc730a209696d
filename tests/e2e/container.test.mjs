// The container image (deploy/Dockerfile, built by scripts/container.sh with the rig's dockerd):
// FROM scratch around the static skiff-proxy and the app; run, it serves the app and the proxy
// on one origin, a pull through it loads and runs, and `docker stop` ends it cleanly.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  rig, root, docker, launchBrowser, newPage, expectPulled, saveArchive, dockerLoadAndRun,
  ensureOutDir, FIXTURE_OUTPUT,
  freePort,
} from './harness.mjs';

const IMAGE = 'skiff-e2e:latest';
const NAME = 'skiff-e2e';
let browser;

after(async () => {
  await browser?.close();
  try { docker(['rm', '-f', NAME]); } catch {}
});

test('the image is FROM scratch, runs as nobody, and serves an end-to-end pull', { timeout: 20 * 60_000 }, async () => {
  await ensureOutDir();
  execFileSync('scripts/container.sh', [IMAGE], {
    cwd: root, env: { ...process.env, DOCKER_HOST: rig.dockerHost }, stdio: ['ignore', 'inherit', 'inherit'],
  });
  const [inspect] = JSON.parse(docker(['image', 'inspect', IMAGE]));
  assert.equal(inspect.Config.User, '65534:65534');
  assert.equal(inspect.RootFS.Layers.length, 2, 'the binary and the app, nothing else');
  assert.ok(inspect.Size < 40_000_000, `${inspect.Size} bytes`);
  assert.deepEqual(inspect.Config.Entrypoint, ['/skiff-proxy', '--serve-app', '/app', '--listen', '0.0.0.0:8787']);

  const port = await freePort();
  try { docker(['rm', '-f', NAME]); } catch {}
  docker(['run', '-d', '--name', NAME, '--network', 'host', IMAGE, '--listen', `127.0.0.1:${port}`,
    '--allow-host', rig.registry]);
  const origin = `http://127.0.0.1:${port}/`;
  let health = null;
  for (let i = 0; i < 100 && !health; i++) {
    health = await fetch(`${origin}healthz`).then((r) => r.json(), () => null);
    if (!health) await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.equal(health?.serves_app, true, `the container did not come up: ${docker(['logs', NAME])}`);

  browser = await launchBrowser();
  const page = await newPage(browser);
  await page.goto(`${origin}#/?image=${encodeURIComponent(rig.fixtures.v2s2)}`);
  await page.waitForSelector('#image');
  assert.equal(await page.inputValue('#proxy'), origin);
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  const tar = await saveArchive(page, 'busybox_v2s2.tar');
  dockerLoadAndRun(tar, rig.fixtures.v2s2, FIXTURE_OUTPUT);
  await page.context().close();

  const logs = docker(['logs', NAME]).split('\n').filter(Boolean).map((line) => JSON.parse(line));
  assert.ok(logs.some((l) => l.upstream === rig.registry && l.path === '/v2/skiff/busybox/manifests/v2s2' && l.status === 200),
    JSON.stringify(logs.slice(0, 5)));
  docker(['stop', '-t', '10', NAME]);
  const [state] = JSON.parse(docker(['inspect', NAME]));
  assert.equal(state.State.ExitCode, 0, 'SIGTERM ends it cleanly');
});
