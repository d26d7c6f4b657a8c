import { describe, expect, it } from 'vitest';
import {
  INTERNAL_ERROR,
  absoluteUrl,
  adapterOptions,
  firstValue,
  localAuthority,
  resolveGuard,
  respondTo,
  settle,
  writeDeny,
} from '../../adapters/shared.js';
import { ConfigError, type Decision, type Guard } from '../../src/index.js';
import { contractGuard } from './fixtures/guard.js';

describe('absoluteUrl', () => {
  it.each([
    ['http', '127.0.0.1:8080', '/v1/items/%7Eraw?q=a%20b&x=1', 'http://127.0.0.1:8080/v1/items/%7Eraw?q=a%20b&x=1'],
    ['https', 'api.example.com', '/', 'https://api.example.com/'],
    ['HTTPS', 'api.example.com', '/a', 'https://api.example.com/a'],
    ['http', '[::1]:3000', '/a', 'http://[::1]:3000/a'],
    ['http', 'xn--bcher-kva.example', '/a/../b', 'http://xn--bcher-kva.example/a/../b'],
  ])('origin-form: %s + %s + %s', (scheme, host, target, expected) => {
    expect(absoluteUrl(scheme, host, target)).toBe(expected);
  });

  it('uses an absolute-form request-target as it is (RFC 9112 §3.3)', () => {
    expect(absoluteUrl('http', 'ignored', 'http://api.example.com/v1?x=1')).toBe('http://api.example.com/v1?x=1');
    expect(absoluteUrl('http', 'ignored', 'HTTPS://api.example.com')).toBe('HTTPS://api.example.com');
  });

  it('gives asterisk-form an empty path', () => {
    expect(absoluteUrl('http', '127.0.0.1:1', '*')).toBe('http://127.0.0.1:1');
  });

  it.each([
    ['a host that carries a path', 'http', 'evil.example/health#', '/admin'],
    ['a host that carries a query', 'http', 'evil.example?', '/admin'],
    ['a host with userinfo', 'http', 'user@evil.example', '/admin'],
    ['a host with a backslash', 'http', 'evil.example\\health', '/admin'],
    ['a host with whitespace', 'http', 'evil example', '/admin'],
    ['an empty host', 'http', '', '/admin'],
    ['no host', 'http', undefined, '/admin'],
    ['a scheme other than http(s)', 'ftp', 'api.example.com', '/admin'],
    ['a forged X-Forwarded-Proto', 'https://evil.example/health#', 'api.example.com', '/admin'],
    ['an absolute-form target with userinfo', 'http', 'h', 'http://user@evil.example/admin'],
    ['an absolute-form target with another scheme', 'http', 'h', 'ftp://evil.example/admin'],
    ['a target in no known form', 'http', 'h', 'admin'],
  ])('refuses %s (empty URL, so the guard answers 400)', (_what, scheme, host, target) => {
    expect(absoluteUrl(scheme, host, target)).toBe('');
  });
});

describe('firstValue', () => {
  it.each([
    ['https', 'https'],
    [' https , http', 'https'],
    ['api.example.com, proxy.internal', 'api.example.com'],
    [['a, b', 'c'], 'a'],
    ['', undefined],
    [' , b', undefined],
    [null, undefined],
    [undefined, undefined],
  ])('%j → %j', (value, expected) => {
    expect(firstValue(value as string | string[] | null | undefined)).toBe(expected);
  });
});

describe('localAuthority', () => {
  it('formats IPv4 and IPv6 local addresses', () => {
    expect(localAuthority({ localAddress: '127.0.0.1', localPort: 80 })).toBe('127.0.0.1:80');
    expect(localAuthority({ localAddress: '::1', localPort: 8080 })).toBe('[::1]:8080');
    expect(localAuthority({})).toBeUndefined();
    expect(localAuthority(undefined)).toBeUndefined();
  });
});

describe('resolveGuard', () => {
  it('returns a guard as it is and builds one from options', async () => {
    const { guard } = contractGuard();
    expect(resolveGuard(guard)).toBe(guard);
    const built = resolveGuard({ attestation: { approov: { secret: Buffer.alloc(32, 7).toString('base64') } } });
    expect(typeof built.check).toBe('function');
    await built.close();
  });

  it('refuses what is neither, with a ConfigError', () => {
    expect(() => resolveGuard(undefined as never)).toThrow(ConfigError);
    expect(() => resolveGuard({ check: () => undefined } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID_VALUE', path: 'guard' }),
    );
    expect(() => resolveGuard({} as never)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_MISSING_OPTION' }));
  });
});

describe('adapterOptions', () => {
  it('accepts known keys and refuses unknown ones and a non-function onDeny', () => {
    expect(adapterOptions(undefined, '', ['onDeny'])).toEqual({});
    expect(() => adapterOptions({ onDny: () => undefined }, '', ['onDeny'])).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_UNKNOWN_OPTION', path: 'onDny' }),
    );
    expect(() => adapterOptions({ onDeny: 'x' }, '', ['onDeny'])).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID_VALUE', path: 'onDeny' }),
    );
  });
});

describe('settle and INTERNAL_ERROR', () => {
  it('passes decisions through and turns anything else into a 503 deny', async () => {
    const { guard } = contractGuard();
    const decision = await guard.check({ method: 'GET', url: 'https://api.example.com/health', headers: {} });
    expect(settle(decision)).toBe(decision);
    for (const value of [undefined, null, 42, {}, { outcome: 'maybe' }]) expect(settle(value)).toBe(INTERNAL_ERROR);
    expect(INTERNAL_ERROR).toMatchObject({ outcome: 'deny', status: 503, reason: 'ERR_INTERNAL', principal: { id: 'anonymous' } });
    expect(Object.isFrozen(INTERNAL_ERROR)).toBe(true);
  });
});

describe('respondTo and writeDeny', () => {
  it("falls back to a bare ERR_INTERNAL problem when a guard's respond throws", () => {
    const broken = { respond: () => { throw new Error('boom'); } } as unknown as Guard;
    const response = respondTo(broken, INTERNAL_ERROR as Decision);
    expect(response.status).toBe(503);
    expect(response.headers).toEqual({ 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
    expect(JSON.parse(response.body)).toMatchObject({ code: 'ERR_INTERNAL', status: 503 });
  });

  it('writes status, headers and body to a Node response', () => {
    const headers: Record<string, string> = {};
    const res = { statusCode: 200, body: '', setHeader: (n: string, v: string) => (headers[n] = v), end(b: string) { this.body = b; } };
    writeDeny(res, { status: 401, headers: { 'content-type': 'application/problem+json' }, body: '{}' });
    expect(res).toMatchObject({ statusCode: 401, body: '{}' });
    expect(headers).toEqual({ 'content-type': 'application/problem+json' });
  });
});
