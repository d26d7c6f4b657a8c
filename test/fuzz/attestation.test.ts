import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REASONS } from '../../src/index.js';
import { resolveApproov } from '../../src/attestation/approov.js';
import { parseJws } from '../../src/attestation/jws.js';
import { resolveJwt } from '../../src/attestation/jwt.js';
import { TokenVerifier } from '../../src/attestation/token-verifier.js';
import { silentLogger } from '../../src/observe/logger.js';
import { approovSecret, hs256, payHash, rsaKeys, signAsymmetric } from '../helpers/jws.js';
import { anyString, b64u, damaged, jwtLike, oddJson, separators, tokenLike } from './arbitraries.js';
import { fuzz, TIMEOUT } from './settings.js';

/**
 * JWT parsing and verification (src/attestation): compact JWS segments, headers and claims from
 * arbitrary strings and from base64url of arbitrary JSON. Never a throw; only REASONS codes; never
 * `OK` for a token that our keys did not sign; and for tokens our keys did sign, the claim checks
 * decide exactly as the documented rules say.
 */

const NOW = 1_800_000_000;
const REASON_CODES = new Set(Object.keys(REASONS));
const ALGORITHMS = new Set(['HS256', 'RS256', 'ES256', 'PS256', 'EdDSA']);

const secret = approovSecret();
const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const context = { fetch: globalThis.fetch, now: () => NOW * 1000, logger: silentLogger };

const approov = new TokenVerifier(resolveApproov({ secret: secret.base64, binding: 'authorization', clockTolerance: 5 }, 'approov', 100));
const jwt = new TokenVerifier(
  resolveJwt(
    {
      algorithms: ['HS256', 'RS256', 'ES256', 'PS256', 'EdDSA'],
      keys: [{ secret: secret.bytes }, rsaKeys().publicKey, ec.publicKey, ed.publicKey],
      issuer: ['iss-1', 'iss-2'],
      audience: 'api',
      requiredClaims: ['sub'],
      maxTokenAge: '10m',
      maxTokenBytes: 4096,
    },
    'jwt',
    100,
    context,
  ),
);

const headers = (token: string | null, authorization?: string) => ({
  get: (name: string) => (name === 'approov-token' ? token : name === 'authorization' ? (authorization ?? (token === null ? null : `Bearer ${token}`)) : null),
});

function expectResult(result: { check: { reason: string; outcome: string } }): void {
  expect(REASON_CODES.has(result.check.reason)).toBe(true);
  expect(['verified', 'invalid', 'unverified']).toContain(result.check.outcome);
  expect(result.check.outcome === 'verified').toBe(result.check.reason === 'OK');
}

/** Tokens signed with a key nobody trusts: never OK, whatever they claim. */
const forged: fc.Arbitrary<string> = fc.oneof(
  jwtLike,
  damaged(jwtLike),
  fc.tuple(oddJson, oddJson).map(([h, p]) => {
    const signingInput = `${b64u(typeof h === 'object' && h !== null ? h : { alg: 'HS256' })}.${b64u(p)}`;
    return `${signingInput}.${createHmac('sha256', randomBytes(32)).update(signingInput).digest('base64url')}`;
  }),
  fc.tuple(fc.jsonValue(), fc.uint8Array({ minLength: 64, maxLength: 64 })).map(([p, sig]) => `${b64u({ alg: 'ES256' })}.${b64u(p)}.${Buffer.from(sig).toString('base64url')}`),
  fc.jsonValue().map((p) => `${b64u({ alg: 'none' })}.${b64u(p)}.`),
);

describe('fuzz: parseJws', () => {
  it(
    'never throws: a reason code, or a token whose header passed the allowlist',
    () => {
      const token = fc.oneof(tokenLike, anyString(80), separators(40), fc.tuple(oddJson, oddJson, anyString(20)).map(([h, p, s]) => `${b64u(h)}.${b64u(p)}.${s}`));
      fc.assert(
        fc.property(token, (text) => {
          const cache = new Map();
          const result = parseJws(text, ALGORITHMS, cache);
          if (typeof result === 'string') {
            expect(REASON_CODES.has(result)).toBe(true);
          } else {
            expect(ALGORITHMS.has(result.alg)).toBe(true);
            expect(result.header.crit).toBeUndefined();
            expect(typeof result.payload).toBe('object');
            expect(Array.isArray(result.payload)).toBe(false);
            expect(text.startsWith(`${result.signingInput}.`)).toBe(true);
          }
          // The header cache answers the same as a fresh parse.
          const again = parseJws(text, ALGORITHMS, cache);
          expect(typeof again === 'string' ? again : again.signingInput).toEqual(typeof result === 'string' ? result : result.signingInput);
        }),
        fuzz(3),
      );
    },
    TIMEOUT,
  );
});

describe('fuzz: TokenVerifier', () => {
  it(
    'never throws and never verifies a token our keys did not sign',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(forged, tokenLike), fc.option(anyString(20), { nil: undefined }), async (token, authorization) => {
          for (const verifier of [approov, jwt]) {
            const result = await verifier.verify(headers(token, authorization), NOW * 1000);
            expectResult(result);
            expect(result.check.reason).not.toBe('OK');
          }
        }),
        fuzz(2),
      );
    },
    TIMEOUT,
  );

  it(
    'signed tokens with arbitrary claims: decided exactly by the claim rules',
    async () => {
      // Mostly plausible values (so that every rule, and OK, is reached), sometimes odd ones.
      const time = (from: number, to: number) => fc.oneof({ weight: 1, arbitrary: oddJson }, { weight: 8, arbitrary: fc.integer({ min: NOW + from, max: NOW + to }) });
      const often = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { freq: 8, nil: undefined });
      const claims = fc
        .record({
          exp: often(time(-300, 900)),
          nbf: fc.option(time(-900, 300), { nil: undefined }),
          iat: often(time(-900, 100)),
          iss: often(fc.oneof({ weight: 8, arbitrary: fc.constantFrom('iss-1', 'iss-2', 'iss-3') }, { weight: 1, arbitrary: oddJson })),
          aud: often(fc.oneof({ weight: 8, arbitrary: fc.constantFrom<unknown>('api', ['x', 'api'], ['x']) }, { weight: 1, arbitrary: oddJson })),
          sub: often(oddJson),
        })
        .map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)));
      const alg = fc.constantFrom('HS256', 'RS256', 'ES256', 'PS256', 'EdDSA') as fc.Arbitrary<'HS256' | 'RS256' | 'ES256' | 'PS256' | 'EdDSA'>;
      await fc.assert(
        fc.asyncProperty(claims, alg, async (payload, algorithm) => {
          const token =
            algorithm === 'HS256'
              ? hs256(payload, secret.bytes)
              : signAsymmetric(algorithm, payload, algorithm === 'RS256' || algorithm === 'PS256' ? rsaKeys().privateKey : algorithm === 'ES256' ? ec.privateKey : ed.privateKey);
          const result = await jwt.verify(headers(token), NOW * 1000);
          expectResult(result);
          expect(result.check.reason).toBe(expectedReason(payload));
        }),
        fuzz(1),
      );
    },
    TIMEOUT,
  );

  it(
    'huge tokens: refused as too large exactly above the cap, before anything is decoded',
    async () => {
      // Around the generic JWT verifier's 4096-byte cap; the Approov verifier keeps its default 8192.
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 4000, max: 4200 }), fc.constantFrom('valid', 'garbage'), async (size, kind) => {
          const base = hs256({ exp: NOW + 60, iss: 'iss-1', aud: 'api', sub: 's', iat: NOW, pad: '' }, secret.bytes);
          const token = kind === 'valid' ? hs256({ exp: NOW + 60, iss: 'iss-1', aud: 'api', sub: 's', iat: NOW, pad: 'x'.repeat(Math.max(0, Math.floor(((size - base.length) * 3) / 4))) }, secret.bytes) : 'x'.repeat(size);
          const result = await jwt.verify(headers(token), NOW * 1000);
          expectResult(result);
          if (token.length > 4096) expect(result.check.reason).toBe('ERR_TOKEN_TOO_LARGE');
          else expect(result.check.reason).toBe(kind === 'valid' ? 'OK' : 'ERR_TOKEN_MALFORMED');
          expect((await approov.verify(headers(token), NOW * 1000)).check.reason).not.toBe('ERR_TOKEN_TOO_LARGE');
        }),
        fuzz(0.5),
      );
    },
    TIMEOUT,
  );

  it(
    'Approov binding: only the token bound to this Authorization value passes',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyString(30), anyString(30), async (bound, sent) => {
          const token = hs256({ exp: NOW + 60, pay: payHash(bound.trim()) }, secret.bytes);
          const result = await approov.verify(headers(token, sent), NOW * 1000);
          expectResult(result);
          const expected = sent.trim() === '' ? 'ERR_BINDING_HEADER_MISSING' : sent.trim() === bound.trim() ? 'OK' : 'ERR_BINDING_MISMATCH';
          // Hashing is over UTF-8: two different strings that encode alike (lone surrogates) bind alike.
          if (expected === 'ERR_BINDING_MISMATCH' && Buffer.from(sent.trim()).equals(Buffer.from(bound.trim()))) return;
          expect(result.check.reason).toBe(expected);
        }),
        fuzz(1),
      );
    },
    TIMEOUT,
  );
});

const numeric = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The documented claim rules of the generic JWT profile, configured as above, for a genuine signature. */
function expectedReason(c: Record<string, unknown>): string {
  const now = NOW;
  if (c.exp === undefined) return 'ERR_TOKEN_CLAIM_MISSING';
  for (const name of ['exp', 'nbf', 'iat']) if (c[name] !== undefined && !numeric(c[name])) return 'ERR_TOKEN_CLAIM_INVALID';
  if (c.iat === undefined) return 'ERR_TOKEN_CLAIM_MISSING'; // maxTokenAge needs iat
  if (c.sub === undefined) return 'ERR_TOKEN_CLAIM_MISSING';
  if (now >= (c.exp as number)) return 'ERR_TOKEN_EXPIRED';
  if (c.nbf !== undefined && now < (c.nbf as number)) return 'ERR_TOKEN_NOT_YET_VALID';
  if (now < (c.iat as number)) return 'ERR_TOKEN_NOT_YET_VALID';
  if (now > (c.iat as number) + 600) return 'ERR_TOKEN_TOO_OLD';
  if (!(typeof c.iss === 'string' && ['iss-1', 'iss-2'].includes(c.iss))) return 'ERR_TOKEN_ISSUER_INVALID';
  const aud = typeof c.aud === 'string' ? [c.aud] : Array.isArray(c.aud) ? c.aud : [];
  if (!aud.includes('api')) return 'ERR_TOKEN_AUDIENCE_INVALID';
  return 'OK';
}
