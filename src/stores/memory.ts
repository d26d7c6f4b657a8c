import { gcra, type GcraCell } from '../limits/gcra.js';
import { validateRateLimitRequest } from '../limits/rate-limit.js';
import { slidingWindow, type WindowCell } from '../limits/sliding-window.js';
import { StoreFullError, type AccountRequest, type AccountResult, type RateLimitRequest, type RateLimitState, type Store } from './store.js';

export interface MemoryStoreOptions {
  /** Most nonces held at once (default 100000). When every entry is still live, new ones are refused. */
  maxEntries?: number;
  /**
   * Most rate-limit keys held at once (default 100000), apart from the nonces so that a flood of
   * rate-limited callers can never crowd out nonces (which must not be forgotten). When full, a new key
   * evicts one (see `MemoryStore`); size it above the number of keys active within the longest period.
   */
  maxRateLimitKeys?: number;
  /** The clock for nonce TTLs, in milliseconds since the epoch. Default `Date.now`. Rate limits use the request's `now`. */
  now?: () => number;
}

/** How many of the least recently used rate-limit keys an insertion looks through for one that has fully reset. */
const EVICTION_SCAN = 8;

/** The rate-limit state of one key, in a doubly linked list from least to most recently used. */
class LimitEntry implements GcraCell, WindowCell {
  key = '';
  algorithm: RateLimitRequest['algorithm'] = 'gcra';
  /** When the state is equivalent to none (the limit fully reset): `now + resetMs` of the last call. */
  expiresAt = 0;
  tatMs = Number.NEGATIVE_INFINITY;
  tatFrac = 0;
  windowStart = Number.NaN;
  current = 0;
  previous = 0;
  older: LimitEntry | undefined = undefined;
  newer: LimitEntry | undefined = undefined;

  /** Forgets the state: an idle key, whatever the algorithm. */
  clear(algorithm: RateLimitRequest['algorithm']): void {
    this.algorithm = algorithm;
    this.tatMs = Number.NEGATIVE_INFINITY;
    this.tatFrac = 0;
    this.windowStart = Number.NaN;
    this.current = 0;
    this.previous = 0;
  }
}

/**
 * A bounded in-process store, synchronous; every rate-limit call is O(1) (a map lookup and a few
 * list links, no scan beyond a fixed handful).
 *
 * Nonces are kept until their TTL passes; expired ones are swept in insertion order as room is
 * needed. When the store is full of live nonces it refuses new ones (StoreFullError) instead of
 * evicting: an evicted nonce could be replayed.
 *
 * Rate-limit keys live in a map plus a least-recently-used list (a denied request counts as a use,
 * so a caller being limited keeps its state). A key whose limit has fully reset is as good as
 * absent: it is treated as new on its next use, and it is what goes first when room is needed.
 * When `maxRateLimitKeys` are held and a new key arrives, the store evicts the first fully reset
 * key among the 8 least recently used (`EVICTION_SCAN`), or else the least recently used key even
 * though its limit has not reset: that key starts over with a full allowance. This is the price of
 * a bound — a caller who can mint keys faster than the bound can push others out — and the reason
 * to size the bound generously and to key limits on something that is costly to mint (a verified
 * principal, an IPv6 /64, not a raw header). Times come from each request's `now`, so results are
 * exact under an injected clock.
 */
export class MemoryStore implements Store {
  readonly #max: number;
  readonly #maxLimits: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, number>();
  readonly #limits = new Map<string, LimitEntry>();
  /** Least and most recently used rate-limit entries. */
  #oldest: LimitEntry | undefined;
  #newest: LimitEntry | undefined;
  /** The state of a key not held yet, computed before deciding whether it needs an entry. */
  readonly #scratch = new LimitEntry();

  constructor(options: MemoryStoreOptions = {}) {
    this.#max = Math.max(1, Math.floor(options.maxEntries ?? 100_000));
    this.#maxLimits = Math.max(1, Math.floor(options.maxRateLimitKeys ?? 100_000));
    this.#now = options.now ?? Date.now;
  }

  /** Nonces held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Rate-limit keys held. */
  get rateLimitSize(): number {
    return this.#limits.size;
  }

  recordNonce(key: string, ttlMs: number): boolean {
    const now = this.#now();
    const expiresAt = this.#entries.get(key);
    if (expiresAt !== undefined) {
      if (expiresAt > now) return false;
      this.#entries.delete(key);
    }
    if (this.#entries.size >= this.#max) this.#sweep(now);
    if (this.#entries.size >= this.#max) throw new StoreFullError('bonafide: memory store is full of live nonces');
    this.#entries.set(key, now + Math.max(0, ttlMs));
    return true;
  }

  /** `recordNonce`, then `rateLimit` for a first use; a malformed rate-limit request records nothing. */
  account(request: AccountRequest): AccountResult {
    validateRateLimitRequest(request.rateLimit);
    if (!this.recordNonce(request.nonce.key, request.nonce.ttlMs)) return { nonce: false };
    return { nonce: true, rateLimit: this.rateLimit(request.rateLimit) };
  }

  rateLimit(request: RateLimitRequest): RateLimitState {
    const cost = validateRateLimitRequest(request);
    const now = Math.floor(request.now);
    const { key, algorithm } = request;
    let entry = this.#limits.get(key);
    if (entry !== undefined && (entry.expiresAt <= now || entry.algorithm !== algorithm)) entry.clear(algorithm);
    let cell = entry;
    if (cell === undefined) {
      cell = this.#scratch;
      cell.clear(algorithm);
    }
    const state =
      algorithm === 'gcra'
        ? gcra(cell, request.limit, request.periodMs, request.burst, cost, now)
        : slidingWindow(cell, request.limit, request.periodMs, cost, now);
    if (state.resetMs === 0) {
      // Nothing to remember (a read at cost 0 of an idle key).
      if (entry !== undefined) this.#remove(entry);
      return state;
    }
    if (entry === undefined) {
      entry = this.#limits.size >= this.#maxLimits ? this.#evict(now) : new LimitEntry();
      entry.key = key;
      entry.algorithm = algorithm;
      entry.tatMs = cell.tatMs;
      entry.tatFrac = cell.tatFrac;
      entry.windowStart = cell.windowStart;
      entry.current = cell.current;
      entry.previous = cell.previous;
      this.#limits.set(key, entry);
      this.#pushNewest(entry);
    } else if (entry !== this.#newest) {
      this.#unlink(entry);
      this.#pushNewest(entry);
    }
    entry.expiresAt = now + state.resetMs;
    return state;
  }

  /** Drops expired entries from the oldest insertions on; stops at the first live one it cannot pass. */
  #sweep(now: number): void {
    let budget = 1024;
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt <= now) this.#entries.delete(key);
      else if (--budget === 0) break;
    }
  }

  /** Makes room for one key; returns the evicted entry for reuse. Called only when the store holds at least one key. */
  #evict(now: number): LimitEntry {
    let victim = this.#oldest as LimitEntry;
    let candidate: LimitEntry | undefined = victim;
    for (let i = 0; candidate !== undefined && i < EVICTION_SCAN; i++, candidate = candidate.newer) {
      if (candidate.expiresAt <= now) {
        victim = candidate;
        break;
      }
    }
    this.#limits.delete(victim.key);
    this.#unlink(victim);
    return victim;
  }

  #remove(entry: LimitEntry): void {
    this.#limits.delete(entry.key);
    this.#unlink(entry);
  }

  #unlink(entry: LimitEntry): void {
    if (entry.older === undefined) this.#oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.#newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }

  #pushNewest(entry: LimitEntry): void {
    entry.older = this.#newest;
    entry.newer = undefined;
    if (this.#newest === undefined) this.#oldest = entry;
    else this.#newest.newer = entry;
    this.#newest = entry;
  }

  close(): void {
    this.#entries.clear();
    this.#limits.clear();
    this.#oldest = undefined;
    this.#newest = undefined;
  }
}
