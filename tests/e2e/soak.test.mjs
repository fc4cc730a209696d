// A bounded soak (loopback only): pulls through a relay that breaks half of the blob responses
// (503s, resets mid-body, bodies that end early). Nearly every pull must complete, and no
// archive offered may hold a byte that does not verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rig, outDir, newPage, rigServices, rigStats, archiveProblems, useSuite } from './harness.mjs';

const PULLS = 20;
// The mixed image's foreign layer lives on the rig's CDN.
const suite = useSuite(['--allow-host', rig.relay, '--allow-host', new URL(rig.cdn).host]);

test(`soak: ${PULLS} pulls through a relay that breaks half of the blob responses`, async () => {
  await rigServices({ chaos: { match: '/blobs/', probability: 0.5, seed: 20261124 } });
  const images = [rig.fixtures.v2s2, rig.fixtures.oddMixed].map((i) => i.replace(rig.registry, rig.relay));
  let completed = 0;
  let corrupt = 0;
  const failures = [];
  const started = Date.now();
  for (let i = 0; i < PULLS; i++) {
    // A fresh context each time: an empty layer cache, so every pull fetches every layer.
    const page = await newPage(suite.browser);
    await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(images[i % images.length])}`);
    await page.waitForSelector('#image');
    await page.fill('#proxy', suite.proxy.url);
    await page.click('#pull');
    await page.waitForSelector('#save, #error', { timeout: 180_000 });
    if (await page.$('#save')) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
      const path = join(outDir, `soak-${i}.tar`);
      await download.saveAs(path);
      const problems = archiveProblems(path);
      if (problems.length) {
        corrupt++;
        failures.push(`pull ${i}: CORRUPT ${problems.join('; ')}`);
      } else {
        completed++;
      }
    } else {
      failures.push(`pull ${i}: ${(await page.innerText('#error')).split('\n').slice(0, 3).join(' ')}`);
      // What the app asked and got, for the failure's story.
      const exchanges = await page.$$eval(".exchanges li", (items) => items.map((li) => li.textContent.replace(/\s+/g, ' ')));
      failures.push(...exchanges.filter((e) => /blobs/.test(e)).map((e) => `    ${e}`));
    }
    await page.context().close();
  }
  const { chaos } = await rigStats();
  const broken = chaos.status503 + chaos.reset + chaos.earlyEnd;
  console.log(`soak: ${completed}/${PULLS} pulls completed in ${((Date.now() - started) / 1000).toFixed(0)} s; ` +
    `${broken} of ${broken + chaos.passed} blob responses broken (503: ${chaos.status503}, reset: ${chaos.reset}, ` +
    `early end: ${chaos.earlyEnd}); corrupt archives offered: ${corrupt}`);
  for (const failure of failures) console.log(`  ${failure}`);
  assert.equal(corrupt, 0, 'a corrupt archive was offered');
  assert.ok(completed >= Math.ceil(PULLS * 0.95), `only ${completed} of ${PULLS} pulls completed`);
  assert.ok(broken >= PULLS, 'the relay broke responses');
});
