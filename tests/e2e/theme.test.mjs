// Light and dark: the system's choice by default, a toggle that wins over it and is
// remembered across reloads (applied before the app starts, so nothing flashes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rig, root, newPage, pullInApp, expectPulled, useSuite } from './harness.mjs';

const suite = useSuite();
const background = (page) => page.evaluate(() => getComputedStyle(document.body.parentElement).backgroundColor);
const LIGHT = 'rgb(247, 248, 250)';
const DARK = 'rgb(17, 21, 27)';

test('the theme follows the system, a toggle overrides it, and a reload keeps the choice', async () => {
  const page = await newPage(suite.browser);
  await page.emulateMedia({ colorScheme: 'light' });
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.overlay);
  await expectPulled(page);
  assert.equal(await background(page), LIGHT);
  assert.equal(await page.innerText('#theme-toggle'), 'Theme: system');
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await background(page), DARK, 'a dark system gets the dark theme');
  await page.screenshot({ path: join(root, 'docs/screenshot-dark.png'), fullPage: true });

  await page.click('#theme-toggle');
  assert.equal(await page.innerText('#theme-toggle'), 'Theme: light');
  assert.equal(await background(page), LIGHT, 'the toggle wins over the system');
  await page.click('#theme-toggle');
  assert.equal(await page.innerText('#theme-toggle'), 'Theme: dark');
  await page.emulateMedia({ colorScheme: 'light' });
  assert.equal(await background(page), DARK);

  // Set before the app's wasm runs: the first paint is already dark.
  await page.reload({ waitUntil: 'domcontentloaded' });
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await page.waitForSelector('#theme-toggle');
  assert.equal(await page.innerText('#theme-toggle'), 'Theme: dark');
  await page.click('#theme-toggle');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme ?? null), null);
  assert.equal(await page.evaluate(() => localStorage.getItem('skiff.theme')), null);
  await page.context().close();
});

test('a narrow window: nothing needs sideways scrolling, the file list still works', async () => {
  const context = await suite.browser.newContext({ viewport: { width: 380, height: 800 } });
  const page = await context.newPage();
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.overlay);
  await expectPulled(page);
  await page.click('#browse-files');
  await page.waitForSelector('#files-summary', { timeout: 60_000 });
  await page.click('.file-row[data-path="data"] .file-toggle');
  await page.waitForSelector('.file-row[data-path="data/keep.txt"]');
  const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, window: innerWidth }));
  assert.ok(widths.page <= widths.window, `the page is ${widths.page} px wide in a ${widths.window} px window`);
  assert.ok(await page.locator('.file-row[data-path="data/keep.txt"] .save-path').isVisible(), 'the Save button stays');
  await page.screenshot({ path: join(root, 'docs/screenshot-narrow.png'), fullPage: true });
  await context.close();
});
