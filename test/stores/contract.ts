/**
 * The behaviour every Store must have, as one reusable suite: the memory store runs it with a fake
 * clock, a Redis store runs it against a real server (its `advance` then sleeps). Rate-limit calls
 * carry their own `now`, so those tests are exact for any store; they start from `clock.now()` so a
 * store that expires keys in real time (PEXPIRE) or at absolute times (PEXPIREAT) keeps them for
 * the whole test. Keys are unique per run so a shared server needs no flushing.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RateLimitRequest, RateLimitState, Store } from '../../src/stores/store.js';

export interface ContractClock {
  /** The store's clock, ms since the epoch. */
  now(): number;
  /** Moves the store's clock forward by `ms`: a fake clock jumps, a real one sleeps. */
  advance(ms: number): void | Promise<void>;
}

type Limit = Omit<RateLimitRequest, 'key' | 'now' | 'cost'>;

/** 10 per second from a bucket of 10: T = 100 ms. */
const GCRA_10: Limit = { algorithm: 'gcra', limit: 10, periodMs: 1000, burst: 10 };
/** 10 per second, windows of one second. */
const WINDOW_10: Limit = { algorithm: 'sliding-window', limit: 10, periodMs: 1000, burst: 10 };

const state = (allowed: boolean, remaining: number, retryAfterMs: number, resetMs: number, limit = 10): RateLimitState => ({
  allowed,
  limit,
  remaining,
  retryAfterMs,
  resetMs,
});

export function describeStoreContract(name: string, makeStore: () => Store | Promise<Store>, clock: ContractClock): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let prefix: string;
    let t0: number;

    beforeEach(async () => {
      store = await makeStore();
      prefix = `contract:${randomUUID()}:`;
      // A whole second a little ahead of the store's clock: window boundaries fall on t0 + k × 1000.
      t0 = Math.ceil(clock.now() / 1000) * 1000 + 1000;
    });

    afterEach(async () => {
      await store.close?.();
    });

    /** Sync answers, sync throws and rejections all become one promise. */
    const take = (key: string, limit: Limit, at: number, cost?: number): Promise<RateLimitState> =>
      Promise.resolve().then(() => store.rateLimit({ ...limit, key: prefix + key, now: t0 + at, ...(cost === undefined ? {} : { cost }) }));
    const nonce = (key: string, ttlMs: number): Promise<boolean> => Promise.resolve().then(() => store.recordNonce(prefix + key, ttlMs));

    describe('recordNonce', () => {
      it('records a first use and reports the second as a replay', async () => {
        expect(await nonce('n', 60_000)).toBe(true);
        expect(await nonce('n', 60_000)).toBe(false);
        expect(await nonce('n', 60_000)).toBe(false);
      });

      it('keeps keys apart', async () => {
        expect(await nonce('a', 60_000)).toBe(true);
        expect(await nonce('b', 60_000)).toBe(true);
        expect(await nonce('a', 60_000)).toBe(false);
      });

      it('forgets a nonce once its TTL has passed, not before', async () => {
        expect(await nonce('ttl', 1000)).toBe(true);
        await clock.advance(500);
        expect(await nonce('ttl', 1000)).toBe(false);
        await clock.advance(500);
        expect(await nonce('ttl', 1000)).toBe(true);
        expect(await nonce('ttl', 1000)).toBe(false);
      });
    });

    describe('rateLimit: gcra', () => {
      it('allows the burst at once from idle, counting down, then denies with the exact wait', async () => {
        for (let i = 0; i < 10; i++) expect(await take('burst', GCRA_10, 0)).toEqual(state(true, 9 - i, 0, (i + 1) * 100));
        expect(await take('burst', GCRA_10, 0)).toEqual(state(false, 0, 100, 1000));
      });

      it('allows the next request at exactly T and not 1 ms before', async () => {
        for (let i = 0; i < 10; i++) await take('edge', GCRA_10, 0);
        expect(await take('edge', GCRA_10, 99)).toEqual(state(false, 0, 1, 901));
        expect(await take('edge', GCRA_10, 100)).toEqual(state(true, 0, 0, 1000));
        expect(await take('edge', GCRA_10, 100)).toEqual(state(false, 0, 100, 1000));
      });

      it('holds exactly `limit` per period in steady state', async () => {
        for (let i = 0; i < 10; i++) await take('steady', GCRA_10, 0);
        let allowed = 0;
        for (let at = 0; at <= 2000; at += 10) if ((await take('steady', GCRA_10, at)).allowed) allowed++;
        expect(allowed).toBe(20);
      });

      it('is exact when T is not a whole number of ms (3 per second)', async () => {
        const three: Limit = { algorithm: 'gcra', limit: 3, periodMs: 1000, burst: 3 };
        for (let i = 0; i < 3; i++) expect((await take('third', three, 0)).allowed).toBe(true);
        expect(await take('third', three, 0)).toEqual(state(false, 0, 334, 1000, 3));
        expect(await take('third', three, 333)).toEqual(state(false, 0, 1, 667, 3));
        expect(await take('third', three, 334)).toEqual(state(true, 0, 0, 1000, 3));
        expect(await take('third', three, 666)).toEqual(state(false, 0, 1, 668, 3));
        expect(await take('third', three, 667)).toEqual(state(true, 0, 0, 1000, 3));
        expect(await take('third', three, 1000)).toEqual(state(true, 0, 0, 1000, 3));
      });

      it('allows `burst` at once when it differs from the limit', async () => {
        const small: Limit = { ...GCRA_10, burst: 2 };
        expect(await take('small', small, 0)).toEqual(state(true, 1, 0, 100));
        expect(await take('small', small, 0)).toEqual(state(true, 0, 0, 200));
        expect(await take('small', small, 0)).toEqual(state(false, 0, 100, 200));
        const large: Limit = { ...GCRA_10, burst: 25 };
        for (let i = 0; i < 25; i++) expect((await take('large', large, 0)).allowed).toBe(true);
        expect(await take('large', large, 0)).toEqual(state(false, 0, 100, 2500));
      });

      it('takes a cost above 1 whole or not at all', async () => {
        expect(await take('cost', GCRA_10, 0, 4)).toEqual(state(true, 6, 0, 400));
        expect(await take('cost', GCRA_10, 0, 7)).toEqual(state(false, 6, 100, 400));
        expect(await take('cost', GCRA_10, 0, 6)).toEqual(state(true, 0, 0, 1000));
        expect(await take('cost', GCRA_10, 250, 3)).toEqual(state(false, 2, 50, 750));
        expect(await take('cost', GCRA_10, 300, 3)).toEqual(state(true, 0, 0, 1000));
      });

      it('counts nothing for a denied request', async () => {
        for (let i = 0; i < 10; i++) await take('deny', GCRA_10, 0);
        for (let at = 0; at < 100; at += 5) expect((await take('deny', GCRA_10, at)).allowed).toBe(false);
        expect(await take('deny', GCRA_10, 100)).toEqual(state(true, 0, 0, 1000));
      });

      it('is back to a full bucket once reset, and reads without taking at cost 0', async () => {
        expect(await take('reset', GCRA_10, 0, 0)).toEqual(state(true, 10, 0, 0));
        for (let i = 0; i < 3; i++) await take('reset', GCRA_10, 0);
        expect(await take('reset', GCRA_10, 100, 0)).toEqual(state(true, 8, 0, 200));
        expect(await take('reset', GCRA_10, 300, 0)).toEqual(state(true, 10, 0, 0));
        for (let i = 0; i < 10; i++) await take('reset', GCRA_10, 300);
        expect(await take('reset', GCRA_10, 1300)).toEqual(state(true, 9, 0, 100));
      });

      it('keeps keys apart', async () => {
        for (let i = 0; i < 10; i++) await take('one', GCRA_10, 0);
        expect((await take('one', GCRA_10, 0)).allowed).toBe(false);
        expect(await take('two', GCRA_10, 0)).toEqual(state(true, 9, 0, 100));
      });
    });

    describe('rateLimit: sliding-window', () => {
      it('allows `limit` in a window and says when the next one fits', async () => {
        for (let i = 0; i < 10; i++) expect(await take('fill', WINDOW_10, 0)).toEqual(state(true, 9 - i, 0, 2000));
        // Next window: 10 × (1000 − e)/1000 + 1 ≤ 10 from e = 100.
        expect(await take('fill', WINDOW_10, 0)).toEqual(state(false, 0, 1100, 2000));
        expect(await take('fill', WINDOW_10, 999)).toEqual(state(false, 0, 101, 1001));
      });

      it('counts the whole previous window at the boundary, then less as the window slides', async () => {
        for (let i = 0; i < 10; i++) await take('slide', WINDOW_10, 0);
        expect(await take('slide', WINDOW_10, 1000)).toEqual(state(false, 0, 100, 1000));
        expect(await take('slide', WINDOW_10, 1099)).toEqual(state(false, 0, 1, 901));
        expect(await take('slide', WINDOW_10, 1100)).toEqual(state(true, 0, 0, 1900));
        // e = 500: 10 × 0.5 + 1 = 6 before, 7 after.
        expect(await take('slide', WINDOW_10, 1500)).toEqual(state(true, 3, 0, 1500));
        expect(await take('slide', WINDOW_10, 1500, 3)).toEqual(state(true, 0, 0, 1500));
        // 10 × 0.5 + 5 = 10: full; fits at e = 600 (10 × 0.4 + 5 + 1 = 10).
        expect(await take('slide', WINDOW_10, 1500)).toEqual(state(false, 0, 100, 1500));
        expect(await take('slide', WINDOW_10, 1600)).toEqual(state(true, 0, 0, 1400));
        // The window after: 6 × (1000 − e)/1000 + 0.
        expect(await take('slide', WINDOW_10, 2000)).toEqual(state(true, 3, 0, 2000));
        expect(await take('slide', WINDOW_10, 2500)).toEqual(state(true, 5, 0, 1500));
      });

      it('forgets everything after two idle windows', async () => {
        for (let i = 0; i < 10; i++) await take('idle', WINDOW_10, 0);
        expect(await take('idle', WINDOW_10, 1999, 0)).toEqual(state(true, 9, 0, 1));
        expect(await take('idle', WINDOW_10, 2000, 0)).toEqual(state(true, 10, 0, 0));
        expect(await take('idle', WINDOW_10, 2000)).toEqual(state(true, 9, 0, 2000));
      });

      it('takes a cost above 1 whole or not at all, and counts nothing when denied', async () => {
        expect(await take('wcost', WINDOW_10, 0, 6)).toEqual(state(true, 4, 0, 2000));
        // Next window: 6 × (1000 − e)/1000 + 5 ≤ 10 from e = 167 (1000 − 5000/6, rounded up).
        expect(await take('wcost', WINDOW_10, 0, 5)).toEqual(state(false, 4, 1167, 2000));
        expect(await take('wcost', WINDOW_10, 0, 4)).toEqual(state(true, 0, 0, 2000));
        // Next window: 10 × (1000 − e)/1000 + 5 ≤ 10 from e = 500.
        expect(await take('wcost', WINDOW_10, 1499, 5)).toEqual(state(false, 4, 1, 501));
        expect(await take('wcost', WINDOW_10, 1500, 5)).toEqual(state(true, 0, 0, 1500));
      });

      it('keeps keys apart', async () => {
        for (let i = 0; i < 10; i++) await take('w1', WINDOW_10, 0);
        expect((await take('w1', WINDOW_10, 0)).allowed).toBe(false);
        expect(await take('w2', WINDOW_10, 0)).toEqual(state(true, 9, 0, 2000));
      });
    });

    describe('rateLimit: requests that are not well formed', () => {
      it.each([
        ['a cost above the burst', { ...GCRA_10, burst: 2 }, 3],
        ['a cost above the window limit', WINDOW_10, 11],
        ['a negative cost', GCRA_10, -1],
        ['a fractional cost', GCRA_10, 1.5],
        ['a zero limit', { ...GCRA_10, limit: 0 }, 1],
        ['a zero period', { ...GCRA_10, periodMs: 0 }, 1],
        ['a zero burst', { ...GCRA_10, burst: 0 }, 1],
        ['a fractional period', { ...WINDOW_10, periodMs: 1000.5 }, 1],
      ] as [string, Limit, number][])('refuses %s with a RangeError', async (_what, limit, cost) => {
        await expect(take('bad', limit, 0, cost)).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('account: a nonce and a rate limit at once', () => {
      const account = (nonceKey: string, key: string, limit: Limit, at: number, ttlMs = 60_000) =>
        Promise.resolve().then(() => {
          if (store.account === undefined) throw new Error('this store has no account method');
          return store.account({ nonce: { key: prefix + nonceKey, ttlMs }, rateLimit: { ...limit, key: prefix + key, now: t0 + at } });
        });

      it('records a first use and takes from the limit exactly as rateLimit would', async () => {
        expect(await account('n1', 'acct', GCRA_10, 0)).toEqual({ nonce: true, rateLimit: state(true, 9, 0, 100) });
        expect(await account('n2', 'acct', GCRA_10, 0)).toEqual({ nonce: true, rateLimit: state(true, 8, 0, 200) });
        expect(await take('acct', GCRA_10, 0)).toEqual(state(true, 7, 0, 300));
        expect(await account('w1', 'acct-w', WINDOW_10, 0)).toEqual({ nonce: true, rateLimit: state(true, 9, 0, 2000) });
      });

      it('takes nothing for a replayed nonce and says so without a rate-limit state', async () => {
        expect(await account('same', 'replay', GCRA_10, 0)).toEqual({ nonce: true, rateLimit: state(true, 9, 0, 100) });
        expect(await account('same', 'replay', GCRA_10, 0)).toEqual({ nonce: false });
        expect(await nonce('same', 60_000)).toBe(false);
        // Still 9 left: the replay took nothing.
        expect(await take('replay', GCRA_10, 0, 0)).toEqual(state(true, 9, 0, 100));
      });

      it('shares nonces with recordNonce', async () => {
        expect(await nonce('shared', 60_000)).toBe(true);
        expect(await account('shared', 'shared-limit', GCRA_10, 0)).toEqual({ nonce: false });
      });

      it('records the nonce even when the limit denies', async () => {
        for (let i = 0; i < 10; i++) await take('full', GCRA_10, 0);
        expect(await account('over', 'full', GCRA_10, 0)).toEqual({ nonce: true, rateLimit: state(false, 0, 100, 1000) });
        expect(await nonce('over', 60_000)).toBe(false);
      });

      it('refuses a malformed rate limit with a RangeError and records no nonce', async () => {
        await expect(account('malformed', 'bad', { ...GCRA_10, limit: 0 }, 0)).rejects.toBeInstanceOf(RangeError);
        expect(await nonce('malformed', 60_000)).toBe(true);
      });
    });
  });
}
