import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAuthority, pathStart } from '../../src/lib/authority.js';
import { absoluteUrl } from '../../adapters/shared.js';
import { normalizePath, normalizeRequest, urlChecked, type GuardRequest } from '../../src/request.js';
import { anyString, methodLike, rawPath, urlLike } from './arbitraries.js';
import { fuzz, TIMEOUT } from './settings.js';

/**
 * Requests as adapters hand them over (src/request.ts): arbitrary methods, URLs and header shapes.
 * normalizeRequest never throws; what it accepts is an absolute http(s) URL whose authority is
 * valid, and the path it hands to route matching is in normal form (no dot segments, no escaped
 * unreserved characters), so encodings cannot dodge a route pattern.
 */

const headerShapes: fc.Arbitrary<unknown> = fc.oneof(
  fc.dictionary(fc.oneof(fc.constantFrom('Signature', 'signature', 'SIGNATURE', 'user-agent', '__proto__', 'constructor'), fc.string({ maxLength: 8 })), fc.oneof(anyString(20), fc.array(anyString(10), { maxLength: 3 }), fc.integer(), fc.constant(undefined)), { maxKeys: 6 }),
  fc.constant(new Headers({ 'user-agent': 'x', signature: 'sig1=:AA==:' })),
  fc.constantFrom(null, undefined, 5, 'headers', [] as unknown[], { get: 'not a function' }),
);

const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;
const ESCAPED_UNRESERVED = /%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[Dd]|2[Ee]|5[Ff]|7[Ee])/;

describe('fuzz: normalizeRequest', () => {
  it(
    'never throws; accepts only absolute http(s) URLs with a valid authority and a token method',
    () => {
      fc.assert(
        fc.property(fc.oneof(methodLike, fc.anything({ maxDepth: 0 })), fc.oneof(urlLike, fc.anything({ maxDepth: 0 })), headerShapes, fc.option(anyString(20), { nil: undefined }), (method, url, headers, ip) => {
          const input = { method, url, headers, ip } as unknown as GuardRequest;
          const request = normalizeRequest(input);
          if (request === undefined) return;
          expect(typeof method).toBe('string');
          expect(typeof url).toBe('string');
          const start = pathStart(url as string);
          expect(start).toBeGreaterThan(0);
          expect(/^https?:\/\//i.test(url as string)).toBe(true);
          expect(isAuthority(url as string, (url as string).indexOf('//') + 2, start)).toBe(true);
          expect((url as string).includes('#')).toBe(false);
          expect(request.method).toBe(method);
          expect(request.path.startsWith('/')).toBe(true);
          expect(DOT_SEGMENT.test(request.path)).toBe(false);
          // The header reader answers strings or null, whatever the record holds.
          for (const name of ['signature', 'user-agent', 'constructor', '__proto__', 'tostring']) {
            const value = request.headers.get(name);
            expect(value === null || typeof value === 'string').toBe(true);
            const lines = request.fieldLines(name);
            expect(lines === undefined || lines.every((l) => typeof l === 'string')).toBe(true);
          }
          expect(typeof request.routeMethod).toBe('string');
          expect(typeof request.hasBody).toBe('boolean');
        }),
        fuzz(3),
      );
    },
    TIMEOUT,
  );
});

describe('fuzz: normalizePath', () => {
  const pathArb = fc.oneof(rawPath, anyString(30).map((p) => `/${p}`), fc.string({ unit: fc.constantFrom('/', '.', '%', '2', 'e', 'E', 'a'), maxLength: 30 }).map((p) => `/${p}`));

  it(
    'never leaves a dot segment, and always starts with /',
    () => {
      fc.assert(
        fc.property(pathArb, (path) => {
          const normal = normalizePath(path.startsWith('/') ? path : `/${path}`);
          expect(normal.startsWith('/')).toBe(true);
          expect(DOT_SEGMENT.test(normal)).toBe(false);
        }),
        fuzz(3),
      );
    },
    TIMEOUT,
  );

  it(
    'is idempotent for well-formed escapes: normalizing twice changes nothing',
    () => {
      // A `%` that does not start an escape (`/%%34%31`) can form a new escape once its neighbours are
      // decoded (`/%41`): RFC 3986 §6.2.2 normalizes valid escapes once, and so does normalizePath.
      const wellFormed = pathArb.filter((p) => !/%(?![0-9A-Fa-f]{2})/.test(p));
      fc.assert(
        fc.property(wellFormed, (path) => {
          const once = normalizePath(path);
          expect(normalizePath(once)).toBe(once);
          expect(ESCAPED_UNRESERVED.test(once)).toBe(false);
        }),
        fuzz(3),
      );
    },
    TIMEOUT,
  );
});

describe('fuzz: adapter URLs checked once', () => {
  const reset = (): void => urlChecked(undefined, 0);
  const seen = (url: string) => {
    const request = normalizeRequest({ method: 'GET', url, headers: {} });
    return request === undefined ? undefined : { url: request.url, path: request.path };
  };

  it(
    'a URL from absoluteUrl is read exactly as the guard reads the same text unchecked',
    () => {
      const authority = fc.oneof(anyString(24), fc.constantFrom('api.example.com', 'a:8080', '[::1]:3000', 'x/y', 'h?q', 'h#f', 'u@h', ''));
      const target = fc.oneof(fc.constant('*'), anyString(30), rawPath.map((p) => `/${p}`), fc.constantFrom('/a#b', '/?#', 'http://x/y'));
      fc.assert(
        fc.property(fc.constantFrom('http', 'https', 'HTTP', 'ftp'), fc.option(authority, { nil: undefined }), target, (scheme, host, path) => {
          const url = absoluteUrl(scheme, host, path);
          const checked = seen(url);
          reset();
          expect(checked).toEqual(seen(url));
        }),
        fuzz(3),
      );
    },
    TIMEOUT,
  );
});
