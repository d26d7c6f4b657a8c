/**
 * The only stateful seam of a guard: what must be shared by every process that answers for one API
 * (nonces today; rate-limit buckets later). The memory store is the embedded default; a Redis store
 * implements the same contract for a fleet.
 */
export interface Store {
  /**
   * Records `key` for `ttlMs` milliseconds if it is not recorded yet, atomically. Resolves `true` when
   * it was recorded now (first use) and `false` when it was already there (a replay). Throws or
   * rejects when the store cannot answer; the guard then follows the check's failure mode.
   */
  recordNonce(key: string, ttlMs: number): boolean | Promise<boolean>;
  /** Releases connections and timers. */
  close?(): void | Promise<void>;
}

/** Thrown by the memory store when it is full of unexpired entries: forgetting one would allow its replay. */
export class StoreFullError extends Error {
  override name = 'StoreFullError';
}
