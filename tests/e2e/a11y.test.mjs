// Usable by everyone: a pull and a save with the keyboard alone, and axe-core (the engine of
// most accessibility checkers) finding nothing serious or critical in any state of the app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rig, root, outDir, newPage, expectPulled, dockerLoadAndRun, FIXTURE_OUTPUT, useSuite } from './harness.mjs';

const suite = useSuite();
const axeSource = readFileSync(join(root, 'tests/e2e/node_modules/axe-core/axe.min.js'), 'utf8');

/** Tabs (or shift-tabs) until `selector` has the focus; fails after `limit` presses. */
async function tabTo(page, selector, { limit = 40, back = false } = {}) {
  for (let i = 0; i < limit; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`${selector} never got the focus with ${back ? 'Shift+' : ''}Tab`);
}

/** axe-core's serious and critical findings on the page as it is now, as readable lines. */
async function seriousFindings(page, state) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.addScriptTag({ content: axeSource });
  const results = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${state}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

test('keyboard only: type the image, pull, explore and save without a mouse', async () => {
  const page = await newPage(suite.browser);
  await page.goto(suite.app.url);
  await page.waitForSelector('#image:focus');
  await page.keyboard.type(rig.fixtures.v2s2);
  await tabTo(page, '#proxy');
  await page.keyboard.type(suite.proxy.url);
  await tabTo(page, '#image', { back: true });
  await page.keyboard.press('Enter');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);

  // The explorer: a tab, then a digest in the opened document, by Tab and Enter.
  await tabTo(page, '.tab[data-view=objects]', { limit: 80 });
  await page.keyboard.press('Enter');
  await page.waitForSelector('.tab[data-view=objects][aria-pressed=true]');
  await tabTo(page, '#opened-object .digest-link');
  const digest = await page.evaluate(() => document.activeElement.dataset.digest);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#opened-object[data-digest="${digest}"]`);
  // A request's details open with the keyboard too.
  await tabTo(page, '.tab[data-view=requests]', { back: true, limit: 80 });
  await page.keyboard.press('Enter');
  await tabTo(page, '.exchange summary');
  await page.keyboard.press('Enter');
  assert.ok(await page.$eval('.exchange details', (d) => d.open), 'Enter opens a request');

  await tabTo(page, '#save', { back: true, limit: 200 });
  const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  const path = join(outDir, 'keyboard.tar');
  await download.saveAs(path);
  assert.ok(statSync(path).size > 1_000_000);
  dockerLoadAndRun(path, rig.fixtures.v2s2, FIXTURE_OUTPUT);
  await page.context().close();
});

test('keyboard only: browse a registry down to a tag, and pull it', async () => {
  const page = await newPage(suite.browser);
  await page.goto(suite.app.url);
  await page.waitForSelector('#image:focus');
  await tabTo(page, '#proxy');
  await page.keyboard.type(suite.proxy.url);
  await tabTo(page, '#nav-browse', { back: true });
  await page.keyboard.press('Enter');
  await page.waitForSelector('#browse-registry');
  await tabTo(page, '#browse-registry');
  await page.keyboard.type(rig.registry);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.repository');
  await tabTo(page, '#catalog-filter');
  await page.keyboard.type('skiff/busybox');
  await tabTo(page, '.repository[data-name="skiff/busybox"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#browse-tags .tag');
  await tabTo(page, '#browse-tags .tag[data-tag="v2s2"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#tag-size');
  await tabTo(page, '#browse-pull');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  await expectPulled(page);
  assert.equal(await page.evaluate(() => document.querySelector('#nav-pull').getAttribute('aria-current')), 'page');
  await page.context().close();
});

test('axe-core: nothing serious or critical, light and dark, idle, pulled, exploring, failed, the push panel, browsing and a bundle', async () => {
  // axe-core is injected as an inline script, which the page's CSP rightly refuses.
  const page = await newPage(suite.browser, { bypassCSP: true });
  const findings = [];
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(rig.fixtures.overlay)}`);
    await page.waitForSelector('#image');
    findings.push(...await seriousFindings(page, `${scheme}, idle`));
    await page.fill('#proxy', suite.proxy.url);
    await page.click('#pull');
    await page.waitForSelector('#save, #error', { timeout: 120_000 });
    await expectPulled(page);
    await page.click('#browse-files');
    await page.waitForSelector('.file-row');
    findings.push(...await seriousFindings(page, `${scheme}, pulled, files open`));
    for (const view of ['requests', 'objects', 'summary', 'referrers']) {
      await page.click(`.tab[data-view=${view}]`);
      if (view === 'requests') await page.click('.exchange summary');
      if (view === 'referrers') {
        await page.click('#find-referrers');
        await page.waitForSelector('#referrers, #referrers-none');
      }
      findings.push(...await seriousFindings(page, `${scheme}, explorer ${view}`));
    }
    await page.fill('#image', `${rig.registry}/skiff/busybox:no-such-tag`);
    await page.click('#pull');
    await page.waitForSelector('#error');
    findings.push(...await seriousFindings(page, `${scheme}, failed`));
    // The push panel: the copy form with a source's platforms offered, then a copy that fails.
    await page.click('#nav-push');
    await page.click('#copy-login summary');
    await page.fill('#copy-from', rig.fixtures.multi);
    await page.click('#copy-read-platforms');
    await page.waitForSelector('#copy-platforms');
    await page.fill('#copy-to', 'Not A Reference!!');
    await page.click('#copy-start');
    await page.waitForSelector('#push-error');
    findings.push(...await seriousFindings(page, `${scheme}, push panel`));
    // Browsing the registry: its repositories filtered, a repository's tags, a tag's facts.
    await page.click('#nav-browse');
    await page.fill('#browse-registry', rig.registry);
    await page.click('#browse-list');
    await page.fill('#catalog-filter', 'busybox');
    await page.click('.repository[data-name="skiff/busybox"]');
    await page.click('#browse-tags .tag[data-tag="v2s2"]');
    await page.waitForSelector('#tag-size');
    findings.push(...await seriousFindings(page, `${scheme}, browsing`));
    // A bundle: the images a compose file names, one of them unreadable.
    await page.click('#nav-bundle');
    await page.fill('#bundle-text', `services:\n  web:\n    image: ${rig.fixtures.v2s2}\n  bad:\n    image: \${X}\n`);
    await page.click('#bundle-find');
    await page.waitForSelector('#bundle-unreadable');
    findings.push(...await seriousFindings(page, `${scheme}, bundle`));
  }
  assert.deepEqual(findings, []);
  await page.context().close();
});
