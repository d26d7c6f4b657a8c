import { createPublicKey, createSecretKey, KeyObject, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { ConfigError, type ConfigErrorCode } from '../errors.js';
import { decodeBase64Secret } from '../lib/base64.js';
import { checkObject, invalid, missing, oneOf, optionalString } from '../lib/validate.js';
import { MIN_HMAC_BYTES, MIN_RSA_BITS, type Jwk } from '../keys/key.js';
import { keyThumbprint } from '../keys/thumbprint.js';
import { algorithmForKey, isKnownAlgorithmName, type SignatureKey } from './algorithms.js';
import { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from './types.js';

/**
 * Verification keys for HTTP message signatures: the configured ones (trusted, checked strictly at
 * construction, errors say what to fix) and the ones in a fetched key directory (untrusted, checked
 * the same way but silently skipped, because a remote party must not be able to break start-up or
 * a request).
 */

/** One configured verification key. */
export type SignatureKeyInput =
  /** A public JWK; keyid = its kid, else its thumbprint. */
  | Jwk
  /** A JWKS. */
  | { keys: Jwk[] }
  /** PEM (SPKI, PKCS#1 public, or X.509 cert), JWK or KeyObject; keyid default = the JWK's kid, else the thumbprint. */
  | { keyid?: string; key: string | Jwk | KeyObject; algorithm?: SignatureAlgorithm }
  /** Shared secret, ≥ 32 bytes. */
  | { keyid: string; secret: string | Uint8Array; encoding?: 'utf8' | 'base64' | 'base64url'; algorithm?: 'hmac-sha256' };

/**
 * The largest RSA modulus accepted. Verification cost grows with the modulus, and a directory is
 * untrusted: a huge key would let its owner make every verification slow. No deployment needs more.
 */
const MAX_RSA_BITS = 8192;
/** Public exponents above this make verification cost grow with the exponent; real keys use 65537. */
const MAX_RSA_EXPONENT = 0xffffffffn;
/** JWK members that only a private or secret key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
/** Web Bot Auth only uses rsa-pss-sha512 (protocol-02), so a directory RSA key without `alg` means that. */
const DIRECTORY_RSA_DEFAULT: SignatureAlgorithm = 'rsa-pss-sha512';

/**
 * Why a key is unusable. Reported at `at` when set (another option, like `algorithm`), else at the
 * key's own path plus `member` (`.alg`). `text` never holds key material.
 */
interface Problem {
  readonly problem: true;
  readonly code: ConfigErrorCode;
  readonly member: string;
  readonly at?: string;
  readonly text: string;
}

/** One statement of which algorithm a key is for: a JWK `alg` (at `member`) or an option (at `at`). */
interface Declaration {
  readonly value: string | undefined;
  readonly member?: string;
  readonly at?: string;
}

/** A key that passed every check, before it is named. */
interface Checked {
  readonly problem?: undefined;
  readonly key: KeyObject;
  readonly algorithm: SignatureAlgorithm;
  readonly thumbprint: string;
  readonly notBefore?: number;
  readonly expiresAt?: number;
}

function problem(code: ConfigErrorCode, text: string, member = '', at?: string): Problem {
  return { problem: true, code, member, text, ...(at !== undefined && { at }) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Checks shared by configured and directory keys
// ---------------------------------------------------------------------------------------------

/** Only public signature keys may verify: a private key belongs with the signer, a secret in `{ secret }`. */
function keyObjectProblem(key: KeyObject): Problem | undefined {
  if (key.type === 'private') {
    return problem('ERR_CONFIG_INVALID_KEY', 'is a private key; configure the public key only (the private key stays with the signer)');
  }
  if (key.type === 'secret') {
    return problem('ERR_CONFIG_INVALID_KEY', 'is a secret key; give shared secrets as { keyid, secret } so they are never mistaken for public keys');
  }
  const type = key.asymmetricKeyType;
  if (type === 'rsa' || type === 'rsa-pss') return rsaProblem(key);
  return undefined;
}

function rsaProblem(key: KeyObject): Problem | undefined {
  const { modulusLength = 0, publicExponent = 0n } = key.asymmetricKeyDetails ?? {};
  if (modulusLength < MIN_RSA_BITS) {
    return problem('ERR_CONFIG_INVALID_KEY', `is an RSA key shorter than ${MIN_RSA_BITS} bits; use a ${MIN_RSA_BITS}-bit or longer key, or Ed25519`);
  }
  if (modulusLength > MAX_RSA_BITS) {
    return problem('ERR_CONFIG_INVALID_KEY', `is an RSA key longer than ${MAX_RSA_BITS} bits, which would make every verification slow`);
  }
  if (publicExponent < 3n || publicExponent > MAX_RSA_EXPONENT || publicExponent % 2n === 0n) {
    return problem('ERR_CONFIG_INVALID_KEY', 'is an RSA key with an unusual public exponent; use a standard key (exponent 65537)');
  }
  return undefined;
}

/**
 * The algorithm for a key, from every declaration about it (JWK `alg`, the `algorithm` option).
 * All declarations must agree with the key and with each other; plain RSA needs one (or `rsaDefault`).
 */
function resolveAlgorithm(
  key: KeyObject,
  declarations: readonly Declaration[],
  rsaDefault?: SignatureAlgorithm,
): SignatureAlgorithm | Problem {
  let chosen = algorithmForKey(key);
  for (const { value, member, at } of declarations) {
    if (value === undefined) continue;
    if (!isKnownAlgorithmName(value)) {
      return problem('ERR_CONFIG_INVALID_VALUE', `must be one of ${SIGNATURE_ALGORITHMS.join(', ')} (or the JWK names EdDSA, ES256, ES384, PS512, RS256)`, member, at);
    }
    const declared = algorithmForKey(key, value);
    if (declared === undefined || (chosen !== undefined && declared !== chosen)) {
      return problem('ERR_CONFIG_INVALID_KEY', `names an algorithm this key (${keyKind(key)}) cannot verify; fix the algorithm or the key`, member, at);
    }
    chosen = declared;
  }
  if (chosen === undefined && key.asymmetricKeyType === 'rsa') chosen = rsaDefault;
  if (chosen === undefined) {
    if (key.asymmetricKeyType === 'rsa') {
      return problem('ERR_CONFIG_INVALID_KEY', 'is an RSA key without an algorithm; say which one it verifies: algorithm "rsa-pss-sha512" (JWK alg "PS512") or "rsa-v1_5-sha256" ("RS256")');
    }
    if (key.asymmetricKeyType === 'rsa-pss') {
      return problem('ERR_CONFIG_INVALID_KEY', 'is an RSA-PSS key restricted to parameters other than rsa-pss-sha512 (SHA-512, MGF1-SHA-512, 64-byte salt)');
    }
    return problem('ERR_CONFIG_INVALID_KEY', `is of type ${keyKind(key)}, which no HTTP signature algorithm uses; use Ed25519, ECDSA P-256/P-384 or RSA`);
  }
  return chosen;
}

/** A short, non-secret description of a key's type for messages. */
function keyKind(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? key.type;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === undefined ? String(type) : `${String(type)} ${curve}`;
}

/** A JWK `nbf` / `exp`: absent, or a finite number of Unix seconds. */
function timeMember(jwk: Record<string, unknown>, name: 'nbf' | 'exp'): number | undefined | Problem {
  const value = jwk[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return problem('ERR_CONFIG_INVALID_VALUE', 'must be a number of Unix seconds', `.${name}`);
  }
  return value;
}

/** Structural checks on a JWK before import: public, for signatures, well-typed members. */
function jwkShapeProblem(jwk: Record<string, unknown>): Problem | undefined {
  if (typeof jwk.kty !== 'string') return problem('ERR_CONFIG_INVALID_VALUE', 'must be a JWK with a string "kty"');
  if (jwk.kty === 'oct') {
    return problem('ERR_CONFIG_INVALID_KEY', 'is a secret ("oct") JWK; give shared secrets as { keyid, secret } so they are never mistaken for public keys');
  }
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) {
    return problem('ERR_CONFIG_INVALID_KEY', 'is a private JWK; configure the public key only (drop "d" and the other private members)');
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') return problem('ERR_CONFIG_INVALID_KEY', 'is not for signatures ("use" is not "sig")', '.use');
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) {
    return problem('ERR_CONFIG_INVALID_KEY', 'does not allow "verify" in "key_ops"', '.key_ops');
  }
  if (jwk.alg !== undefined && typeof jwk.alg !== 'string') return problem('ERR_CONFIG_INVALID_VALUE', 'must be a string', '.alg');
  if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || jwk.kid.length === 0)) {
    return problem('ERR_CONFIG_INVALID_VALUE', 'must be a non-empty string', '.kid');
  }
  return undefined;
}

/** Everything about one JWK: shape, import, key checks, algorithm, validity times, thumbprint. */
function checkJwk(jwk: Record<string, unknown>, option: Declaration, rsaDefault?: SignatureAlgorithm): Checked | Problem {
  const shape = jwkShapeProblem(jwk);
  if (shape) return shape;
  const notBefore = timeMember(jwk, 'nbf');
  if (typeof notBefore === 'object') return notBefore;
  const expiresAt = timeMember(jwk, 'exp');
  if (typeof expiresAt === 'object') return expiresAt;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return problem('ERR_CONFIG_INVALID_KEY', `could not be imported as a public ${String(jwk.kty)} JWK`);
  }
  const checked = checkKeyObject(key, [{ value: jwk.alg as string | undefined, member: '.alg' }, option], rsaDefault);
  if (checked.problem) return checked;
  return { ...checked, ...(notBefore !== undefined && { notBefore }), ...(expiresAt !== undefined && { expiresAt }) };
}

function checkKeyObject(
  key: KeyObject,
  declarations: readonly Declaration[],
  rsaDefault?: SignatureAlgorithm,
): Checked | Problem {
  const keyProblem = keyObjectProblem(key);
  if (keyProblem) return keyProblem;
  const algorithm = resolveAlgorithm(key, declarations, rsaDefault);
  if (typeof algorithm === 'object') return algorithm;
  try {
    return { key, algorithm, thumbprint: keyThumbprint(key) };
  } catch {
    return problem('ERR_CONFIG_INVALID_KEY', `is of type ${keyKind(key)}, which has no JWK thumbprint`);
  }
}

function toSignatureKey(keyid: string, checked: Checked): SignatureKey {
  const { key, algorithm, thumbprint, notBefore, expiresAt } = checked;
  return Object.freeze({
    keyid,
    algorithm,
    key,
    thumbprint,
    ...(notBefore !== undefined && { notBefore }),
    ...(expiresAt !== undefined && { expiresAt }),
  });
}

// ---------------------------------------------------------------------------------------------
// Configured keys
// ---------------------------------------------------------------------------------------------

function raise(p: Problem, path: string): never {
  const where = p.at ?? `${path}${p.member}`;
  throw new ConfigError(p.code, where, `\`${where}\` ${p.text}.`);
}

/** A configured key: its keyid, and the option path to report a duplicate at. */
interface Named {
  readonly key: SignatureKey;
  readonly keyidPath: string;
}

function configuredJwk(jwk: Record<string, unknown>, path: string, keyid?: string, option: Declaration = { value: undefined }): SignatureKey {
  const checked = checkJwk(jwk, option);
  if (checked.problem) raise(checked, path);
  return toSignatureKey(keyid ?? (jwk.kid as string | undefined) ?? checked.thumbprint, checked);
}

const PRIVATE_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/** A PEM public key (SPKI or PKCS#1) or an X.509 certificate's key. Private PEMs are refused before parsing. */
function pemKey(pem: string, path: string): KeyObject {
  const text = pem.trim();
  if (PRIVATE_PEM.test(text)) {
    throw new ConfigError('ERR_CONFIG_INVALID_KEY', path, `\`${path}\` is a private key; configure the public key only (the private key stays with the signer).`);
  }
  try {
    if (text.startsWith('-----BEGIN CERTIFICATE-----')) return new X509Certificate(text).publicKey;
    if (/^-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) return createPublicKey({ key: text, format: 'pem' });
  } catch {
    throw new ConfigError('ERR_CONFIG_INVALID_KEY', path, `\`${path}\` could not be read as a PEM public key or certificate.`);
  }
  throw new ConfigError(
    'ERR_CONFIG_INVALID_KEY',
    path,
    `\`${path}\` must be a PEM public key (BEGIN PUBLIC KEY / BEGIN RSA PUBLIC KEY) or certificate; give shared secrets as { keyid, secret }.`,
  );
}

function algorithmOption(value: unknown, path: string): SignatureAlgorithm | undefined {
  if (value === undefined) return undefined;
  return oneOf(value, path, SIGNATURE_ALGORITHMS, SIGNATURE_ALGORITHMS[0]);
}

/** `{ keyid?, key, algorithm? }`. */
function keyForm(input: Record<string, unknown>, path: string): SignatureKey {
  checkObject(input, path, ['keyid', 'key', 'algorithm']);
  const keyid = optionalString(input.keyid, `${path}.keyid`);
  const algorithm = algorithmOption(input.algorithm, `${path}.algorithm`);
  const option: Declaration = { value: algorithm, at: `${path}.algorithm` };
  const value = input.key;
  const keyPath = `${path}.key`;
  if (isRecord(value) && !(value instanceof KeyObject)) return configuredJwk(value, keyPath, keyid, option);
  let key: KeyObject;
  if (typeof value === 'string') key = pemKey(value, keyPath);
  else if (value instanceof KeyObject) key = value;
  else throw invalid(keyPath, 'a PEM public key, a JWK or a KeyObject', value);
  const checked = checkKeyObject(key, [option]);
  if (checked.problem) raise(checked, keyPath);
  return toSignatureKey(keyid ?? checked.thumbprint, checked);
}

function secretBytes(secret: unknown, encoding: 'utf8' | 'base64' | 'base64url', path: string): Buffer {
  if (secret instanceof Uint8Array) return Buffer.from(secret);
  if (typeof secret !== 'string') throw invalid(path, 'a string or a Uint8Array', secret);
  if (encoding === 'utf8') return Buffer.from(secret, 'utf8');
  const bytes = decodeBase64Secret(secret);
  if (bytes === undefined) {
    throw new ConfigError('ERR_CONFIG_INVALID_VALUE', path, `\`${path}\` is not valid ${encoding}; fix the value or its \`encoding\`.`);
  }
  return bytes;
}

/** `{ keyid, secret, encoding?, algorithm? }`: the only way to configure an HMAC key (also for signing). */
export function secretForm(input: Record<string, unknown>, path: string): SignatureKey {
  checkObject(input, path, ['keyid', 'secret', 'encoding', 'algorithm']);
  if (input.keyid === undefined) throw missing(`${path}.keyid`, 'a shared secret is only ever looked up by its keyid');
  const keyid = optionalString(input.keyid, `${path}.keyid`) as string;
  oneOf(input.algorithm, `${path}.algorithm`, ['hmac-sha256'] as const, 'hmac-sha256');
  const encoding = oneOf(input.encoding, `${path}.encoding`, ['utf8', 'base64', 'base64url'] as const, 'utf8');
  const bytes = secretBytes(input.secret, encoding, `${path}.secret`);
  if (bytes.length < MIN_HMAC_BYTES) {
    throw new ConfigError(
      'ERR_CONFIG_WEAK_SECRET',
      `${path}.secret`,
      `\`${path}.secret\` must be at least ${MIN_HMAC_BYTES} random bytes; generate one with \`openssl rand -base64 32\` and set \`encoding: 'base64'\`.`,
    );
  }
  const key = createSecretKey(bytes);
  bytes.fill(0);
  return Object.freeze({ keyid, algorithm: 'hmac-sha256' as const, key });
}

function importOne(input: unknown, path: string, out: Named[]): void {
  if (!isRecord(input) || input instanceof KeyObject) {
    throw invalid(path, 'a JWK, a JWKS { keys }, { key } (PEM, JWK or KeyObject) or { keyid, secret }', input);
  }
  if ('secret' in input) out.push({ key: secretForm(input, path), keyidPath: `${path}.keyid` });
  else if ('key' in input) out.push({ key: keyForm(input, path), keyidPath: input.keyid === undefined ? path : `${path}.keyid` });
  else if ('keys' in input) {
    if (!Array.isArray(input.keys)) throw invalid(`${path}.keys`, 'an array of JWKs', input.keys);
    input.keys.forEach((jwk: unknown, i) => {
      const at = `${path}.keys[${i}]`;
      if (!isRecord(jwk)) throw invalid(at, 'a JWK object', jwk);
      out.push({ key: configuredJwk(jwk, at), keyidPath: jwk.kid === undefined ? at : `${at}.kid` });
    });
  } else if ('kty' in input) {
    out.push({ key: configuredJwk(input, path), keyidPath: input.kid === undefined ? path : `${path}.kid` });
  } else {
    throw invalid(path, 'a JWK, a JWKS { keys }, { key } (PEM, JWK or KeyObject) or { keyid, secret }', input);
  }
}

/**
 * Imports configured keys at construction. Throws ConfigError (code, `path`, a sentence saying
 * what to fix, no key material) on: a private key given where a public one is expected, RSA < 2048
 * bits, a weak secret (< 32 bytes: ERR_CONFIG_WEAK_SECRET), an unknown algorithm, an algorithm
 * that disagrees with the key, RSA without an algorithm, a duplicate keyid. An HMAC secret can
 * only come from the explicit `secret` form, never from a PEM or JWK (kty oct JWKs are refused),
 * so a public key can never be turned into an HMAC secret. Asymmetric keys get `thumbprint`.
 */
export function importSignatureKeys(input: SignatureKeyInput | readonly SignatureKeyInput[], path: string): SignatureKey[] {
  const named: Named[] = [];
  if (Array.isArray(input)) input.forEach((item: unknown, i) => importOne(item, `${path}[${i}]`, named));
  else importOne(input, path, named);
  const seen = new Set<string>();
  for (const { key, keyidPath } of named) {
    if (seen.has(key.keyid)) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID_VALUE',
        keyidPath,
        `\`${keyidPath}\`: keyid "${key.keyid}" is used by another key; every key needs its own keyid (a key configured twice also collides).`,
      );
    }
    seen.add(key.keyid);
  }
  return named.map(({ key }) => key);
}

// ---------------------------------------------------------------------------------------------
// Directory keys (untrusted)
// ---------------------------------------------------------------------------------------------

/**
 * Imports the keys of a fetched key directory (a JWKS object already JSON-parsed; untrusted).
 * Never throws. Each usable public key gets keyid = its RECOMPUTED thumbprint (never trust `kid`:
 * a directory could claim another agent's keyid). Skipped: kty oct, private members, unknown
 * kty/crv, RSA outside 2048–8192 bits, an `alg` that is unknown or disagrees with the key, a
 * non-numeric `nbf`/`exp`, a key listed twice. An RSA JWK without `alg` is taken as
 * rsa-pss-sha512, the only RSA algorithm Web Bot Auth uses. Only the first `maxKeys` entries are
 * considered; the rest count as skipped.
 */
export function importDirectoryKeys(jwks: unknown, maxKeys: number): { keys: SignatureKey[]; skipped: number } {
  const keys: SignatureKey[] = [];
  let entries: unknown[];
  try {
    if (!isRecord(jwks) || !Array.isArray(jwks.keys)) return { keys, skipped: 0 };
    entries = jwks.keys;
  } catch {
    return { keys, skipped: 0 };
  }
  const limit = Number.isFinite(maxKeys) ? Math.max(0, Math.floor(maxKeys)) : maxKeys > 0 ? entries.length : 0;
  const considered = entries.slice(0, limit);
  const seen = new Set<string>();
  for (const entry of considered) {
    const key = directoryKey(entry);
    if (key === undefined || seen.has(key.keyid)) continue;
    seen.add(key.keyid);
    keys.push(key);
  }
  return { keys, skipped: entries.length - keys.length };
}

function directoryKey(entry: unknown): SignatureKey | undefined {
  try {
    if (!isRecord(entry)) return undefined;
    const checked = checkJwk(entry, { value: undefined }, DIRECTORY_RSA_DEFAULT);
    return checked.problem ? undefined : toSignatureKey(checked.thumbprint, checked);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// RFC 9421 Appendix B test keys
// ---------------------------------------------------------------------------------------------

/**
 * Thumbprints of the RFC 9421 Appendix B example keys (B.1.1 RSA, B.1.2 RSA-PSS, B.1.3 P-256,
 * B.1.4 Ed25519). Their private halves are published, so anyone can sign with them: Web Bot Auth
 * says verifiers SHOULD reject them, and they are refused unless explicitly allowed.
 */
export const RFC9421_TEST_KEY_THUMBPRINTS: ReadonlySet<string> = new Set([
  'BHj8s0GPnMEQtkaULIM-PLgEhLBbuGUQ1vMxmBWZzEo', // B.1.1 test-key-rsa
  'oD0HwocPBSfpNy5W3bpJeyFGY_IQ_YpqxSjQ3Yd-CLA', // B.1.2 test-key-rsa-pss
  'ydQXMtvbsOsZyFir-Y7A8t7fKEM1gbKPvyFkdpu4fvI', // B.1.3 test-key-ecc-p256
  'poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U', // B.1.4 test-key-ed25519
]);

/** RFC 9421 B.1.5 `test-shared-secret` (published; compared, never used). */
const RFC9421_TEST_SECRET = Buffer.from(
  'uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==',
  'base64',
);

/** True when the key is one of those (by thumbprint, or for HMAC by comparing the secret with the B.1.5 test secret). */
export function isRfc9421TestKey(key: SignatureKey): boolean {
  try {
    if (key.key.type === 'secret') {
      const secret = key.key.export();
      const same = secret.length === RFC9421_TEST_SECRET.length && timingSafeEqual(secret, RFC9421_TEST_SECRET);
      secret.fill(0);
      return same;
    }
    return RFC9421_TEST_KEY_THUMBPRINTS.has(key.thumbprint ?? keyThumbprint(key.key));
  } catch {
    return false;
  }
}
