// What the trust tests (verify, keyless, packages) do alike: open an image in the explorer's
// Signatures & SBOMs view, and pull an image under "Save only if signed by".
import { newPage } from './harness.mjs';

/** A page at `image` with the proxy filled in. */
export async function openImage(suite, image) {
  const page = await newPage(suite.browser);
  await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(image)}`);
  await page.fill('#proxy', suite.proxy.url);
  return page;
}

/** `image` looked at, its Signatures & SBOMs view open. */
export async function openSignatures(suite, image) {
  const page = await openImage(suite, image);
  await page.click('#inspect');
  await page.waitForSelector('#resolved-reference');
  await page.click('.tab[data-view=referrers]');
  await page.waitForSelector('#find-referrers:not([disabled])', { timeout: 30_000 });
  return page;
}

/** Pulls `image` with `require(page)` filling in whom it must be signed by: the error shown
 * (null when the archive is offered), whether it was offered, and how many layers came. */
export async function pullRequiring(suite, image, require) {
  const page = await openImage(suite, image);
  await page.click('#require-signature summary');
  await require(page);
  await page.click('#pull');
  await page.waitForSelector('#save, #error', { timeout: 120_000 });
  const error = await page.$eval('#error', (e) => e.textContent).catch(() => null);
  const offered = await page.$('#save') !== null;
  const layers = await page.$$eval('tr.layer', (rows) => rows.length);
  await page.context().close();
  return { error, offered, layers };
}
