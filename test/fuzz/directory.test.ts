import { generateKeyPairSync } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jwkThumbprint } from '../../src/keys/thumbprint.js';
import type { Jwk } from '../../src/keys/key.js';
import { cacheLifetime, directoryOrigin } from '../../src/signatures/directory.js';
import { importDirectoryKeys } from '../../src/signatures/keys.js';
import { anyString, oddJson, printable, urlLike } from './arbitraries.js';
import { fuzz, TIMEOUT } from './settings.js';

/**
 * The parsing half of key discovery (src/signatures/directory.ts, keys.ts): a directory document is
 * remote and untrusted, so any JSON must import to a (possibly empty) list of usable public keys,
 * never an exception; origins and cache headers are read without throwing and to sane values.
 */

const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as Jwk;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as Jwk;
const edPrivate = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as Jwk;
const rsaSmall = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }) as Jwk;
const b64 = fc.uint8Array({ maxLength: 70 }).map((b) => Buffer.from(b).toString('base64url'));

/** JWK-shaped entries: real keys with odd extra or replaced members, and made-up ones. */
const jwkLike: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(fc.constantFrom(ed, ec, edPrivate, rsaSmall), fc.dictionary(fc.constantFrom('alg', 'kid', 'use', 'key_ops', 'nbf', 'exp', 'x', 'y', 'crv', 'kty', 'd', 'k', '__proto__'), oddJson, { maxKeys: 3 })).map(([jwk, extra]) => ({ ...jwk, ...extra })),
  fc.record({ kty: fc.constantFrom('OKP', 'EC', 'RSA', 'oct', 'okp', ''), crv: fc.constantFrom('Ed25519', 'P-256', 'P-384', 'X25519', 'secp256k1'), x: b64, y: b64, n: b64, e: fc.constantFrom('AQAB', 'Aw', 'AQ', ''), alg: fc.constantFrom('ed25519', 'EdDSA', 'ES256', 'rsa-pss-sha512', 'none'), k: b64 }, { requiredKeys: ['kty'] }),
  oddJson,
);

const directory: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ keys: fc.array(jwkLike, { maxLength: 6 }), purpose: oddJson }, { requiredKeys: ['keys'] }),
  fc.record({ keys: oddJson }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.anything({ maxDepth: 2, withNullPrototype: true, withSparseArray: true }),
);

describe('fuzz: key directory documents', () => {
  it(
    'importDirectoryKeys never throws, keeps at most maxKeys distinct usable public keys',
    () => {
      fc.assert(
        fc.property(directory, fc.oneof(fc.integer({ min: -2, max: 8 }), fc.constantFrom(Number.NaN, Infinity, -Infinity, 2.5)), (doc, maxKeys) => {
          const { keys, skipped } = importDirectoryKeys(doc, maxKeys);
          expect(Number.isInteger(skipped) && skipped >= 0).toBe(true);
          if (Number.isFinite(maxKeys)) expect(keys.length).toBeLessThanOrEqual(Math.max(0, Math.floor(maxKeys)));
          expect(new Set(keys.map((k) => k.keyid)).size).toBe(keys.length);
          for (const key of keys) {
            expect(key.key.type).toBe('public');
            const jwk = key.key.export({ format: 'jwk' }) as Jwk;
            // The keyid is the thumbprint of the key actually imported, never a member the document chose.
            expect(key.thumbprint).toBe(jwkThumbprint(jwk));
            expect(key.keyid).toBe(key.thumbprint);
          }
        }),
        fuzz(2),
      );
    },
    TIMEOUT,
  );

  it(
    'directoryOrigin never throws; an origin it returns is https, has no path, and is its own origin',
    () => {
      const origin = fc.oneof(
        urlLike,
        fc.tuple(fc.constantFrom('https://', 'HTTPS://', 'https:', 'https:\\\\', 'http://'), printable(20), fc.constantFrom('', '/', '//', '/x', ':443', ':443/', '?', '#')).map(([a, b, c]) => a + b + c),
        anyString(30),
      );
      fc.assert(
        fc.property(origin, (text) => {
          const result = directoryOrigin(text);
          if (result === undefined) return;
          expect(result.startsWith('https://')).toBe(true);
          expect(result.indexOf('/', 8)).toBe(-1);
          expect(directoryOrigin(result)).toBe(result);
          expect(new URL(result).origin).toBe(result);
        }),
        fuzz(3),
      );
    },
    TIMEOUT,
  );

  it(
    'cacheLifetime never throws and is a finite, non-negative number of seconds',
    () => {
      const directive = fc.oneof(
        fc.constantFrom('no-store', 'no-cache', 'public', 'max-age=60', 'max-age="60"', 'max-age=', 'max-age=-1', 's-maxage=9999999999', 'max-age=99999999999', 'MAX-AGE=5', ' max-age = 7 '),
        printable(12),
      );
      const headers = fc.record(
        {
          'cache-control': fc.oneof(fc.array(directive, { maxLength: 4 }).map((d) => d.join(',')), fc.array(printable(10), { maxLength: 2 })),
          age: fc.oneof(fc.nat().map(String), printable(6)),
          expires: fc.oneof(fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toUTCString())), fc.constantFrom('0', '-1', 'Thu, 01 Jan 1970 00:00:00 GMT'), printable(12)),
          date: fc.oneof(fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toUTCString())), printable(12)),
        },
        { requiredKeys: [] },
      );
      fc.assert(
        fc.property(headers, fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.nat({ max: 86_400 }), (h, now, defaultTtl) => {
          // Repeated lines arrive as arrays whatever the header's declared type.
          const ttl = cacheLifetime(h as IncomingHttpHeaders, now, defaultTtl);
          expect(Number.isFinite(ttl)).toBe(true);
          expect(ttl).toBeGreaterThanOrEqual(0);
        }),
        fuzz(2),
      );
    },
    TIMEOUT,
  );
});
