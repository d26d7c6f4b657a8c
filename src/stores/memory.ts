import { StoreFullError, type Store } from './store.js';

export interface MemoryStoreOptions {
  /** Most entries held at once (default 100000). When every entry is still live, new ones are refused. */
  maxEntries?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * A bounded in-process store. Nonces are kept until their TTL passes; expired ones are swept in
 * insertion order as room is needed. When the store is full of live entries it refuses new ones
 * (StoreFullError) instead of evicting: an evicted nonce could be replayed.
 */
export class MemoryStore implements Store {
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, number>();

  constructor(options: MemoryStoreOptions = {}) {
    this.#max = Math.max(1, Math.floor(options.maxEntries ?? 100_000));
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
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

  /** Drops expired entries from the oldest insertions on; stops at the first live one it cannot pass. */
  #sweep(now: number): void {
    let budget = 1024;
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt <= now) this.#entries.delete(key);
      else if (--budget === 0) break;
    }
  }

  close(): void {
    this.#entries.clear();
  }
}
