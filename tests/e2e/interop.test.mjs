// What others made: archives written by docker, podman, skopeo and umoci (and Docker 25's layout,
// written from its documented format), each pushed through the panel, pulled back through the
// app, `docker load`ed (its image ID the archive's config digest) and run; and a second registry
// implementation (the `container-registry` crate: uploads only as POST, PATCH and an empty PUT)
// taking push, pull and copy. Plus the errors that used to point the wrong way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  rig, root, outDir, newPage, useSuite, docker, podman, pullInApp, expectPulled, dockerLoad,
  rigServices, FIXTURE_OUTPUT,
} from './harness.mjs';
import { push, logInApp, dockerAs, dockerLogoutAll } from './pushing.mjs';

const tokenHost = new URL(rig.tokenService).host;
const suite = useSuite(['--allow-push', '--allow-host', rig.otherRegistry, '--allow-host', rig.tokenRegistry,
  '--allow-host', tokenHost, '--allow-host', new URL(rig.cdn).host, '--allow-host', rig.relay]);
const run = Date.now().toString(36);
const work = mkdtempSync(join(outDir, 'interop-'));
const SECOND_OUTPUT = FIXTURE_OUTPUT;
const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const sh = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let fixtureId; // the v2s2 fixture's config digest: docker's image ID
let secondId;
const second = `${rig.registry}/interop/second:${run}`;
// Images with a layer of their own, so the second registry (which keeps blobs across
// repositories) holds none of their blobs: one to push, one to copy.
const unique = { push: `${rig.registry}/interop/unique-push:${run}`, copy: `${rig.registry}/interop/unique-copy:${run}` };
const uniqueIds = {};

/** `docker build` (the classic builder, no network) of `dockerfile` with `files` as context. */
function build(tag, dockerfile, files = {}) {
  const context = mkdtempSync(join(work, 'build-'));
  writeFileSync(join(context, 'Dockerfile'), dockerfile);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(context, name), text);
  execFileSync('/usr/bin/docker', ['build', '-q', '--network', 'none', '-t', tag, context], {
    env: { ...process.env, DOCKER_HOST: rig.dockerHost, DOCKER_BUILDKIT: '0' }, stdio: 'ignore',
  });
  return JSON.parse(docker(['image', 'inspect', tag]))[0].Id;
}

before(() => {
  docker(['pull', rig.fixtures.v2s2]);
  fixtureId = JSON.parse(docker(['image', 'inspect', rig.fixtures.v2s2]))[0].Id;
  // A second image sharing every layer with the fixture, its own config (a label).
  secondId = build(second, `FROM ${rig.fixtures.v2s2}\nLABEL org.example.interop=${run}\n`);
  docker(['push', second]);
  for (const [use, tag] of Object.entries(unique)) {
    uniqueIds[use] = build(tag, `FROM ${rig.fixtures.v2s2}\nCOPY stamp /stamp\n`, { stamp: `${use} ${run}\n` });
  }
  docker(['push', unique.copy]);
  for (const image of [rig.fixtures.v2s2, second]) podman(['pull', '-q', '--tls-verify=false', image]);
});

after(async () => {
  dockerLogoutAll();
  await rigServices({});
  rmSync(work, { recursive: true, force: true });
});

/** A folder tarred from inside it (`inside`), or with the folder itself around it. */
function tarDir(dir, tar, { inside = true } = {}) {
  if (inside) sh('tar', ['-C', dir, '-cf', tar, '.']);
  else sh('tar', ['-C', join(dir, '..'), '-cf', tar, dir.split('/').pop()]);
  return tar;
}

/** Docker 25's `docker save`, written from its documented format out of an older save. */
function docker25(fromTar, tar, { tagged }) {
  const old = join(work, `d25-src-${tagged}`);
  const dir = join(work, `d25-${tagged}`);
  mkdirSync(old, { recursive: true });
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  sh('tar', ['-xf', fromTar, '-C', old]);
  const [saved] = JSON.parse(readFileSync(join(old, 'manifest.json'), 'utf8'));
  const blob = (bytes) => {
    const digest = sha256(bytes);
    writeFileSync(join(dir, 'blobs/sha256', digest.slice(7)), bytes);
    return { digest, size: bytes.length, path: `blobs/sha256/${digest.slice(7)}` };
  };
  const config = blob(readFileSync(join(old, saved.Config)));
  const layers = saved.Layers.map((path) => blob(readFileSync(join(old, path))));
  const manifest = blob(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
  })));
  const name = 'docker.io/library/interop:25';
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: tagged ? [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifest.digest, size: manifest.size,
      annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': '25' },
    }] : null,
  };
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{
    Config: config.path, RepoTags: tagged ? [name] : null, Layers: layers.map((l) => l.path),
  }]));
  return tarDir(dir, tar);
}

/** An OCI layout (podman's oci-dir) whose index entry names the Docker type for its OCI manifest. */
function lyingIndex(tar) {
  const dir = join(work, 'lying');
  podman(['save', '-q', '--format', 'oci-dir', '-o', dir, rig.fixtures.v2s2]);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
  assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  index.manifests[0].mediaType = 'application/vnd.docker.distribution.manifest.v2+json';
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  return tarDir(dir, tar);
}

/** umoci's own layout: the fixture through skopeo into a layout, relabelled by umoci. */
function umociLayout(tar) {
  const dir = join(work, 'umoci');
  sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${rig.fixtures.v2s2}`, `oci:${dir}:src`]);
  sh('umoci', ['config', '--image', `${dir}:src`, '--tag', 'relabelled', '--config.label', `org.example.umoci=${run}`]);
  sh('umoci', ['rm', '--image', `${dir}:src`]);
  sh('umoci', ['gc', '--layout', dir]);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
  return { tar: tarDir(dir, tar), configId: manifest.config.digest };
}

/** The config digest of an OCI layout's (first) image, read from the tar without the app. */
function ociConfigId(tar) {
  const dir = mkdtempSync(join(work, 'read-'));
  sh('tar', ['-xf', tar, '-C', dir]);
  const blob = (digest) => JSON.parse(readFileSync(join(dir, 'blobs/sha256', digest.slice(7)), 'utf8'));
  let document = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  while (document.manifests) document = blob(document.manifests[0].digest);
  return document.config.digest;
}

/** Every archive of the matrix: [name, make() → { tar, images: [[configId, output]] }]. */
const archives = [
  ['docker save, one image', (t) => (docker(['save', '-o', t, rig.fixtures.v2s2]), [fixtureId])],
  ['docker save by ID (untagged)', (t) => (docker(['save', '-o', t, fixtureId.slice(7, 19)]), [fixtureId])],
  ['docker save, two images sharing layers (symlinked)', (t) => (docker(['save', '-o', t, rig.fixtures.v2s2, second]), [fixtureId, secondId])],
  ['podman docker-archive', (t) => (podman(['save', '-q', '--format', 'docker-archive', '-o', t, rig.fixtures.v2s2]), [fixtureId])],
  ['podman oci-archive', (t) => (podman(['save', '-q', '--format', 'oci-archive', '-o', t, rig.fixtures.v2s2]), [ociConfigId(t)])],
  ['podman oci-dir, tarred', (t) => {
    podman(['save', '-q', '--format', 'oci-dir', '-o', join(work, 'ocidir'), rig.fixtures.v2s2]);
    tarDir(join(work, 'ocidir'), t);
    return [ociConfigId(t)];
  }],
  ['podman docker-dir, tarred with its folder', (t) => {
    podman(['save', '-q', '--format', 'docker-dir', '-o', join(work, 'dockerdir'), rig.fixtures.v2s2]);
    tarDir(join(work, 'dockerdir'), t, { inside: false });
    return [fixtureId];
  }],
  ['podman --multi-image-archive', (t) => (podman(['save', '-q', '--multi-image-archive', '-o', t, rig.fixtures.v2s2, second]), [fixtureId, secondId])],
  ['skopeo docker-archive', (t) => (sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${rig.fixtures.v2s2}`, `docker-archive:${t}:skiff/skopeo:1`]), [fixtureId])],
  ['skopeo oci-archive (ref name "1")', (t) => (sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${rig.fixtures.v2s2}`, `oci-archive:${t}:1`]), [ociConfigId(t)])],
  ['umoci', (t) => [umociLayout(t).configId]],
  ['Docker 25 save, tagged', (t) => (docker25(join(work, 'docker-save-one-image.tar'), t, { tagged: true }), [fixtureId])],
  ['Docker 25 save, untagged (null manifests)', (t) => (docker25(join(work, 'docker-save-one-image.tar'), t, { tagged: false }), [fixtureId])],
  ['an OCI layout whose index entry names another media type', (t) => (lyingIndex(t), [ociConfigId(t)])],
];

const slug = (name) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** Pulls `reference` through the app, saves the archive, loads it; returns docker's image ID. */
async function pullBackAndLoad(page, reference, registry) {
  if (registry) await logInApp(page, registry);
  await pullInApp(page, suite.app.url, suite.proxy.url, reference);
  await expectPulled(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  const path = join(work, `back-${download.suggestedFilename()}`);
  await download.saveAs(path);
  const { inspect } = dockerLoad(path, reference);
  return inspect.Id;
}

function runs(reference, expected) {
  assert.equal(docker(['run', '--rm', '--network', 'none', reference]), expected);
}

for (const [name, make] of archives) {
  test(`interop: ${name}: pushed, pulled back, loaded with its config digest as ID, run`, async () => {
    const tar = join(work, `${slug(name)}.tar`);
    const ids = make(tar);
    const page = await newPage(suite.browser);
    await page.goto(suite.app.url);
    await page.fill('#proxy', suite.proxy.url);
    const several = ids.length > 1;
    const target = several ? `${rig.registry}/interop-${run}-${slug(name)}` : `${rig.registry}/interop/${slug(name)}:${run}`;
    const result = await push(page, tar, target, rig.registry);
    assert.equal(result.error, undefined, result.error);
    const pushed = result.pushed.split('\n').map((line) => line.match(/(\S+)@sha256:/)?.[1]).filter(Boolean);
    assert.equal(pushed.length, ids.length, result.pushed);
    for (const [i, reference] of pushed.entries()) {
      // Two images are told by name: `docker save` lists them in manifest.json in a random
      // order (a Go map's), and they are pushed in the archive's order.
      const expected = several ? (reference.includes('/interop/second:') ? secondId : fixtureId) : ids[i];
      const id = await pullBackAndLoad(page, reference);
      assert.equal(id, expected, `${reference}: docker load gave ${id}`);
      runs(reference, expected === secondId ? SECOND_OUTPUT : FIXTURE_OUTPUT);
      docker(['rmi', reference]);
    }
    await page.close();
  });
}

test('container-registry: push (POST, PATCH and an empty PUT), pull back, and copy both ways', async () => {
  const page = await newPage(suite.browser);
  await page.goto(suite.app.url);
  await page.fill('#proxy', suite.proxy.url);
  const tar = join(work, 'for-other.tar');
  docker(['save', '-o', tar, unique.push]);
  const pushedTo = `${rig.otherRegistry}/skiff/pushed-${run}:1`;
  const pushed = await push(page, tar, pushedTo, rig.otherRegistry);
  assert.equal(pushed.error, undefined, pushed.error);
  assert.match(pushed.counts, /^[1-9]\d* blobs? uploaded/);
  // Pulled back through the app, from the other registry, with its login.
  assert.equal(await pullBackAndLoad(page, pushedTo, rig.otherRegistry), uniqueIds.push);
  runs(pushedTo, FIXTURE_OUTPUT);
  docker(['rmi', pushedTo]);

  // Copy Distribution → container-registry, then back into Distribution; docker pulls both.
  const copyTo = `${rig.otherRegistry}/skiff/copied-${run}:1`;
  for (const [from, to] of [[unique.copy, copyTo], [copyTo, `${rig.registry}/interop/back-${run}:1`]]) {
    assert.equal(await copy(page, from, to), null);
  }
  dockerAs(['login', '-u', rig.user, '--password-stdin', rig.otherRegistry], rig.password);
  for (const reference of [copyTo, `${rig.registry}/interop/back-${run}:1`]) {
    dockerAs(['pull', reference]);
    assert.equal(JSON.parse(dockerAs(['image', 'inspect', reference]))[0].Id, uniqueIds.copy);
    runs(reference, FIXTURE_OUTPUT);
    dockerAs(['rmi', reference]);
  }
  await page.close();
});

/** Copies `from` to `to` in a fresh view of the panel; the error shown, or null. */
async function copy(page, from, to) {
  await page.goto(suite.app.url);
  await page.fill('#proxy', suite.proxy.url);
  await logInApp(page, rig.otherRegistry);
  await page.click('#nav-push');
  await page.fill('#copy-from', from);
  await page.fill('#copy-to', to);
  await page.click('#copy-start');
  await page.waitForSelector('#push-done, #push-error', { timeout: 180_000 });
  const error = await page.$('#push-error');
  return error && error.innerText();
}

test('container-registry: blobs bigger than a chunk are copied as one PATCH from a staged file', async () => {
  execFileSync(join(root, 'tests/rig/rig.sh'), ['bench-fixture', process.env.SKIFF_RIG_DIR, '80', `interop-${run}`], { stdio: 'ignore' });
  const from = `${rig.registry}/skiff/bench:interop-${run}`;
  const to = `${rig.otherRegistry}/skiff/bench-${run}:1`;
  const page = await newPage(suite.browser);
  assert.equal(await copy(page, from, to), null);
  // The registry's copy has the source's manifest and config: skopeo reads both the same.
  const inspect = (ref, creds) => JSON.parse(sh('skopeo', ['inspect', '--raw', '--tls-verify=false', ...creds, `docker://${ref}`]));
  const source = inspect(from, []);
  const copied = inspect(to, ['--creds', `${rig.user}:${rig.password}`]);
  assert.deepEqual(copied, source);
  assert.ok(source.layers.every((l) => l.size > 16 << 20), 'the bench layers are bigger than a chunk');
  await page.close();
});

test('errors say the real cause: the registry\'s own words, which image, push rights, a damaged file, a tagged target for several images', async () => {
  const page = await newPage(suite.browser);
  await page.goto(suite.app.url);
  await page.fill('#proxy', suite.proxy.url);
  const tar = join(work, 'docker-save-one-image.tar');
  const two = join(work, 'docker-save-two-images-sharing-layers-symlinked.tar');

  // A registry that refuses both ways of sending the bytes, answering in its own words.
  const fresh = async () => {
    await page.goto(suite.app.url);
    await page.fill('#proxy', suite.proxy.url);
  };
  const refusal = { errors: [{ code: 'BLOB_UPLOAD_INVALID', message: 'the rig refuses this upload' }] };
  await rigServices({
    faults: [
      { match: '/blobs/uploads/', method: 'PUT', status: 500, body: JSON.stringify(refusal) },
      { match: '/blobs/uploads/', method: 'PATCH', status: 500, body: JSON.stringify(refusal) },
      { match: '/blobs/uploads/', method: 'GET', status: 405, body: '' },
    ],
  });
  let result = await push(page, tar, `${rig.relay}/skiff/refused-${run}:1`, rig.relay);
  await rigServices({});
  assert.match(result.error ?? '', /BLOB_UPLOAD_INVALID: the rig refuses this upload/);
  assert.doesNotMatch(result.error, /405/);

  // Credentials that may pull but not push: said so, not "enter credentials"; which image.
  await fresh();
  result = await push(page, two, `${rig.tokenRegistry}/skiff/readonly-${run}`, rig.tokenRegistry);
  assert.match(result.error ?? '', /image 1 of 2 \(/);
  assert.match(result.error, /may pull but not push/);
  assert.doesNotMatch(result.error, /enter credentials under Credentials\./);

  // A damaged archive on disk: the file's fault, not a registry's.
  const damaged = join(work, 'damaged.tar');
  const bytes = readFileSync(tar);
  const layer = bytes.indexOf(Buffer.from('hello from the skiff fixture'));
  assert.ok(layer > 0, 'the fixture script is in the archive');
  bytes[layer] ^= 1;
  writeFileSync(damaged, bytes);
  await fresh();
  result = await push(page, damaged, `${rig.registry}/interop/damaged-${run}:1`, rig.registry);
  assert.match(result.error ?? '', /archive is corrupt/);
  assert.doesNotMatch(result.error, /registry \(or something between/);

  // Several images to one tagged reference: it needs a registry and namespace.
  await fresh();
  result = await push(page, two, `${rig.registry}/interop/both:${run}`, rig.registry);
  assert.match(result.error ?? '', /holds 2 images.*registry and namespace/s);
  assert.doesNotMatch(result.error, /invalid image reference/);
  await page.close();
});
