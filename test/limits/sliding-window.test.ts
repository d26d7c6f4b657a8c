import { describe, expect, it } from 'vitest';
import { slidingWindow, type WindowCell } from '../../src/limits/sliding-window.js';

const idle = (): WindowCell => ({ windowStart: Number.NaN, current: 0, previous: 0 });
/** A window boundary for periods of 1000 ms. */
const W = 1_700_000_000_000;

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The approximation kept the naive way: every window's count, the estimate × periodMs from the two that matter. */
class History {
  readonly counts = new Map<number, number>();
  constructor(
    readonly limit: number,
    readonly periodMs: number,
  ) {}
  scaledEstimate(now: number): number {
    const index = Math.floor(now / this.periodMs);
    const elapsed = now - index * this.periodMs;
    return (this.counts.get(index - 1) ?? 0) * (this.periodMs - elapsed) + (this.counts.get(index) ?? 0) * this.periodMs;
  }
  fits(cost: number, now: number): boolean {
    return this.scaledEstimate(now) + cost * this.periodMs <= this.limit * this.periodMs;
  }
  take(cost: number, now: number): boolean {
    if (!this.fits(cost, now)) return false;
    const index = Math.floor(now / this.periodMs);
    this.counts.set(index, (this.counts.get(index) ?? 0) + cost);
    return true;
  }
  /** The first ms from `now` at which `cost` fits, by trying every one. */
  firstFit(cost: number, now: number): number {
    let t = now;
    while (!this.fits(cost, t)) t++;
    return t - now;
  }
  /** The first ms from `now` at which the estimate is 0, by trying every one. */
  firstEmpty(now: number): number {
    let t = now;
    while (this.scaledEstimate(t) > 0) t++;
    return t - now;
  }
}

describe('slidingWindow', () => {
  it('counts within one window and denies the request over the limit', () => {
    const cell = idle();
    for (let i = 0; i < 4; i++) expect(slidingWindow(cell, 4, 1000, 1, W + 250)).toEqual({ allowed: true, limit: 4, remaining: 3 - i, retryAfterMs: 0, resetMs: 1750 });
    // Next window: 4 × (1000 − e)/1000 + 1 ≤ 4 from e = 250.
    expect(slidingWindow(cell, 4, 1000, 1, W + 999)).toEqual({ allowed: false, limit: 4, remaining: 0, retryAfterMs: 251, resetMs: 1001 });
    expect(cell).toEqual({ windowStart: W, current: 4, previous: 0 });
  });

  it('is exact at the boundary: at elapsed 0 the whole previous window counts', () => {
    const cell = idle();
    for (let i = 0; i < 4; i++) slidingWindow(cell, 4, 1000, 1, W + 999);
    expect(slidingWindow(cell, 4, 1000, 1, W + 1000)).toEqual({ allowed: false, limit: 4, remaining: 0, retryAfterMs: 250, resetMs: 1000 });
    expect(cell).toEqual({ windowStart: W + 1000, current: 0, previous: 4 });
    expect(slidingWindow(cell, 4, 1000, 1, W + 1249).allowed).toBe(false);
    expect(slidingWindow(cell, 4, 1000, 1, W + 1250)).toEqual({ allowed: true, limit: 4, remaining: 0, retryAfterMs: 0, resetMs: 1750 });
    // Two windows on, nothing of the first window is left.
    expect(slidingWindow(cell, 4, 1000, 0, W + 2000)).toEqual({ allowed: true, limit: 4, remaining: 3, retryAfterMs: 0, resetMs: 1000 });
    expect(slidingWindow(cell, 4, 1000, 0, W + 3000)).toEqual({ allowed: true, limit: 4, remaining: 4, retryAfterMs: 0, resetMs: 0 });
  });

  it('starts over after a gap of more than one window', () => {
    const cell = idle();
    for (let i = 0; i < 4; i++) slidingWindow(cell, 4, 1000, 1, W);
    expect(slidingWindow(cell, 4, 1000, 1, W + 2000)).toEqual({ allowed: true, limit: 4, remaining: 3, retryAfterMs: 0, resetMs: 2000 });
    expect(cell).toEqual({ windowStart: W + 2000, current: 1, previous: 0 });
  });

  it('aligns windows to the epoch, also before it', () => {
    const cell = idle();
    slidingWindow(cell, 4, 1000, 1, -1500);
    expect(cell).toEqual({ windowStart: -2000, current: 1, previous: 0 });
  });

  it.each([
    [10, 1000],
    [3, 1000],
    [1, 500],
    [50, 2000],
    [7, 333],
  ])('matches the naive history, and its waits are the first ms that fit (limit %i per %i ms)', (limit, periodMs) => {
    const next = random(limit * 31 + periodMs);
    const cell = idle();
    const history = new History(limit, periodMs);
    let now = W;
    let denied = 0;
    for (let i = 0; i < 3000; i++) {
      now += Math.floor(next() * next() * (3 * periodMs) / limit);
      const cost = next() < 0.7 ? 1 : 1 + Math.floor(next() * limit);
      const estimate = history.scaledEstimate(now);
      const allowed = history.take(cost, now);
      const scaledAfter = allowed ? estimate + cost * periodMs : estimate;
      const answer = slidingWindow(cell, limit, periodMs, cost, now);
      expect(answer.allowed).toBe(allowed);
      expect(answer.remaining).toBe(Math.max(0, Math.floor((limit * periodMs - scaledAfter) / periodMs)));
      expect(answer.retryAfterMs).toBe(allowed ? 0 : history.firstFit(cost, now));
      expect(answer.resetMs).toBe(history.firstEmpty(now));
      if (!allowed) denied++;
    }
    expect(denied).toBeGreaterThan(100);
  });
});
