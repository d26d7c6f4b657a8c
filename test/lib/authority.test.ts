import { describe, expect, it } from 'vitest';
import { isAuthority, pathStart } from '../../src/lib/authority.js';

describe('isAuthority', () => {
  it.each(['a.example', 'a.example:8080', '127.0.0.1', '127.0.0.1:3000', '[::1]', '[::1]:443', 'xn--bcher-kva.example', 'a_b~c', 'host:'])(
    'accepts %s',
    (host) => expect(isAuthority(host)).toBe(true),
  );
  it.each(['', 'evil/health?', 'evil#', 'user@host', 'a b', 'a\\b', '[::1', '[]', 'host:123456', 'host:8o', ':80', 'hôst', '[::1]x'])(
    'refuses %j',
    (host) => expect(isAuthority(host)).toBe(false),
  );
});

describe('pathStart', () => {
  it.each([
    ['https://a.example/x?y', 17],
    ['http://a.example', 16],
    ['http://a.example?q', 16],
    ['HTTPS://A.EXAMPLE/', 17],
    ['HttP://a/', 8],
  ])('%s → %i', (url, index) => expect(pathStart(url)).toBe(index));
  it.each(['ftp://a/', 'http:/a/', 'http://user@a/', 'http://a/x#f', 'http:///x', 'http://a b/'])('refuses %s', (url) =>
    expect(pathStart(url)).toBe(-1),
  );
});
