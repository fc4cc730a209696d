// The fault soak (bounded, loopback only): many pulls through the rig's fault relay, which
// breaks 40 % of blob responses (resets mid-body, bodies that end early, a flipped byte, 5xx
// bursts, 429s with Retry-After), a third of them from the token registry with tokens that die
// long before they say, and the proxy killed and restarted mid-pull once. It prints pulls
// completed, retries, token renewals and corrupt archives offered, which must be 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rig, outDir, newPage, rigServices, rigStats, archiveProblems, startProxy, useSuite } from './harness.mjs';

const PULLS = 30;
const RESTART_AT = 14;
const proxyArgs = ['--allow-host', rig.relay, '--allow-host', rig.tokenRegistry,
  '--allow-host', new URL(rig.tokenService).host, '--allow-host', new URL(rig.cdn).host];
const suite = useSuite(proxyArgs);
const KINDS = ['status503', 'reset', 'earlyEnd', 'corrupt', 'status429'];

/** Layer requests beyond one per layer, and token requests beyond the first, from the log. */
async function counts(page) {
  return page.$$eval('.exchange', (rows) => {
    const layers = rows.filter((r) => r.dataset.purpose === 'layer');
    const urls = new Set(layers.map((r) => r.querySelector('.url').textContent));
    const tokens = rows.filter((r) => r.dataset.purpose === 'token').length;
    return { retries: layers.length - urls.size, renewals: Math.max(0, tokens - 1) };
  });
}

test(`fault soak: ${PULLS} pulls through broken bodies, flipped bytes, 5xx bursts, 429s, dying tokens and a proxy restart`, { timeout: 15 * 60_000 }, async () => {
  // Tokens claim 300 s and die after 2 (Distribution allows 60 s past `exp`, hence -58); the
  // token registry's CDN is slow enough to outlive one.
  await rigServices({
    chaos: { match: '/blobs/', probability: 0.4, seed: 20261124, kinds: KINDS },
    tokenLifetime: 300, registryLifetime: -58, cdnBytesPerSecond: 600_000,
  });
  const images = [rig.fixtures.v2s2, rig.fixtures.oddMixed].map((i) => i.replace(rig.registry, rig.relay));
  let proxy = suite.proxy;
  const totals = { completed: 0, corrupt: 0, retries: 0, renewals: 0, restarts: 0 };
  const failures = [];
  const started = Date.now();
  for (let i = 0; i < PULLS; i++) {
    const image = i % 3 === 2 ? `${rig.tokenRegistry}/skiff/big:latest` : images[i % images.length];
    // A fresh context each time: an empty layer cache, so every pull fetches every layer.
    const page = await newPage(suite.browser);
    await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(image)}`);
    await page.waitForSelector('#image');
    await page.fill('#proxy', proxy.url);
    await page.click('#pull');
    if (i === RESTART_AT) {
      // Mid-pull: the proxy dies and comes back on the same address.
      await page.waitForSelector('tr.layer');
      const port = Number(new URL(proxy.url).port);
      proxy.child.kill('SIGKILL');
      await new Promise((ok) => proxy.child.once('exit', ok));
      proxy = await startProxy(proxyArgs, { port });
      suite.proxy = proxy;
      totals.restarts++;
    }
    await page.waitForSelector('#save, #error', { timeout: 180_000 });
    const { retries, renewals } = await counts(page);
    totals.retries += retries;
    totals.renewals += renewals;
    if (await page.$('#save')) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
      const path = join(outDir, `soak-${i}.tar`);
      await download.saveAs(path);
      const problems = archiveProblems(path);
      if (problems.length) {
        totals.corrupt++;
        failures.push(`pull ${i}: CORRUPT ${problems.join('; ')}`);
      } else {
        totals.completed++;
      }
    } else {
      failures.push(`pull ${i} (${image}): ${(await page.innerText('#error')).split('\n').slice(0, 3).join(' ')}`);
    }
    await page.context().close();
  }
  const { chaos } = await rigStats();
  const broken = KINDS.reduce((sum, kind) => sum + chaos[kind], 0);
  console.log(`soak: ${totals.completed}/${PULLS} pulls completed in ${((Date.now() - started) / 1000).toFixed(0)} s; ` +
    `${broken} of ${broken + chaos.passed} blob responses broken (reset: ${chaos.reset}, early end: ${chaos.earlyEnd}, ` +
    `flipped byte: ${chaos.corrupt}, 503 bursts: ${chaos.status503}, 429: ${chaos.status429}); ` +
    `layer retries: ${totals.retries}; token renewals: ${totals.renewals}; proxy restarts: ${totals.restarts}; ` +
    `corrupt archives offered: ${totals.corrupt}`);
  for (const failure of failures) console.log(`  ${failure}`);
  assert.equal(totals.corrupt, 0, 'a corrupt archive was offered');
  assert.ok(totals.completed >= Math.ceil(PULLS * 0.85), `only ${totals.completed} of ${PULLS} pulls completed`);
  assert.ok(chaos.corrupt > 0 && chaos.status429 > 0 && chaos.reset > 0, 'every kind of fault happened');
  assert.ok(totals.renewals > 0, 'tokens died and were renewed');
});
