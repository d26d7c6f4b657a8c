import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { algorithmForKey, signWith, verifyWith, type SignatureKey } from '../../src/signatures/algorithms.js';
import { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from '../../src/signatures/types.js';

// RFC 9421 Appendix B keys (rfc9421-vectors.md).
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
const B15_SECRET = 'uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==';

const base = (...lines: string[]): string => lines.join('\n');
const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

const B21_BASE = base('"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"');
const B21_SIGNATURE =
  'd2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==';
const B24_BASE = base(
  '"@status": 200',
  '"content-type": application/json',
  '"content-digest": sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:',
  '"content-length": 23',
  '"@signature-params": ("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"',
);
const B24_SIGNATURE = 'wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==';
const B25_BASE = base(
  '"date": Tue, 20 Apr 2021 02:07:55 GMT',
  '"@authority": example.com',
  '"content-type": application/json',
  '"@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
);
const B25_SIGNATURE = 'pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=';
const B26_BASE = base(
  '"date": Tue, 20 Apr 2021 02:07:55 GMT',
  '"@method": POST',
  '"@path": /foo',
  '"@authority": example.com',
  '"content-type": application/json',
  '"content-length": 18',
  '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
);
const B26_SIGNATURE = 'wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==';

const sigKey = (algorithm: SignatureAlgorithm, key: KeyObject, keyid = 'k'): SignatureKey => ({ keyid, algorithm, key });

interface Signer {
  readonly algorithm: SignatureAlgorithm;
  readonly signing: KeyObject;
  readonly verifying: KeyObject;
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const secret = createSecretKey(randomBytes(32));

const SIGNERS: readonly Signer[] = [
  { algorithm: 'ed25519', signing: ed.privateKey, verifying: ed.publicKey },
  { algorithm: 'ecdsa-p256-sha256', signing: p256.privateKey, verifying: p256.publicKey },
  { algorithm: 'ecdsa-p384-sha384', signing: p384.privateKey, verifying: p384.publicKey },
  { algorithm: 'rsa-pss-sha512', signing: rsa.privateKey, verifying: rsa.publicKey },
  { algorithm: 'rsa-v1_5-sha256', signing: rsa.privateKey, verifying: rsa.publicKey },
  { algorithm: 'hmac-sha256', signing: secret, verifying: secret },
];

const SAMPLE = base('"@method": GET', '"@authority": example.com', '"@signature-params": ("@method" "@authority");created=1');

describe('signWith / verifyWith round trip', () => {
  it('covers every registered algorithm', () => {
    expect(SIGNERS.map((s) => s.algorithm).sort()).toEqual([...SIGNATURE_ALGORITHMS].sort());
  });

  for (const { algorithm, signing, verifying } of SIGNERS) {
    it(`${algorithm}: verifies its own signature, and not over another base or with a flipped bit`, () => {
      const signature = signWith(signing, algorithm, SAMPLE);
      const key = sigKey(algorithm, verifying);
      expect(verifyWith(key, SAMPLE, signature)).toBe(true);
      expect(verifyWith(key, `${SAMPLE} `, signature)).toBe(false);
      expect(verifyWith(key, SAMPLE.replace('GET', 'PUT'), signature)).toBe(false);
      const flipped = Uint8Array.from(signature);
      flipped[flipped.length - 1]! ^= 1;
      expect(verifyWith(key, SAMPLE, flipped)).toBe(false);
    });

    it(`${algorithm}: empty, short, long and garbage signatures are false, never a throw`, () => {
      const key = sigKey(algorithm, verifying);
      const good = signWith(signing, algorithm, SAMPLE);
      const candidates = [
        new Uint8Array(0),
        new Uint8Array(1),
        good.subarray(0, good.length - 1),
        Uint8Array.from([...good, 0]),
        new Uint8Array(good.length), // all zero, right length
        new Uint8Array(good.length).fill(0xff),
        randomBytes(good.length),
        randomBytes(4096),
      ];
      for (const signature of candidates) expect(verifyWith(key, SAMPLE, signature)).toBe(false);
    });
  }

  it('rsa-pss-sha512 also verifies with a key of the RSA-PSS type', () => {
    const signature = signWith(rsaPss.privateKey, 'rsa-pss-sha512', SAMPLE);
    expect(verifyWith(sigKey('rsa-pss-sha512', rsaPss.publicKey), SAMPLE, signature)).toBe(true);
    expect(verifyWith(sigKey('rsa-pss-sha512', rsa.publicKey), SAMPLE, signWith(rsa.privateKey, 'rsa-pss-sha512', SAMPLE))).toBe(true);
  });

  it('rsa-pss-sha512 insists on SHA-512 and PSS, and verifies any salt length (signers that use the maximum)', () => {
    const data = Buffer.from(SAMPLE);
    const key = sigKey('rsa-pss-sha512', rsa.publicKey);
    const maxSalt = sign('sha512', data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN });
    const sha256 = sign('sha256', data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 });
    const pkcs1 = sign('sha512', data, rsa.privateKey);
    expect(verifyWith(key, SAMPLE, maxSalt)).toBe(true);
    expect(verifyWith(key, SAMPLE, sha256)).toBe(false);
    expect(verifyWith(key, SAMPLE, pkcs1)).toBe(false);
  });

  it('rsa-v1_5-sha256 refuses a PSS signature and a SHA-512 one', () => {
    const data = Buffer.from(SAMPLE);
    const key = sigKey('rsa-v1_5-sha256', rsa.publicKey);
    expect(verifyWith(key, SAMPLE, signWith(rsa.privateKey, 'rsa-pss-sha512', SAMPLE))).toBe(false);
    expect(verifyWith(key, SAMPLE, sign('sha512', data, rsa.privateKey))).toBe(false);
  });

  it('signs bases as UTF-8, so bases that differ only outside ASCII never share bytes', () => {
    // Under latin1, 'Ł' (U+0141) would become 0x41 ('A') and the two bases would collide.
    const signature = signWith(ed.privateKey, 'ed25519', '"x": A');
    expect(verifyWith(sigKey('ed25519', ed.publicKey), '"x": Ł', signature)).toBe(false);
    expect(verifyWith(sigKey('ed25519', ed.publicKey), '"x": A', signature)).toBe(true);
  });
});

describe('RFC 9421 Appendix B vectors', () => {
  it('B.2.6 ed25519 verifies with the B.1.4 key and re-signs to identical bytes', () => {
    const key = sigKey('ed25519', createPublicKey(B14_PUBLIC), 'test-key-ed25519');
    expect(verifyWith(key, B26_BASE, bytes(B26_SIGNATURE))).toBe(true);
    const again = signWith(createPrivateKey(B14_PRIVATE), 'ed25519', B26_BASE);
    expect(Buffer.from(again).toString('base64')).toBe(B26_SIGNATURE);
  });

  it('B.2.5 hmac-sha256 re-creates pxcQw6G3… and verifies', () => {
    const key = createSecretKey(Buffer.from(B15_SECRET, 'base64'));
    expect(Buffer.from(signWith(key, 'hmac-sha256', B25_BASE)).toString('base64')).toBe(B25_SIGNATURE);
    expect(verifyWith(sigKey('hmac-sha256', key, 'test-shared-secret'), B25_BASE, bytes(B25_SIGNATURE))).toBe(true);
    expect(verifyWith(sigKey('hmac-sha256', key), B25_BASE.replace('example.com', 'example.org'), bytes(B25_SIGNATURE))).toBe(false);
  });

  it('B.2.4 ecdsa-p256-sha256 (base as printed, with the mEWXIS7… digest) verifies with the B.1.3 key', () => {
    const key = sigKey('ecdsa-p256-sha256', createPublicKey(B13_PUBLIC), 'test-key-ecc-p256');
    expect(verifyWith(key, B24_BASE, bytes(B24_SIGNATURE))).toBe(true);
    const draftDigest = B24_BASE.replace('mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==', 'JlEy2bfUz7WrWIjc1qV6KVLpdr/7L5/L4h7Sxvh6sNHpDQWDCL+GauFQWcZBvVDhiyOnAQsxzZFYwi0wDH+1pw==');
    expect(verifyWith(key, draftDigest, bytes(B24_SIGNATURE))).toBe(false);
  });

  it('B.2.1 rsa-pss-sha512 verifies with the B.1.2 key (randomized: verify only)', () => {
    const key = sigKey('rsa-pss-sha512', createPublicKey(B12_PUBLIC), 'test-key-rsa-pss');
    expect(verifyWith(key, B21_BASE, bytes(B21_SIGNATURE))).toBe(true);
    expect(verifyWith(sigKey('rsa-v1_5-sha256', createPublicKey(B12_PUBLIC)), B21_BASE, bytes(B21_SIGNATURE))).toBe(false);
  });

  it('a DER-encoded ECDSA signature is refused, even when it is valid DER for the same base', () => {
    const key = sigKey('ecdsa-p256-sha256', p256.publicKey);
    const der = sign('sha256', Buffer.from(SAMPLE), { key: p256.privateKey, dsaEncoding: 'der' });
    expect(verifyWith(key, SAMPLE, der)).toBe(false);
    // And B.2.4 re-encoded as DER (SEQUENCE of two INTEGERs).
    const raw = Buffer.from(B24_SIGNATURE, 'base64');
    const integer = (b: Buffer) => (b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
    const [r, s] = [integer(raw.subarray(0, 32)), integer(raw.subarray(32))];
    const body = Buffer.concat([Buffer.from([0x02, r.length]), r, Buffer.from([0x02, s.length]), s]);
    const b24Der = Buffer.concat([Buffer.from([0x30, body.length]), body]);
    expect(verifyWith(sigKey('ecdsa-p256-sha256', createPublicKey(B13_PUBLIC)), B24_BASE, b24Der)).toBe(false);
  });
});

describe('key / algorithm confusion', () => {
  it('an Ed25519 key cannot verify as hmac-sha256: algorithmForKey refuses, and verifyWith fails closed', () => {
    expect(algorithmForKey(ed.publicKey, 'hmac-sha256')).toBeUndefined();
    expect(algorithmForKey(ed.publicKey)).toBe('ed25519');
    // The attacker's forgery: an HMAC keyed with the public key's bytes.
    const publicBytes = ed.publicKey.export({ format: 'der', type: 'spki' });
    const forged = createHmac('sha256', publicBytes).update(SAMPLE).digest();
    expect(verifyWith(sigKey('hmac-sha256', ed.publicKey), SAMPLE, forged)).toBe(false);
    const rawForged = createHmac('sha256', publicBytes.subarray(-32)).update(SAMPLE).digest();
    expect(verifyWith(sigKey('hmac-sha256', ed.publicKey), SAMPLE, rawForged)).toBe(false);
  });

  it('a hand-built SignatureKey whose key does not fit its algorithm never verifies', () => {
    const edSignature = signWith(ed.privateKey, 'ed25519', SAMPLE);
    const ecSignature = signWith(p256.privateKey, 'ecdsa-p256-sha256', SAMPLE);
    const mac = signWith(secret, 'hmac-sha256', SAMPLE);
    expect(verifyWith(sigKey('ed25519', p256.publicKey), SAMPLE, ecSignature)).toBe(false);
    expect(verifyWith(sigKey('ed25519', secret), SAMPLE, edSignature)).toBe(false);
    expect(verifyWith(sigKey('ecdsa-p256-sha256', ed.publicKey), SAMPLE, edSignature)).toBe(false);
    expect(verifyWith(sigKey('ecdsa-p256-sha256', secret), SAMPLE, ecSignature)).toBe(false);
    expect(verifyWith(sigKey('ecdsa-p384-sha384', p256.publicKey), SAMPLE, ecSignature)).toBe(false);
    expect(verifyWith(sigKey('rsa-pss-sha512', ed.publicKey), SAMPLE, edSignature)).toBe(false);
    expect(verifyWith(sigKey('rsa-v1_5-sha256', rsaPss.publicKey), SAMPLE, signWith(rsaPss.privateKey, 'rsa-pss-sha512', SAMPLE))).toBe(false);
    expect(verifyWith(sigKey('hmac-sha256', ed.privateKey), SAMPLE, mac)).toBe(false);
    expect(verifyWith(sigKey('nope' as SignatureAlgorithm, ed.publicKey), SAMPLE, edSignature)).toBe(false);
  });

  it('signWith throws TypeError when the key does not fit the algorithm', () => {
    expect(() => signWith(ed.publicKey, 'ed25519', SAMPLE)).toThrow(TypeError);
    expect(() => signWith(ed.privateKey, 'ecdsa-p256-sha256', SAMPLE)).toThrow(TypeError);
    expect(() => signWith(ed.privateKey, 'hmac-sha256', SAMPLE)).toThrow(TypeError);
    expect(() => signWith(secret, 'ed25519', SAMPLE)).toThrow(TypeError);
    expect(() => signWith(p384.privateKey, 'ecdsa-p256-sha256', SAMPLE)).toThrow(TypeError);
    expect(() => signWith(rsaPss.privateKey, 'rsa-v1_5-sha256', SAMPLE)).toThrow(TypeError);
    expect(() => signWith(ed.privateKey, 'ed448' as SignatureAlgorithm, SAMPLE)).toThrow(TypeError);
  });
});

/** An RSA-PSS key pair restricted to one hash and a minimum salt (@types/node types saltLength as a string; it is a number). */
const restrictedPssPair = (hash: string, saltLength: number) =>
  generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: hash, mgf1HashAlgorithm: hash, saltLength: saltLength as unknown as string });

describe('algorithmForKey', () => {
  const restrictedPss = restrictedPssPair('sha256', 32);
  const sha512Pss = restrictedPssPair('sha512', 64);
  const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const k256 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const ed448 = generateKeyPairSync('ed448');
  const x25519 = generateKeyPairSync('x25519');

  const table: [string, KeyObject, string | undefined, SignatureAlgorithm | undefined][] = [
    ['Ed25519', ed.publicKey, undefined, 'ed25519'],
    ['Ed25519', ed.publicKey, 'ed25519', 'ed25519'],
    ['Ed25519', ed.publicKey, 'EdDSA', 'ed25519'],
    ['Ed25519', ed.publicKey, 'Ed25519', 'ed25519'],
    ['Ed25519', ed.publicKey, 'ED25519', undefined],
    ['Ed25519', ed.publicKey, 'ES256', undefined],
    ['Ed25519', ed.publicKey, 'hmac-sha256', undefined],
    ['Ed25519 private', ed.privateKey, undefined, 'ed25519'],
    ['P-256', p256.publicKey, undefined, 'ecdsa-p256-sha256'],
    ['P-256', p256.publicKey, 'ES256', 'ecdsa-p256-sha256'],
    ['P-256', p256.publicKey, 'ecdsa-p256-sha256', 'ecdsa-p256-sha256'],
    ['P-256', p256.publicKey, 'ecdsa-p384-sha384', undefined],
    ['P-256', p256.publicKey, 'ES384', undefined],
    ['P-384', p384.publicKey, undefined, 'ecdsa-p384-sha384'],
    ['P-384', p384.publicKey, 'ES384', 'ecdsa-p384-sha384'],
    ['P-384', p384.publicKey, 'ecdsa-p256-sha256', undefined],
    ['P-521', p521.publicKey, undefined, undefined],
    ['P-521', p521.publicKey, 'ES512', undefined],
    ['secp256k1', k256.publicKey, undefined, undefined],
    ['secp256k1', k256.publicKey, 'ES256', undefined],
    ['RSA', rsa.publicKey, undefined, undefined],
    ['RSA', rsa.publicKey, 'rsa-pss-sha512', 'rsa-pss-sha512'],
    ['RSA', rsa.publicKey, 'PS512', 'rsa-pss-sha512'],
    ['RSA', rsa.publicKey, 'rsa-v1_5-sha256', 'rsa-v1_5-sha256'],
    ['RSA', rsa.publicKey, 'RS256', 'rsa-v1_5-sha256'],
    ['RSA', rsa.publicKey, 'PS256', undefined],
    ['RSA', rsa.publicKey, 'RS512', undefined],
    ['RSA', rsa.publicKey, 'ed25519', undefined],
    ['RSA', rsa.publicKey, 'hmac-sha256', undefined],
    ['RSA', rsa.publicKey, '', undefined],
    ['RSA-PSS', rsaPss.publicKey, undefined, 'rsa-pss-sha512'],
    ['RSA-PSS', rsaPss.publicKey, 'PS512', 'rsa-pss-sha512'],
    ['RSA-PSS', rsaPss.publicKey, 'rsa-v1_5-sha256', undefined],
    ['RSA-PSS', rsaPss.publicKey, 'RS256', undefined],
    ['RSA-PSS sha512/64', sha512Pss.publicKey, undefined, 'rsa-pss-sha512'],
    ['RSA-PSS sha256/32', restrictedPss.publicKey, undefined, undefined],
    ['RSA-PSS sha256/32', restrictedPss.publicKey, 'rsa-pss-sha512', undefined],
    ['secret', secret, undefined, 'hmac-sha256'],
    ['secret', secret, 'HS256', 'hmac-sha256'],
    ['secret', secret, 'hmac-sha256', 'hmac-sha256'],
    ['secret', secret, 'ed25519', undefined],
    ['secret', secret, 'HS512', undefined],
    ['Ed448', ed448.publicKey, undefined, undefined],
    ['Ed448', ed448.publicKey, 'EdDSA', undefined],
    ['X25519', x25519.publicKey, undefined, undefined],
    ['X25519', x25519.publicKey, 'ed25519', undefined],
    ['__proto__', ed.publicKey, '__proto__', undefined],
  ];

  it.each(table)('%s declared %s → %s', (_name, key, declared, expected) => {
    expect(algorithmForKey(key, declared)).toBe(expected);
  });

  it('a PSS key restricted to SHA-512 and salt 64 signs and verifies rsa-pss-sha512', () => {
    const signature = signWith(sha512Pss.privateKey, 'rsa-pss-sha512', SAMPLE);
    expect(verifyWith(sigKey('rsa-pss-sha512', sha512Pss.publicKey), SAMPLE, signature)).toBe(true);
  });
});
