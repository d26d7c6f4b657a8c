/**
 * A bounded map that evicts the oldest entry when full. Entries carry an absolute expiry (ms since
 * the epoch) after which `get` no longer returns them. A hit does not reorder entries: the entries
 * here (verified tokens) expire within minutes anyway, and a read that writes would cost more than
 * the lookup it serves.
 */
export class BoundedCache<V> {
  readonly #max: number;
  readonly #map = new Map<string, { value: V; expiresAt: number }>();

  constructor(max: number) {
    this.#max = Math.max(0, Math.floor(max));
  }

  get size(): number {
    return this.#map.size;
  }

  get max(): number {
    return this.#max;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#map.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    if (this.#max === 0) return;
    this.#map.delete(key);
    // Map iterates in insertion order, so the first key is the oldest.
    while (this.#map.size >= this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value);
    }
    this.#map.set(key, { value, expiresAt });
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }
}
