// The rig's own services, beside the real registries:
//  - a token service like auth.docker.io: signs real JWTs (RS256, certificate in `x5c`) that
//    the token-auth registry verifies; anonymous pulls get a token, `skiff/private*` needs the
//    rig user; its answers (lifetime, `token` vs `access_token`) are set through /__config;
//  - a blob CDN like S3/R2 behind Docker Hub's 307s: serves the registry's storage, rejects any
//    request that carries Authorization, can throttle, and counts what it served;
//  - a relay in front of the open registry that injects the faults real registries and networks
//    produce (429 with rate-limit headers, 5xx, truncated bodies, malformed JSON, odd media
//    types), as set through /__config, and passes everything else through untouched;
//  - a hostile page on the token service's (allowlisted) host, `/hostile/page.html`: HTML whose
//    script, if it ever ran in the proxy's origin, would call `/hostile/beacon`; both counted.
//
//  - "elsewhere", on the CDN's host: an upload session's other host (a storage bucket behind
//    a registry's upload Location), which authorizes uploads itself (as a signed URL does) and
//    records whether a client sent it the registry's credentials anyway.
//
// Usage: node services.mjs TOKEN_PORT CDN_PORT KEY.pem CERT.pem STORAGE_ROOT RELAY_PORT REGISTRY
//          TOKEN_REGISTRY BASIC_REGISTRY
import { createServer, request as httpRequest } from 'node:http';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { join, normalize } from 'node:path';

const [tokenPort, cdnPort, keyPath, certPath, storageRoot, relayPort, openRegistry, tokenRegistry, basicRegistry] = process.argv.slice(2);
const key = createPrivateKey(readFileSync(keyPath));
const certDer = readFileSync(certPath, 'utf8').replace(/-----[^-]+-----|\s/g, '');

export const USER = 'skiff';
export const PASSWORD = 's3cret-token';
const SERVICE = 'skiff-rig';
const ISSUER = 'skiff-rig-issuer';

const defaults = {
  tokenLifetime: 300, // the `expires_in` the service states
  registryLifetime: null, // seconds the JWT really lives (default: tokenLifetime)
  tokenField: 'token', // 'token', 'access_token' or 'both'
  omitExpiresIn: false,
  cdnBytesPerSecond: 0, // 0: unthrottled
  // Relay faults, first match wins: { match: 'path substring', times: N (default: always),
  //   status, headers, body } answers instead of the registry; { match, truncateAfter: BYTES }
  //   forwards but cuts the body off; { match, replaceBody, headers } swaps the body.
  faults: [],
  // Page size the relay enforces on /tags/list, with Link headers as registries that paginate
  // send them (Debian's Distribution 2.8 does not paginate); 0: pass through.
  paginateTags: 0,
  // The same for /v2/_catalog (the registry's repositories); 0: pass through.
  paginateCatalog: 0,
  // When set (an origin such as http://127.0.0.1:PORT), the relay's tag pages link to the next
  // page on that origin instead: a registry sending a client's credentials elsewhere.
  tagLinkOrigin: null,
  // Which registry the relay fronts: 'open' (default), 'token' or 'basic'.
  relayTo: 'open',
  // Upload sessions' Location names the CDN's host ("elsewhere") instead of the relay.
  uploadsElsewhere: false,
  // { match, probability, seed, kinds }: that share of matching responses breaks, at random
  // (seeded, so a run repeats), in one of `kinds` (default the first three): 'status503' (a
  // burst: the retry of that URL gets a 503 too), 'reset' mid-body, 'earlyEnd' (a clean end
  // before the body is complete), 'corrupt' (one byte flipped, length kept), 'status429' (with
  // Retry-After: 1 and Docker Hub's rate-limit headers).
  chaos: null,
};
let config = { ...defaults };
const freshStats = () => ({
  tokenRequests: 0, tokenRequestsWithCredentials: 0, tokenAuthorizations: [], cdnRequests: {}, cdnRanges: {}, cdnRejectedAuthorization: 0,
  relayRequests: {}, hostileRequests: {}, strayRequests: [], elsewhereRequests: [], chaos: { status503: 0, reset: 0, earlyEnd: 0, corrupt: 0, status429: 0, passed: 0 },
});
let stats = freshStats();

const b64url = (value) => Buffer.from(value).toString('base64url');

function jwt(subject, access, lifetime) {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
  const claims = { iss: ISSUER, sub: subject, aud: SERVICE, iat: now, nbf: now - 5, exp: now + lifetime, jti: randomUUID(), access };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// mulberry32: a small seeded generator, so a soak breaks the same responses every run.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
let random = seeded(1);

/** A chaos fault for this request, or null: { status } or { truncateAfter, clean }. */
function chaosFault(req) {
  const chaos = config.chaos;
  if (!chaos || !req.url.includes(chaos.match)) return null;
  if (random() >= chaos.probability) {
    stats.chaos.passed++;
    return null;
  }
  const kinds = chaos.kinds ?? ['status503', 'reset', 'earlyEnd'];
  const kind = kinds[Math.floor(random() * kinds.length)];
  const fraction = random() * 0.9;
  stats.chaos[kind]++;
  switch (kind) {
    case 'status503':
      // A burst: the retry of this URL fails too.
      config.faults.push({ match: req.url, status: 503, times: 1 });
      return { status: 503, times: 1 };
    case 'status429':
      return { status: 429, times: 1, headers: { 'retry-after': '1', 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' } };
    case 'corrupt':
      return { corruptFraction: fraction, times: 1 };
    default:
      return { truncateFraction: fraction, clean: kind === 'earlyEnd', times: 1 };
  }
}

async function control(req, res) {
  if (req.url === '/__config' && req.method === 'POST') {
    config = { ...defaults, ...JSON.parse((await readBody(req)) || '{}') };
    random = seeded(config.chaos?.seed ?? 1);
    config.faults = config.faults.map((fault) => ({ times: Infinity, ...fault }));
    stats = freshStats();
    return json(res, 200, config);
  }
  if (req.url === '/__stats') return json(res, 200, stats);
  return false;
}

createServer(async (req, res) => {
  if ((await control(req, res)) !== false) return;
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/hostile/')) return hostile(req, res, url.pathname);
  if (url.pathname !== '/token') {
    // Anything else that reaches the token service's host (a tag page linked here, say).
    stats.strayRequests.push({ path: url.pathname, authorization: Boolean(req.headers.authorization) });
    return json(res, 404, { error: 'not found' });
  }
  stats.tokenRequests++;
  let subject = '';
  const auth = req.headers.authorization;
  if (auth) {
    stats.tokenRequestsWithCredentials++;
    // Who logged in (never the password): the user name from the Basic header.
    stats.tokenAuthorizations.push(Buffer.from(auth.replace(/^Basic /i, ''), 'base64').toString().split(':')[0]);
    const [user, password] = Buffer.from(auth.replace(/^Basic /i, ''), 'base64').toString().split(':');
    if (!/^Basic /i.test(auth) || user !== USER || password !== PASSWORD) {
      return json(res, 401, { details: 'incorrect username or password' });
    }
    subject = user;
  }
  const access = url.searchParams.getAll('scope').flatMap((scope) => {
    const [type, name, actions] = scope.split(':');
    const asked = actions?.split(',') ?? [];
    // The catalog, like Harbor's or GitLab's: only to a logged-in account.
    if (type === 'registry' && name === 'catalog') return subject ? [{ type, name, actions: ['*'] }] : [];
    if (type !== 'repository' || !asked.includes('pull')) return [];
    // Like Docker Hub: anonymous requests for private repositories get a token without access.
    if (name.startsWith('skiff/private') && !subject) return [];
    // Pushing takes a login, and is never granted for skiff/readonly* (an account that may
    // pull but not push there).
    const mayPush = subject && asked.includes('push') && !name.startsWith('skiff/readonly');
    return [{ type, name, actions: mayPush ? ['pull', 'push'] : ['pull'] }];
  });
  const lifetime = config.registryLifetime ?? config.tokenLifetime;
  const token = jwt(subject, access, lifetime);
  const body = {};
  if (config.tokenField !== 'access_token') body.token = token;
  if (config.tokenField !== 'token') body.access_token = token;
  if (!config.omitExpiresIn) body.expires_in = config.tokenLifetime;
  body.issued_at = new Date().toISOString();
  json(res, 200, body);
}).listen(Number(tokenPort), '127.0.0.1');

createServer(async (req, res) => {
  if ((await control(req, res)) !== false) return;
  if (req.url.startsWith('/elsewhere/')) return elsewhere(req, res);
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (req.headers.authorization) {
    // What S3 says when a signed URL also carries Authorization.
    stats.cdnRejectedAuthorization++;
    res.writeHead(400, { 'content-type': 'application/xml' });
    return res.end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
  }
  const file = normalize(join(storageRoot, path));
  if (!file.startsWith(normalize(storageRoot) + '/') || !path.endsWith('/data')) return json(res, 404, {});
  let size;
  try {
    size = statSync(file).size;
  } catch {
    return json(res, 404, {});
  }
  stats.cdnRequests[path] = (stats.cdnRequests[path] ?? 0) + 1;
  // `Range: bytes=N-`, as S3 and R2 answer it.
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  if (range) (stats.cdnRanges[path] ??= []).push(req.headers.range);
  if (start > 0 && start >= size) {
    res.writeHead(416, { 'content-range': `bytes */${size}` });
    return res.end();
  }
  res.writeHead(range ? 206 : 200, {
    'content-type': 'application/octet-stream',
    'content-length': size - start,
    ...(range ? { 'content-range': `bytes ${start}-${size - 1}/${size}` } : {}),
  });
  if (req.method === 'HEAD') return res.end();
  const stream = createReadStream(file, { start, highWaterMark: 64 * 1024 });
  if (!config.cdnBytesPerSecond) return stream.pipe(res);
  const started = Date.now();
  let sent = 0;
  for await (const chunk of stream) {
    if (!res.write(chunk)) await new Promise((ok) => res.once('drain', ok));
    sent += chunk.length;
    const due = started + (sent / config.cdnBytesPerSecond) * 1000;
    if (due > Date.now()) await new Promise((ok) => setTimeout(ok, due - Date.now()));
  }
  res.end();
}).listen(Number(cdnPort), '127.0.0.1');

createServer(async (req, res) => {
  if ((await control(req, res)) !== false) return;
  const path = new URL(req.url, 'http://x').pathname;
  stats.relayRequests[path] = (stats.relayRequests[path] ?? 0) + 1;
  // A fault that breaks uploads after N bytes waits for a body longer than that.
  const bigEnough = (f) => f.breakUploadAfter === undefined || Number(req.headers['content-length'] ?? 0) > f.breakUploadAfter;
  let fault = config.faults.find((f) => f.times > 0 && req.url.includes(f.match) && (!f.method || f.method === req.method) && bigEnough(f));
  if (fault) fault.times--;
  else if (req.method === 'GET') fault = chaosFault(req);
  if (fault?.status) {
    res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
    return res.end(fault.body ?? JSON.stringify({ errors: [{ code: 'INJECTED', message: `rig fault ${fault.status}` }] }));
  }
  if (config.paginateTags && path.endsWith('/tags/list')) return paginateTags(req, res, path);
  if (config.paginateCatalog && path === '/v2/_catalog') return paginateCatalog(req, res, path);
  if (fault?.breakUploadAfter !== undefined) return breakUpload(req, res, fault);
  const headers = relayedHeaders(req);
  const upstream = httpRequest({ host: '127.0.0.1', port: registryPort(), method: req.method, path: req.url, headers });
  upstream.on('error', () => res.destroy());
  upstream.on('response', (answer) => {
    answer.headers = uploadsElsewhere(answer.headers, req.headers.host);
    if (fault?.replaceBody !== undefined) {
      const { 'docker-content-digest': _, 'content-length': __, ...kept } = answer.headers;
      res.writeHead(answer.statusCode, { ...kept, ...fault.headers });
      answer.resume();
      return res.end(fault.replaceBody);
    }
    if (fault?.truncateFraction !== undefined) return breakBody(answer, res, fault);
    if (fault?.corruptFraction !== undefined) return corruptBody(answer, res, fault);
    res.writeHead(answer.statusCode, { ...answer.headers, ...fault?.headers });
    if (fault?.truncateAfter === undefined) return answer.pipe(res);
    if (fault.truncateAfter === 0) {
      // Headers out, then the connection drops before any byte of the body.
      answer.resume();
      res.flushHeaders();
      return setTimeout(() => res.destroy(), 50);
    }
    let sent = 0;
    answer.on('data', (chunk) => {
      if (sent >= fault.truncateAfter) return;
      const part = chunk.subarray(0, fault.truncateAfter - sent);
      sent += part.length;
      res.write(part);
      if (sent >= fault.truncateAfter) setTimeout(() => res.destroy(), 50);
    });
  });
  req.pipe(upstream);
}).listen(Number(relayPort), '127.0.0.1');

/** The registry the relay fronts now. */
function relayTarget() {
  return { open: openRegistry, token: tokenRegistry, basic: basicRegistry }[config.relayTo] ?? openRegistry;
}

function registryPort() {
  return Number(relayTarget().split(':')[1]);
}

/** An upload answer's Location moved to the "elsewhere" host, when so configured. */
function uploadsElsewhere(headers, relayHost) {
  const location = headers.location;
  if (!config.uploadsElsewhere || !location?.includes('/blobs/uploads/')) return headers;
  const url = new URL(location, `http://${relayHost}`);
  return { ...headers, location: `http://127.0.0.1:${cdnPort}/elsewhere${url.pathname}${url.search}` };
}

/** The other host of an upload session: records the Authorization a client sent (there should
 * be none), then forwards to the relay's registry with credentials of its own. */
function elsewhere(req, res) {
  const path = req.url.slice('/elsewhere'.length);
  stats.elsewhereRequests.push({ method: req.method, authorization: req.headers.authorization?.split(' ')[0] ?? null });
  const repository = /^\/v2\/(.+)\/blobs\/uploads\//.exec(path)?.[1] ?? '';
  const authorization = config.relayTo === 'basic'
    ? `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`
    : `Bearer ${jwt(USER, [{ type: 'repository', name: repository, actions: ['pull', 'push'] }], 300)}`;
  const { authorization: _, ...kept } = req.headers;
  const headers = { ...kept, host: `127.0.0.1:${relayPort}`, authorization };
  const upstream = httpRequest({ host: '127.0.0.1', port: registryPort(), method: req.method, path, headers });
  upstream.on('error', () => res.destroy());
  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode, uploadsElsewhere(answer.headers, `127.0.0.1:${relayPort}`));
    answer.pipe(res);
  });
  req.pipe(upstream);
}

function hostile(req, res, path) {
  stats.hostileRequests[path] = (stats.hostileRequests[path] ?? 0) + 1;
  if (path === '/hostile/sw.js') {
    // A service worker that, once registered on the app's origin, would answer its pages.
    res.writeHead(200, { 'content-type': 'text/javascript' });
    return res.end("self.addEventListener('fetch', (e) => e.respondWith(new Response('<title>pwned</title>', { headers: { 'content-type': 'text/html' } })));");
  }
  if (path === '/hostile/page.html') {
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end("<html><head><title>hostile</title></head><body><script>document.title = 'pwned'; fetch('/hostile/beacon')</script></body></html>");
  }
  res.writeHead(204);
  res.end();
}

/** The request's headers for the registry. Uploads keep the relay's name as `Host`: the
 * registry builds the session's `Location` from it, so the upload stays on the relay. */
function relayedHeaders(req) {
  return { ...req.headers, host: req.url.includes('/blobs/uploads/') ? req.headers.host : relayTarget() };
}

/** Passes the first bytes of an upload's body on (none for 0), then drops both connections: an
 * upload broken on the way, as a flaky network breaks it. */
function breakUpload(req, res, fault) {
  stats.brokenUploads = (stats.brokenUploads ?? 0) + 1;
  const headers = relayedHeaders(req);
  const upstream = httpRequest({ host: '127.0.0.1', port: registryPort(), method: req.method, path: req.url, headers });
  upstream.on('error', () => {});
  let seen = 0;
  // Nothing of the body passes: the registry sees the request start and the connection go.
  if (fault.breakUploadAfter === 0) {
    upstream.flushHeaders();
    return setTimeout(() => { upstream.destroy(); res.destroy(); }, 50);
  }
  req.on('data', (chunk) => {
    if (seen >= fault.breakUploadAfter) return;
    const part = chunk.subarray(0, fault.breakUploadAfter - seen);
    seen += part.length;
    upstream.write(part);
    if (seen >= fault.breakUploadAfter) {
      setTimeout(() => { upstream.destroy(); res.destroy(); }, 50);
    }
  });
}

/** Sends the whole body with one byte flipped: the length is right, the digest is not. */
function corruptBody(answer, res, fault) {
  const length = Number(answer.headers['content-length'] ?? 0);
  const at = Math.floor(length * fault.corruptFraction);
  res.writeHead(answer.statusCode, answer.headers);
  let offset = 0;
  answer.on('data', (chunk) => {
    if (at >= offset && at < offset + chunk.length) {
      chunk = Buffer.from(chunk);
      chunk[at - offset] ^= 0xff;
    }
    offset += chunk.length;
    res.write(chunk);
  });
  answer.on('end', () => res.end());
}

/** Sends part of the body, then resets the connection, or ends it cleanly as if complete. */
function breakBody(answer, res, fault) {
  const length = Number(answer.headers['content-length'] ?? 0);
  const cutAt = Math.floor(length * fault.truncateFraction);
  const headers = { ...answer.headers };
  // A clean early end needs no length to contradict: chunked, then a proper last chunk.
  if (fault.clean) delete headers['content-length'];
  res.writeHead(answer.statusCode, headers);
  res.flushHeaders();
  let sent = 0;
  answer.on('data', (chunk) => {
    if (sent >= cutAt) return;
    const part = chunk.subarray(0, cutAt - sent);
    sent += part.length;
    res.write(part);
  });
  answer.on('end', () => (fault.clean ? res.end() : res.destroy()));
}

async function paginateCatalog(req, res, path) {
  const query = new URL(req.url, 'http://x').searchParams;
  // Distribution serves up to 1000 a page: enough for the rig.
  const upstream = await fetch(`http://${relayTarget()}${path}?n=1000`, { headers: { authorization: req.headers.authorization ?? '' } });
  if (!upstream.ok) {
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    return res.end(await upstream.text());
  }
  const { repositories } = await upstream.json();
  const sorted = [...(repositories ?? [])].sort();
  const n = Math.min(Number(query.get('n') ?? config.paginateCatalog), config.paginateCatalog);
  const last = query.get('last');
  const rest = last ? sorted.filter((r) => r > last) : sorted;
  const page = rest.slice(0, n);
  const headers = { 'content-type': 'application/json' };
  if (rest.length > n) headers.link = `<${path}?n=${n}&last=${encodeURIComponent(page[page.length - 1])}>; rel="next"`;
  res.writeHead(200, headers);
  res.end(JSON.stringify({ repositories: page }));
}

async function paginateTags(req, res, path) {
  const query = new URL(req.url, 'http://x').searchParams;
  const upstream = await fetch(`http://${relayTarget()}${path}`, { headers: { authorization: req.headers.authorization ?? '' } });
  if (!upstream.ok) {
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    return res.end(await upstream.text());
  }
  const { name, tags } = await upstream.json();
  const sorted = [...(tags ?? [])].sort();
  const n = Math.min(Number(query.get('n') ?? config.paginateTags), config.paginateTags);
  const last = query.get('last');
  const rest = last ? sorted.filter((t) => t > last) : sorted;
  const page = rest.slice(0, n);
  const headers = { 'content-type': 'application/json' };
  if (rest.length > n) {
    headers.link = `<${config.tagLinkOrigin ?? ''}${path}?n=${n}&last=${encodeURIComponent(page[page.length - 1])}>; rel="next"`;
  }
  res.writeHead(200, headers);
  res.end(JSON.stringify({ name, tags: page }));
}
