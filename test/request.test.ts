import { describe, expect, it } from 'vitest';
import { normalizeRequest } from '../src/request.js';

/** Header records as the guard reads them: by any case of the name, repeated lines joined. */
describe('normalizeRequest: header records', () => {
  const read = (headers: Record<string, string | string[] | number | undefined>) => normalizeRequest({ method: 'GET', url: 'https://api.example/x', headers })!;

  it('reads a lower-case record (as Node gives it) by any case of the name, and a missing name is null', () => {
    const request = read({ 'content-type': 'text/plain', 'x-list': ['a', 'b'], 'content-length': 0 });
    expect(request.header('Content-Type')).toBe('text/plain');
    expect(request.header('X-LIST')).toBe('a, b');
    expect(request.fieldLines('x-list')).toEqual(['a', 'b']);
    expect(request.header('content-length')).toBe('0');
    expect(request.header('X-Missing')).toBeNull();
    expect(request.header('x-missing')).toBeNull();
    expect(request.fieldLines('X-Missing')).toBeUndefined();
    // Still found after a miss (a miss must not hide names that are present).
    expect(request.header('content-type')).toBe('text/plain');
  });

  it('reads a mixed-case record by any case, merging names that differ only by case in record order', () => {
    const request = read({ 'X-Custom': 'a', 'x-custom': ['b', 'c'], Accept: 'text/html', Skipped: undefined });
    // The exact lower-case key is found first; a lookup that misses it uses the merged index.
    expect(request.header('Accept')).toBe('text/html');
    expect(request.header('ACCEPT')).toBe('text/html');
    expect(request.header('X-Custom')).toBe('b, c');
    expect(request.header('skipped')).toBeNull();
    expect(read({ 'X-Custom': 'a', 'X-CUSTOM': 'b' }).fieldLines('x-custom')).toEqual(['a', 'b']);
  });
});
