// What the push and copy tests share: logging the app and docker in to a rig registry, pushing
// an archive through the push panel, and `docker pull` + `docker run` of what was pushed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rig } from './harness.mjs';

const dockerConfig = mkdtempSync(join(tmpdir(), 'skiff-docker-config-'));
const loggedIn = new Set();

/** docker with its own config folder, so `docker login` leaves nothing behind. */
export function dockerAs(args, input) {
  return execFileSync('/usr/bin/docker', args, {
    env: { ...process.env, DOCKER_HOST: rig.dockerHost, DOCKER_CONFIG: dockerConfig },
    encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input,
  });
}

/** Logs docker out of every registry it was logged in to. */
export function dockerLogoutAll() {
  for (const registry of loggedIn) { try { dockerAs(['logout', registry]); } catch {} }
}

/** Fills the credentials panel (the push target's login) for `registry`. */
export async function logInApp(page, registry) {
  if (!(await page.$eval('#credentials', (d) => d.open))) await page.click('#credentials summary');
  await page.fill('#credentials-registry', registry);
  await page.fill('#username', rig.user);
  await page.fill('#password', rig.password);
}

/** Opens the push panel, logs in for `registry`, and pushes `tar` to `target`. */
export async function push(page, tar, target, registry = rig.tokenRegistry) {
  await logInApp(page, registry);
  await page.click('#nav-push');
  await page.setInputFiles('#push-file', tar);
  await page.fill('#push-target', target);
  await page.click('#push-start');
  await page.waitForSelector('#push-done, #push-error', { timeout: 120_000 });
  const error = await page.$('#push-error');
  return error ? { error: await error.innerText() } : { counts: await page.innerText('#push-counts'), pushed: await page.innerText('#push-done') };
}

/** `docker pull` (logged in to the reference's registry) and `docker run` print `expected`. */
export function pullAndRun(reference, expected) {
  const registry = reference.split('/')[0];
  try { dockerAs(['rmi', '-f', reference]); } catch {}
  if (registry !== rig.registry && !loggedIn.has(registry)) {
    dockerAs(['login', '-u', rig.user, '--password-stdin', registry], rig.password);
    loggedIn.add(registry);
  }
  dockerAs(['pull', reference]);
  const output = dockerAs(['run', '--rm', '--network', 'none', reference]);
  assert.equal(output, expected);
}
