import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SignatureKey } from '../../src/signatures/algorithms.js';
import {
  cacheLifetime,
  DIRECTORY_MEDIA_TYPE,
  DIRECTORY_PATH,
  DirectoryClient,
  directoryOrigin,
  type DirectoryLookup,
  type DirectoryOptions,
} from '../../src/signatures/directory.js';
import { guardedGet, type GuardedFetchOptions } from '../../src/signatures/ssrf.js';
import type { Logger } from '../../src/observe/logger.js';
import { resolveLocalhost, startDirectoryServer, TEST_CA, type DirectoryServer } from '../helpers/directory-server.js';

const START = 1_800_000_000_000;

interface TestKey {
  jwk: Record<string, unknown>;
  thumbprint: string;
}

/** A fresh Ed25519 public JWK with its RFC 8037 / RFC 7638 thumbprint as `kid`, plus any extra members. */
function newKey(extra: Record<string, unknown> = {}): TestKey {
  const { publicKey } = generateKeyPairSync('ed25519');
  const { crv, kty, x } = publicKey.export({ format: 'jwk' });
  const thumbprint = createHash('sha256').update(JSON.stringify({ crv, kty, x })).digest('base64url');
  return { jwk: { kty, crv, x, kid: thumbprint, use: 'sig', ...extra }, thumbprint };
}

const directory = (...keys: TestKey[]) => ({ keys: keys.map((k) => k.jwk) });
const randomKeyid = () => randomBytes(32).toString('base64url');

function isKey(value: DirectoryLookup): value is SignatureKey {
  return typeof value === 'object';
}

let server: DirectoryServer;
let clock: number;
let warnings: { obj: Record<string, unknown>; msg: string | undefined }[];
const logger: Logger = {
  info() {},
  error() {},
  warn(obj, msg) {
    warnings.push({ obj: obj as Record<string, unknown>, msg });
  },
};
const clients: DirectoryClient[] = [];

beforeEach(async () => {
  server = await startDirectoryServer();
  clock = START;
  warnings = [];
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server.close();
});

const advance = (seconds: number) => {
  clock += seconds * 1000;
};

/** A client that may reach the local test server (test-only fetch settings). */
function localClient(options: DirectoryOptions = {}): DirectoryClient {
  const client = new DirectoryClient(
    // Stale lookups wait for the refetch here (these tests are about lifetimes and revocation);
    // stale-while-revalidate has its own tests in directory-swr.test.ts.
    { logger, staleWhileRevalidateSeconds: 0, ...options, fetch: { ca: TEST_CA, allowPrivateAddresses: true, resolve: resolveLocalhost, ...options.fetch } },
    () => clock,
  );
  clients.push(client);
  return client;
}

/** Serves `body` as the directory with the given cache headers. */
function serve(body: object | string, headers: Record<string, string> = { 'cache-control': 'max-age=3600' }) {
  server.respond = { status: 200, headers: { 'content-type': DIRECTORY_MEDIA_TYPE, ...headers }, body };
}

describe('DirectoryClient: caching', () => {
  it('fetches once, then answers synchronously from the cache', async () => {
    const a = newKey();
    serve(directory(a));
    const client = localClient();
    const first = client.lookup(server.origin, a.thumbprint);
    expect(first).toBeInstanceOf(Promise);
    const key = await first;
    expect(isKey(key) && key.keyid).toBe(a.thumbprint);
    expect(isKey(key) && key.algorithm).toBe('ed25519');

    const second = client.lookup(server.origin, a.thumbprint);
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toBe(key);
    // Another spelling of the same origin shares the cache entry.
    expect(client.lookup(`https://LOCALHOST:${server.port}/`, a.thumbprint)).toBe(key);
    expect(server.requests.length).toBe(1);
  });

  it('asks for the directory at the well-known path with the directory media type, uncompressed', async () => {
    const a = newKey();
    serve(directory(a));
    await localClient().lookup(server.origin, a.thumbprint);
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request?.method).toBe('GET');
    expect(request?.path).toBe(DIRECTORY_PATH);
    expect(request?.headers.accept).toBe(DIRECTORY_MEDIA_TYPE);
    expect(request?.headers['accept-encoding']).toBe('identity');
    expect(request?.headers.host).toBe(`localhost:${server.port}`);
  });

  it('refetches when Cache-Control max-age runs out, not before', async () => {
    const a = newKey();
    serve(directory(a), { 'cache-control': 'public, max-age=120' });
    const client = localClient();
    expect(isKey(await client.lookup(server.origin, a.thumbprint))).toBe(true);
    advance(119);
    expect(isKey(client.lookup(server.origin, a.thumbprint) as DirectoryLookup)).toBe(true);
    expect(server.count()).toBe(1);
    advance(2);
    const refreshed = client.lookup(server.origin, a.thumbprint);
    expect(refreshed).toBeInstanceOf(Promise);
    expect(isKey(await refreshed)).toBe(true);
    expect(server.count()).toBe(2);
    expect(client.lookup(server.origin, a.thumbprint)).not.toBeInstanceOf(Promise);
  });

  it('clamps the lifetime to [minTtl, maxTtl]', async () => {
    const a = newKey();
    serve(directory(a), { 'cache-control': 'max-age=5' });
    const client = localClient({ minTtlSeconds: 30, maxTtlSeconds: 100 });
    await client.lookup(server.origin, a.thumbprint);
    advance(29);
    expect(client.lookup(server.origin, a.thumbprint)).not.toBeInstanceOf(Promise);
    advance(1);
    await client.lookup(server.origin, a.thumbprint);
    expect(server.count()).toBe(2);

    serve(directory(a), { 'cache-control': 'max-age=100000' });
    advance(30);
    await client.lookup(server.origin, a.thumbprint);
    expect(server.count()).toBe(3);
    advance(99);
    expect(client.lookup(server.origin, a.thumbprint)).not.toBeInstanceOf(Promise);
    advance(1);
    expect(client.lookup(server.origin, a.thumbprint)).toBeInstanceOf(Promise);
  });

  it('no-store means the minimum lifetime; no cache headers mean the default lifetime', async () => {
    const a = newKey();
    serve(directory(a), { 'cache-control': 'no-store' });
    const client = localClient({ minTtlSeconds: 10, defaultTtlSeconds: 500 });
    await client.lookup(server.origin, a.thumbprint);
    advance(10);
    serve(directory(a), {});
    await client.lookup(server.origin, a.thumbprint);
    expect(server.count()).toBe(2);
    advance(499);
    expect(client.lookup(server.origin, a.thumbprint)).not.toBeInstanceOf(Promise);
    advance(1);
    await client.lookup(server.origin, a.thumbprint);
    expect(server.count()).toBe(3);
  });

  it('honours Expires relative to Date', async () => {
    const a = newKey();
    const date = new Date(Date.UTC(2030, 0, 1));
    serve(directory(a), { date: date.toUTCString(), expires: new Date(date.getTime() + 600_000).toUTCString() });
    const client = localClient();
    await client.lookup(server.origin, a.thumbprint);
    advance(599);
    expect(client.lookup(server.origin, a.thumbprint)).not.toBeInstanceOf(Promise);
    advance(1);
    expect(client.lookup(server.origin, a.thumbprint)).toBeInstanceOf(Promise);
  });

  it('keeps at most maxOrigins directories (least recently used dropped)', async () => {
    const a = newKey();
    serve(directory(a));
    const client = localClient({ maxOrigins: 2 });
    const origins = [server.origin, `https://127.0.0.1:${server.port}`, `https://[::1]:${server.port}`];
    for (const origin of origins) expect(isKey(await client.lookup(origin, a.thumbprint))).toBe(true);
    expect(server.count()).toBe(3);
    expect(client.lookup(origins[2]!, a.thumbprint)).not.toBeInstanceOf(Promise);
    // The first origin was pushed out: it is fetched again.
    expect(client.lookup(origins[0]!, a.thumbprint)).toBeInstanceOf(Promise);
  });
});

describe('DirectoryClient: revocation and key lifetimes', () => {
  it('a key missing from a refetched directory is revoked', async () => {
    const a = newKey();
    const b = newKey();
    serve(directory(a, b), { 'cache-control': 'max-age=60' });
    const client = localClient();
    expect(isKey(await client.lookup(server.origin, a.thumbprint))).toBe(true);
    expect(isKey(client.lookup(server.origin, b.thumbprint) as DirectoryLookup)).toBe(true);
    serve(directory(b), { 'cache-control': 'max-age=60' });
    advance(61);
    expect(await client.lookup(server.origin, a.thumbprint)).toBe('unknown');
    expect(isKey(client.lookup(server.origin, b.thumbprint) as DirectoryLookup)).toBe(true);
    expect(client.lookup(server.origin, a.thumbprint)).toBe('unknown');
    expect(server.count()).toBe(2);
  });

  it('an empty directory revokes every key', async () => {
    const a = newKey();
    serve(directory(a), { 'cache-control': 'max-age=60' });
    const client = localClient();
    await client.lookup(server.origin, a.thumbprint);
    serve({ keys: [] }, { 'cache-control': 'max-age=60' });
    advance(61);
    expect(await client.lookup(server.origin, a.thumbprint)).toBe('unknown');
  });

  it('a key whose exp has passed or whose nbf is not reached counts as unknown', async () => {
    const nowSeconds = START / 1000;
    const expired = newKey({ exp: nowSeconds - 1 });
    const early = newKey({ nbf: nowSeconds + 100 });
    const current = newKey({ nbf: nowSeconds - 100, exp: nowSeconds + 100 });
    serve(directory(expired, early, current), { 'cache-control': 'max-age=86400' });
    const client = localClient();
    expect(isKey(await client.lookup(server.origin, current.thumbprint))).toBe(true);
    expect(client.lookup(server.origin, expired.thumbprint)).toBe('unknown');
    expect(client.lookup(server.origin, early.thumbprint)).toBe('unknown');
    advance(100);
    expect(isKey(client.lookup(server.origin, early.thumbprint) as DirectoryLookup)).toBe(true);
    // `current` has now expired: its exp is exclusive. A refetch is tried (the directory may carry a renewal).
    expect(await client.lookup(server.origin, current.thumbprint)).toBe('unknown');
  });

  it('matches keys by recomputed thumbprint, never by the kid the directory claims', async () => {
    const a = newKey();
    const liar = newKey({ kid: a.thumbprint });
    serve(directory(liar));
    const client = localClient();
    expect(await client.lookup(server.origin, a.thumbprint)).toBe('unknown');
    expect(isKey(client.lookup(server.origin, liar.thumbprint) as DirectoryLookup)).toBe(true);
  });
});

describe('DirectoryClient: failures', () => {
  it('stale-on-error: a 500 on refresh keeps serving the cached keys, retried at most once per negativeTtl', async () => {
    const a = newKey();
    serve(directory(a), { 'cache-control': 'max-age=60' });
    const client = localClient({ negativeTtlSeconds: 30 });
    const key = await client.lookup(server.origin, a.thumbprint);
    server.respond = { status: 500, body: 'oops' };
    advance(61);
    expect(await client.lookup(server.origin, a.thumbprint)).toBe(key);
    expect(server.count()).toBe(2);
    advance(29);
    expect(client.lookup(server.origin, a.thumbprint)).toBe(key);
    expect(client.lookup(server.origin, randomKeyid())).toBe('unavailable');
    expect(server.count()).toBe(2);
    advance(1);
    expect(await client.lookup(server.origin, a.thumbprint)).toBe(key);
    expect(server.count()).toBe(3);
    expect(warnings.map((w) => w.obj)).toEqual([
      { origin: server.origin, error: 'status' },
      { origin: server.origin, error: 'status' },
    ]);
    // Recovery: the next successful fetch is fresh again.
    serve(directory(a), { 'cache-control': 'max-age=60' });
    advance(30);
    expect(isKey(await client.lookup(server.origin, a.thumbprint))).toBe(true);
    expect(client.lookup(server.origin, a.thumbprint)).not.toBeInstanceOf(Promise);
  });

  it('stale-on-error: a refresh that times out keeps serving the cached keys', async () => {
    const a = newKey();
    serve(directory(a), { 'cache-control': 'max-age=60' });
    const client = localClient({ timeoutMs: 200 });
    const key = await client.lookup(server.origin, a.thumbprint);
    server.respond = { delayMs: 5000, body: directory(a) };
    advance(61);
    expect(await client.lookup(server.origin, a.thumbprint)).toBe(key);
    expect(warnings.map((w) => w.obj.error)).toEqual(['timeout']);
  });

  it('a refetch that lists garbage does not revoke anything', async () => {
    const a = newKey();
    serve(directory(a), { 'cache-control': 'max-age=60' });
    const client = localClient();
    const key = await client.lookup(server.origin, a.thumbprint);
    serve('<html>maintenance</html>');
    advance(61);
    expect(await client.lookup(server.origin, a.thumbprint)).toBe(key);
  });

  it('negative cache: a failure answers unavailable without refetching until negativeTtl passes', async () => {
    const a = newKey();
    server.respond = { status: 503 };
    const client = localClient({ negativeTtlSeconds: 60 });
    expect(await client.lookup(server.origin, a.thumbprint)).toBe('unavailable');
    serve(directory(a));
    advance(59);
    expect(client.lookup(server.origin, a.thumbprint)).toBe('unavailable');
    expect(client.lookup(server.origin, randomKeyid())).toBe('unavailable');
    expect(server.count()).toBe(1);
    advance(1);
    expect(isKey(await client.lookup(server.origin, a.thumbprint))).toBe(true);
    expect(server.count()).toBe(2);
    expect(warnings).toEqual([{ obj: { origin: server.origin, error: 'status' }, msg: 'bonafide: key directory fetch failed' }]);
  });

  it('clamps the negative TTL to 300 seconds', async () => {
    const a = newKey();
    server.respond = { status: 500 };
    const client = localClient({ negativeTtlSeconds: 3600 });
    expect(await client.lookup(server.origin, a.thumbprint)).toBe('unavailable');
    advance(299);
    expect(client.lookup(server.origin, a.thumbprint)).toBe('unavailable');
    expect(server.count()).toBe(1);
    serve(directory(a));
    advance(1);
    expect(isKey(await client.lookup(server.origin, a.thumbprint))).toBe(true);
    expect(server.count()).toBe(2);
  });

  it.each([
    ['404', { status: 404, body: 'not found' }],
    ['204', { status: 204 }],
    ['201 with a valid directory', { status: 201, body: { keys: [] } }],
    ['not JSON', { body: 'this is not json' }],
    ['a JSON array', { body: '[]' }],
    ['JSON without keys', { body: '{"jwks":[]}' }],
    ['keys that is not an array', { body: '{"keys":{}}' }],
    ['invalid UTF-8', { body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]) }],
  ])('a %s response is a failure → unavailable', async (_name, response) => {
    server.respond = response;
    const client = localClient();
    expect(await client.lookup(server.origin, newKey().thumbprint)).toBe('unavailable');
    expect(server.count()).toBe(1);
    expect(warnings).toHaveLength(1);
  });

  it('accepts a directory with a UTF-8 byte order mark', async () => {
    const a = newKey();
    server.respond = { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(directory(a)))]) };
    expect(isKey(await localClient().lookup(server.origin, a.thumbprint))).toBe(true);
  });

  it('size cap: a body over maxBytes is refused while streaming', async () => {
    const a = newKey();
    server.respond = { chunked: true, body: { keys: [a.jwk], padding: 'x'.repeat(4000) } };
    const client = localClient({ maxBytes: 2048 });
    expect(await client.lookup(server.origin, a.thumbprint)).toBe('unavailable');
    expect(warnings.map((w) => w.obj.error)).toEqual(['too-large']);
  });

  it('size cap: a Content-Length over maxBytes is refused up front', async () => {
    server.respond = { headers: { 'content-length': '10000000' }, body: '{"keys":[', stallAfterBytes: 9 };
    const client = localClient({ maxBytes: 2048, timeoutMs: 5000 });
    const started = Date.now();
    expect(await client.lookup(server.origin, newKey().thumbprint)).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(warnings.map((w) => w.obj.error)).toEqual(['too-large']);
  });

  it('time cap: a server slower than timeoutMs → unavailable within about timeoutMs', async () => {
    const a = newKey();
    server.respond = { delayMs: 5000, body: directory(a) };
    const client = localClient({ timeoutMs: 300 });
    const started = Date.now();
    expect(await client.lookup(server.origin, a.thumbprint)).toBe('unavailable');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1500);
    expect(warnings.map((w) => w.obj.error)).toEqual(['timeout']);
  });

  it('time cap: the deadline covers a body that stalls half-way', async () => {
    const a = newKey();
    const body = JSON.stringify(directory(a));
    server.respond = { body, stallAfterBytes: 10 };
    const client = localClient({ timeoutMs: 300 });
    const started = Date.now();
    expect(await client.lookup(server.origin, a.thumbprint)).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(warnings.map((w) => w.obj.error)).toEqual(['timeout']);
  });

  it('never follows a redirect, even to a valid directory', async () => {
    const a = newKey();
    server.respond = (request) =>
      request.path === DIRECTORY_PATH
        ? { status: 302, headers: { location: `${server.origin}/moved` } }
        : { body: directory(a) };
    const client = localClient();
    expect(await client.lookup(server.origin, a.thumbprint)).toBe('unavailable');
    expect(server.requests.map((r) => r.path)).toEqual([DIRECTORY_PATH]);
    expect(server.count('/moved')).toBe(0);
    expect(warnings.map((w) => w.obj.error)).toEqual(['redirect']);
  });

  it('logs failures with the origin and error kind only, never key material', async () => {
    const a = newKey();
    serve(directory(a), { 'cache-control': 'max-age=60' });
    const client = localClient();
    await client.lookup(server.origin, a.thumbprint);
    server.respond = { status: 500, body: JSON.stringify(a.jwk) };
    advance(61);
    await client.lookup(server.origin, a.thumbprint);
    expect(warnings).toHaveLength(1);
    const logged = JSON.stringify(warnings);
    expect(logged).not.toContain(String(a.jwk.x));
    expect(logged).not.toContain(a.thumbprint);
    expect(Object.keys(warnings[0]!.obj).sort()).toEqual(['error', 'origin']);
  });
});

describe('DirectoryClient: coalescing and rate limits', () => {
  it('10 concurrent lookups for one origin share one fetch', async () => {
    const a = newKey();
    const b = newKey();
    server.respond = { delayMs: 100, body: directory(a, b), headers: { 'cache-control': 'max-age=600' } };
    const client = localClient();
    const thumbprints = Array.from({ length: 10 }, (_, i) => (i % 3 === 0 ? b.thumbprint : i % 3 === 1 ? a.thumbprint : 'nope'));
    const lookups = thumbprints.map((t) => client.lookup(server.origin, t));
    expect(lookups.every((l) => l instanceof Promise)).toBe(true);
    const results = await Promise.all(lookups);
    results.forEach((result, i) => {
      const wanted = thumbprints[i];
      if (wanted === 'nope') expect(result).toBe('unknown');
      else expect(isKey(result) && result.keyid).toBe(wanted);
    });
    expect(server.requests.length).toBe(1);
  });

  it('concurrent lookups share a failing fetch too', async () => {
    server.respond = { delayMs: 50, status: 500 };
    const client = localClient();
    const results = await Promise.all(Array.from({ length: 10 }, () => client.lookup(server.origin, randomKeyid())));
    expect(new Set(results)).toEqual(new Set(['unavailable']));
    expect(server.requests.length).toBe(1);
  });

  it('an unknown keyid refetches a fresh directory at most once per minTtl', async () => {
    const a = newKey();
    const b = newKey();
    serve(directory(a));
    const client = localClient({ minTtlSeconds: 60 });
    await client.lookup(server.origin, a.thumbprint);
    // Just fetched: a flood of random keyids is answered from the cache, synchronously.
    for (let i = 0; i < 200; i++) expect(client.lookup(server.origin, randomKeyid())).toBe('unknown');
    expect(server.count()).toBe(1);

    serve(directory(a, b));
    advance(30);
    expect(client.lookup(server.origin, b.thumbprint)).toBe('unknown');
    expect(server.count()).toBe(1);
    advance(30);
    // A newly added key is found once the rate limit allows a refetch…
    const flood = Array.from({ length: 50 }, () => client.lookup(server.origin, randomKeyid()));
    const found = client.lookup(server.origin, b.thumbprint);
    expect(found).toBeInstanceOf(Promise);
    expect(isKey(await found)).toBe(true);
    expect(new Set(await Promise.all(flood))).toEqual(new Set(['unknown']));
    // …by one fetch shared by the whole flood, and the next flood waits another minTtl.
    expect(server.count()).toBe(2);
    for (let i = 0; i < 200; i++) expect(client.lookup(server.origin, randomKeyid())).toBe('unknown');
    expect(server.count()).toBe(2);
    expect(isKey(client.lookup(server.origin, a.thumbprint) as DirectoryLookup)).toBe(true);
  });

  it('caps fetches in flight across origins', async () => {
    const a = newKey();
    server.respond = { delayMs: 100, body: directory(a) };
    const client = localClient({ maxConcurrentFetches: 1 });
    const first = client.lookup(server.origin, a.thumbprint);
    expect(client.lookup(`https://127.0.0.1:${server.port}`, a.thumbprint)).toBe('unavailable');
    expect(isKey(await first)).toBe(true);
    expect(isKey(await client.lookup(`https://127.0.0.1:${server.port}`, a.thumbprint))).toBe(true);
    expect(server.count()).toBe(2);
  });
});

describe('DirectoryClient: origins', () => {
  it('allowlist mode fetches only the listed origins; others are unknown without a request', async () => {
    const a = newKey();
    serve(directory(a));
    const client = localClient({ allow: [`https://LocalHost:${server.port}/`] });
    expect(isKey(await client.lookup(server.origin, a.thumbprint))).toBe(true);
    expect(client.lookup(`https://127.0.0.1:${server.port}`, a.thumbprint)).toBe('unknown');
    expect(client.lookup('https://agent.example', a.thumbprint)).toBe('unknown');
    expect(server.requests.length).toBe(1);
  });

  it('an empty allowlist fetches nothing', () => {
    const client = localClient({ allow: [] });
    expect(client.lookup(server.origin, 'x')).toBe('unknown');
    expect(server.requests.length).toBe(0);
  });

  it.each([
    ['http origin', (port: number) => `http://localhost:${port}`],
    ['path', (port: number) => `https://localhost:${port}/keys`],
    ['query', (port: number) => `https://localhost:${port}/?a=1`],
    ['userinfo', (port: number) => `https://user@localhost:${port}`],
    ['garbage', () => 'not a url'],
  ])('a value that is not an https origin (%s) is unavailable without a request', (_name, make) => {
    const client = localClient();
    expect(client.lookup(make(server.port), 'x')).toBe('unavailable');
    expect(server.requests.length).toBe(0);
  });

  it('close() drops the cache and settles pending lookups as unavailable', async () => {
    const a = newKey();
    serve(directory(a));
    const client = localClient();
    expect(isKey(await client.lookup(server.origin, a.thumbprint))).toBe(true);
    server.respond = { delayMs: 2000, body: directory(a) };
    const pending = client.lookup(`https://127.0.0.1:${server.port}`, a.thumbprint);
    client.close();
    const started = Date.now();
    expect(await pending).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(500);
    expect(client.lookup(server.origin, a.thumbprint)).toBe('unavailable');
  });

  it('refuses bad options at construction', () => {
    expect(() => new DirectoryClient({ allow: ['http://agent.example'] }, () => 0)).toThrow(/allow\[0\]/);
    expect(() => new DirectoryClient({ timeoutMs: 0 }, () => 0)).toThrow(/timeoutMs/);
    expect(() => new DirectoryClient({ minTtlSeconds: 100, maxTtlSeconds: 50 }, () => 0)).toThrow(/maxTtlSeconds/);
    expect(() => new DirectoryClient({ maxOrigins: 1.5 }, () => 0)).toThrow(/maxOrigins/);
  });
});

describe('directoryOrigin', () => {
  it.each([
    ['https://example.com', 'https://example.com'],
    ['https://example.com/', 'https://example.com'],
    ['https://Example.COM:443/', 'https://example.com'],
    ['HTTPS://example.com', 'https://example.com'],
    ['https://example.com:8443', 'https://example.com:8443'],
    ['https://signature-agent.test', 'https://signature-agent.test'],
    ['https://[::1]:8443/', 'https://[::1]:8443'],
    ['https://127.0.0.1', 'https://127.0.0.1'],
  ])('%s → %s', (value, expected) => {
    expect(directoryOrigin(value)).toBe(expected);
  });

  it.each([
    'http://example.com',
    'https://example.com/path',
    'https://example.com//',
    'https://example.com/.',
    'https://example.com/?',
    'https://example.com?a',
    'https://example.com/#x',
    'https://example.com#',
    'https://user@example.com',
    'https://user:pw@example.com',
    'https:example.com',
    'https:/example.com',
    'https:///example.com',
    'https:\\\\example.com',
    'https://exa\tmple.com',
    'https://example.com\n',
    ' https://example.com',
    'https://exämple.com',
    'https://',
    'https://example.com:99999',
    'ftp://example.com',
    'example.com',
    '',
  ])('%j is not a directory origin', (value) => {
    expect(directoryOrigin(value)).toBeUndefined();
  });
});

describe('cacheLifetime', () => {
  const now = Date.UTC(2030, 0, 1);
  it.each([
    [{}, 3600],
    [{ 'cache-control': 'max-age=120' }, 120],
    [{ 'cache-control': 'max-age="120"' }, 120],
    [{ 'cache-control': 'Max-Age=120, must-revalidate' }, 120],
    [{ 'cache-control': 'max-age=120, s-maxage=30' }, 30],
    [{ 'cache-control': 'max-age=120', age: '100' }, 20],
    [{ 'cache-control': 'max-age=120', age: '500' }, 0],
    [{ 'cache-control': 'max-age=120, no-cache' }, 0],
    [{ 'cache-control': 'no-store' }, 0],
    [{ 'cache-control': 'max-age=-5' }, 3600],
    [{ 'cache-control': 'max-age=abc', expires: new Date(now + 50_000).toUTCString() }, 50],
    [{ 'cache-control': 'public' }, 3600],
    [{ 'cache-control': 'max-age=60', expires: new Date(now + 50_000).toUTCString() }, 60],
    [{ expires: new Date(now + 50_000).toUTCString() }, 50],
    [{ expires: new Date(now + 50_000).toUTCString(), date: new Date(now - 10_000).toUTCString() }, 60],
    [{ expires: new Date(now - 50_000).toUTCString() }, 0],
    [{ expires: '0' }, 0],
  ])('%j → %d s', (headers, expected) => {
    expect(cacheLifetime(headers, now, 3600)).toBe(expected);
  });
});

describe('SSRF guard', () => {
  const guarded = (extra: Partial<GuardedFetchOptions> = {}): GuardedFetchOptions => ({ timeoutMs: 3000, maxBytes: 65536, ca: TEST_CA, ...extra });

  it('fetches from the local server only with the test-only settings, sending identity encoding', async () => {
    server.respond = { body: 'hello' };
    const calls: string[] = [];
    const resolve = async (hostname: string) => {
      calls.push(hostname);
      return resolveLocalhost(hostname);
    };
    const response = await guardedGet(`${server.origin}/x?y=1`, guarded({ allowPrivateAddresses: true, resolve, headers: { 'X-Test': '1', 'Accept-Encoding': 'gzip' } }));
    expect(response.ok && response.body.toString()).toBe('hello');
    expect(response.ok && response.status).toBe(200);
    expect(server.requests[0]?.path).toBe('/x?y=1');
    expect(server.requests[0]?.headers['x-test']).toBe('1');
    expect(server.requests[0]?.headers['accept-encoding']).toBe('identity');
    // Resolved once, by our resolver, inside the connect.
    expect(calls).toEqual(['localhost']);
  });

  it('connects to exactly the address the resolver answered', async () => {
    server.respond = { body: 'v6' };
    const response = await guardedGet(server.origin, guarded({ allowPrivateAddresses: true, resolve: async () => [{ address: '::1', family: 6 }] }));
    expect(response.ok).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ['http origin', (port: number) => `http://localhost:${port}/`, 'not-https'],
    ['userinfo', (port: number) => `https://user:pw@localhost:${port}/`, 'not-https'],
    ['unparsable', () => 'https://exa mple.com:x/', 'not-https'],
    ['127.0.0.1', (port: number) => `https://127.0.0.1:${port}/`, 'blocked-address'],
    ['127.0.0.1 in hex', (port: number) => `https://0x7f.0.0.1:${port}/`, 'blocked-address'],
    ['127.0.0.1 as a number', (port: number) => `https://2130706433:${port}/`, 'blocked-address'],
    ['10.0.0.1', () => 'https://10.0.0.1/', 'blocked-address'],
    ['169.254.169.254', () => 'https://169.254.169.254/latest/meta-data/', 'blocked-address'],
    ['[::1]', (port: number) => `https://[::1]:${port}/`, 'blocked-address'],
    ['[::ffff:127.0.0.1]', (port: number) => `https://[::ffff:127.0.0.1]:${port}/`, 'blocked-address'],
    ['[fd00:ec2::254]', () => 'https://[fd00:ec2::254]/', 'blocked-address'],
    ['0.0.0.0', (port: number) => `https://0.0.0.0:${port}/`, 'blocked-address'],
  ])('refuses %s without a request', async (_name, make, error) => {
    const started = Date.now();
    const response = await guardedGet(make(server.port), guarded({ resolve: resolveLocalhost }));
    expect(response).toEqual({ ok: false, error });
    expect(Date.now() - started).toBeLessThan(500);
    expect(server.requests).toHaveLength(0);
  });

  it.each([
    ['10.0.0.5', [{ address: '10.0.0.5', family: 4 }], 'blocked-address'],
    ['127.0.0.1', [{ address: '127.0.0.1', family: 4 }], 'blocked-address'],
    ['::1', [{ address: '::1', family: 6 }], 'blocked-address'],
    ['169.254.169.254', [{ address: '169.254.169.254', family: 4 }], 'blocked-address'],
    [
      'a public and a private address',
      [
        { address: '93.184.215.14', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
      'blocked-address',
    ],
    [
      'a private address then a public one',
      [
        { address: '127.0.0.1', family: 4 },
        { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
      ],
      'blocked-address',
    ],
    ['nothing', [], 'dns'],
    ['something that is not an address', [{ address: 'localhost', family: 4 }], 'dns'],
  ])('refuses a hostname that resolves to %s', async (_name, addresses, error) => {
    const response = await guardedGet(`${server.origin}/`, guarded({ resolve: async () => addresses }));
    expect(response).toEqual({ ok: false, error });
    expect(server.requests).toHaveLength(0);
  });

  it('a resolver failure is a dns error', async () => {
    expect(await guardedGet('https://nowhere.test/', guarded({ resolve: resolveLocalhost }))).toEqual({ ok: false, error: 'dns' });
    const throwing = () => {
      throw new Error('boom');
    };
    expect(await guardedGet('https://nowhere.test/', guarded({ resolve: throwing }))).toEqual({ ok: false, error: 'dns' });
  });

  it('a resolver that never answers is bounded by the deadline', async () => {
    const started = Date.now();
    const response = await guardedGet('https://slow.test/', guarded({ timeoutMs: 200, resolve: () => new Promise(() => {}) }));
    expect(response).toEqual({ ok: false, error: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reports redirects and other statuses without following or reading them', async () => {
    const options = guarded({ allowPrivateAddresses: true, resolve: resolveLocalhost });
    server.respond = { status: 301, headers: { location: `${server.origin}/elsewhere` } };
    const redirect = await guardedGet(`${server.origin}/`, options);
    expect(redirect.ok === false && [redirect.error, redirect.status, redirect.headers?.location]).toEqual(['redirect', 301, `${server.origin}/elsewhere`]);
    server.respond = { status: 429, headers: { 'retry-after': '30' } };
    const limited = await guardedGet(`${server.origin}/`, options);
    expect(limited.ok === false && [limited.error, limited.status, limited.headers?.['retry-after']]).toEqual(['status', 429, '30']);
    expect(server.requests.map((r) => r.path)).toEqual(['/', '/']);
  });

  it('caps the body while streaming and by Content-Length', async () => {
    const options = guarded({ allowPrivateAddresses: true, resolve: resolveLocalhost, maxBytes: 1000 });
    server.respond = { chunked: true, body: 'x'.repeat(5000) };
    expect(await guardedGet(`${server.origin}/`, options)).toMatchObject({ ok: false, error: 'too-large' });
    server.respond = { body: 'x'.repeat(1001) };
    expect(await guardedGet(`${server.origin}/`, options)).toMatchObject({ ok: false, error: 'too-large' });
    server.respond = { body: 'x'.repeat(1000) };
    expect(await guardedGet(`${server.origin}/`, options)).toMatchObject({ ok: true, status: 200 });
  });

  it('does not trust the test certificate without the test-only ca', async () => {
    server.respond = { body: 'hello' };
    const response = await guardedGet(`${server.origin}/`, { timeoutMs: 3000, maxBytes: 1000, allowPrivateAddresses: true, resolve: resolveLocalhost });
    expect(response).toEqual({ ok: false, error: 'network' });
    expect(server.requests).toHaveLength(0);
  });

  it('checks the certificate against the hostname (SNI and identity)', async () => {
    // The certificate is for localhost, not for this name, even though it resolves to the same server.
    const response = await guardedGet(`https://other.test:${server.port}/`, guarded({ allowPrivateAddresses: true, resolve: async () => [{ address: '127.0.0.1', family: 4 }] }));
    expect(response).toEqual({ ok: false, error: 'network' });
    expect(server.requests).toHaveLength(0);
  });

  it('an aborted signal ends the fetch at once', async () => {
    server.respond = { delayMs: 2000, body: 'late' };
    const controller = new AbortController();
    const pending = guardedGet(`${server.origin}/`, guarded({ allowPrivateAddresses: true, resolve: resolveLocalhost, signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    expect(await pending).toEqual({ ok: false, error: 'network' });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('DirectoryClient without the test-only settings refuses every private target, without a request', async () => {
    const a = newKey();
    serve(directory(a));
    const client = new DirectoryClient({ logger, fetch: { ca: TEST_CA, resolve: resolveLocalhost } }, () => clock);
    clients.push(client);
    const privateResolver = (address: string) =>
      new DirectoryClient({ logger, fetch: { ca: TEST_CA, resolve: async () => [{ address, family: address.includes(':') ? 6 : 4 }] } }, () => clock);
    const origins = [
      server.origin,
      `https://127.0.0.1:${server.port}`,
      `https://[::1]:${server.port}`,
      'https://10.0.0.1',
      'https://169.254.169.254',
    ];
    for (const origin of origins) expect(await client.lookup(origin, a.thumbprint)).toBe('unavailable');
    expect(client.lookup(`http://localhost:${server.port}`, a.thumbprint)).toBe('unavailable');
    for (const address of ['10.0.0.5', '127.0.0.1']) {
      const other = privateResolver(address);
      clients.push(other);
      expect(await other.lookup(`https://agent.test:${server.port}`, a.thumbprint)).toBe('unavailable');
    }
    const mixed = new DirectoryClient(
      {
        logger,
        fetch: {
          ca: TEST_CA,
          resolve: async () => [
            { address: '93.184.215.14', family: 4 },
            { address: '127.0.0.1', family: 4 },
          ],
        },
      },
      () => clock,
    );
    clients.push(mixed);
    expect(await mixed.lookup(`https://agent.test:${server.port}`, a.thumbprint)).toBe('unavailable');
    expect(server.requests).toHaveLength(0);
    expect(new Set(warnings.map((w) => w.obj.error))).toEqual(new Set(['blocked-address']));
    expect(warnings).toHaveLength(origins.length + 3);
  });
});
