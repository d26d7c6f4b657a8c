import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../../src/lib/lru.js';

interface E<T> {
  readonly value: T;
  readonly expiresAt: number;
}
const e = <T>(value: T, expiresAt: number): E<T> => ({ value, expiresAt });

describe('BoundedCache', () => {
  it('never holds more than max entries, however many are added', () => {
    const cache = new BoundedCache<E<number>>(100);
    for (let i = 0; i < 100_000; i++) {
      cache.set(`k${i}`, e(i, Infinity));
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    expect(cache.get('k99999', 0)?.value).toBe(99_999);
    expect(cache.get('k0', 0)).toBeUndefined();
  });

  it('keeps an entry that is read while newer ones arrive', () => {
    const cache = new BoundedCache<E<string>>(4);
    cache.set('hot', e('v', Infinity));
    for (let i = 0; i < 50; i++) {
      cache.set(`cold${i}`, e('c', Infinity));
      expect(cache.get('hot', 0)?.value).toBe('v');
    }
  });

  it('stops returning an entry at its expiry and forgets it', () => {
    const cache = new BoundedCache<E<string>>(10);
    cache.set('a', e('x', 1000));
    expect(cache.get('a', 999)?.value).toBe('x');
    expect(cache.get('a', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('overwrites a key in place and honours max 0 as disabled', () => {
    const cache = new BoundedCache<E<number>>(10);
    cache.set('a', e(1, Infinity));
    cache.set('a', e(2, Infinity));
    expect(cache.get('a', 0)?.value).toBe(2);
    expect(cache.size).toBe(1);
    const off = new BoundedCache<E<number>>(0);
    off.set('a', e(1, Infinity));
    expect(off.get('a', 0)).toBeUndefined();
  });

  it('takes number keys (the token cache\'s slots) with the same bounds and ageing', () => {
    const cache = new BoundedCache<E<number>, number>(10);
    for (let i = 0; i < 1000; i++) cache.set(i, e(i, i < 995 ? Infinity : 50));
    expect(cache.size).toBeLessThanOrEqual(10);
    expect(cache.get(999, 49)?.value).toBe(999);
    expect(cache.get(999, 50)).toBeUndefined();
    expect(cache.get(990, 0)?.value).toBe(990);
    expect(cache.get(0, 0)).toBeUndefined();
    // 1 and '1' are different keys.
    const mixed = new BoundedCache<E<string>, string | number>(4);
    mixed.set(1, e('number', Infinity));
    mixed.set('1', e('string', Infinity));
    expect(mixed.get(1, 0)?.value).toBe('number');
    expect(mixed.get('1', 0)?.value).toBe('string');
  });
});
