import { describe, expect, it } from 'vitest';
import { ConfigError, createGuard, type Decision, type GuardRequest } from '../src/index.js';
import { normalizePath } from '../src/request.js';
import { approovSecret, hs256, request } from './helpers/jws.js';

const NOW = 1_800_000_000;
const secret = approovSecret();
const good = () => hs256({ exp: NOW + 60, did: 'd1' }, secret.bytes);

function recordingLogger() {
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

function guard(options: Record<string, unknown> = {}) {
  return createGuard({ attestation: { approov: { secret: secret.base64 } }, now: () => NOW * 1000, ...options });
}

describe('guard.check input', () => {
  it('accepts a Web Request', async () => {
    const d = await guard().check(new Request('https://api.example.com/x', { headers: { 'Approov-Token': good() } }));
    expect(d.reason).toBe('OK');
  });

  it('accepts headers as Headers, a lower-case record, a mixed-case record and arrays of lines', async () => {
    const g = guard();
    expect((await g.check({ method: 'GET', url: 'https://a.example/', headers: new Headers({ 'approov-token': good() }) })).reason).toBe('OK');
    expect((await g.check(request({ 'Approov-Token': good() }))).reason).toBe('OK');
    expect((await g.check(request({ 'approov-token': [good()] }))).reason).toBe('OK');
    // Two lines of the same header are joined with ", " and so are not one token.
    expect((await g.check(request({ 'approov-token': [good(), good()] }))).reason).toBe('ERR_TOKEN_MALFORMED');
    expect((await g.check(request({ 'Approov-Token': good(), 'APPROOV-TOKEN': good() }))).reason).toBe('ERR_TOKEN_MALFORMED');
  });

  it.each([
    ['null', null],
    ['a string', 'GET /'],
    ['no url', { method: 'GET', headers: {} }],
    ['a relative url', { method: 'GET', url: '/v1/items', headers: {} }],
    ['a non-http url', { method: 'GET', url: 'ftp://a.example/', headers: {} }],
    ['a bad method', { method: 'G E T', url: 'https://a.example/', headers: {} }],
    ['no headers', { method: 'GET', url: 'https://a.example/' }],
    ['headers that are a number', { method: 'GET', url: 'https://a.example/', headers: 5 }],
    ['a fragment (a Host header smuggling "#")', { method: 'GET', url: 'http://evil/health#/v1/items', headers: {} }],
    ['userinfo', { method: 'GET', url: 'http://user@a.example/', headers: {} }],
    ['a backslash in the authority', { method: 'GET', url: 'http://a.example\\health/', headers: {} }],
    ['a space in the authority', { method: 'GET', url: 'http://a .example/', headers: {} }],
  ])('turns %s into ERR_REQUEST_INVALID (400), never a throw', async (_name, input) => {
    const d = await guard().check(input as unknown as GuardRequest);
    expect(d).toMatchObject({ outcome: 'deny', status: 400, reason: 'ERR_REQUEST_INVALID' });
  });

  it('survives a header reader that throws: 503 ERR_INTERNAL, and the error is logged without detail', async () => {
    const { lines, logger } = recordingLogger();
    const g = guard({ logger });
    const d = await g.check({ method: 'GET', url: 'https://a.example/', headers: { get: () => { throw new Error('secret-ish detail'); } } });
    expect(d).toMatchObject({ outcome: 'deny', status: 503, reason: 'ERR_INTERNAL' });
    expect(JSON.stringify(lines)).not.toContain('secret-ish detail');
  });
});

describe('guard.decide', () => {
  it('returns the Decision itself when no I/O is needed, and check() a Promise of the same', async () => {
    const g = guard();
    const d = g.decide!(request({ 'approov-token': good() }));
    expect(d).not.toBeInstanceOf(Promise);
    expect((d as Decision).reason).toBe('OK');
    const p = g.check(request({ 'approov-token': good() }));
    expect(p).toBeInstanceOf(Promise);
    expect((await p).reason).toBe('OK');
  });

  it('returns a Promise while keys are being fetched', async () => {
    const g = createGuard({
      attestation: { jwt: { algorithms: ['RS256'], jwks: { url: 'https://keys.example.com/jwks' } } },
      fetch: async () => new Response('{"keys":[]}'),
    });
    const d = g.decide!(request({ authorization: `Bearer ${hs256({ exp: NOW }, secret.bytes, { alg: 'RS256', kid: 'a' })}` }));
    expect(d).toBeInstanceOf(Promise);
    expect((await d).reason).toBe('ERR_KEYS_UNAVAILABLE');
  });

  it('survives a logger that throws', async () => {
    const boom = () => {
      throw new Error('logger down');
    };
    const g = guard({ logger: { info: boom, warn: boom, error: boom } });
    expect((await g.check(request({}))).reason).toBe('ERR_TOKEN_MISSING');
  });
});

describe('routes and requirements', () => {
  const g = guard({
    routes: [
      { path: '/health', require: { attestation: 'off' } },
      { path: '/public/**', methods: ['GET'], require: { attestation: 'optional' } },
      { path: '/v1/items/:id', mode: 'monitor' },
    ],
  });
  const at = (path: string, headers: Record<string, string> = {}, method = 'GET') => g.check(request(headers, `https://api.example.com${path}`, method));

  it('applies the first matching route', async () => {
    expect(await at('/health')).toMatchObject({ outcome: 'allow', reason: 'OK', route: '/health', checks: [] });
    expect(await at('/health/')).toMatchObject({ outcome: 'allow', route: '/health' });
    expect(await at('/HEALTH')).toMatchObject({ outcome: 'allow', route: '/health' });
    expect(await at('/healthz')).toMatchObject({ outcome: 'deny', route: null, reason: 'ERR_TOKEN_MISSING' });
  });

  it('optional annotates but never blocks; methods narrow a route', async () => {
    const anonymous = await at('/public/a/b');
    expect(anonymous).toMatchObject({ outcome: 'allow', reason: 'OK', principal: { id: 'anonymous' }, checks: [{ reason: 'ERR_TOKEN_MISSING' }] });
    const bad = await at('/public/a', { 'approov-token': 'garbage' });
    expect(bad).toMatchObject({ outcome: 'allow', reason: 'OK', checks: [{ outcome: 'invalid', reason: 'ERR_TOKEN_MALFORMED' }] });
    const verified = await at('/public', { 'approov-token': good() });
    expect(verified.principal.id).toBe('app:approov');
    expect(await at('/public/a', {}, 'POST')).toMatchObject({ outcome: 'deny', reason: 'ERR_TOKEN_MISSING', route: null });
  });

  it('monitor mode reports the would-be deny and lets the request through', async () => {
    const d = await at('/v1/items/42');
    expect(d).toMatchObject({ outcome: 'allow', status: 200, reason: 'ERR_TOKEN_MISSING', monitor: true, mode: 'monitor', route: '/v1/items/:id' });
    expect(await at('/v1/items/42', { 'approov-token': good() })).toMatchObject({ reason: 'OK', monitor: false });
    expect(await at('/v1/items/42/extra')).toMatchObject({ outcome: 'deny', mode: 'enforce' });
  });

  it('matches the normalised path, so encodings and dot segments cannot dodge a route', async () => {
    expect(await at('/%68ealth')).toMatchObject({ route: '/health' });
    expect(await at('/public/../v1/other')).toMatchObject({ route: null, outcome: 'deny' });
    expect(await at('/public/%2e%2e/v1/other')).toMatchObject({ route: null, outcome: 'deny' });
    expect(await at('/health?x=/public/a')).toMatchObject({ route: '/health' });
  });

  it('a guard in monitor mode never denies', async () => {
    const m = guard({ mode: 'monitor' });
    for (const token of [undefined, 'x.y.z', hs256({ exp: 1 }, secret.bytes)]) {
      const d = await m.check(request(token ? { 'approov-token': token } : {}));
      expect(d.outcome).toBe('allow');
      expect(d.monitor).toBe(true);
    }
  });
});

describe('normalizePath', () => {
  it.each([
    ['/a/b', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/../../b', '/b'],
    ['/a/b/..', '/a/'],
    ['/%7Euser/%41', '/~user/A'],
    ['/a%2fb', '/a%2Fb'],
    ['/a%2e%2e/b', '/a../b'],
    ['/%2e%2e/secret', '/secret'],
  ])('%s → %s', (input, output) => {
    expect(normalizePath(input)).toBe(output);
  });
});

describe('several verifiers', () => {
  it('passes with a token any verifier accepts and reports each attempt', async () => {
    const other = approovSecret();
    const g = createGuard({
      attestation: {
        approov: { secret: secret.base64 },
        jwt: { name: 'partner', header: 'X-Partner-Token', algorithms: ['HS256'], keys: { secret: other.bytes } },
      },
      now: () => NOW * 1000,
    });
    const d = await g.check(request({ 'x-partner-token': hs256({ exp: NOW + 60, sub: 'acme' }, other.bytes) }));
    expect(d).toMatchObject({ outcome: 'allow', principal: { id: 'service:acme', via: 'partner' } });
    expect(d.checks.map((c) => [c.verifier, c.reason])).toEqual([['approov', 'ERR_TOKEN_MISSING'], ['partner', 'OK']]);
    const bad = await g.check(request({ 'x-partner-token': hs256({ exp: NOW - 1 }, other.bytes) }));
    expect(bad).toMatchObject({ outcome: 'deny', reason: 'ERR_TOKEN_EXPIRED' });
  });
});

describe('reporting', () => {
  it('calls onDecision with the decision and the request, and survives it throwing', async () => {
    const seen: Array<[Decision, GuardRequest]> = [];
    const g = guard({ onDecision: (d: Decision, r: GuardRequest) => seen.push([d, r]) });
    const input = request({ 'approov-token': good() });
    const d = await g.check(input);
    expect(seen).toEqual([[d, input]]);
    const throwing = guard({ onDecision: () => { throw new Error('boom'); } });
    expect((await throwing.check(input)).reason).toBe('OK');
  });

  it('logs denies with codes and the path, never the token or the query', async () => {
    const { lines, logger } = recordingLogger();
    const g = guard({ logger, routes: [{ path: '/watch', mode: 'monitor' }] });
    // The one construction warning: the monitored route.
    expect(lines.splice(0)).toEqual([{ level: 'warn', obj: { option: 'routes[0].mode' }, msg: 'bonafide: monitor mode on a route: its denials are reported, not enforced' }]);
    const forged = hs256({ exp: NOW + 60 }, approovSecret().bytes);
    await g.check(request({ 'approov-token': forged }, 'https://api.example.com/v1/x?apikey=hunter2'));
    await g.check(request({}, 'https://api.example.com/watch'));
    await g.check(request({ 'approov-token': good() }));
    expect(lines.map((l) => [l.level, (l.obj as { bonafide: { reason: string } }).bonafide.reason])).toEqual([
      ['info', 'ERR_TOKEN_SIGNATURE_INVALID'],
      ['warn', 'ERR_TOKEN_MISSING'],
    ]);
    expect(lines[0]?.obj).toEqual({
      bonafide: {
        outcome: 'deny', status: 401, reason: 'ERR_TOKEN_SIGNATURE_INVALID', monitor: false, failedOpen: false,
        rule: null, mode: 'enforce', policyVersion: null, policyHash: null,
        principal: { id: 'anonymous', kind: 'anonymous', verified: false, via: null },
        route: null, method: 'GET', path: '/v1/x', durationMs: expect.any(Number), dryRun: [], rateLimited: false,
        checks: [{ check: 'attestation', verifier: 'approov', outcome: 'invalid', reason: 'ERR_TOKEN_SIGNATURE_INVALID' }],
      },
    });
    const text = JSON.stringify(lines);
    expect(text).not.toContain(forged.split('.')[2]);
    expect(text).not.toContain('hunter2');
  });

  it('warns once at construction about options that weaken security', () => {
    const { lines, logger } = recordingLogger();
    guard({ logger, mode: 'monitor', failOpen: { attestation: true } });
    expect(lines.map((l) => [l.level, (l.obj as { option: string }).option])).toEqual([
      ['warn', 'failOpen.attestation'],
      ['warn', 'mode'],
    ]);
  });
});

describe('guard.respond', () => {
  it('answers a deny with RFC 9457 problem details and no token', async () => {
    const g = guard();
    const token = hs256({ exp: NOW - 5 }, secret.bytes);
    const d = await g.check(request({ 'approov-token': token }));
    const r = g.respond(d);
    expect(r.status).toBe(401);
    expect(r.headers).toEqual({ 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
    expect(JSON.parse(r.body)).toEqual({
      type: 'urn:bonafide:problem:token-expired',
      title: 'Attestation token expired',
      status: 401,
      detail: 'The attestation token has expired; obtain a fresh one.',
      code: 'ERR_TOKEN_EXPIRED',
    });
    expect(r.body).not.toContain(token);
  });

  it('adds a Bearer challenge (RFC 6750) when a verifier reads a Bearer token', async () => {
    const key = approovSecret();
    const g = createGuard({ attestation: { jwt: { algorithms: ['HS256'], keys: { secret: key.bytes } } }, now: () => NOW * 1000, problemTypeBase: 'https://docs.example.com/problems#' });
    const missing = g.respond(await g.check(request({})));
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="jwt"');
    const invalid = g.respond(await g.check(request({ authorization: 'Bearer a.b.c' })));
    expect(invalid.headers['www-authenticate']).toBe('Bearer realm="jwt", error="invalid_token"');
    expect(JSON.parse(invalid.body).type).toBe('https://docs.example.com/problems#token-malformed');
  });

  it('maps 403 and 503 without a challenge', async () => {
    const g = guard();
    const d403 = { ...(await g.check(request({}))), reason: 'ERR_TOKEN_APP_NOT_ALLOWED' } as Decision;
    expect(g.respond(d403)).toMatchObject({ status: 403 });
    expect(g.respond(d403).headers['www-authenticate']).toBeUndefined();
    const d503 = { ...d403, reason: 'ERR_KEYS_UNAVAILABLE' } as Decision;
    expect(g.respond(d503).status).toBe(503);
  });
});

describe('guard options', () => {
  it.each([
    [{}, 'ERR_CONFIG_MISSING_OPTION', 'attestation'],
    [{ attestation: { approov: { secret: secret.base64 } }, mdoe: 'monitor' }, 'ERR_CONFIG_UNKNOWN_OPTION', 'mdoe'],
    [{ attestation: { approov: { secret: secret.base64 } }, mode: 'audit' }, 'ERR_CONFIG_INVALID_VALUE', 'mode'],
    [{ attestation: { approov: { secret: secret.base64 } }, routes: [{ path: 'health' }] }, 'ERR_CONFIG_INVALID_VALUE', 'routes[0].path'],
    [{ attestation: { approov: { secret: secret.base64 } }, routes: [{ path: '/a/**/b' }] }, 'ERR_CONFIG_INVALID_VALUE', 'routes[0].path'],
    [{ attestation: { approov: { secret: secret.base64 } }, routes: [{ path: '/a', require: { attestation: 'maybe' } }] }, 'ERR_CONFIG_INVALID_VALUE', 'routes[0].require.attestation'],
    [{ attestation: { approov: { secret: secret.base64 } }, logger: console.log }, 'ERR_CONFIG_INVALID_VALUE', 'logger'],
    [{ attestation: { approov: { secret: secret.base64 } }, cache: { tokens: -1 } }, 'ERR_CONFIG_INVALID_VALUE', 'cache.tokens'],
    [{ attestation: { approov: { secret: secret.base64 } }, failOpen: { attestation: 'yes' } }, 'ERR_CONFIG_INVALID_VALUE', 'failOpen.attestation'],
  ])('%j → %s at %s', (options, code, path) => {
    expect(() => createGuard(options as never)).toThrowError(expect.objectContaining({ code, path }));
    expect(() => createGuard(options as never)).toThrowError(ConfigError);
  });

  it('suggests the option that was probably meant', () => {
    expect(() => createGuard({ attestation: { approov: { secret: secret.base64 } }, mdoe: 'monitor' } as never)).toThrowError(/did you mean `mode`\?/);
    expect(() => createGuard({ attestation: { approov: { secret: secret.base64 } }, onDecison: () => {} } as never)).toThrowError(/did you mean `onDecision`\?/);
    expect(() => createGuard({ attestation: { approov: { secret: secret.base64 } }, zzz: 1 } as never)).toThrowError(/known options here: mode, /);
    expect(() => createGuard({ attestation: { approov: { secret: secret.base64, bindng: 'Authorization' } } } as never)).toThrowError(
      /Unknown option `attestation\.approov\.bindng`; did you mean `binding`\?/,
    );
  });

  it('cache.tokens: 0 disables the verified-token cache', async () => {
    const g = guard({ cache: { tokens: 0 } });
    const t = good();
    await g.check(request({ 'approov-token': t }));
    expect((await g.check(request({ 'approov-token': t }))).checks[0]?.cached).toBe(false);
  });

  it('the verified-token cache is bounded', async () => {
    const g = guard({ cache: { tokens: 2 } });
    const [a, b, c] = [1, 2, 3].map((n) => hs256({ exp: NOW + 60, n }, secret.bytes)) as [string, string, string];
    for (const t of [a, b, c]) await g.check(request({ 'approov-token': t }));
    expect((await g.check(request({ 'approov-token': a }))).checks[0]?.cached).toBe(false);
    expect((await g.check(request({ 'approov-token': c }))).checks[0]?.cached).toBe(true);
  });

  it('after close() every request is denied with ERR_INTERNAL', async () => {
    const g = guard();
    await g.close();
    expect(await g.check(request({ 'approov-token': good() }))).toMatchObject({ outcome: 'deny', status: 503, reason: 'ERR_INTERNAL' });
  });
});
