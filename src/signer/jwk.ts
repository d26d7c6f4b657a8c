import type { KeyObject } from 'node:crypto';
import type { Jwk } from '../keys/key.js';
import { publicJwkOf } from '../keys/thumbprint.js';
import type { SignatureAlgorithm } from '../signatures/types.js';

/**
 * JWKs as a signer publishes them: public members only (or private ones, for the key file a signer
 * keeps), in one fixed member order so a key directory is byte-for-byte reproducible. The order is
 * the one the Web Bot Auth test vectors use: `kty`, `crv`, `kid`, the key members, `alg`, `use`.
 */

/** Public key members, in output order (RFC 7518 §6, RFC 8037 §2). */
const PUBLIC_MEMBERS = ['x', 'y', 'n', 'e'] as const;
/** Private key members, in output order (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const;

/**
 * The JOSE `alg` a published key should carry, or undefined when the key type already says it.
 * RSA keys verify two HTTP signature algorithms, so they are labelled (`PS512` is also what
 * web-bot-auth's `verifierFromJWK` requires); Ed25519 and ECDSA keys are not, as in the vectors.
 */
export function joseAlgFor(algorithm: SignatureAlgorithm): string | undefined {
  if (algorithm === 'rsa-pss-sha512') return 'PS512';
  if (algorithm === 'rsa-v1_5-sha256') return 'RS256';
  return undefined;
}

/** Extra members of a published JWK. */
export interface JwkLabels {
  readonly kid?: string;
  readonly alg?: string;
  readonly use?: string;
}

/**
 * A JWK rebuilt in the fixed member order, keeping only the key members (public, and private too
 * when `includePrivate`), plus `labels`. Unknown members of `jwk` are dropped.
 */
export function orderedJwk(jwk: Jwk, labels: JwkLabels, includePrivate = false): Jwk {
  const out: Jwk = { kty: jwk.kty };
  if (typeof jwk.crv === 'string') out.crv = jwk.crv;
  if (labels.kid !== undefined) out.kid = labels.kid;
  for (const name of PUBLIC_MEMBERS) if (typeof jwk[name] === 'string') out[name] = jwk[name];
  if (includePrivate) for (const name of PRIVATE_MEMBERS) if (typeof jwk[name] === 'string') out[name] = jwk[name];
  if (labels.alg !== undefined) out.alg = labels.alg;
  if (labels.use !== undefined) out.use = labels.use;
  return out;
}

/**
 * The public JWK members of a key (private keys give their public half), unordered. Throws TypeError
 * for a secret key or a key type JWK cannot express; the message holds no key material.
 */
export function publicJwkMembers(key: KeyObject): Jwk {
  try {
    return publicJwkOf(key);
  } catch (error) {
    throw new TypeError(error instanceof Error ? error.message : 'the key has no public JWK');
  }
}
