import { request as httpRequest } from 'node:http';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { REASONS, type DenyReason } from '../../src/index.js';
import { contractGuard, failingGuard, type Echo, type Failure } from './fixtures/guard.js';
import { mintApproov, newSecret } from './fixtures/tokens.js';
import { express4Harness, express5Harness } from './harnesses/express.js';
import { fastify4Harness, fastify5Harness } from './harnesses/fastify.js';
import type { Harness, HarnessConfig, RunningServer } from './harnesses/harness.js';
import { honoHarness } from './harnesses/hono.js';
import { koa2Harness, koa3Harness } from './harnesses/koa.js';

/**
 * One adapter contract, run over real HTTP on 127.0.0.1 against every supported framework major.
 * Each harness mounts the adapter in front of a catch-all handler that echoes the decision it was
 * given as JSON: `{ outcome, reason, principal }`.
 */

const harnesses: Harness[] = [
  express4Harness,
  express5Harness,
  koa2Harness,
  koa3Harness,
  fastify4Harness,
  fastify5Harness,
  honoHarness,
];

const { guard, secret, seen } = contractGuard();
const AUTHORIZATION = 'Bearer user-1';
const PROBLEM_TYPE = 'urn:bonafide:problem:';

const genuine = () => mintApproov(secret, { bind: AUTHORIZATION });
const withToken = (token: string, extra: Record<string, string> = {}) => ({
  authorization: AUTHORIZATION,
  'approov-token': token,
  ...extra,
});

/** The last request the guard decided. */
function lastSeen() {
  expect(seen.length).toBeGreaterThan(0);
  return seen[seen.length - 1]!;
}

async function expectEcho(res: Response, echo: Echo): Promise<void> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await res.json()).toEqual(echo);
}

/** Asserts an exact RFC 9457 deny, and that no token text leaked into it. */
async function expectProblem(res: Response, code: DenyReason, token?: string): Promise<void> {
  const { status, title, detail } = REASONS[code];
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.headers.get('cache-control')).toBe('no-store');
  // Approov tokens are bare (no auth scheme), so there is no challenge to send.
  expect(res.headers.get('www-authenticate')).toBeNull();
  const text = await res.text();
  expect(JSON.parse(text)).toEqual({
    type: PROBLEM_TYPE + code.slice(4).toLowerCase().replaceAll('_', '-'),
    title,
    status,
    detail,
    code,
  });
  if (token !== undefined) {
    const [header, payload, signature] = token.split('.');
    let exposed = text;
    res.headers.forEach((value, name) => (exposed += `\n${name}: ${value}`));
    for (const part of [token, header!, payload!.slice(0, 64), signature!]) expect(exposed).not.toContain(part);
  }
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A request fetch() cannot send: a hand-set Host header or an absolute-form request-target. */
function rawGet(origin: string, target: string, headers: Record<string, string>): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path: target, method: 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(harnesses)('adapter contract: $name', (harness) => {
  const servers = new Map<string, Promise<RunningServer>>();
  /** One server per configuration, started on first use. */
  const server = (key: string, config: Omit<HarnessConfig, 'guard'> & { guard?: HarnessConfig['guard'] } = {}) => {
    let running = servers.get(key);
    if (running === undefined) {
      running = harness.start({ guard, ...config });
      servers.set(key, running);
    }
    return running;
  };
  const origin = async (key = 'plain', config?: Parameters<typeof server>[1]) => (await server(key, config)).origin;

  beforeEach(() => {
    seen.length = 0;
  });
  afterAll(async () => {
    await Promise.all([...servers.values()].map(async (running) => (await running).close()));
  });

  it('allows a genuine token bound to the Authorization header and exposes the decision', async () => {
    const base = await origin();
    const res = await fetch(`${base}/v1/items?x=1`, { headers: withToken(genuine()) });
    await expectEcho(res, { outcome: 'allow', reason: 'OK', principal: 'app:approov' });
    expect(lastSeen()).toEqual({ method: 'GET', url: `${base}/v1/items?x=1`, ip: harness.directIp, reason: 'OK' });
  });

  it('passes the request method through', async () => {
    const base = await origin();
    const res = await fetch(`${base}/v1/items`, { method: 'POST', headers: withToken(genuine()), body: '{}' });
    await expectEcho(res, { outcome: 'allow', reason: 'OK', principal: 'app:approov' });
    expect(lastSeen().method).toBe('POST');
  });

  it('denies a request without a token: 401 ERR_TOKEN_MISSING problem+json, no-store', async () => {
    const res = await fetch(`${await origin()}/v1/items`, { headers: { authorization: AUTHORIZATION } });
    await expectProblem(res, 'ERR_TOKEN_MISSING');
  });

  it('denies an expired token with 401 ERR_TOKEN_EXPIRED', async () => {
    const token = mintApproov(secret, { bind: AUTHORIZATION, exp: Math.floor(Date.now() / 1000) - 60 });
    const res = await fetch(`${await origin()}/v1/items`, { headers: withToken(token) });
    await expectProblem(res, 'ERR_TOKEN_EXPIRED', token);
  });

  it('denies a token signed with another secret with 401 ERR_TOKEN_SIGNATURE_INVALID', async () => {
    const token = mintApproov(newSecret().bytes, { bind: AUTHORIZATION });
    const res = await fetch(`${await origin()}/v1/items`, { headers: withToken(token) });
    await expectProblem(res, 'ERR_TOKEN_SIGNATURE_INVALID', token);
  });

  it('denies a token bound to another Authorization value with 401 ERR_BINDING_MISMATCH', async () => {
    const token = mintApproov(secret, { bind: 'Bearer someone-else' });
    const res = await fetch(`${await origin()}/v1/items`, { headers: withToken(token) });
    await expectProblem(res, 'ERR_BINDING_MISMATCH', token);
  });

  it('denies a 64 KiB token with 401 ERR_TOKEN_TOO_LARGE without echoing it', async () => {
    const token = mintApproov(secret, { bind: AUTHORIZATION, did: 'd'.repeat(48 * 1024) });
    expect(token.length).toBeGreaterThan(64 * 1024);
    const res = await fetch(`${await origin()}/v1/items`, { headers: withToken(token) });
    await expectProblem(res, 'ERR_TOKEN_TOO_LARGE', token);
  });

  it('lets /health through without a token (attestation off)', async () => {
    const res = await fetch(`${await origin()}/health`);
    await expectEcho(res, { outcome: 'allow', reason: 'OK', principal: 'anonymous' });
  });

  it('lets /optional/** through without a token as anonymous', async () => {
    const res = await fetch(`${await origin()}/optional/profile`);
    await expectEcho(res, { outcome: 'allow', reason: 'OK', principal: 'anonymous' });
  });

  it('identifies a genuine token on an optional route', async () => {
    const res = await fetch(`${await origin()}/optional/profile`, { headers: withToken(genuine()) });
    await expectEcho(res, { outcome: 'allow', reason: 'OK', principal: 'app:approov' });
  });

  it('lets /watch/** through in monitor mode with the would-be reason', async () => {
    const res = await fetch(`${await origin()}/watch/feed`);
    await expectEcho(res, { outcome: 'allow', reason: 'ERR_TOKEN_MISSING', principal: 'anonymous' });
  });

  it('gives the guard the absolute URL with the raw path and query, byte for byte', async () => {
    const base = await origin();
    const target = '/v1/items/%7Eraw?q=a%20b&x=1';
    const res = await fetch(base + target, { headers: withToken(genuine()) });
    await expectEcho(res, { outcome: 'allow', reason: 'OK', principal: 'app:approov' });
    expect(lastSeen().url).toBe(base + target);
  });

  it('reports the full path from a router or plugin mounted at /api', async () => {
    const base = await origin('mount', { mount: true });
    const res = await fetch(`${base}/api/v1/items?x=1`, { headers: withToken(genuine()) });
    await expectEcho(res, { outcome: 'allow', reason: 'OK', principal: 'app:approov' });
    expect(lastSeen().url).toBe(`${base}/api/v1/items?x=1`);
    // Guard routes are absolute: /api/health is not /health.
    const health = await fetch(`${base}/api/health`);
    await expectProblem(health, 'ERR_TOKEN_MISSING');
    expect(lastSeen().url).toBe(`${base}/api/health`);
  });

  const forwarded = {
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'api.example.com',
    'x-forwarded-for': '203.0.113.7',
  };

  it('with trust proxy on, sees the URL and client in front of the proxy', async () => {
    const base = await origin('trust', { trustProxy: true });
    const res = await fetch(`${base}/v1/items?x=1`, { headers: withToken(genuine(), forwarded) });
    await expectEcho(res, { outcome: 'allow', reason: 'OK', principal: 'app:approov' });
    expect(lastSeen()).toMatchObject({ url: 'https://api.example.com/v1/items?x=1', ip: '203.0.113.7' });
    // Without forwarding headers the trusted setup still sees the direct URL.
    await fetch(`${base}/health`);
    expect(lastSeen().url).toBe(`${base}/health`);
  });

  it(`with trust proxy on, believes the ${harness.forwardedEntry} X-Forwarded-Host list member`, async () => {
    const base = await origin('trust', { trustProxy: true });
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com, proxy.internal' };
    await fetch(`${base}/health`, { headers });
    const host = harness.forwardedEntry === 'first' ? 'api.example.com' : 'proxy.internal';
    expect(lastSeen().url).toBe(`https://${host}/health`);
  });

  it('with trust proxy off, ignores X-Forwarded-* headers', async () => {
    const base = await origin();
    const res = await fetch(`${base}/v1/items?x=1`, { headers: withToken(genuine(), forwarded) });
    await expectEcho(res, { outcome: 'allow', reason: 'OK', principal: 'app:approov' });
    expect(lastSeen().url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/items\?x=1$/);
    expect(lastSeen()).toMatchObject({ url: `${base}/v1/items?x=1`, ip: harness.directIp });
  });

  it('hands a deny to onDeny, which replaces the response', async () => {
    const base = await origin('teapot', { teapot: true });
    const res = await fetch(`${base}/v1/items`);
    expect(res.status).toBe(418);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('denied:ERR_TOKEN_MISSING');
    // An allowed request never reaches onDeny.
    await expectEcho(await fetch(`${base}/v1/items`, { headers: withToken(genuine()) }), {
      outcome: 'allow',
      reason: 'OK',
      principal: 'app:approov',
    });
  });

  it.each<{ failure: Failure; what: string }>([
    { failure: 'rejects', what: 'rejects' },
    { failure: 'throws', what: 'throws synchronously' },
    { failure: 'garbage', what: 'resolves to something that is not a Decision' },
  ])(
    "answers 503 ERR_INTERNAL when the guard's check $what, and keeps serving",
    async ({ failure }) => {
      const base = await origin(`failing-${failure}`, { guard: failingGuard(guard, failure) });
      for (const path of ['/v1/items', '/health']) {
        const res = await fetch(base + path, { headers: withToken(genuine()) });
        await expectProblem(res, 'ERR_INTERNAL');
      }
    },
  );

  it('refuses a Host header that would move the path the guard matches (400)', async () => {
    const base = await origin();
    // Unchecked, the guard would see http://evil.example/health#/v1/items and match the open /health route.
    const res = await rawGet(base, '/v1/items', { host: 'evil.example/health#' });
    expect(res.status).toBe(400);
    if (harness.hostCheckedBy === 'server') {
      expect(seen).toEqual([]);
    } else {
      expect(JSON.parse(res.body)).toMatchObject({ code: 'ERR_REQUEST_INVALID' });
      expect(seen).toEqual([{ method: 'GET', url: '', ip: harness.directIp, reason: 'ERR_REQUEST_INVALID' }]);
    }
  });

  it('uses an absolute-form request-target as the URL (RFC 9112 §3.3)', async () => {
    const base = await origin();
    const res = await rawGet(base, 'http://api.example.com/v1/items?x=1', { host: 'api.example.com' });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'ERR_TOKEN_MISSING' });
    expect(lastSeen().url).toBe('http://api.example.com/v1/items?x=1');
  });
});
