import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/stores/memory.js';
import { StoreFullError, type RateLimitRequest } from '../../src/stores/store.js';
import { describeStoreContract } from './contract.js';

/** A fake clock: `advance` jumps. */
function fakeClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

const contractClock = fakeClock();
describeStoreContract('MemoryStore', () => new MemoryStore({ now: contractClock.now }), contractClock);

const T0 = 1_700_000_000_000;
const gcra = (key: string, now: number, periodMs = 1000, cost = 1): RateLimitRequest => ({ key, algorithm: 'gcra', limit: 10, periodMs, burst: 10, cost, now });

describe('MemoryStore rate limits', () => {
  it('answers synchronously', () => {
    const store = new MemoryStore();
    const answer = store.rateLimit(gcra('k', T0));
    expect(answer).not.toBeInstanceOf(Promise);
    expect(answer.allowed).toBe(true);
  });

  it('never holds more than maxRateLimitKeys, however many keys arrive', () => {
    const store = new MemoryStore({ maxRateLimitKeys: 100 });
    for (let i = 0; i < 10_000; i++) {
      store.rateLimit(gcra(`k${i}`, T0 + i, 3_600_000));
      expect(store.rateLimitSize).toBeLessThanOrEqual(100);
    }
    expect(store.rateLimitSize).toBe(100);
  });

  it('when full of live keys, evicts the least recently used, which starts over', () => {
    const store = new MemoryStore({ maxRateLimitKeys: 3 });
    for (let i = 0; i < 10; i++) for (const key of ['a', 'b', 'c']) store.rateLimit(gcra(key, T0));
    expect(store.rateLimit(gcra('a', T0)).allowed).toBe(false);
    // A denied request is a use too: 'a' is now the most recently used, 'b' the least.
    store.rateLimit(gcra('d', T0));
    expect(store.rateLimitSize).toBe(3);
    expect(store.rateLimit(gcra('a', T0)).allowed).toBe(false);
    expect(store.rateLimit(gcra('c', T0)).allowed).toBe(false);
    // 'b' was evicted although its limit had not reset: it has a full bucket again (and pushes out 'd').
    expect(store.rateLimit(gcra('b', T0))).toEqual({ allowed: true, limit: 10, remaining: 9, retryAfterMs: 0, resetMs: 100 });
    expect(store.rateLimit(gcra('d', T0)).remaining).toBe(9);
  });

  it('evicts a fully reset key before a live one that was used less recently', () => {
    const store = new MemoryStore({ maxRateLimitKeys: 3 });
    store.rateLimit(gcra('hour', T0, 3_600_000)); // live for 6 minutes
    store.rateLimit(gcra('second', T0 + 1)); // live for 100 ms
    store.rateLimit(gcra('fresh', T0 + 1000));
    store.rateLimit(gcra('new', T0 + 1000)); // 'second' has reset: it goes, 'hour' stays
    expect(store.rateLimitSize).toBe(3);
    expect(store.rateLimit(gcra('hour', T0 + 1000, 3_600_000, 0)).remaining).toBe(9);
  });

  it('keeps no entry for a read of an idle key, and drops one that is read after it reset', () => {
    const store = new MemoryStore();
    expect(store.rateLimit(gcra('peek', T0, 1000, 0)).remaining).toBe(10);
    expect(store.rateLimitSize).toBe(0);
    store.rateLimit(gcra('peek', T0));
    expect(store.rateLimitSize).toBe(1);
    expect(store.rateLimit(gcra('peek', T0 + 100, 1000, 0)).remaining).toBe(10);
    expect(store.rateLimitSize).toBe(0);
  });

  it('starts over when a key is used with the other algorithm', () => {
    const store = new MemoryStore();
    for (let i = 0; i < 10; i++) store.rateLimit(gcra('x', T0));
    expect(store.rateLimit({ ...gcra('x', T0), algorithm: 'sliding-window' }).remaining).toBe(9);
  });

  it('is exact over a long saturated run with a fractional interval: 3 per second for a minute', () => {
    const store = new MemoryStore();
    let allowed = 0;
    for (let at = 0; at <= 60_000; at++) {
      if (store.rateLimit({ key: 'run', algorithm: 'gcra', limit: 3, periodMs: 1000, burst: 3, now: T0 + at }).allowed) allowed++;
    }
    // The burst of 3 at t = 0, then the k-th at ⌈k × 1000/3⌉ ms for k = 1…180.
    expect(allowed).toBe(183);
  });

  it('keeps rate-limit keys out of the nonce bound, and nonces out of the rate-limit bound', () => {
    const clock = fakeClock();
    const store = new MemoryStore({ maxEntries: 2, maxRateLimitKeys: 2, now: clock.now });
    for (let i = 0; i < 10; i++) store.rateLimit(gcra(`k${i}`, clock.now()));
    expect(store.recordNonce('n1', 1000)).toBe(true);
    expect(store.recordNonce('n2', 1000)).toBe(true);
    expect(() => store.recordNonce('n3', 1000)).toThrow(StoreFullError);
    expect(store.size).toBe(2);
    expect(store.rateLimitSize).toBe(2);
    clock.advance(1000);
    expect(store.recordNonce('n3', 1000)).toBe(true);
  });

  it('forgets everything on close', () => {
    const store = new MemoryStore();
    store.recordNonce('n', 1000);
    for (let i = 0; i < 10; i++) store.rateLimit(gcra('k', T0));
    store.close();
    expect(store.size).toBe(0);
    expect(store.rateLimitSize).toBe(0);
    expect(store.rateLimit(gcra('k', T0)).remaining).toBe(9);
  });
});
