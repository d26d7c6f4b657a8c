import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Jwk } from '../keys/key.js';
import { keyThumbprint } from '../keys/thumbprint.js';
import { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from '../signatures/types.js';
import { joseAlgFor, orderedJwk } from './jwk.js';

/** Algorithms `generateKeyPair` makes keys for: every HTTP signature algorithm but the shared-secret one. */
export type KeyPairAlgorithm = Exclude<SignatureAlgorithm, 'hmac-sha256'>;

/** A new signing key pair and the names a signer and a key directory need for it. */
export interface GeneratedKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The private key as a JWK (`kid` = keyid, `use: "sig"`, `alg` for RSA): keep it secret; `createSigner` takes it as `key`. */
  readonly privateJwk: Jwk;
  /** The public key as a JWK, labelled like `privateJwk`: what a key directory lists and a verifier configures. */
  readonly publicJwk: Jwk;
  /** The RFC 7638 JWK thumbprint of the public key: the `keyid` Web Bot Auth requires. */
  readonly keyid: string;
}

/** RSA modulus for new keys: above the 2048-bit floor, for keys meant to live for years (NIST SP 800-57). */
const RSA_BITS = 3072;

function generate(algorithm: KeyPairAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (algorithm) {
    case 'ed25519':
      return generateKeyPairSync('ed25519');
    case 'ecdsa-p256-sha256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    case 'ecdsa-p384-sha384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    case 'rsa-pss-sha512':
    case 'rsa-v1_5-sha256':
      // A plain RSA key labelled with its JWK `alg`: RSA-PSS-typed keys have no JWK form in Node.
      return generateKeyPairSync('rsa', { modulusLength: RSA_BITS, publicExponent: 0x10001 });
  }
}

/**
 * Generates a key pair for signing requests (RFC 9421 §3.3). Default `ed25519`, which Web Bot Auth
 * verifiers all support. RSA keys are 3072-bit and carry `alg` (`PS512` / `RS256`) in their JWKs,
 * since an RSA key alone does not say which algorithm it is for. Throws TypeError for `hmac-sha256`
 * or an unknown name.
 */
export function generateKeyPair(algorithm: KeyPairAlgorithm = 'ed25519'): GeneratedKeyPair {
  if (!(SIGNATURE_ALGORITHMS as readonly string[]).includes(algorithm) || (algorithm as string) === 'hmac-sha256') {
    throw new TypeError(`generateKeyPair makes ${SIGNATURE_ALGORITHMS.filter((a) => a !== 'hmac-sha256').join(', ')} keys`);
  }
  const { privateKey, publicKey } = generate(algorithm);
  const keyid = keyThumbprint(publicKey);
  const labels = { kid: keyid, alg: joseAlgFor(algorithm), use: 'sig' };
  return Object.freeze({
    privateKey,
    publicKey,
    privateJwk: orderedJwk(privateKey.export({ format: 'jwk' }) as Jwk, labels, true),
    publicJwk: orderedJwk(publicKey.export({ format: 'jwk' }) as Jwk, labels),
    keyid,
  });
}
