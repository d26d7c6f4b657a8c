import { constants, createHmac, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from './types.js';

/**
 * RFC 9421 §3.3 signature algorithms over a signature base. The algorithm always comes from the
 * key (§3.2 step 6 and §7.3.3): the `alg` a request claims can only be compared with it, never
 * choose it, which rules out the classic "verify an HMAC with the public key" confusion.
 */

/** A verification key with the one algorithm it may be used with. */
export interface SignatureKey {
  /** The keyid the key is found under. */
  readonly keyid: string;
  /** The one algorithm this key verifies; fixed at import (RFC 9421 §3.2: the algorithm comes from the key). */
  readonly algorithm: SignatureAlgorithm;
  /** Public key, or secret key for hmac-sha256. */
  readonly key: KeyObject;
  /** RFC 7638 thumbprint (asymmetric keys only). */
  readonly thumbprint?: string;
  /** JWK nbf / exp in Unix seconds, when the key carried them. */
  readonly notBefore?: number;
  readonly expiresAt?: number;
}

const PSS_PADDING = constants.RSA_PKCS1_PSS_PADDING;
/** RFC 9421 §3.3.1: the salt is 64 bytes, the SHA-512 output length. Signing always uses it. */
const PSS_SALT_LENGTH = 64;
/**
 * Verification recovers the salt length from the signature (OpenSSL's auto mode) instead of insisting
 * on 64: a widely used Node signer (`http-message-signatures`) signs with the maximum salt length, and
 * PSS is no weaker for a longer salt. The hash and MGF1 hash stay fixed at SHA-512.
 */
const PSS_VERIFY_SALT_LENGTH = constants.RSA_PSS_SALTLEN_AUTO;
/** Raw r‖s sizes (IEEE P1363): RFC 9421 §3.3.4/§3.3.5 sign that, never DER. */
const P256_SIGNATURE_BYTES = 64;
const P384_SIGNATURE_BYTES = 96;
const ED25519_SIGNATURE_BYTES = 64;
const HMAC_SHA256_BYTES = 32;

/**
 * Verifies `signature` over the UTF-8 (ASCII) `base` with the key's algorithm (§3.3). ECDSA
 * signatures are raw r‖s (ieee-p1363); rsa-pss-sha512 uses MGF1-SHA-512 (any salt length verifies); hmac
 * compared in constant time. Wrong-length signatures → false. Never throws.
 *
 * The key type is checked against the algorithm as well, so a hand-built SignatureKey whose key
 * does not fit its algorithm fails closed rather than letting OpenSSL pick a default digest.
 * Cheap checks (length, key type) run before the base is encoded, so junk signatures cost nothing.
 * The `{ key, dsaEncoding }` / `{ key, padding, saltLength }` literals are the only extra objects:
 * they must hold the key, and allocating two fields is cheaper than a per-key cache lookup.
 */
export function verifyWith(key: SignatureKey, base: string, signature: Uint8Array): boolean {
  const keyObject = key.key;
  try {
    switch (key.algorithm) {
      case 'ed25519':
        return (
          signature.length === ED25519_SIGNATURE_BYTES &&
          keyObject.asymmetricKeyType === 'ed25519' &&
          verify(null, baseBytes(base), keyObject, signature)
        );
      case 'ecdsa-p256-sha256':
        return (
          signature.length === P256_SIGNATURE_BYTES &&
          keyObject.asymmetricKeyType === 'ec' &&
          verify('sha256', baseBytes(base), { key: keyObject, dsaEncoding: 'ieee-p1363' }, signature)
        );
      case 'ecdsa-p384-sha384':
        return (
          signature.length === P384_SIGNATURE_BYTES &&
          keyObject.asymmetricKeyType === 'ec' &&
          verify('sha384', baseBytes(base), { key: keyObject, dsaEncoding: 'ieee-p1363' }, signature)
        );
      case 'rsa-pss-sha512':
        return (
          isRsa(keyObject) &&
          verify('sha512', baseBytes(base), {
            key: keyObject,
            padding: PSS_PADDING,
            // An RSA-PSS typed key carries its own salt restrictions, which auto mode would refuse.
            saltLength: keyObject.asymmetricKeyType === 'rsa-pss' ? PSS_SALT_LENGTH : PSS_VERIFY_SALT_LENGTH,
          }, signature)
        );
      case 'rsa-v1_5-sha256':
        return keyObject.asymmetricKeyType === 'rsa' && verify('sha256', baseBytes(base), keyObject, signature);
      case 'hmac-sha256':
        return verifyHmac(keyObject, base, signature);
      default:
        return false;
    }
  } catch {
    // A malformed signature or a key OpenSSL refuses is simply "not verified" at request time.
    return false;
  }
}

/**
 * The bytes a base is signed as. UTF-8 rather than latin1 because it is injective: were a non-ASCII
 * character ever to reach a base, latin1 would truncate it and two different bases could share
 * bytes. For the ASCII bases RFC 9421 produces, both give the same bytes.
 */
function baseBytes(base: string): Buffer {
  return Buffer.from(base, 'utf8');
}

function isRsa(key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  return type === 'rsa' || type === 'rsa-pss';
}

/** Recomputes the MAC and compares in constant time; only a secret key can be an HMAC key. */
function verifyHmac(secret: KeyObject, base: string, signature: Uint8Array): boolean {
  if (secret.type !== 'secret' || signature.length !== HMAC_SHA256_BYTES) return false;
  return timingSafeEqual(createHmac('sha256', secret).update(baseBytes(base)).digest(), signature);
}

/**
 * Signs a base (signer side: tests, examples, signed directory responses). Throws TypeError if the
 * private key does not fit the algorithm, so a misconfigured signer fails loudly before sending.
 */
export function signWith(privateKey: KeyObject, algorithm: SignatureAlgorithm, base: string): Uint8Array {
  const data = baseBytes(base);
  if (algorithm === 'hmac-sha256') {
    if (privateKey.type !== 'secret') throw new TypeError('hmac-sha256 signs with a secret key');
    return createHmac('sha256', privateKey).update(data).digest();
  }
  if (privateKey.type !== 'private') throw new TypeError(`${String(algorithm)} signs with a private key`);
  if (algorithmForKey(privateKey, algorithm) !== algorithm) {
    throw new TypeError(`the private key does not fit ${String(algorithm)}`);
  }
  switch (algorithm) {
    case 'ed25519':
      return sign(null, data, privateKey);
    case 'ecdsa-p256-sha256':
      return sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'ecdsa-p384-sha384':
      return sign('sha384', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'rsa-pss-sha512':
      return sign('sha512', data, { key: privateKey, padding: PSS_PADDING, saltLength: PSS_SALT_LENGTH });
    case 'rsa-v1_5-sha256':
      return sign('sha256', data, privateKey);
  }
  throw new TypeError(`unknown signature algorithm ${String(algorithm)}`);
}

/**
 * Names a `declared` algorithm may have: the HTTP Signature Algorithms registry names (RFC 9421
 * §6.2) and the JOSE `alg` values (RFC 7518, RFC 8037, RFC 9864 `Ed25519`) that mean the same thing,
 * because a JWK's `alg` is written in JOSE terms.
 */
const DECLARED_NAMES: ReadonlyMap<string, SignatureAlgorithm> = new Map<string, SignatureAlgorithm>([
  ...SIGNATURE_ALGORITHMS.map((name) => [name, name] as const),
  ['EdDSA', 'ed25519'],
  ['Ed25519', 'ed25519'],
  ['ES256', 'ecdsa-p256-sha256'],
  ['ES384', 'ecdsa-p384-sha384'],
  ['PS512', 'rsa-pss-sha512'],
  ['RS256', 'rsa-v1_5-sha256'],
  ['HS256', 'hmac-sha256'],
]);

/** True when `name` is a name `algorithmForKey` understands (whether or not it fits a given key). */
export function isKnownAlgorithmName(name: string): boolean {
  return DECLARED_NAMES.has(name);
}

/** A plain RSA key verifies either RSA algorithm: only a declaration can choose between them. */
const EITHER_RSA = 'either-rsa';

function isSha512(name: string | undefined): boolean {
  return name === undefined || name.toLowerCase().replace('-', '') === 'sha512';
}

/**
 * An RSA-PSS key may restrict its hash, MGF1 hash and minimum salt length; it fits rsa-pss-sha512
 * only when those allow SHA-512, MGF1-SHA-512 and a 64-byte salt.
 */
function rsaPssFits(key: KeyObject): boolean {
  const details = key.asymmetricKeyDetails ?? {};
  return (
    isSha512(details.hashAlgorithm) &&
    isSha512(details.mgf1HashAlgorithm) &&
    (details.saltLength === undefined || details.saltLength <= PSS_SALT_LENGTH)
  );
}

/** What the key itself says, before any declaration. */
function naturalAlgorithm(key: KeyObject): SignatureAlgorithm | typeof EITHER_RSA | undefined {
  if (key.type === 'secret') return 'hmac-sha256';
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'ed25519';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return 'ecdsa-p256-sha256';
      if (curve === 'secp384r1') return 'ecdsa-p384-sha384';
      return undefined;
    }
    case 'rsa-pss':
      return rsaPssFits(key) ? 'rsa-pss-sha512' : undefined;
    case 'rsa':
      return EITHER_RSA;
    default:
      return undefined;
  }
}

/**
 * The algorithm a key verifies: Ed25519 → ed25519; EC P-256/P-384 →
 * ecdsa-p256-sha256/ecdsa-p384-sha384; RSA-PSS key type → rsa-pss-sha512; secret → hmac-sha256;
 * plain RSA needs `declared` (an HTTP sig alg name or the JWK alg PS512 / RS256), else undefined.
 * A `declared` value that disagrees with the key → undefined. Works on private keys too (signers).
 */
export function algorithmForKey(key: KeyObject, declared?: string): SignatureAlgorithm | undefined {
  const natural = naturalAlgorithm(key);
  if (declared === undefined) return natural === EITHER_RSA ? undefined : natural;
  const named = DECLARED_NAMES.get(declared);
  if (named === undefined || natural === undefined) return undefined;
  if (natural === EITHER_RSA) return named === 'rsa-pss-sha512' || named === 'rsa-v1_5-sha256' ? named : undefined;
  return named === natural ? named : undefined;
}
