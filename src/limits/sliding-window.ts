import type { RateLimitState } from '../stores/store.js';

/** The sliding-window state of one key: the current fixed window and the counts of it and the one before. */
export interface WindowCell {
  /** Start of the current window, ms since the epoch: a multiple of `periodMs`. */
  windowStart: number;
  current: number;
  previous: number;
}

/**
 * The sliding window, approximated from two fixed windows (the Cloudflare / nginx scheme): time is
 * cut into windows of `periodMs` aligned to the epoch, only the counts of the current and the
 * previous window are kept, and the number of requests in the last `periodMs` is estimated as
 *
 *   estimate = previous × (periodMs − elapsed) / periodMs + current
 *
 * where `elapsed` is the time since the current window started: the previous window is assumed to
 * have spread its requests evenly. A request of cost n is allowed iff estimate + n ≤ limit, and a
 * denied one counts nothing. What the approximation means:
 *
 * - it is exact at every window boundary (elapsed = 0: the whole previous window counts, which is
 *   the last `periodMs` exactly) and for traffic that is even across windows;
 * - in between it can over- or under-count bursty traffic by up to the previous count's share;
 * - it needs two counters per key, not one timestamp per request as an exact sliding log would.
 *
 * Integers only: the comparison is estimate × periodMs = previous × (periodMs − elapsed) +
 * current × periodMs against limit × periodMs (below 2^53, validated by the caller), so a Redis Lua
 * port gives the same answers. `remaining` is ⌊(limit × periodMs − that) / periodMs⌋. `resetMs` is
 * when the estimate reaches 0: the end of the next window if the current one has a count, the end of
 * the current one if only the previous has. `retryAfterMs` is the first millisecond at which the
 * request would fit: later in this window as the previous window's weight falls, or in the next one
 * where this window's count becomes the previous count. Updates `cell` in place (the window roll, and
 * the count when allowed).
 */
export function slidingWindow(cell: WindowCell, limit: number, periodMs: number, cost: number, now: number): RateLimitState {
  let elapsed = now % periodMs;
  if (elapsed < 0) elapsed += periodMs;
  const start = now - elapsed;
  let current = 0;
  let previous = 0;
  if (cell.windowStart === start) {
    current = cell.current;
    previous = cell.previous;
  } else if (cell.windowStart === start - periodMs) {
    previous = cell.current;
  }
  cell.windowStart = start;
  cell.previous = previous;
  // The previous window's weight, × periodMs.
  const weight = periodMs - elapsed;
  const capacity = limit * periodMs;
  const used = previous * weight + current * periodMs;
  const after = used + cost * periodMs;
  if (after <= capacity) {
    cell.current = current + cost;
    return {
      allowed: true,
      limit,
      remaining: Math.floor((capacity - after) / periodMs),
      retryAfterMs: 0,
      resetMs: resetAfter(current + cost, previous, elapsed, periodMs),
    };
  }
  cell.current = current;
  let retryAfterMs: number;
  if (current + cost <= limit) {
    // Fits in this window once previous × (periodMs − t) ≤ (limit − current − cost) × periodMs; previous > 0 here.
    retryAfterMs = periodMs - Math.floor(((limit - current - cost) * periodMs) / previous) - elapsed;
  } else {
    // Fits in the next window, where `current` is the previous count, once its weight is low enough; current > 0 here.
    retryAfterMs = periodMs - elapsed + periodMs - Math.floor(((limit - cost) * periodMs) / current);
  }
  return {
    allowed: false,
    limit,
    remaining: used < capacity ? Math.floor((capacity - used) / periodMs) : 0,
    retryAfterMs,
    resetMs: resetAfter(current, previous, elapsed, periodMs),
  };
}

/** ms until the estimate is 0: this window's count still weighs through the whole next window. */
function resetAfter(current: number, previous: number, elapsed: number, periodMs: number): number {
  if (current > 0) return 2 * periodMs - elapsed;
  if (previous > 0) return periodMs - elapsed;
  return 0;
}
