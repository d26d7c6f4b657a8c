import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jwkThumbprint } from '../../src/keys/thumbprint.js';
import { generateKeyPair, type KeyPairAlgorithm } from '../../src/signer/index.js';

describe('generateKeyPair', () => {
  it('makes an Ed25519 pair by default, named by its RFC 7638 thumbprint', () => {
    const pair = generateKeyPair();
    expect(pair.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(pair.publicKey.type).toBe('public');
    expect(pair.keyid).toBe(jwkThumbprint(pair.publicJwk));
    expect(pair.keyid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', kid: pair.keyid, x: pair.publicJwk.x, use: 'sig' });
    expect(Object.keys(pair.privateJwk)).toEqual(['kty', 'crv', 'kid', 'x', 'd', 'use']);
  });

  it.each<[KeyPairAlgorithm, string, string | undefined]>([
    ['ecdsa-p256-sha256', 'ec', undefined],
    ['ecdsa-p384-sha384', 'ec', undefined],
    ['rsa-pss-sha512', 'rsa', 'PS512'],
    ['rsa-v1_5-sha256', 'rsa', 'RS256'],
  ])('%s: a %s key, JWK alg %s, whose JWKs round-trip', (algorithm, type, alg) => {
    const pair = generateKeyPair(algorithm);
    expect(pair.privateKey.asymmetricKeyType).toBe(type);
    expect(pair.publicJwk.alg).toBe(alg);
    expect(pair.privateJwk.alg).toBe(alg);
    expect(pair.publicJwk).not.toHaveProperty('d');
    const fromJwk = createPrivateKey({ key: pair.privateJwk as never, format: 'jwk' });
    const data = Buffer.from('round trip');
    const signature = sign(type === 'ec' ? null : 'sha256', data, fromJwk);
    expect(verify(type === 'ec' ? null : 'sha256', data, createPublicKey({ key: pair.publicJwk as never, format: 'jwk' }), signature)).toBe(true);
    if (type === 'rsa') expect(pair.privateKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
  });

  it('refuses hmac-sha256 and unknown names', () => {
    expect(() => generateKeyPair('hmac-sha256' as KeyPairAlgorithm)).toThrow(TypeError);
    expect(() => generateKeyPair('ed448' as KeyPairAlgorithm)).toThrow(TypeError);
  });
});
