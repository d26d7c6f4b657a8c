import { createPublicKey, createSecretKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigErrorCode } from '../../src/errors.js';
import type { Jwk } from '../../src/keys/key.js';
import { keyThumbprint } from '../../src/keys/thumbprint.js';
import { signWith, verifyWith } from '../../src/signatures/algorithms.js';
import {
  importDirectoryKeys,
  importSignatureKeys,
  isRfc9421TestKey,
  RFC9421_TEST_KEY_THUMBPRINTS,
  type SignatureKeyInput,
} from '../../src/signatures/keys.js';

// RFC 9421 Appendix B public keys (rfc9421-vectors.md).
const B11_PUBLIC = `-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----`;
const B12_PUBLIC = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----`;
const B13_PUBLIC = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----`;
const B14_PUBLIC = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----';
const B14_PRIVATE = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----';
const B14_JWK: Jwk = { kty: 'OKP', crv: 'Ed25519', x: 'JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs' };
const B14_D = 'n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU';
const B15_SECRET = 'uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==';
const B14_THUMBPRINT = 'poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U';
const B12_THUMBPRINT = 'oD0HwocPBSfpNy5W3bpJeyFGY_IQ_YpqxSjQ3Yd-CLA';

// A self-signed Ed25519 certificate (openssl req -x509 -newkey ed25519), valid until 2126.
const CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBRjCB+aADAgECAhReLEuOdOhxTR0icEXpFSkpxPEpyjAFBgMrZXAwGDEWMBQG
A1UEAwwNYm9uYWZpZGUtdGVzdDAgFw0yNjExMjIwNDIzNDlaGA8yMTI2MTAyOTA0
MjM0OVowGDEWMBQGA1UEAwwNYm9uYWZpZGUtdGVzdDAqMAUGAytlcAMhAIqUciNj
ZVKknvW6FEPWvkjhgmT5rEOntZaSDKezdrd7o1MwUTAdBgNVHQ4EFgQUxhWRi/5z
mk/Y8ZYz9/JRl3ILhS8wHwYDVR0jBBgwFoAUxhWRi/5zmk/Y8ZYz9/JRl3ILhS8w
DwYDVR0TAQH/BAUwAwEB/zAFBgMrZXADQQA8R0nlwfq9gqIXeEh5xWAxGjbG335/
FuRzNBEBPCB1CYBr1ZD8GsClLzltyoD8wLWmdJengT9DJq4njgQ/0TkC
-----END CERTIFICATE-----`;
const CERTIFICATE_X = 'ipRyI2NlUqSe9boUQ9a-SOGCZPmsQ6e1lpIMp7N2t3s';

const ed = generateKeyPairSync('ed25519');
const ed2 = generateKeyPairSync('ed25519');
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
const smallRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });

const jwkOf = (key: KeyObject, extra: Record<string, unknown> = {}): Jwk => ({ ...(key.export({ format: 'jwk' }) as Jwk), ...extra });
const pemOf = (key: KeyObject): string => key.export({ format: 'pem', type: 'spki' }) as string;
const SECRET_32 = 'correct horse battery staple 32b';

/** Asserts a ConfigError with exactly this code and path, and a message free of `secrets`. */
function expectConfigError(run: () => unknown, code: ConfigErrorCode, path: string, secrets: string[] = []): ConfigError {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const configError = error as ConfigError;
  expect({ code: configError.code, path: configError.path }).toEqual({ code, path });
  expect(configError.message).toContain(`\`${path}\``);
  for (const secret of secrets) expect(configError.message).not.toContain(secret);
  return configError;
}

describe('importSignatureKeys: accepted forms', () => {
  it('a bare public JWK: keyid = its kid, algorithm from the key, thumbprint computed', () => {
    const [key, ...rest] = importSignatureKeys({ ...B14_JWK, kid: 'my-bot' }, 'keys');
    expect(rest).toEqual([]);
    expect(key).toMatchObject({ keyid: 'my-bot', algorithm: 'ed25519', thumbprint: B14_THUMBPRINT });
    expect(key!.key.type).toBe('public');
    expect(Object.isFrozen(key)).toBe(true);
  });

  it('a bare JWK without kid is found under its thumbprint', () => {
    const [key] = importSignatureKeys(B14_JWK, 'keys');
    expect(key!.keyid).toBe(B14_THUMBPRINT);
  });

  it('a JWKS: every key, each with its own algorithm (alg in JOSE or HTTP terms)', () => {
    const keys = importSignatureKeys(
      {
        keys: [
          jwkOf(ed.publicKey, { kid: 'a', use: 'sig', key_ops: ['verify'] }),
          jwkOf(p256.publicKey, { kid: 'b', alg: 'ES256' }),
          jwkOf(p384.publicKey, { kid: 'c', alg: 'ecdsa-p384-sha384' }),
          jwkOf(rsa.publicKey, { kid: 'd', alg: 'PS512' }),
          jwkOf(rsa.publicKey, { kid: 'e', alg: 'RS256' }),
        ],
      },
      'keys',
    );
    expect(keys.map((k) => [k.keyid, k.algorithm])).toEqual([
      ['a', 'ed25519'],
      ['b', 'ecdsa-p256-sha256'],
      ['c', 'ecdsa-p384-sha384'],
      ['d', 'rsa-pss-sha512'],
      ['e', 'rsa-v1_5-sha256'],
    ]);
    expect(keys[3]!.thumbprint).toBe(keyThumbprint(rsa.publicKey));
  });

  it('JWK nbf / exp are kept; absent ones are not set at all', () => {
    const [timed, plain] = importSignatureKeys([{ ...B14_JWK, kid: 't', nbf: 1700000000, exp: 1800000000 }, B14_JWK], 'keys');
    expect(timed).toMatchObject({ notBefore: 1700000000, expiresAt: 1800000000 });
    expect('notBefore' in plain! || 'expiresAt' in plain!).toBe(false);
  });

  it('{ key: SPKI PEM } defaults keyid to the thumbprint', () => {
    const [key] = importSignatureKeys({ key: B14_PUBLIC }, 'keys');
    expect(key).toMatchObject({ keyid: B14_THUMBPRINT, algorithm: 'ed25519', thumbprint: B14_THUMBPRINT });
  });

  it('{ key: PKCS#1 RSA PEM, algorithm } and { key: SPKI RSA PEM, algorithm, keyid }', () => {
    const [b11, b12] = importSignatureKeys(
      [
        { key: B11_PUBLIC, algorithm: 'rsa-v1_5-sha256' },
        { key: `\n  ${B12_PUBLIC}\n`, algorithm: 'rsa-pss-sha512', keyid: 'test-key-rsa-pss' },
      ],
      'keys',
    );
    expect(b11).toMatchObject({ keyid: 'BHj8s0GPnMEQtkaULIM-PLgEhLBbuGUQ1vMxmBWZzEo', algorithm: 'rsa-v1_5-sha256' });
    expect(b12).toMatchObject({ keyid: 'test-key-rsa-pss', algorithm: 'rsa-pss-sha512', thumbprint: B12_THUMBPRINT });
  });

  it('{ key: X.509 certificate } uses the certificate key', () => {
    const [key] = importSignatureKeys({ key: CERTIFICATE, keyid: 'cert' }, 'keys');
    expect(key).toMatchObject({ keyid: 'cert', algorithm: 'ed25519' });
    expect((key!.key.export({ format: 'jwk' }) as Jwk).x).toBe(CERTIFICATE_X);
  });

  it('{ key: KeyObject } and { key: JWK } (keyid option, then the JWK kid, then the thumbprint)', () => {
    const keys = importSignatureKeys(
      [
        { key: ed.publicKey, keyid: 'object' },
        { key: rsaPss.publicKey },
        { key: jwkOf(p256.publicKey, { kid: 'inner' }) },
        { key: jwkOf(p384.publicKey, { kid: 'inner2' }), keyid: 'outer' },
        { key: jwkOf(rsa.publicKey), algorithm: 'rsa-pss-sha512' },
        { key: jwkOf(rsa.publicKey, { alg: 'RS256' }), algorithm: 'rsa-v1_5-sha256', keyid: 'agreeing' },
      ],
      'keys',
    );
    expect(keys.map((k) => [k.keyid, k.algorithm])).toEqual([
      ['object', 'ed25519'],
      [keyThumbprint(rsaPss.publicKey), 'rsa-pss-sha512'],
      ['inner', 'ecdsa-p256-sha256'],
      ['outer', 'ecdsa-p384-sha384'],
      [keyThumbprint(rsa.publicKey), 'rsa-pss-sha512'],
      ['agreeing', 'rsa-v1_5-sha256'],
    ]);
  });

  it('{ keyid, secret }: utf8, base64, base64url and bytes; no thumbprint', () => {
    const raw = randomBytes(32);
    const keys = importSignatureKeys(
      [
        { keyid: 'utf8', secret: SECRET_32 },
        { keyid: 'b64', secret: raw.toString('base64'), encoding: 'base64' },
        { keyid: 'b64u', secret: raw.toString('base64url'), encoding: 'base64url', algorithm: 'hmac-sha256' },
        { keyid: 'bytes', secret: new Uint8Array(raw) },
      ],
      'keys',
    );
    expect(keys.map((k) => [k.keyid, k.algorithm, k.key.type, k.key.symmetricKeySize])).toEqual([
      ['utf8', 'hmac-sha256', 'secret', 32],
      ['b64', 'hmac-sha256', 'secret', 32],
      ['b64u', 'hmac-sha256', 'secret', 32],
      ['bytes', 'hmac-sha256', 'secret', 32],
    ]);
    expect(keys.every((k) => k.thumbprint === undefined)).toBe(true);
    expect(keys[1]!.key.export().equals(raw)).toBe(true);
  });

  it('a configured secret does not change when the caller later reuses its buffer', () => {
    const bytes = new Uint8Array(randomBytes(32));
    const copy = Buffer.from(bytes);
    const [key] = importSignatureKeys({ keyid: 's', secret: bytes }, 'keys');
    bytes.fill(0);
    expect(key!.key.export().equals(copy)).toBe(true);
  });

  it('imported keys verify what the matching private key signs', () => {
    const [key] = importSignatureKeys({ key: pemOf(ed.publicKey) }, 'keys');
    expect(verifyWith(key!, 'base', signWith(ed.privateKey, 'ed25519', 'base'))).toBe(true);
  });

  it('an empty list or JWKS yields no keys (the caller decides whether that is allowed)', () => {
    expect(importSignatureKeys([], 'keys')).toEqual([]);
    expect(importSignatureKeys({ keys: [] }, 'keys')).toEqual([]);
  });
});

describe('importSignatureKeys: refusals', () => {
  it('private keys in every form, with the path to fix', () => {
    const pkcs1 = rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
    const sec1 = p256.privateKey.export({ format: 'pem', type: 'sec1' }) as string;
    expectConfigError(() => importSignatureKeys({ key: B14_PRIVATE }, 'sig.keys'), 'ERR_CONFIG_INVALID_KEY', 'sig.keys.key', ['MC4CAQAw']);
    expectConfigError(() => importSignatureKeys({ key: pkcs1, algorithm: 'rsa-pss-sha512' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key');
    expectConfigError(() => importSignatureKeys({ key: sec1 }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key');
    expectConfigError(() => importSignatureKeys({ key: ed.privateKey }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key');
    expectConfigError(() => importSignatureKeys({ ...B14_JWK, d: B14_D }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k', [B14_D]);
    expectConfigError(() => importSignatureKeys({ key: { ...B14_JWK, d: B14_D } }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key', [B14_D]);
    const privateRsa = jwkOf(rsa.privateKey, { alg: 'PS512' });
    const error = expectConfigError(() => importSignatureKeys({ keys: [B14_JWK, privateRsa] }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.keys[1]', [
      privateRsa.d as string,
      privateRsa.p as string,
    ]);
    expect(error.message).toMatch(/private/);
    // Only private members, no `d`: still a private JWK.
    expectConfigError(() => importSignatureKeys({ ...jwkOf(rsa.publicKey, { alg: 'PS512' }), p: privateRsa.p }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k');
  });

  it('RSA shorter than 2048 bits, longer than 8192 bits, or with an odd exponent', () => {
    expectConfigError(() => importSignatureKeys({ key: smallRsa.publicKey, algorithm: 'rsa-pss-sha512' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key');
    expectConfigError(() => importSignatureKeys(jwkOf(smallRsa.publicKey, { alg: 'PS512' }), 'k'), 'ERR_CONFIG_INVALID_KEY', 'k');
    const huge = Buffer.concat([Buffer.from([0xc0]), randomBytes(1087)]);
    huge[huge.length - 1]! |= 1;
    expectConfigError(() => importSignatureKeys({ kty: 'RSA', n: huge.toString('base64url'), e: 'AQAB', alg: 'PS512' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k');
    const rsaJwk = jwkOf(rsa.publicKey, { alg: 'PS512' });
    for (const e of ['Ag' /* 2 */, 'AQ' /* 1 */, Buffer.from('0100000001', 'hex').toString('base64url')]) {
      expectConfigError(() => importSignatureKeys({ ...rsaJwk, e }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k');
    }
    expect(importSignatureKeys({ ...rsaJwk, e: 'Aw' /* 3 */ }, 'k')).toHaveLength(1);
  });

  it('RSA without an algorithm', () => {
    const error = expectConfigError(() => importSignatureKeys({ key: rsa.publicKey }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key');
    expect(error.message).toMatch(/rsa-pss-sha512/);
    expectConfigError(() => importSignatureKeys({ key: B11_PUBLIC }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key');
    expectConfigError(() => importSignatureKeys(jwkOf(rsa.publicKey), 'k'), 'ERR_CONFIG_INVALID_KEY', 'k');
    expectConfigError(() => importSignatureKeys({ keys: [B14_JWK, jwkOf(rsa.publicKey)] }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.keys[1]');
  });

  it('weak secrets: fewer than 32 bytes after decoding', () => {
    const short = 'x'.repeat(31);
    expectConfigError(() => importSignatureKeys({ keyid: 's', secret: short }, 'k'), 'ERR_CONFIG_WEAK_SECRET', 'k.secret', [short]);
    expectConfigError(() => importSignatureKeys({ keyid: 's', secret: '' }, 'k'), 'ERR_CONFIG_WEAK_SECRET', 'k.secret');
    // 40 base64 characters are only 30 bytes.
    const b64 = randomBytes(30).toString('base64');
    expect(b64).toHaveLength(40);
    expectConfigError(() => importSignatureKeys({ keyid: 's', secret: b64, encoding: 'base64' }, 'k'), 'ERR_CONFIG_WEAK_SECRET', 'k.secret', [b64]);
    expectConfigError(() => importSignatureKeys({ keyid: 's', secret: new Uint8Array(31) }, 'k'), 'ERR_CONFIG_WEAK_SECRET', 'k.secret');
  });

  it('bad secret options', () => {
    expectConfigError(() => importSignatureKeys({ keyid: 's', secret: 'not base64 at all!!', encoding: 'base64' }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.secret', ['not base64']);
    expectConfigError(() => importSignatureKeys({ keyid: 's', secret: SECRET_32, encoding: 'hex' as 'utf8' }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.encoding');
    expectConfigError(() => importSignatureKeys({ keyid: 's', secret: 42 as unknown as string }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.secret');
    expectConfigError(() => importSignatureKeys({ secret: SECRET_32 } as SignatureKeyInput, 'k'), 'ERR_CONFIG_MISSING_OPTION', 'k.keyid', [SECRET_32]);
    expectConfigError(() => importSignatureKeys({ keyid: '', secret: SECRET_32 }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.keyid', [SECRET_32]);
    expectConfigError(() => importSignatureKeys({ keyid: 's', secret: SECRET_32, algorithm: 'ed25519' as 'hmac-sha256' }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.algorithm', [SECRET_32]);
    const typo = expectConfigError(() => importSignatureKeys({ kid: 's', secret: SECRET_32 } as unknown as SignatureKeyInput, 'k'), 'ERR_CONFIG_UNKNOWN_OPTION', 'k.kid', [SECRET_32]);
    expect(typo.message).toContain('keyid');
  });

  it('an unknown algorithm name, in the option or in the JWK', () => {
    expectConfigError(() => importSignatureKeys({ key: ed.publicKey, algorithm: 'rsa-sha1' as 'ed25519' }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.algorithm');
    expectConfigError(() => importSignatureKeys({ ...B14_JWK, alg: 'XYZ' }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.alg');
    expectConfigError(() => importSignatureKeys({ ...B14_JWK, alg: 42 as unknown as string }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.alg');
    expectConfigError(() => importSignatureKeys({ keys: [{ ...B14_JWK, alg: 'none' }] }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.keys[0].alg');
  });

  it('an algorithm that disagrees with the key (never turning a public key into an HMAC key)', () => {
    expectConfigError(() => importSignatureKeys({ key: B14_PUBLIC, algorithm: 'hmac-sha256' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.algorithm');
    expectConfigError(() => importSignatureKeys({ key: ed.publicKey, algorithm: 'ecdsa-p256-sha256' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.algorithm');
    expectConfigError(() => importSignatureKeys({ key: p256.publicKey, algorithm: 'ecdsa-p384-sha384' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.algorithm');
    expectConfigError(() => importSignatureKeys({ key: rsaPss.publicKey, algorithm: 'rsa-v1_5-sha256' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.algorithm');
    expectConfigError(() => importSignatureKeys({ ...B14_JWK, alg: 'ES256' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.alg');
    expectConfigError(() => importSignatureKeys({ ...B14_JWK, alg: 'HS256' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.alg');
    // The JWK says PS512, the option says RS256: both are RSA algorithms, but they disagree.
    expectConfigError(() => importSignatureKeys({ key: jwkOf(rsa.publicKey, { alg: 'PS512' }), algorithm: 'rsa-v1_5-sha256' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.algorithm');
  });

  it('secrets only from { keyid, secret }: oct JWKs, secret KeyObjects and non-PEM strings are refused', () => {
    const k = Buffer.from(SECRET_32).toString('base64url');
    const error = expectConfigError(() => importSignatureKeys({ kty: 'oct', k, kid: 'h' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k', [k]);
    expect(error.message).toContain('{ keyid, secret }');
    expectConfigError(() => importSignatureKeys({ keys: [{ kty: 'oct', k, alg: 'HS256' }] }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.keys[0]', [k]);
    expectConfigError(() => importSignatureKeys({ key: { kty: 'oct', k } }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key', [k]);
    expectConfigError(() => importSignatureKeys({ key: createSecretKey(Buffer.from(SECRET_32)), keyid: 'h' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key');
    expectConfigError(() => importSignatureKeys({ key: SECRET_32, keyid: 'h' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key', [SECRET_32]);
    expectConfigError(() => importSignatureKeys({ key: SECRET_32, keyid: 'h', algorithm: 'hmac-sha256' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key', [SECRET_32]);
    expectConfigError(() => importSignatureKeys(SECRET_32 as unknown as SignatureKeyInput, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k', [SECRET_32]);
  });

  it('keys no HTTP signature algorithm uses, and unreadable keys', () => {
    const secp256k1 = jwkOf(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey);
    const p521 = jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey);
    const x25519 = jwkOf(generateKeyPairSync('x25519').publicKey);
    const ed448 = generateKeyPairSync('ed448').publicKey;
    expectConfigError(() => importSignatureKeys(secp256k1, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k');
    expectConfigError(() => importSignatureKeys(p521, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k');
    expectConfigError(() => importSignatureKeys(x25519, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k');
    expectConfigError(() => importSignatureKeys({ key: ed448 }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key');
    const sha256Pss = generateKeyPairSync('rsa-pss', {
      modulusLength: 2048,
      hashAlgorithm: 'sha256',
      mgf1HashAlgorithm: 'sha256',
      saltLength: 32 as unknown as string, // @types/node types it as a string; Node wants a number
    }).publicKey;
    const pssError = expectConfigError(() => importSignatureKeys({ key: sha256Pss }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key');
    expect(pssError.message).toContain('rsa-pss-sha512');
    expectConfigError(() => importSignatureKeys({ kty: 'EC', crv: 'P-999', x: 'AA', y: 'AA' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k');
    expectConfigError(() => importSignatureKeys({ kty: 'OKP', crv: 'Ed25519' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k');
    expectConfigError(() => importSignatureKeys({ key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key');
    expectConfigError(() => importSignatureKeys({ key: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key');
    expectConfigError(() => importSignatureKeys({ ...B14_JWK, use: 'enc' }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.use');
    expectConfigError(() => importSignatureKeys({ ...B14_JWK, key_ops: ['sign'] }, 'k'), 'ERR_CONFIG_INVALID_KEY', 'k.key_ops');
  });

  it('malformed inputs and members', () => {
    expectConfigError(() => importSignatureKeys(null as unknown as SignatureKeyInput, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k');
    expectConfigError(() => importSignatureKeys(ed.publicKey as unknown as SignatureKeyInput, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k');
    expectConfigError(() => importSignatureKeys({ foo: 1 } as unknown as SignatureKeyInput, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k');
    expectConfigError(() => importSignatureKeys({ keys: 'nope' } as unknown as SignatureKeyInput, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.keys');
    expectConfigError(() => importSignatureKeys({ keys: [null] } as unknown as SignatureKeyInput, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.keys[0]');
    expectConfigError(() => importSignatureKeys([B14_JWK, [B14_JWK]] as unknown as SignatureKeyInput[], 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k[1]');
    expectConfigError(() => importSignatureKeys({ key: 42 } as unknown as SignatureKeyInput, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.key');
    expectConfigError(() => importSignatureKeys({ key: B14_PUBLIC, keyid: '' }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.keyid');
    expectConfigError(() => importSignatureKeys({ key: B14_PUBLIC, algoritm: 'ed25519' } as unknown as SignatureKeyInput, 'k'), 'ERR_CONFIG_UNKNOWN_OPTION', 'k.algoritm');
    expectConfigError(() => importSignatureKeys({ ...B14_JWK, kid: 7 as unknown as string }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.kid');
    expectConfigError(() => importSignatureKeys({ ...B14_JWK, exp: '2030-01-01' }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.exp');
    expectConfigError(() => importSignatureKeys({ ...B14_JWK, nbf: Number.NaN }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.nbf');
    expectConfigError(() => importSignatureKeys({ kty: 7 } as unknown as Jwk, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k');
  });

  it('duplicate keyids, wherever they come from', () => {
    expectConfigError(
      () => importSignatureKeys([{ keyid: 'a', secret: SECRET_32 }, { key: B14_PUBLIC, keyid: 'a' }], 'k'),
      'ERR_CONFIG_INVALID_VALUE',
      'k[1].keyid',
      [SECRET_32],
    );
    expectConfigError(() => importSignatureKeys({ keys: [{ ...B14_JWK, kid: 'x' }, jwkOf(ed.publicKey, { kid: 'x' })] }, 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k.keys[1].kid');
    // The same key twice, both named by their thumbprint.
    expectConfigError(() => importSignatureKeys([B14_JWK, { key: B14_PUBLIC }], 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k[1]');
    // A kid that equals another key's thumbprint.
    expectConfigError(() => importSignatureKeys([B14_JWK, jwkOf(ed.publicKey, { kid: B14_THUMBPRINT })], 'k'), 'ERR_CONFIG_INVALID_VALUE', 'k[1].kid');
  });
});

describe('importDirectoryKeys', () => {
  const b12Jwk = jwkOf(createPublicKey(B12_PUBLIC));

  it('names every key by its recomputed thumbprint, whatever its kid says', () => {
    const liar = jwkOf(ed.publicKey, { kid: keyThumbprint(ed2.publicKey), use: 'sig' });
    const { keys, skipped } = importDirectoryKeys({ keys: [liar, { ...B14_JWK, kid: 'NFcWBst6DXG-N35nHdzMrioWntdzNZghQSkjHNMMSjw' }] }, 10);
    expect(skipped).toBe(0);
    expect(keys.map((k) => [k.keyid, k.thumbprint, k.algorithm])).toEqual([
      [keyThumbprint(ed.publicKey), keyThumbprint(ed.publicKey), 'ed25519'],
      [B14_THUMBPRINT, B14_THUMBPRINT, 'ed25519'],
    ]);
  });

  it('takes an RSA key without alg as rsa-pss-sha512, and honours PS512 / RS256 / HTTP names', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const { keys, skipped } = importDirectoryKeys(
      { keys: [b12Jwk, jwkOf(rsa.publicKey, { alg: 'RS256' }), jwkOf(other, { alg: 'rsa-pss-sha512' }), jwkOf(p256.publicKey, { alg: 'ES256' })] },
      10,
    );
    expect(skipped).toBe(0);
    expect(keys.map((k) => [k.keyid, k.algorithm])).toEqual([
      [B12_THUMBPRINT, 'rsa-pss-sha512'],
      [keyThumbprint(rsa.publicKey), 'rsa-v1_5-sha256'],
      [keyThumbprint(other), 'rsa-pss-sha512'],
      [keyThumbprint(p256.publicKey), 'ecdsa-p256-sha256'],
    ]);
  });

  it('skips oct, private, tiny RSA, unknown kty/crv, disagreeing or unknown alg, non-signature and mistyped keys', () => {
    const good = jwkOf(ed.publicKey, { nbf: 1700000000, exp: 1900000000, purpose: 'ai', signature_agent: 'https://x.test' });
    const entries: unknown[] = [
      { kty: 'oct', k: Buffer.from(SECRET_32).toString('base64url') },
      { ...B14_JWK, d: B14_D },
      jwkOf(rsa.privateKey),
      jwkOf(smallRsa.publicKey, { alg: 'PS512' }),
      jwkOf(smallRsa.publicKey),
      jwkOf(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey),
      jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey),
      jwkOf(generateKeyPairSync('x25519').publicKey),
      { kty: 'OKP', crv: 'Ed448', x: 'AA' },
      { kty: 'EC', crv: 'P-999', x: 'AA', y: 'AA' },
      { kty: 'XYZ', x: 'AA' },
      { kty: 'RSA' },
      jwkOf(p256.publicKey, { alg: 'EdDSA' }),
      jwkOf(ed2.publicKey, { alg: 'hmac-sha256' }),
      jwkOf(ed2.publicKey, { alg: 'none' }),
      jwkOf(ed2.publicKey, { use: 'enc' }),
      jwkOf(ed2.publicKey, { key_ops: ['encrypt'] }),
      jwkOf(ed2.publicKey, { exp: '2030' }),
      jwkOf(ed2.publicKey, { nbf: null }),
      jwkOf(ed2.publicKey, { kid: 42 }),
      { ...B14_JWK, kty: undefined },
      null,
      'a string',
      42,
      [B14_JWK],
      good,
    ];
    const { keys, skipped } = importDirectoryKeys({ keys: entries }, 100);
    expect(keys).toHaveLength(1);
    expect(skipped).toBe(entries.length - 1);
    expect(keys[0]).toMatchObject({ keyid: keyThumbprint(ed.publicKey), algorithm: 'ed25519', notBefore: 1700000000, expiresAt: 1900000000 });
  });

  it('keeps only the first copy of a key listed twice', () => {
    const { keys, skipped } = importDirectoryKeys({ keys: [B14_JWK, { ...B14_JWK, kid: 'again' }, { ...B14_JWK, alg: 'EdDSA' }] }, 10);
    expect(keys.map((k) => k.keyid)).toEqual([B14_THUMBPRINT]);
    expect(skipped).toBe(2);
  });

  it('considers at most maxKeys entries; the rest count as skipped', () => {
    const many = Array.from({ length: 6 }, () => jwkOf(generateKeyPairSync('ed25519').publicKey));
    expect(importDirectoryKeys({ keys: many }, 3)).toMatchObject({ skipped: 3 });
    expect(importDirectoryKeys({ keys: many }, 3).keys.map((k) => k.keyid)).toEqual(many.slice(0, 3).map((j) => keyThumbprint(createPublicKey({ key: j as never, format: 'jwk' }))));
    // An unusable entry within the cap uses up a slot: the cap bounds work, not results.
    expect(importDirectoryKeys({ keys: [{ kty: 'oct', k: 'AA' }, ...many] }, 3)).toMatchObject({ skipped: 5 });
    expect(importDirectoryKeys({ keys: [{ kty: 'oct', k: 'AA' }, ...many] }, 3).keys).toHaveLength(2);
    expect(importDirectoryKeys({ keys: many }, 0)).toMatchObject({ keys: [], skipped: 6 });
    expect(importDirectoryKeys({ keys: many }, Number.NaN)).toMatchObject({ keys: [], skipped: 6 });
    expect(importDirectoryKeys({ keys: many }, -1)).toMatchObject({ keys: [], skipped: 6 });
    expect(importDirectoryKeys({ keys: many }, 2.9).keys).toHaveLength(2);
    expect(importDirectoryKeys({ keys: many }, Number.POSITIVE_INFINITY).keys).toHaveLength(6);
  });

  it('never throws, whatever it is given', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
        has() {
          throw new Error('boom');
        },
      },
    );
    const getter = {
      get kty(): string {
        throw new Error('boom');
      },
    };
    const inputs: unknown[] = [undefined, null, 42, 'x', [], {}, { keys: null }, { keys: 'x' }, { keys: {} }, hostile, { keys: [hostile, getter] }];
    for (const input of inputs) {
      expect(() => importDirectoryKeys(input, 10)).not.toThrow();
    }
    expect(importDirectoryKeys({ keys: 'x' }, 10)).toEqual({ keys: [], skipped: 0 });
    expect(importDirectoryKeys({ keys: [hostile, getter, B14_JWK] }, 10)).toMatchObject({ skipped: 2 });
  });

  it('imported directory keys verify (the Web Bot Auth protocol-02 Ed25519 vector)', () => {
    const { keys } = importDirectoryKeys({ keys: [{ ...B14_JWK, kid: B14_THUMBPRINT, use: 'sig' }] }, 1);
    const base = [
      '"@authority": example.com',
      '"signature-agent";key="agent2": "https://signature-agent.test"',
      '"@signature-params": ("@authority" "signature-agent";key="agent2");created=1735689600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=4889289600;nonce="n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==";tag="web-bot-auth"',
    ].join('\n');
    const signature = Buffer.from('RdNFx5Bj6au3YgAMQL/RzmUlZE8QZLIaXGRpw985hWnwPfMxT228NMk6ehRS1PSl4e8PhbNZACSanGdhEwYCCg==', 'base64');
    expect(verifyWith(keys[0]!, base, signature)).toBe(true);
  });
});

describe('RFC 9421 test keys', () => {
  it('RFC9421_TEST_KEY_THUMBPRINTS is exactly the thumbprints of B.1.1–B.1.4', () => {
    const computed = [B11_PUBLIC, B12_PUBLIC, B13_PUBLIC, B14_PUBLIC].map((pem) => keyThumbprint(createPublicKey(pem)));
    expect(new Set(computed)).toEqual(RFC9421_TEST_KEY_THUMBPRINTS);
    expect(RFC9421_TEST_KEY_THUMBPRINTS.size).toBe(4);
    expect(RFC9421_TEST_KEY_THUMBPRINTS.has(B14_THUMBPRINT)).toBe(true);
    expect(RFC9421_TEST_KEY_THUMBPRINTS.has(B12_THUMBPRINT)).toBe(true);
  });

  it('isRfc9421TestKey spots them however they were imported, and the B.1.5 secret', () => {
    const configured = importSignatureKeys(
      [
        { key: B11_PUBLIC, algorithm: 'rsa-v1_5-sha256' },
        { key: B12_PUBLIC, algorithm: 'rsa-pss-sha512', keyid: 'test-key-rsa-pss' },
        { key: B13_PUBLIC, keyid: 'test-key-ecc-p256' },
        { ...B14_JWK, kid: 'test-key-ed25519' },
        { keyid: 'test-shared-secret', secret: B15_SECRET, encoding: 'base64' },
      ],
      'keys',
    );
    expect(configured.map(isRfc9421TestKey)).toEqual([true, true, true, true, true]);
    expect(importDirectoryKeys({ keys: [B14_JWK] }, 1).keys.map(isRfc9421TestKey)).toEqual([true]);
    // Without a stored thumbprint it is recomputed.
    expect(isRfc9421TestKey({ keyid: 'x', algorithm: 'ed25519', key: createPublicKey(B14_PUBLIC) })).toBe(true);
  });

  it('isRfc9421TestKey is false for other keys and other secrets', () => {
    const others = importSignatureKeys(
      [
        { key: ed.publicKey },
        { keyid: 's', secret: SECRET_32 },
        { keyid: 't', secret: Buffer.from(B15_SECRET, 'base64').subarray(0, 32) },
      ],
      'keys',
    );
    expect(others.map(isRfc9421TestKey)).toEqual([false, false, false]);
  });
});
