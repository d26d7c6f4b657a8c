import { createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyImportError, type Jwk } from '../../src/keys/key.js';
import { jwkThumbprint, keyThumbprint } from '../../src/keys/thumbprint.js';

// RFC 7638 §3.1: the worked example (its `alg` and `kid` must not change the result).
const RFC7638_JWK: Jwk = {
  kty: 'RSA',
  n:
    '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
};

// RFC 9421 B.1.2 (test-key-rsa-pss): the public key is rsaEncryption SPKI, the private key is RSASSA-PSS PKCS#8.
const B12_PUBLIC = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----`;
const B12_PRIVATE = `-----BEGIN PRIVATE KEY-----
MIIEvgIBADALBgkqhkiG9w0BAQoEggSqMIIEpgIBAAKCAQEAr4tmm3r20Wd/Pbqv
P1s2+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry5
3mm+oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7Oyr
FAHqgDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUA
AN5WUtzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw
9lq4aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oy
c6XI2wIDAQABAoIBAQCUB8ip+kJiiZVKF8AqfB/aUP0jTAqOQewK1kKJ/iQCXBCq
pbo360gvdt05H5VZ/RDVkEgO2k73VSsbulqezKs8RFs2tEmU+JgTI9MeQJPWcP6X
aKy6LIYs0E2cWgp8GADgoBs8llBq0UhX0KffglIeek3n7Z6Gt4YFge2TAcW2WbN4
XfK7lupFyo6HHyWRiYHMMARQXLJeOSdTn5aMBP0PO4bQyk5ORxTUSeOciPJUFktQ
HkvGbym7KryEfwH8Tks0L7WhzyP60PL3xS9FNOJi9m+zztwYIXGDQuKM2GDsITeD
2mI2oHoPMyAD0wdI7BwSVW18p1h+jgfc4dlexKYRAoGBAOVfuiEiOchGghV5vn5N
RDNscAFnpHj1QgMr6/UG05RTgmcLfVsI1I4bSkbrIuVKviGGf7atlkROALOG/xRx
DLadgBEeNyHL5lz6ihQaFJLVQ0u3U4SB67J0YtVO3R6lXcIjBDHuY8SjYJ7Ci6Z6
vuDcoaEujnlrtUhaMxvSfcUJAoGBAMPsCHXte1uWNAqYad2WdLjPDlKtQJK1diCm
rqmB2g8QE99hDOHItjDBEdpyFBKOIP+NpVtM2KLhRajjcL9Ph8jrID6XUqikQuVi
4J9FV2m42jXMuioTT13idAILanYg8D3idvy/3isDVkON0X3UAVKrgMEne0hJpkPL
FYqgetvDAoGBAKLQ6JZMbSe0pPIJkSamQhsehgL5Rs51iX4m1z7+sYFAJfhvN3Q/
OGIHDRp6HjMUcxHpHw7U+S1TETxePwKLnLKj6hw8jnX2/nZRgWHzgVcY+sPsReRx
NJVf+Cfh6yOtznfX00p+JWOXdSY8glSSHJwRAMog+hFGW1AYdt7w80XBAoGBAImR
NUugqapgaEA8TrFxkJmngXYaAqpA0iYRA7kv3S4QavPBUGtFJHBNULzitydkNtVZ
3w6hgce0h9YThTo/nKc+OZDZbgfN9s7cQ75x0PQCAO4fx2P91Q+mDzDUVTeG30mE
t2m3S0dGe47JiJxifV9P3wNBNrZGSIF3mrORBVNDAoGBAI0QKn2Iv7Sgo4T/XjND
dl2kZTXqGAk8dOhpUiw/HdM3OGWbhHj2NdCzBliOmPyQtAr770GITWvbAI+IRYyF
S7Fnk6ZVVVHsxjtaHy1uJGFlaZzKR4AGNaUTOJMs6NadzCmGPAxNQQOCqoUjn4XR
rOjr9w349JooGXhOxbu8nOxX
-----END PRIVATE KEY-----`;

// RFC 9421 B.1.3 (test-key-ecc-p256) and B.1.4 (test-key-ed25519).
const B13_JWK: Jwk = {
  kty: 'EC',
  crv: 'P-256',
  kid: 'test-key-ecc-p256',
  d: 'UpuF81l-kOxbjf7T4mNSv0r5tN67Gim7rnf6EFpcYDs',
  x: 'qIVYZVLCrPZHGHjP17CTW0_-D9Lfw0EkjqF7xB4FivA',
  y: 'Mc4nN9LTDOBhfoUeg8Ye9WedFRhnZXZJA12Qp0zZ6F0',
};
const B13_PUBLIC = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----`;
const B14_JWK: Jwk = {
  kty: 'OKP',
  crv: 'Ed25519',
  kid: 'test-key-ed25519',
  d: 'n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU',
  x: 'JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs',
};
const B14_PUBLIC = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----';
const B14_PRIVATE = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----';

const B12_THUMBPRINT = 'oD0HwocPBSfpNy5W3bpJeyFGY_IQ_YpqxSjQ3Yd-CLA';
const B13_THUMBPRINT = 'ydQXMtvbsOsZyFir-Y7A8t7fKEM1gbKPvyFkdpu4fvI';
const B14_THUMBPRINT = 'poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U';

describe('jwkThumbprint', () => {
  it('matches the RFC 7638 §3.1 example, ignoring alg and kid', () => {
    expect(jwkThumbprint(RFC7638_JWK)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('matches RFC 8037 Appendix A.3 for an OKP key', () => {
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
    expect(jwkThumbprint(jwk)).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  it('gives the Web Bot Auth keyids of the RFC 9421 B.1.4 and B.1.3 keys; private members are ignored', () => {
    expect(jwkThumbprint(B14_JWK)).toBe(B14_THUMBPRINT);
    expect(jwkThumbprint(B13_JWK)).toBe(B13_THUMBPRINT);
    const { d: _d, ...publicOnly } = B14_JWK;
    expect(jwkThumbprint(publicOnly as Jwk)).toBe(B14_THUMBPRINT);
  });

  it('does not depend on member order or on extra members', () => {
    const reordered: Jwk = { x: B14_JWK.x, use: 'sig', crv: 'Ed25519', nbf: 1, kty: 'OKP', extra: { nested: true } };
    expect(jwkThumbprint(reordered)).toBe(B14_THUMBPRINT);
  });

  it('refuses secret, unknown and incomplete JWKs with KeyImportError', () => {
    const cases: unknown[] = [
      { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA' },
      { kty: 'XYZ', x: 'AQAB' },
      { kty: 'EC', crv: 'P-256', x: B13_JWK.x }, // no y
      { kty: 'RSA', n: RFC7638_JWK.n }, // no e
      { kty: 'OKP', x: B14_JWK.x }, // no crv
      { kty: 'OKP', crv: 'Ed25519', x: 42 },
      { kty: 'OKP', crv: 'Ed25519', x: '' },
      { kty: 'OKP', crv: 'Ed25519', x: 'not/base64url+' },
      { kty: 'OKP', crv: 'Ed25519', x: 'JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs=' }, // padded
      { kty: 42 },
      {},
      null,
    ];
    for (const jwk of cases) expect(() => jwkThumbprint(jwk as Jwk), JSON.stringify(jwk)).toThrow(KeyImportError);
  });

  it('never puts key material in its error messages', () => {
    const secret = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA';
    expect(() => jwkThumbprint({ kty: 'oct', k: secret })).toThrow(/^(?!.*c2VjcmV0).*$/s);
    expect(() => jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: 'bad!x' })).toThrow(/^(?!.*bad!x).*$/s);
  });
});

describe('keyThumbprint', () => {
  it('gives the B.1.4 Ed25519 thumbprint from the public key and from the private key', () => {
    expect(keyThumbprint(createPublicKey(B14_PUBLIC))).toBe(B14_THUMBPRINT);
    expect(keyThumbprint(createPrivateKey(B14_PRIVATE))).toBe(B14_THUMBPRINT);
  });

  it('gives the B.1.2 thumbprint for the rsaEncryption public key and the RSASSA-PSS private key', () => {
    expect(createPublicKey(B12_PUBLIC).asymmetricKeyType).toBe('rsa');
    expect(keyThumbprint(createPublicKey(B12_PUBLIC))).toBe(B12_THUMBPRINT);
    const pss = createPrivateKey(B12_PRIVATE);
    expect(pss.asymmetricKeyType).toBe('rsa-pss'); // Node cannot export this type as JWK
    expect(keyThumbprint(pss)).toBe(B12_THUMBPRINT);
    expect(keyThumbprint(createPublicKey(pss))).toBe(B12_THUMBPRINT);
  });

  it('gives the B.1.3 P-256 thumbprint', () => {
    expect(keyThumbprint(createPublicKey(B13_PUBLIC))).toBe(B13_THUMBPRINT);
  });

  it('agrees with jwkThumbprint for generated keys of every supported type', () => {
    const pairs = [
      generateKeyPairSync('ed25519'),
      generateKeyPairSync('ec', { namedCurve: 'P-384' }),
      generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ];
    for (const { publicKey, privateKey } of pairs) {
      const expected = jwkThumbprint(publicKey.export({ format: 'jwk' }) as Jwk);
      expect(keyThumbprint(publicKey)).toBe(expected);
      expect(keyThumbprint(privateKey)).toBe(expected);
    }
  });

  it('reads n and e of a generated RSA-PSS key (including a restricted one) from its SPKI', () => {
    const pss = generateKeyPairSync('rsa-pss', {
      modulusLength: 2048,
      hashAlgorithm: 'sha512',
      mgf1HashAlgorithm: 'sha512',
      saltLength: 64 as unknown as string, // @types/node types it as a string; Node wants a number
    });
    const spki = pss.publicKey.export({ format: 'der', type: 'spki' });
    // The same RSA key re-encoded as rsaEncryption: take the BIT STRING's RSAPublicKey and import it as PKCS#1.
    const rsaPublicKey = spki.subarray(spki.length - 270);
    const asRsa = createPublicKey({ key: rsaPublicKey, format: 'der', type: 'pkcs1' });
    expect(keyThumbprint(pss.publicKey)).toBe(keyThumbprint(asRsa));
  });

  it('refuses secret keys and key types without a JWK form with KeyImportError', () => {
    expect(() => keyThumbprint(createSecretKey(Buffer.alloc(32, 1)))).toThrow(KeyImportError);
    const dsa = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
    expect(() => keyThumbprint(dsa.publicKey)).toThrow(KeyImportError);
  });
});
