import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { checkRateLimit, rateLimitKey, validateRateLimitRequest } from '../../src/limits/rate-limit.js';
import type { CompiledRateLimit } from '../../src/policy/types.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { RateLimitRequest, RateLimitState, Store } from '../../src/stores/store.js';

const limit = (over: Partial<CompiledRateLimit> = {}): CompiledRateLimit => ({
  id: 'api',
  algorithm: 'gcra',
  limit: 10,
  periodMs: 1000,
  burst: 10,
  key: 'principal',
  ipv6Prefix: 64,
  ...over,
});
const KEY = /^rl:api:[A-Za-z0-9_-]{22}$/;

describe('rateLimitKey', () => {
  it('is rl:<id>:<22 characters of base64url sha256 over algorithm, kind and value>', () => {
    const expected = createHash('sha256').update('gcra\nprincipal\nagent:crawler').digest('base64url').slice(0, 22);
    expect(rateLimitKey(limit(), { principalId: 'agent:crawler' })).toBe(`rl:api:${expected}`);
    expect(rateLimitKey(limit({ id: 'rule:with:colons' }), { principalId: 'agent:crawler' })).toBe(`rl:rule:with:colons:${expected}`);
  });

  it('is stable for one caller and differs between callers, limits, kinds and algorithms', () => {
    const a = rateLimitKey(limit(), { principalId: 'a' });
    expect(a).toMatch(KEY);
    expect(rateLimitKey(limit(), { principalId: 'a' })).toBe(a);
    expect(rateLimitKey(limit(), { principalId: 'b' })).not.toBe(a);
    expect(rateLimitKey(limit({ id: 'other' }), { principalId: 'a' })).toBe(a?.replace('rl:api:', 'rl:other:'));
    expect(rateLimitKey(limit({ key: 'token' }), { principalId: 'x', token: 'a' })).not.toBe(a);
    expect(rateLimitKey(limit({ algorithm: 'sliding-window' }), { principalId: 'a' })).not.toBe(a);
  });

  it('keys on the IP aggregated to the prefix, and never writes the IP', () => {
    const ip = limit({ key: 'ip' });
    const one = rateLimitKey(ip, { principalId: 'p', ip: '2001:db8:aa:1::1' });
    expect(one).toMatch(KEY);
    expect(rateLimitKey(ip, { principalId: 'q', ip: '2001:db8:aa:1:ffff::9' })).toBe(one);
    expect(rateLimitKey(ip, { principalId: 'p', ip: '2001:db8:aa:2::1' })).not.toBe(one);
    expect(rateLimitKey(limit({ key: 'ip', ipv6Prefix: 48 }), { principalId: 'p', ip: '2001:db8:aa:2::1' })).toBe(
      rateLimitKey(limit({ key: 'ip', ipv6Prefix: 48 }), { principalId: 'p', ip: '2001:db8:aa:1::1' }),
    );
    const v4 = rateLimitKey(ip, { principalId: 'p', ip: '198.51.100.23' });
    expect(rateLimitKey(ip, { principalId: 'p', ip: '::ffff:198.51.100.23' })).toBe(v4);
    for (const key of [one, v4]) {
      expect(key).not.toMatch(/2001|db8|198|51\.100|100\.23/);
      expect(key).not.toContain('.');
    }
  });

  it('is undefined without an IP or with an invalid one', () => {
    expect(rateLimitKey(limit({ key: 'ip' }), { principalId: 'p' })).toBeUndefined();
    expect(rateLimitKey(limit({ key: 'ip' }), { principalId: 'p', ip: 'unknown' })).toBeUndefined();
    expect(rateLimitKey(limit({ key: 'ip' }), { principalId: 'p', ip: '' })).toBeUndefined();
  });

  it('keys on the token without ever writing it', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJl';
    const key = rateLimitKey(limit({ key: 'token' }), { principalId: 'p', token });
    expect(key).toMatch(KEY);
    for (const part of token.split('.')) expect(key).not.toContain(part.slice(0, 8));
    expect(rateLimitKey(limit({ key: 'token' }), { principalId: 'other', token })).toBe(key);
    expect(rateLimitKey(limit({ key: 'token' }), { principalId: 'p', token: `${token}x` })).not.toBe(key);
    expect(rateLimitKey(limit({ key: 'token' }), { principalId: 'p' })).toBeUndefined();
    expect(rateLimitKey(limit({ key: 'token' }), { principalId: 'p', token: '' })).toBeUndefined();
  });

  it('keys on a header looked up by its lower-case name, trimmed', () => {
    const header = vi.fn((name: string) => (name === 'x-api-key' ? '  k-123 ' : null));
    const key = rateLimitKey(limit({ key: 'header:X-Api-Key' }), { principalId: 'p', header });
    expect(header).toHaveBeenCalledWith('x-api-key');
    expect(key).toMatch(KEY);
    expect(key).not.toContain('k-123');
    expect(rateLimitKey(limit({ key: 'header:x-api-key' }), { principalId: 'p', header: () => 'k-123' })).toBe(key);
    expect(rateLimitKey(limit({ key: 'header:x-other' }), { principalId: 'p', header: () => 'k-123' })).not.toBe(key);
  });

  it('is undefined without the header, with an empty one, or without a header reader', () => {
    expect(rateLimitKey(limit({ key: 'header:x-api-key' }), { principalId: 'p', header: () => null })).toBeUndefined();
    expect(rateLimitKey(limit({ key: 'header:x-api-key' }), { principalId: 'p', header: () => '  ' })).toBeUndefined();
    expect(rateLimitKey(limit({ key: 'header:x-api-key' }), { principalId: 'p' })).toBeUndefined();
    expect(rateLimitKey(limit(), { principalId: '' })).toBeUndefined();
  });
});

describe('checkRateLimit', () => {
  it('asks the store for cost 1 under the compiled limit, at the given time', () => {
    const answer: RateLimitState = { allowed: true, limit: 5, remaining: 1, retryAfterMs: 0, resetMs: 10 };
    const rateLimit = vi.fn((_request: RateLimitRequest) => answer);
    const store: Store = { recordNonce: () => true, rateLimit };
    expect(checkRateLimit(store, limit({ algorithm: 'sliding-window', limit: 5, periodMs: 60_000, burst: 5 }), 'rl:api:k', 123)).toBe(answer);
    expect(rateLimit).toHaveBeenCalledWith({ key: 'rl:api:k', algorithm: 'sliding-window', limit: 5, periodMs: 60_000, burst: 5, cost: 1, now: 123 });
  });

  it('passes the store failure through, thrown or rejected, for the caller to apply its fail mode', async () => {
    const down = new Error('store down');
    const throwing: Store = { recordNonce: () => true, rateLimit: () => { throw down; } };
    const rejecting: Store = { recordNonce: () => true, rateLimit: () => Promise.reject(down) };
    expect(() => checkRateLimit(throwing, limit(), 'k', 0)).toThrow(down);
    await expect(checkRateLimit(rejecting, limit(), 'k', 0)).rejects.toBe(down);
  });

  it('limits a caller end to end with the memory store', () => {
    const store = new MemoryStore();
    const compiled = limit({ limit: 2, burst: 2 });
    const key = rateLimitKey(compiled, { principalId: 'agent' }) ?? '';
    expect(checkRateLimit(store, compiled, key, 1000)).toEqual({ allowed: true, limit: 2, remaining: 1, retryAfterMs: 0, resetMs: 500 });
    expect(checkRateLimit(store, compiled, key, 1000)).toEqual({ allowed: true, limit: 2, remaining: 0, retryAfterMs: 0, resetMs: 1000 });
    expect(checkRateLimit(store, compiled, key, 1000)).toEqual({ allowed: false, limit: 2, remaining: 0, retryAfterMs: 500, resetMs: 1000 });
  });
});

describe('validateRateLimitRequest', () => {
  const ok: RateLimitRequest = { key: 'k', algorithm: 'gcra', limit: 10, periodMs: 1000, burst: 10, now: 1 };

  it('returns the cost, 1 by default', () => {
    expect(validateRateLimitRequest(ok)).toBe(1);
    expect(validateRateLimitRequest({ ...ok, cost: 0 })).toBe(0);
    expect(validateRateLimitRequest({ ...ok, cost: 10 })).toBe(10);
    expect(validateRateLimitRequest({ ...ok, algorithm: 'sliding-window', burst: 0, cost: 10 })).toBe(10);
    expect(validateRateLimitRequest({ ...ok, now: 1.5 })).toBe(1);
  });

  it.each<[string, Partial<RateLimitRequest>]>([
    ['an empty key', { key: '' }],
    ['an unknown algorithm', { algorithm: 'leaky' as RateLimitRequest['algorithm'] }],
    ['a fractional limit', { limit: 2.5 }],
    ['a period past the exact range', { limit: 2 ** 20, periodMs: 2 ** 31 }],
    ['a burst past the exact range', { burst: 2 ** 40, periodMs: 2 ** 11 }],
    ['a cost above the burst', { burst: 3, cost: 4 }],
    ['a cost above the window limit', { algorithm: 'sliding-window', cost: 11 }],
    ['a NaN cost', { cost: Number.NaN }],
    ['an infinite now', { now: Number.POSITIVE_INFINITY }],
    ['a NaN now', { now: Number.NaN }],
  ])('refuses %s', (_what, over) => {
    expect(() => validateRateLimitRequest({ ...ok, ...over })).toThrow(RangeError);
  });
});
