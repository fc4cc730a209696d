// Hostile sizes get a clear refusal, never a hang or a dead tab (issue #17): a decompression
// bomb saved uncompressed, a layer worker that dies mid-job, a path 32,000 directories deep, an
// archive with a 2.5 GiB long name, and one padded with 1,100 members nothing names.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, writeSync, ftruncateSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  rig, outDir, newPage, pullInApp, expectPulled, saveArchive, useSuite, rigServices, FIXTURE_OUTPUT,
} from './harness.mjs';
import { push, pullAndRun, dockerLogoutAll } from './pushing.mjs';

const tokenHost = new URL(rig.tokenService).host;
const cdnHost = new URL(rig.cdn).host;
const suite = useSuite(['--allow-push', '--allow-host', rig.tokenRegistry, '--allow-host', tokenHost,
  '--allow-host', cdnHost]);
const run = Date.now().toString(36);

after(dockerLogoutAll);

async function pullUncompressed(page, image) {
  await page.goto(`${suite.app.url}/#/?image=${encodeURIComponent(image)}`);
  await page.waitForSelector('#image');
  await page.fill('#proxy', suite.proxy.url);
  await page.check('#uncompressed');
  await page.click('#pull');
}

test('a decompression bomb saved uncompressed is refused with the sizes, and nothing is offered', async () => {
  const page = await newPage(suite.browser);
  const started = Date.now();
  await pullUncompressed(page, rig.fixtures.bomb);
  await page.waitForSelector('#error', { timeout: 60_000 });
  const error = await page.innerText('#error');
  assert.match(error, /more than 250 times its compressed size/, error);
  assert.match(error, /decompression bomb/, error);
  assert.equal(await page.$('#save'), null, 'an archive was offered');
  assert.ok(Date.now() - started < 60_000);
  await page.context().close();
});

test('a layer worker that dies fails its job with a message instead of waiting forever', async () => {
  await rigServices({ cdnBytesPerSecond: 50_000 });
  const page = await newPage(suite.browser);
  await pullUncompressed(page, `${rig.tokenRegistry}/skiff/busybox:v2s2`);
  // The layers are on their way (slowly): their workers then fail as a trap would.
  let workers = [];
  for (let i = 0; i < 100 && !workers.length; i++) {
    workers = page.workers().filter((w) => w.url().includes('skiff-worker'));
    if (!workers.length) await page.waitForTimeout(100);
  }
  assert.ok(workers.length, 'layer workers run');
  await page.waitForTimeout(1000);
  for (const worker of workers) {
    await worker.evaluate(() => setTimeout(() => { throw new Error('RuntimeError: unreachable (simulated)'); }));
  }
  await page.waitForSelector('#error', { timeout: 30_000 });
  const error = await page.innerText('#error');
  assert.match(error, /layer worker stopped with an error \(.*simulated.*\)/, error);
  await rigServices({});
  await page.context().close();
});

test('a path 32,000 directories deep is refused by the file browser, quickly', async () => {
  const page = await newPage(suite.browser);
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.deep);
  await expectPulled(page);
  const started = Date.now();
  await page.click('#browse-files');
  await page.waitForSelector('#files-error, #files-summary', { timeout: 30_000 });
  const shown = await page.innerText('#files');
  assert.match(shown, /layer \d: a path is \d+ bytes long, more than the 4096 a Linux path may have/, shown);
  assert.ok(Date.now() - started < 30_000);
  await page.context().close();
});

/** A ustar header block for `name` of `type` and `size`. */
function header(name, type, size) {
  const block = Buffer.alloc(512);
  block.write(name.slice(0, 99), 0);
  block.write('0000644\0', 100);
  block.write('0000000\0', 108);
  block.write('0000000\0', 116);
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  block.write('00000000000\0', 136);
  block.write('        ', 148);
  block.write(type, 156);
  block.write('ustar\0', 257);
  block.write('00', 263);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

test('push: a 2.5 GiB long name is refused at its header; 1,100 unnamed members are never read', async () => {
  const page = await newPage(suite.browser);
  await page.goto(suite.app.url);
  await page.waitForSelector('#image');
  await page.fill('#proxy', suite.proxy.url);
  // A sparse file: a GNU long-name header claiming 2.5 GiB, its body never written.
  const huge = join(outDir, 'long-name.tar');
  const size = 2.5 * 2 ** 30;
  let fd = openSync(huge, 'w');
  writeSync(fd, header('././@LongLink', 'L', size));
  ftruncateSync(fd, 512 + size + 1024);
  closeSync(fd);
  const refused = await push(page, huge, `${rig.tokenRegistry}/skiff/long-name-${run}:1`);
  assert.match(refused.error ?? '', /long name or PAX record is 2684354560 bytes/, refused.error);

  // A real image archive, then 1,100 members of 4 MB (sparse: zeros) that nothing names.
  await pullInApp(page, suite.app.url, suite.proxy.url, rig.fixtures.oci);
  await expectPulled(page);
  const real = readFileSync(await saveArchive(page, 'busybox_oci.tar'));
  const padded = join(outDir, 'padded.tar');
  fd = openSync(padded, 'w');
  let end = real.length - 1024; // without its end blocks
  writeSync(fd, real.subarray(0, end), 0, end, 0);
  const member = 4 << 20;
  for (let i = 0; i < 1100; i++) {
    writeSync(fd, header(`padding/${i}`, '0', member), 0, 512, end);
    end += 512 + member;
  }
  ftruncateSync(fd, end + 1024);
  closeSync(fd);
  const target = `${rig.tokenRegistry}/skiff/padded-${run}:1`;
  const pushed = await push(page, padded, target);
  assert.equal(pushed.error, undefined, pushed.error);
  pullAndRun(target, FIXTURE_OUTPUT);
  await page.context().close();
});
