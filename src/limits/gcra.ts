import type { RateLimitState } from '../stores/store.js';

/**
 * The GCRA state of one key: the theoretical arrival time TAT = `tatMs + tatFrac / limit` ms.
 * Split in two integers because the emission interval `periodMs / limit` is rarely a whole number
 * of milliseconds (3 per second: 333.33… ms), and a float TAT would round: three requests from
 * idle would end at 1000.0002 ms and the third would be refused.
 */
export interface GcraCell {
  tatMs: number;
  /** 0 ≤ tatFrac < limit. */
  tatFrac: number;
}

/**
 * GCRA (the generic cell rate algorithm, virtual-scheduling form), equivalent to a token bucket of
 * `burst` tokens refilled at `limit` per `periodMs`, but with one number of state instead of two
 * (tokens and last refill) and no refill arithmetic:
 *
 * - emission interval T = periodMs / limit; tolerance τ = T × (burst − 1);
 * - a request of cost n at time t computes TAT′ = max(TAT, t) + n × T;
 * - it is allowed iff TAT′ − t ≤ τ + T = burst × T (for n = 1 the textbook max(TAT, t) − t ≤ τ),
 *   and then TAT := TAT′; a denied request leaves TAT alone (it takes nothing).
 *
 * So `burst` requests pass at once from idle (TAT′ − t = burst × T), the next one at exactly
 * t + T, and in steady state exactly one per T, i.e. `limit` per `periodMs`. Reported:
 * `remaining` = ⌊(burst × T − (TAT − t)) / T⌋, `resetMs` = ⌈TAT − t⌉ (when the bucket is full
 * again; the state can expire then), `retryAfterMs` = ⌈TAT′ − t − burst × T⌉ when denied.
 *
 * Everything is computed in units of 1/limit ms, where T is the integer `periodMs`, so the
 * arithmetic is on integers below 2^53 (the caller validates the bounds) and exact: the same
 * steps in a Redis Lua script give the same answers. Updates `cell` in place when allowed.
 */
export function gcra(cell: GcraCell, limit: number, periodMs: number, burst: number, cost: number, now: number): RateLimitState {
  // How far TAT is ahead of now, in 1/limit ms; a TAT in the past is an idle key (a full bucket).
  let ahead = 0;
  if (cell.tatMs >= now) {
    // A fraction written under a larger limit (the spec changed under the same key): off by < 1 ms.
    const frac = cell.tatFrac < limit ? cell.tatFrac : limit - 1;
    ahead = (cell.tatMs - now) * limit + frac;
  }
  const capacity = burst * periodMs;
  const after = ahead + cost * periodMs;
  if (after <= capacity) {
    cell.tatMs = now + Math.floor(after / limit);
    cell.tatFrac = after % limit;
    return { allowed: true, limit, remaining: Math.floor((capacity - after) / periodMs), retryAfterMs: 0, resetMs: Math.ceil(after / limit) };
  }
  return {
    allowed: false,
    limit,
    remaining: ahead < capacity ? Math.floor((capacity - ahead) / periodMs) : 0,
    retryAfterMs: Math.ceil((after - capacity) / limit),
    resetMs: Math.ceil(ahead / limit),
  };
}
