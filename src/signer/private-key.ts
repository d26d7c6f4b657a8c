import { createPrivateKey, KeyObject, type JsonWebKey } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { MIN_RSA_BITS, type Jwk } from '../keys/key.js';
import { keyThumbprint } from '../keys/thumbprint.js';
import { algorithmForKey, isKnownAlgorithmName } from '../signatures/algorithms.js';
import { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from '../signatures/types.js';
import { publicJwkMembers } from './jwk.js';

/**
 * Private signing keys: a KeyObject, a private JWK (object or JSON text) or a PEM (PKCS#8, SEC1 or
 * PKCS#1). Checked once, at construction, with errors that say what to fix and never quote the key.
 */

/** A private key as a signer option takes it. */
export type PrivateKeyInput = KeyObject | Jwk | string;

/** A private key that passed every check, with what the signer needs to know about it. */
export interface PrivateSigningKey {
  readonly key: KeyObject;
  /** The one algorithm it signs with (RFC 9421 §3.3). */
  readonly algorithm: SignatureAlgorithm;
  /** RFC 7638 thumbprint of the public key (RFC 8037 App. A.3 for Ed25519). */
  readonly thumbprint: string;
  /** The public key members (`kty`, `crv`, `x`, `y`, `n`, `e`), unordered and unlabelled. */
  readonly publicMembers: Jwk;
}

/** Where the algorithm may be stated besides the key: an option, with its path for errors. */
export interface AlgorithmChoice {
  readonly value: unknown;
  readonly path: string;
}

const PRIVATE_PEM = /^-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/;
const PUBLIC_PEM = /^-----BEGIN (?:RSA )?PUBLIC KEY-----|^-----BEGIN CERTIFICATE-----/;

function keyError(path: string, text: string): ConfigError {
  return new ConfigError('ERR_CONFIG_INVALID_KEY', path, `\`${path}\` ${text}.`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The key as a private KeyObject, and the JWK `alg` it declared, if any. */
function privateKeyObject(input: unknown, path: string): { key: KeyObject; jwkAlg: unknown } {
  if (input instanceof KeyObject) {
    if (input.type === 'public') throw keyError(path, 'is a public key; the signer needs the private key (publish the public key instead)');
    if (input.type === 'secret') throw keyError(path, 'is a secret key; the signer signs with asymmetric keys (Ed25519, ECDSA or RSA) only');
    return { key: input, jwkAlg: undefined };
  }
  if (typeof input === 'string') {
    const text = input.trim();
    if (text.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new ConfigError('ERR_CONFIG_INVALID_VALUE', path, `\`${path}\` looks like JSON but does not parse; give a private JWK or a PEM private key.`);
      }
      return privateKeyObject(parsed, path);
    }
    if (text.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
      throw keyError(path, 'is an encrypted PEM; decrypt it first, or pass `createPrivateKey({ key, passphrase })`');
    }
    if (PUBLIC_PEM.test(text)) throw keyError(path, 'is a public key; the signer needs the private key (publish the public key instead)');
    if (!PRIVATE_PEM.test(text)) throw keyError(path, 'must be a PEM private key (BEGIN PRIVATE KEY, BEGIN EC PRIVATE KEY or BEGIN RSA PRIVATE KEY) or a private JWK');
    try {
      return { key: createPrivateKey({ key: text, format: 'pem' }), jwkAlg: undefined };
    } catch {
      throw keyError(path, 'could not be read as a PEM private key');
    }
  }
  if (!isRecord(input)) throw new ConfigError('ERR_CONFIG_INVALID_VALUE', path, `\`${path}\` must be a private key: a KeyObject, a private JWK or a PEM string.`);
  if (typeof input.kty !== 'string') throw new ConfigError('ERR_CONFIG_INVALID_VALUE', path, `\`${path}\` must be a JWK with a string "kty".`);
  if (input.kty === 'oct') throw keyError(path, 'is a secret ("oct") JWK; the signer signs with asymmetric keys (Ed25519, ECDSA or RSA) only');
  if (typeof input.d !== 'string') throw keyError(path, 'is a public JWK (no "d"); the signer needs the private key (publish the public key instead)');
  try {
    return { key: createPrivateKey({ key: input as JsonWebKey, format: 'jwk' }), jwkAlg: input.alg };
  } catch {
    throw keyError(path, `could not be imported as a private ${input.kty} JWK`);
  }
}

function keyKind(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === undefined ? String(key.asymmetricKeyType) : `${String(key.asymmetricKeyType)} ${curve}`;
}

/**
 * The algorithm the key signs with: every statement about it (the JWK `alg`, the option) must name
 * an algorithm that fits the key and agree with the others; otherwise the key decides
 * (`algorithmForKey`), and a plain RSA key with no statement takes `rsaDefault` or is refused.
 */
function chooseAlgorithm(key: KeyObject, statements: readonly AlgorithmChoice[], path: string, rsaDefault?: SignatureAlgorithm): SignatureAlgorithm {
  let chosen: SignatureAlgorithm | undefined;
  for (const { value, path: at } of statements) {
    if (value === undefined) continue;
    if (typeof value !== 'string' || !isKnownAlgorithmName(value)) {
      throw new ConfigError('ERR_CONFIG_INVALID_VALUE', at, `\`${at}\` must be one of ${SIGNATURE_ALGORITHMS.join(', ')} (or the JWK names EdDSA, ES256, ES384, PS512, RS256).`);
    }
    const fits = algorithmForKey(key, value);
    if (fits === undefined || (chosen !== undefined && fits !== chosen)) {
      throw keyError(at, `names an algorithm this key (${keyKind(key)}) cannot sign with; fix the algorithm or the key`);
    }
    chosen = fits;
  }
  chosen ??= algorithmForKey(key);
  if (chosen === undefined && key.asymmetricKeyType === 'rsa') chosen = rsaDefault;
  if (chosen === undefined) {
    if (key.asymmetricKeyType === 'rsa') {
      throw keyError(path, 'is an RSA key without an algorithm; set `algorithm` to "rsa-pss-sha512" (Web Bot Auth) or "rsa-v1_5-sha256", or give the JWK an "alg"');
    }
    throw keyError(path, `is a ${keyKind(key)} key, which no HTTP signature algorithm uses; use Ed25519, ECDSA P-256/P-384 or RSA`);
  }
  return chosen;
}

/**
 * Imports and checks one private signing key. Throws ConfigError (`ERR_CONFIG_INVALID_KEY` for a
 * public, secret, encrypted, unreadable, too short (< 2048-bit RSA) or unsupported key; for an
 * algorithm that does not fit it) at `path`, or at the option's path for an algorithm problem.
 */
export function importPrivateKey(input: unknown, path: string, algorithm?: AlgorithmChoice, rsaDefault?: SignatureAlgorithm): PrivateSigningKey {
  const { key, jwkAlg } = privateKeyObject(input, path);
  const type = key.asymmetricKeyType;
  if ((type === 'rsa' || type === 'rsa-pss') && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw keyError(path, `is an RSA key shorter than ${MIN_RSA_BITS} bits; use a ${MIN_RSA_BITS}-bit or longer key, or Ed25519`);
  }
  const statements: AlgorithmChoice[] = [{ value: jwkAlg, path: `${path}.alg` }];
  if (algorithm !== undefined) statements.push(algorithm);
  const chosen = chooseAlgorithm(key, statements, path, rsaDefault);
  if (chosen === 'hmac-sha256') throw keyError(path, 'is a secret key; the signer signs with asymmetric keys only');
  let thumbprint: string;
  let publicMembers: Jwk;
  try {
    thumbprint = keyThumbprint(key);
    publicMembers = publicJwkMembers(key);
  } catch {
    throw keyError(path, `is a ${keyKind(key)} key, which has no JWK thumbprint`);
  }
  return { key, algorithm: chosen, thumbprint, publicMembers };
}
