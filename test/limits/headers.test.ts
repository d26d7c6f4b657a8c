import { parseList } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { rateLimitHeaders } from '../../src/limits/headers.js';
import type { CompiledRateLimit } from '../../src/policy/types.js';
import type { RateLimitState } from '../../src/stores/store.js';

const limit = (over: Partial<CompiledRateLimit> = {}): CompiledRateLimit => ({
  id: 'api',
  algorithm: 'gcra',
  limit: 100,
  periodMs: 60_000,
  burst: 100,
  key: 'principal',
  ipv6Prefix: 64,
  ...over,
});
const state = (over: Partial<RateLimitState> = {}): RateLimitState => ({ allowed: true, limit: 100, remaining: 42, retryAfterMs: 0, resetMs: 34_200, ...over });

describe('rateLimitHeaders', () => {
  it('writes RateLimit-Policy and RateLimit, and no Retry-After, for an allowed request', () => {
    expect(rateLimitHeaders(limit(), state())).toStrictEqual({
      'RateLimit-Policy': '"api";q=100;w=60',
      RateLimit: '"api";r=42;t=35',
    });
  });

  it('adds Retry-After in whole seconds, rounded up, for a denied request', () => {
    expect(rateLimitHeaders(limit(), state({ allowed: false, remaining: 0, retryAfterMs: 1, resetMs: 60_000 }))).toStrictEqual({
      'RateLimit-Policy': '"api";q=100;w=60',
      RateLimit: '"api";r=0;t=60',
      'Retry-After': '1',
    });
    expect(rateLimitHeaders(limit(), state({ allowed: false, retryAfterMs: 1000 }))['Retry-After']).toBe('1');
    expect(rateLimitHeaders(limit(), state({ allowed: false, retryAfterMs: 1001 }))['Retry-After']).toBe('2');
    expect(rateLimitHeaders(limit(), state({ allowed: false, retryAfterMs: 119_500 }))['Retry-After']).toBe('120');
    // A store that says "denied, retry now" still gets a client to wait a second, not to loop.
    expect(rateLimitHeaders(limit(), state({ allowed: false, retryAfterMs: 0 }))['Retry-After']).toBe('1');
  });

  it('rounds the window and the reset up to whole seconds, the window to at least 1', () => {
    expect(rateLimitHeaders(limit({ periodMs: 1500, id: 'default' }), state({ remaining: 0, resetMs: 0 }))).toStrictEqual({
      'RateLimit-Policy': '"default";q=100;w=2',
      RateLimit: '"default";r=0;t=0',
    });
    expect(rateLimitHeaders(limit({ periodMs: 250, limit: 5 }), state({ remaining: 4, resetMs: 1 }))).toStrictEqual({
      'RateLimit-Policy': '"api";q=5;w=1',
      RateLimit: '"api";r=4;t=1',
    });
    expect(rateLimitHeaders(limit({ periodMs: 86_400_000, limit: 10_000 }), state({ remaining: 9999, resetMs: 8640 }))).toStrictEqual({
      'RateLimit-Policy': '"api";q=10000;w=86400',
      RateLimit: '"api";r=9999;t=9',
    });
  });

  it('escapes the id as a Structured Field string, and replaces what a string cannot hold', () => {
    expect(rateLimitHeaders(limit({ id: 'rule "a"\\b' }), state()).RateLimit).toBe('"rule \\"a\\"\\\\b";r=42;t=35');
    expect(rateLimitHeaders(limit({ id: 'règle' }), state())['RateLimit-Policy']).toBe('"r?gle";q=100;w=60');
  });

  it('writes fields a Structured Field parser reads back', () => {
    const headers = rateLimitHeaders(limit({ id: 'burst' }), state({ remaining: 7, resetMs: 999 }));
    const [policy] = parseList(headers['RateLimit-Policy'] ?? '');
    const [current] = parseList(headers.RateLimit ?? '');
    expect(policy?.[0]).toBe('burst');
    expect(Object.fromEntries(policy?.[1] ?? [])).toEqual({ q: 100, w: 60 });
    expect(current?.[0]).toBe('burst');
    expect(Object.fromEntries(current?.[1] ?? [])).toEqual({ r: 7, t: 1 });
  });

  it('serializes the policy of one compiled limit once, and each call is independent', () => {
    const compiled = limit();
    const first = rateLimitHeaders(compiled, state());
    const second = rateLimitHeaders(compiled, state({ remaining: 1 }));
    expect(second['RateLimit-Policy']).toBe(first['RateLimit-Policy']);
    expect(second.RateLimit).toBe('"api";r=1;t=35');
    expect(first.RateLimit).toBe('"api";r=42;t=35');
  });
});
