import { createPublicKey, createSecretKey, KeyObject, X509Certificate } from 'node:crypto';
import { decodeBase64Secret } from '../lib/base64.js';

/** JWS algorithms bonafide verifies (RFC 7518 §3, RFC 8037 §3.1). `none` is never one of them. */
export const JWS_ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA',
] as const;
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

/** A JSON Web Key as found in a JWKS (RFC 7517). */
export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  [member: string]: unknown;
}

/** A shared secret for HMAC algorithms. `encoding` says how a string secret is to be read (default `utf8`). */
export interface SecretKeyInput {
  secret: string | Uint8Array;
  encoding?: 'utf8' | 'base64' | 'base64url';
  kid?: string;
}

/**
 * A verification key: a PEM string (SPKI public key, PKCS#1 RSA public key or X.509 certificate), a
 * JWK, a JWKS (`{ keys: [...] }`), an explicit shared secret, or a Node `KeyObject`. A PEM or JWK of
 * an asymmetric key is only ever a public key: it can never be used as an HMAC secret.
 */
export type KeyInput = string | Jwk | { keys: Jwk[] } | SecretKeyInput | KeyObject;

/** An imported key, typed by what it can verify. */
export interface VerificationKey {
  readonly kid: string | undefined;
  /** The JWK `alg` the key is restricted to, if it declared one. */
  readonly alg: string | undefined;
  readonly key: KeyObject;
  /** Which JWS algorithm family the key can verify; fixed at import, so HS/RS confusion cannot happen. */
  readonly family: KeyFamily;
}

export type KeyFamily = 'hmac' | 'rsa' | 'rsa-pss' | 'ec-p256' | 'ec-p384' | 'ec-p521' | 'ed25519';

/** The key families each algorithm accepts. */
export function algorithmAccepts(alg: JwsAlgorithm, family: KeyFamily): boolean {
  switch (alg) {
    case 'HS256':
    case 'HS384':
    case 'HS512':
      return family === 'hmac';
    case 'RS256':
    case 'RS384':
    case 'RS512':
      return family === 'rsa';
    case 'PS256':
    case 'PS384':
    case 'PS512':
      return family === 'rsa' || family === 'rsa-pss';
    case 'ES256':
      return family === 'ec-p256';
    case 'ES384':
      return family === 'ec-p384';
    case 'ES512':
      return family === 'ec-p521';
    case 'EdDSA':
      return family === 'ed25519';
  }
}

/** Why a key could not be imported; the message never contains key material. */
export class KeyImportError extends Error {
  override name = 'KeyImportError';
}

/** The smallest RSA modulus accepted anywhere in bonafide (NIST SP 800-131A: 2048 bits or more). */
export const MIN_RSA_BITS = 2048;
/** The shortest HMAC secret accepted: as many bytes as the SHA-256 output (RFC 2104 §3). */
export const MIN_HMAC_BYTES = 32;

function familyOf(key: KeyObject): KeyFamily {
  if (key.type === 'secret') {
    if ((key.symmetricKeySize ?? 0) < MIN_HMAC_BYTES) {
      throw new KeyImportError(`an HMAC secret must be at least ${MIN_HMAC_BYTES} bytes`);
    }
    return 'hmac';
  }
  if (key.type !== 'public') throw new KeyImportError('a private key was given where a public key is needed');
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      if ((details.modulusLength ?? 0) < MIN_RSA_BITS) {
        throw new KeyImportError(`RSA keys must be at least ${MIN_RSA_BITS} bits`);
      }
      return key.asymmetricKeyType;
    case 'ec':
      if (details.namedCurve === 'prime256v1') return 'ec-p256';
      if (details.namedCurve === 'secp384r1') return 'ec-p384';
      if (details.namedCurve === 'secp521r1') return 'ec-p521';
      throw new KeyImportError(`unsupported EC curve ${String(details.namedCurve)}`);
    case 'ed25519':
      return 'ed25519';
    default:
      throw new KeyImportError(`unsupported key type ${String(key.asymmetricKeyType)}`);
  }
}

function fromKeyObject(key: KeyObject, kid?: string, alg?: string): VerificationKey {
  return Object.freeze({ kid, alg, key, family: familyOf(key) });
}

function secretBytes(input: SecretKeyInput): Buffer {
  const { secret, encoding = 'utf8' } = input;
  if (typeof secret !== 'string') return Buffer.from(secret);
  if (encoding === 'utf8') return Buffer.from(secret, 'utf8');
  const bytes = decodeBase64Secret(secret);
  if (bytes === undefined) throw new KeyImportError(`the secret is not valid ${encoding}`);
  return bytes;
}

/** Imports one JWK. Private members are refused rather than silently dropped. */
export function importJwk(jwk: Jwk): VerificationKey {
  if (jwk === null || typeof jwk !== 'object' || typeof jwk.kty !== 'string') {
    throw new KeyImportError('a JWK must be an object with a string "kty"');
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new KeyImportError('the JWK is not for signatures (use)');
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) {
    throw new KeyImportError('the JWK does not allow "verify" (key_ops)');
  }
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') throw new KeyImportError('the JWK "kid" must be a string');
  if (jwk.alg !== undefined && typeof jwk.alg !== 'string') throw new KeyImportError('the JWK "alg" must be a string');
  let key: KeyObject;
  if (jwk.kty === 'oct') {
    if (typeof jwk.k !== 'string') throw new KeyImportError('an "oct" JWK needs "k"');
    key = createSecretKey(Buffer.from(jwk.k, 'base64url'));
  } else {
    if ('d' in jwk) throw new KeyImportError('the JWK holds a private key; give the public key only');
    try {
      key = createPublicKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' });
    } catch {
      throw new KeyImportError(`the ${jwk.kty} JWK could not be imported`);
    }
  }
  return fromKeyObject(key, jwk.kid, jwk.alg);
}

function importPem(pem: string): VerificationKey {
  const text = pem.trim();
  if (/^-----BEGIN CERTIFICATE-----/.test(text)) {
    try {
      return fromKeyObject(new X509Certificate(text).publicKey);
    } catch {
      throw new KeyImportError('the X.509 certificate could not be read');
    }
  }
  if (!/^-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) {
    throw new KeyImportError(
      'a string key must be a PEM public key or certificate; pass HMAC secrets as { secret } explicitly',
    );
  }
  try {
    return fromKeyObject(createPublicKey({ key: text, format: 'pem' }));
  } catch {
    throw new KeyImportError('the PEM public key could not be read');
  }
}

/** Imports every key in a KeyInput (a JWKS yields several). Throws KeyImportError. */
export function importKeys(input: KeyInput): VerificationKey[] {
  if (typeof input === 'string') return [importPem(input)];
  if (input instanceof KeyObject) return [fromKeyObject(input)];
  if (input === null || typeof input !== 'object') throw new KeyImportError('unsupported key input');
  if ('secret' in input) {
    const secret = input as SecretKeyInput;
    return [fromKeyObject(createSecretKey(secretBytes(secret)), secret.kid)];
  }
  if ('keys' in input) {
    if (!Array.isArray(input.keys)) throw new KeyImportError('a JWKS "keys" member must be an array');
    return input.keys.map((jwk) => importJwk(jwk));
  }
  return [importJwk(input as Jwk)];
}
