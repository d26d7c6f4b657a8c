import { describe, expect, it } from 'vitest';
import { gcra, type GcraCell } from '../../src/limits/gcra.js';

const idle = (): GcraCell => ({ tatMs: Number.NEGATIVE_INFINITY, tatFrac: 0 });
const T0 = 1_700_000_000_000;

/** Deterministic pseudo-random numbers (mulberry32), so a failure replays. */
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

/**
 * The token bucket GCRA claims to equal, written the other way round: `burst` tokens, refilled
 * continuously at limit/period. Tokens are kept × periodMs so that refills (elapsed × limit) stay
 * integers: exact, with no GCRA arithmetic in it.
 */
class TokenBucket {
  #scaled: number;
  #at = Number.NEGATIVE_INFINITY;
  constructor(
    readonly limit: number,
    readonly periodMs: number,
    readonly burst: number,
  ) {
    this.#scaled = burst * periodMs;
  }
  take(cost: number, now: number) {
    const { limit, periodMs, burst } = this;
    const full = burst * periodMs;
    this.#scaled = this.#at === Number.NEGATIVE_INFINITY ? full : Math.min(full, this.#scaled + (now - this.#at) * limit);
    this.#at = now;
    const need = cost * periodMs;
    const allowed = this.#scaled >= need;
    if (allowed) this.#scaled -= need;
    return {
      allowed,
      limit,
      remaining: Math.floor(this.#scaled / periodMs),
      retryAfterMs: allowed ? 0 : Math.ceil((need - this.#scaled) / limit),
      resetMs: Math.ceil((full - this.#scaled) / limit),
    };
  }
}

describe('gcra', () => {
  it('allows `burst` at once from idle, then the next at exactly T = period/limit', () => {
    const cell = idle();
    for (let i = 0; i < 5; i++) expect(gcra(cell, 5, 1000, 5, 1, T0)).toEqual({ allowed: true, limit: 5, remaining: 4 - i, retryAfterMs: 0, resetMs: (i + 1) * 200 });
    expect(gcra(cell, 5, 1000, 5, 1, T0)).toEqual({ allowed: false, limit: 5, remaining: 0, retryAfterMs: 200, resetMs: 1000 });
    expect(gcra(cell, 5, 1000, 5, 1, T0 + 199)).toEqual({ allowed: false, limit: 5, remaining: 0, retryAfterMs: 1, resetMs: 801 });
    expect(gcra(cell, 5, 1000, 5, 1, T0 + 200)).toEqual({ allowed: true, limit: 5, remaining: 0, retryAfterMs: 0, resetMs: 1000 });
  });

  it('stores only the TAT, and leaves it alone on a denial', () => {
    const cell = idle();
    gcra(cell, 10, 1000, 2, 1, T0);
    expect(cell).toEqual({ tatMs: T0 + 100, tatFrac: 0 });
    gcra(cell, 10, 1000, 2, 1, T0);
    expect(cell).toEqual({ tatMs: T0 + 200, tatFrac: 0 });
    expect(gcra(cell, 10, 1000, 2, 1, T0).allowed).toBe(false);
    expect(cell).toEqual({ tatMs: T0 + 200, tatFrac: 0 });
  });

  it('keeps a fractional TAT exactly: 333⅓ ms is 333 ms and 1/3', () => {
    const cell = idle();
    gcra(cell, 3, 1000, 3, 1, T0);
    expect(cell).toEqual({ tatMs: T0 + 333, tatFrac: 1 });
    gcra(cell, 3, 1000, 3, 1, T0);
    expect(cell).toEqual({ tatMs: T0 + 666, tatFrac: 2 });
    gcra(cell, 3, 1000, 3, 1, T0);
    expect(cell).toEqual({ tatMs: T0 + 1000, tatFrac: 0 });
  });

  it('reads a fraction written under a larger limit as at most 1 ms off', () => {
    const cell: GcraCell = { tatMs: T0 + 100, tatFrac: 7 };
    expect(gcra(cell, 2, 1000, 2, 0, T0)).toEqual({ allowed: true, limit: 2, remaining: 1, retryAfterMs: 0, resetMs: 101 });
  });

  it('never reports a negative remaining when the TAT is beyond the current burst', () => {
    const cell: GcraCell = { tatMs: T0 + 10_000, tatFrac: 0 };
    expect(gcra(cell, 10, 1000, 10, 1, T0)).toEqual({ allowed: false, limit: 10, remaining: 0, retryAfterMs: 9100, resetMs: 10_000 });
  });

  it.each([
    [10, 1000, 10],
    [3, 1000, 3],
    [7, 1000, 2],
    [1, 60_000, 5],
    [100, 1000, 250],
    [13, 997, 4],
  ])('equals a token bucket of the same rate, answer for answer (limit %i per %i ms, burst %i)', (limit, periodMs, burst) => {
    const next = random(limit * 7919 + periodMs + burst);
    const cell = idle();
    const bucket = new TokenBucket(limit, periodMs, burst);
    let now = T0;
    let allowed = 0;
    for (let i = 0; i < 10_000; i++) {
      now += Math.floor(next() * next() * (4 * periodMs) / limit);
      const cost = Math.min(burst, next() < 0.8 ? 1 : 1 + Math.floor(next() * burst));
      const expected = bucket.take(cost, now);
      expect(gcra(cell, limit, periodMs, burst, cost, now)).toEqual(expected);
      if (expected.allowed) allowed++;
    }
    expect(allowed).toBeGreaterThan(1000);
  });

  it('says the exact wait: one ms earlier is denied, at the wait it is allowed', () => {
    const next = random(42);
    for (let round = 0; round < 200; round++) {
      const limit = 1 + Math.floor(next() * 20);
      const periodMs = 100 + Math.floor(next() * 5000);
      const burst = 1 + Math.floor(next() * 20);
      const cell = idle();
      let now = T0;
      let denied = gcra(cell, limit, periodMs, burst, 1, now);
      while (denied.allowed) denied = gcra(cell, limit, periodMs, burst, 1, (now += Math.floor(next() * 3)));
      const cost = 1 + Math.floor(next() * burst);
      const answer = gcra({ ...cell }, limit, periodMs, burst, cost, now);
      expect(answer.allowed).toBe(false);
      expect(gcra({ ...cell }, limit, periodMs, burst, cost, now + answer.retryAfterMs - 1).allowed).toBe(false);
      expect(gcra({ ...cell }, limit, periodMs, burst, cost, now + answer.retryAfterMs).allowed).toBe(true);
      // Fully reset after resetMs: the whole burst is there again.
      expect(gcra({ ...cell }, limit, periodMs, burst, burst, now + answer.resetMs).allowed).toBe(true);
      expect(gcra({ ...cell }, limit, periodMs, burst, burst, now + answer.resetMs - 1).allowed).toBe(false);
    }
  });
});
