/**
 * The only stateful seam of a guard: what must be shared by every process that answers for one API
 * (nonces and rate-limit state). The memory store is the embedded default; a Redis store implements
 * the same contract for a fleet.
 */
export interface Store {
  /**
   * Records `key` for `ttlMs` milliseconds if it is not recorded yet, atomically. Resolves `true` when
   * it was recorded now (first use) and `false` when it was already there (a replay). Throws or
   * rejects when the store cannot answer; the guard then follows the check's failure mode.
   */
  recordNonce(key: string, ttlMs: number): boolean | Promise<boolean>;
  /**
   * Atomically takes `cost` from the limit at `key` and reports the state. Throws/rejects when the
   * store cannot answer, and throws a RangeError for a request that is not well formed (see
   * `RateLimitRequest`).
   *
   * One call is one read-modify-write of one key, so a shared store runs it as one atomic script in
   * one round trip. The arithmetic (`src/limits/gcra.ts`, `src/limits/sliding-window.ts`) is integer
   * only and exact below 2^53, so a Lua port with IEEE doubles gives the same answers bit for bit.
   * What a store keeps per key, and for how long:
   * - `gcra`: the theoretical arrival time as whole milliseconds `tatMs` plus `tatFrac / limit` of a
   *   millisecond (0 ≤ tatFrac < limit), so that a rate such as 3 per second stays exact;
   * - `sliding-window`: the start of the current fixed window `windowStart` (a multiple of
   *   `periodMs`), its count `current` and the previous window's count `previous`;
   * - either kept for `resetMs` after the call (the state is then equivalent to no state at all, so
   *   expiring it is safe) and not kept when `resetMs` is 0. A denied request changes no count.
   */
  rateLimit(request: RateLimitRequest): RateLimitState | Promise<RateLimitState>;
  /**
   * Optional: records a nonce and, when it is a first use, takes from a rate limit, as one operation
   * (a shared store: one round trip). A replayed nonce takes nothing from the limit and the answer has
   * no `rateLimit`. Without this method the guard calls `recordNonce` then `rateLimit`. Throws or
   * rejects when the store cannot answer: then neither part is known to have happened.
   */
  account?(request: AccountRequest): AccountResult | Promise<AccountResult>;
  /** Releases connections and timers. */
  close?(): void | Promise<void>;
}

/**
 * One request against one rate limit. Every number is an integer: fractions would make the memory
 * and the Redis arithmetic drift apart. Not well formed (RangeError): `limit`, `periodMs` or `burst`
 * (GCRA) below 1, `limit × periodMs` or `burst × periodMs` at or above 2^53, a `cost` below 0 or
 * above the capacity (`burst` for GCRA, `limit` for the window) — such a request could never be
 * allowed, so no retry time would be true — or a `now` that is not a finite number.
 */
export interface RateLimitRequest {
  /** The store key (`rateLimitKey`): names the limit and the caller, never holds raw key material. */
  key: string;
  algorithm: 'gcra' | 'sliding-window';
  /** Requests per `periodMs`. */
  limit: number;
  periodMs: number;
  /** GCRA: requests allowed at once from idle (the bucket size). Ignored by the sliding window. */
  burst: number;
  /** What this request takes. Default 1; 0 reads the state without taking anything. */
  cost?: number;
  /** The caller's clock in milliseconds since the epoch (fractions are dropped): the store never reads its own, so every process and the tests agree on time. */
  now: number;
}

/** A nonce to record and the rate limit to take from if it is a first use (`Store.account`). */
export interface AccountRequest {
  nonce: { key: string; ttlMs: number };
  rateLimit: RateLimitRequest;
}

/** What `Store.account` did: `nonce` as `recordNonce` answers; `rateLimit` only for a first use. */
export interface AccountResult {
  nonce: boolean;
  rateLimit?: RateLimitState;
}

/** The state of a limit for one key after a `rateLimit` call. */
export interface RateLimitState {
  allowed: boolean;
  /** The limit (requests per period), as requested. */
  limit: number;
  /** Requests of cost 1 that would be allowed right now, after this one. */
  remaining: number;
  /** ms until a request would be allowed (0 when allowed): this request, at its cost, with nothing else taken meanwhile. */
  retryAfterMs: number;
  /** ms until the limit fully resets */
  resetMs: number;
  /** True when a stand-in store counted this request because the shared store could not answer (a per-process count). */
  standIn?: boolean;
}

/** Thrown by the memory store when it is full of unexpired entries: forgetting one would allow its replay. */
export class StoreFullError extends Error {
  override name = 'StoreFullError';
}
