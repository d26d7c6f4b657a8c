import { createHash, createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { checkBinding } from '../../src/attestation/binding.js';
import { parseJws, verifyJwsSignature, type ParsedJws } from '../../src/attestation/jws.js';
import { createGuard, MemoryStore } from '../../src/index.js';
import type { VerificationKey } from '../../src/keys/key.js';
import { timingSafeEqualString } from '../../src/lib/timing-safe.js';
import { verifyWith, type SignatureKey } from '../../src/signatures/algorithms.js';
import { checkContentDigest, contentDigest } from '../../src/signatures/content-digest.js';
import { isRfc9421TestKey } from '../../src/signatures/keys.js';
import { sign } from '../helpers/http-sig.js';
import { approovSecret, hmacWith, hs256, payHash } from '../helpers/jws.js';
import { recordingStore } from './capture.js';

/**
 * Every comparison of secret-derived bytes goes through Node's crypto.timingSafeEqual. An ES module
 * namespace cannot be spied on in place (`vi.spyOn(crypto, 'timingSafeEqual')` throws: its bindings
 * are read-only), so `node:crypto` is mocked as a whole for this file, with timingSafeEqual wrapped
 * in a spy that still does the real comparison. Every src module imported here (and through
 * createGuard) then binds to the spy, and each test checks which bytes were compared and that a
 * forgery of the right length is refused by that comparison, not by an early exit.
 *
 * Lengths are compared before (a length is fixed by the algorithm, or chosen by the caller, never
 * secret): a wrong-length input is refused without the call. See constant-time-source.test.ts for
 * the static side (no ===, Buffer.equals or Buffer.compare on the same values).
 */

/** Each comparison as it happened: the bytes are copied at call time (callers may wipe them after). */
const seen = vi.hoisted((): { a: string; b: string; result: boolean }[] => []);

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  const wrapped = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView): boolean => {
    const result = actual.timingSafeEqual(a, b);
    const bytes = (v: NodeJS.ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    seen.push({ a: bytes(a), b: bytes(b), result });
    return result;
  };
  return { ...actual, timingSafeEqual: vi.fn(wrapped) };
});

const spy = vi.mocked(timingSafeEqual);
const NOW = 1_800_000_000;

/** The (a, b) byte pairs compared since the last clear, as base64, and what each comparison answered. */
function compared(): { a: string; b: string; result: boolean }[] {
  expect(seen).toHaveLength(spy.mock.calls.length);
  return seen;
}

function clear(): void {
  spy.mockClear();
  seen.length = 0;
}

beforeEach(clear);

describe('the spy is Node’s own timingSafeEqual', () => {
  it('compares for real', () => {
    expect(vi.isMockFunction(timingSafeEqual)).toBe(true);
    expect(timingSafeEqual(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
    expect(timingSafeEqual(Buffer.from('abc'), Buffer.from('abd'))).toBe(false);
  });
});

describe('lib/timing-safe.ts timingSafeEqualString', () => {
  it('compares the UTF-8 bytes of equal-length strings with timingSafeEqual', () => {
    expect(timingSafeEqualString('a'.repeat(44), 'a'.repeat(44))).toBe(true);
    expect(timingSafeEqualString('a'.repeat(44), `${'a'.repeat(43)}b`)).toBe(false);
    expect(compared()).toEqual([
      { a: Buffer.from('a'.repeat(44)).toString('base64'), b: Buffer.from('a'.repeat(44)).toString('base64'), result: true },
      { a: Buffer.from('a'.repeat(44)).toString('base64'), b: Buffer.from(`${'a'.repeat(43)}b`).toString('base64'), result: false },
    ]);
  });

  it('answers a length mismatch without comparing (the length is not secret)', () => {
    expect(timingSafeEqualString('a'.repeat(44), 'a'.repeat(43))).toBe(false);
    expect(spy).not.toHaveBeenCalled();
  });
});

describe('attestation/binding.ts checkBinding (Approov pay)', () => {
  const binding = { headers: ['authorization'], claim: 'pay' };
  const headers = (value: string) => ({ get: (name: string) => (name === 'authorization' ? value : null) });
  const session = `Bearer ${randomBytes(24).toString('base64url')}`;

  it('compares base64(SHA-256(bound values)) with pay in constant time', () => {
    const pay = payHash(session);
    expect(checkBinding(binding, { pay }, headers(session))).toBeUndefined();
    expect(compared()).toEqual([{ a: Buffer.from(pay).toString('base64'), b: Buffer.from(pay).toString('base64'), result: true }]);
  });

  it('refuses a pay that differs only in its last character through the same comparison', () => {
    const pay = payHash(session);
    const near = `${pay.slice(0, -2)}${pay.at(-2) === 'A' ? 'B' : 'A'}=`;
    expect(checkBinding(binding, { pay: near }, headers(session))).toBe('ERR_BINDING_MISMATCH');
    expect(compared()).toEqual([{ a: Buffer.from(pay).toString('base64'), b: Buffer.from(near).toString('base64'), result: false }]);
  });
});

describe('attestation/jws.ts verifyJwsSignature (HS256/384/512)', () => {
  const secret = randomBytes(64);
  const key: VerificationKey = { kid: undefined, alg: undefined, key: createSecretKey(secret), family: 'hmac' };

  it.each(['HS256', 'HS384', 'HS512'] as const)('%s: the recomputed MAC is compared with the presented one in constant time', (alg) => {
    const token = hmacWith(alg, { exp: NOW + 60 }, secret);
    const jws = parseJws(token, new Set([alg])) as ParsedJws;
    const mac = createHmac(alg.replace('HS', 'sha'), secret).update(jws.signingInput).digest();
    expect(verifyJwsSignature(jws, key)).toBe(true);
    const forged = parseJws(hmacWith(alg, { exp: NOW + 60 }, randomBytes(64)), new Set([alg])) as ParsedJws;
    expect(verifyJwsSignature(forged, key)).toBe(false);
    expect(compared()).toEqual([
      { a: mac.toString('base64'), b: mac.toString('base64'), result: true },
      { a: mac.toString('base64'), b: forged.signature.toString('base64'), result: false },
    ]);
  });

  it('refuses a truncated MAC by its length, without comparing', () => {
    const token = hs256({ exp: NOW + 60 }, secret);
    const truncated = token.slice(0, -4);
    expect(verifyJwsSignature(parseJws(truncated, new Set(['HS256'])) as ParsedJws, key)).toBe(false);
    expect(spy).not.toHaveBeenCalled();
  });
});

describe('signatures/algorithms.ts verifyWith, hmac-sha256 (verifyHmac)', () => {
  const secret = randomBytes(32);
  const key: SignatureKey = { keyid: 'k', algorithm: 'hmac-sha256', key: createSecretKey(secret) };
  const base = '"@method": POST\n"@signature-params": ("@method");created=1;keyid="k"';
  const mac = createHmac('sha256', secret).update(base).digest();

  it('compares the recomputed MAC with the signature in constant time', () => {
    const forged = createHmac('sha256', randomBytes(32)).update(base).digest();
    expect(verifyWith(key, base, mac)).toBe(true);
    expect(verifyWith(key, base, forged)).toBe(false);
    expect(compared()).toEqual([
      { a: mac.toString('base64'), b: mac.toString('base64'), result: true },
      { a: mac.toString('base64'), b: forged.toString('base64'), result: false },
    ]);
  });

  it('refuses a wrong-length signature without computing or comparing', () => {
    expect(verifyWith(key, base, mac.subarray(0, 31))).toBe(false);
    expect(verifyWith(key, base, Buffer.concat([mac, Buffer.from([0])]))).toBe(false);
    expect(spy).not.toHaveBeenCalled();
  });
});

describe('signatures/content-digest.ts checkContentDigest', () => {
  it('compares each supported digest with the recomputed one in constant time', () => {
    const body = Buffer.from('{"amount":100}');
    const header = contentDigest(body, ['sha-256', 'sha-512']);
    expect(checkContentDigest(header, body)).toBe('ok');
    expect(checkContentDigest(header, Buffer.from('{"amount":101}'))).toBe('mismatch');
    const sha256 = createHash('sha256').update(body).digest('base64');
    const sha512 = createHash('sha512').update(body).digest('base64');
    expect(compared().map((c) => [c.b, c.result])).toEqual([
      [sha256, true],
      [sha512, true],
      [sha256, false],
      [sha512, false],
    ]);
  });
});

describe('signatures/keys.ts isRfc9421TestKey (a configured HMAC secret against the published one)', () => {
  it('compares the secret in constant time', () => {
    const published = Buffer.from('uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==', 'base64');
    const mine = randomBytes(64);
    expect(isRfc9421TestKey({ keyid: 'k', algorithm: 'hmac-sha256', key: createSecretKey(published) })).toBe(true);
    expect(isRfc9421TestKey({ keyid: 'k', algorithm: 'hmac-sha256', key: createSecretKey(mine) })).toBe(false);
    expect(compared()).toEqual([
      { a: published.toString('base64'), b: published.toString('base64'), result: true },
      { a: mine.toString('base64'), b: published.toString('base64'), result: false },
    ]);
  });
});

describe('through createGuard', () => {
  it('Approov: a fresh token compares its MAC and its binding, a cached one its binding only, a forgery its MAC', async () => {
    const secret = approovSecret();
    const session = `Bearer ${randomBytes(24).toString('base64url')}`;
    const guard = createGuard({ attestation: { approov: { secret: secret.base64, binding: 'Authorization' } }, now: () => NOW * 1000 });
    const token = hs256({ exp: NOW + 60, pay: payHash(session) }, secret.bytes);
    const mac = Buffer.from(token.split('.')[2]!, 'base64url').toString('base64');
    const pay = Buffer.from(payHash(session)).toString('base64');
    const request = (t: string) => ({ method: 'GET', url: 'https://api.example.com/', headers: { 'approov-token': t, authorization: session } });

    expect((await guard.check(request(token))).reason).toBe('OK');
    expect(compared()).toEqual([
      { a: mac, b: mac, result: true },
      { a: pay, b: pay, result: true },
    ]);
    clear();
    expect((await guard.check(request(token))).reason).toBe('OK');
    expect(compared()).toEqual([{ a: pay, b: pay, result: true }]);
    clear();
    const forged = hs256({ exp: NOW + 60, pay: payHash(session) }, randomBytes(32));
    expect((await guard.check(request(forged))).reason).toBe('ERR_TOKEN_SIGNATURE_INVALID');
    expect(compared()).toEqual([{ a: mac, b: Buffer.from(forged.split('.')[2]!, 'base64url').toString('base64'), result: false }]);
  });

  it('generic JWT with an HMAC secret: the MAC is compared in constant time', async () => {
    const secret = randomBytes(32);
    const guard = createGuard({ attestation: { jwt: { algorithms: ['HS256'], keys: { secret } } }, now: () => NOW * 1000 });
    const forged = hs256({ exp: NOW + 60 }, randomBytes(32));
    const d = await guard.check({ method: 'GET', url: 'https://api.example.com/', headers: { authorization: `Bearer ${forged}` } });
    expect(d.reason).toBe('ERR_TOKEN_SIGNATURE_INVALID');
    expect(compared()).toHaveLength(1);
    expect(compared()[0]).toMatchObject({ b: Buffer.from(forged.split('.')[2]!, 'base64url').toString('base64'), result: false });
  });

  it('RFC 9421 hmac-sha256: the MAC is compared in constant time; the nonce reaches the store only as a digest', async () => {
    const secret = randomBytes(32);
    const store = recordingStore(new MemoryStore({ now: () => NOW * 1000 }), () => undefined);
    const guard = createGuard({
      signatures: { profile: 'rfc9421', keys: { keyid: 'partner', secret } },
      store,
      now: () => NOW * 1000,
    });
    const nonce = randomBytes(16).toString('base64url');
    const request = (key: Buffer) =>
      sign(
        { method: 'GET', url: 'https://api.example.com/', headers: { host: 'api.example.com' } },
        { key: createSecretKey(key), algorithm: 'hmac-sha256', keyid: 'partner', components: ['@method'], params: { created: NOW, keyid: 'partner', nonce } },
      );
    const good = request(secret);
    const forged = request(randomBytes(32));
    const sigOf = (r: { headers: Record<string, string> }) => /:([^:]+):/.exec(r.headers.signature!)![1]!;
    expect((await guard.check(forged)).reason).toBe('ERR_SIGNATURE_INVALID');
    expect((await guard.check(good)).reason).toBe('OK');
    expect(compared().map((c) => [c.b, c.result])).toEqual([
      [sigOf(forged), false],
      [sigOf(good), true],
    ]);
    // The nonce store key is a SHA-256 digest of (keyid, nonce): neither appears in it.
    expect(store.keys).toEqual([`bonafide:nonce:${createHash('sha256').update('partner\n').update(nonce).digest('base64url')}`]);
  });
});
