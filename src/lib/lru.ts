/**
 * A bounded map in two generations: new entries go into the young one; when it holds half the
 * capacity it becomes the old one and the previous old generation is dropped whole. A hit in the
 * old generation moves the entry to the young one, so entries in use survive and idle ones age out.
 * Every operation is O(1) and never walks the map (deleting the oldest key of one big Map one at a
 * time leaves holes that `keys().next()` must skip, which gets slow exactly when the cache is full).
 * Values carry their own absolute expiry (`expiresAt`, ms since the epoch) after which `get` no
 * longer returns them; keeping it on the value saves an allocation per entry.
 */
export class BoundedCache<V extends { readonly expiresAt: number }, K extends string | number = string> {
  readonly #half: number;
  #young = new Map<K, V>();
  #old = new Map<K, V>();

  /** `max` is the most entries held at once (an odd max is rounded up to even); 0 disables the cache. */
  constructor(max: number) {
    this.#half = Math.max(0, Math.ceil(Math.floor(max) / 2));
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  get(key: K, now: number): V | undefined {
    let entry = this.#young.get(key);
    if (entry === undefined) {
      entry = this.#old.get(key);
      if (entry === undefined) return undefined;
      this.#old.delete(key);
      if (entry.expiresAt > now) this.#insert(key, entry);
    }
    if (entry.expiresAt <= now) {
      this.#young.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: K, value: V): void {
    if (this.#half === 0) return;
    this.#old.delete(key);
    this.#insert(key, value);
  }

  #insert(key: K, entry: V): void {
    if (!this.#young.has(key) && this.#young.size >= this.#half) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, entry);
  }
}
