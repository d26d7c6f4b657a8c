import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { isBase64Url } from '../lib/base64.js';
import { KeyImportError, type Jwk } from './key.js';

/**
 * JWK thumbprints (RFC 7638, and RFC 8037 Appendix A.3 for OKP keys). Web Bot Auth names keys by
 * their thumbprint, so a verifier must compute it itself rather than trust a `kid`.
 */

/**
 * The required public members of each key type, already in lexicographic order (RFC 7638 §3.2).
 * Secret (`oct`) keys are left out on purpose: their thumbprint is a hash of the secret, and
 * bonafide never names a shared secret that way.
 */
function requiredMembers(kty: string): readonly string[] | undefined {
  switch (kty) {
    case 'EC':
      return ['crv', 'kty', 'x', 'y'];
    case 'OKP':
      return ['crv', 'kty', 'x'];
    case 'RSA':
      return ['e', 'kty', 'n'];
    default:
      return undefined;
  }
}

/**
 * RFC 7638 JWK SHA-256 thumbprint, base64url (RFC 8037 App. A.3 for OKP). Public members only,
 * lexicographic order, no whitespace. Throws KeyImportError for unsupported/incomplete JWKs.
 */
export function jwkThumbprint(jwk: Jwk): string {
  if (jwk === null || typeof jwk !== 'object' || typeof jwk.kty !== 'string') {
    throw new KeyImportError('a JWK must be an object with a string "kty"');
  }
  if (jwk.kty === 'oct') throw new KeyImportError('secret ("oct") keys have no thumbprint in bonafide');
  const members = requiredMembers(jwk.kty);
  if (members === undefined) throw new KeyImportError('JWK thumbprints are computed for RSA, EC and OKP keys only');
  // Built member by member, in order, so JSON.stringify emits exactly the RFC 7638 form.
  const canonical: Record<string, string> = {};
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string' || value.length === 0) {
      throw new KeyImportError(`the ${jwk.kty} JWK lacks its "${name}" member`);
    }
    if (name !== 'kty' && name !== 'crv' && !isBase64Url(value)) {
      throw new KeyImportError(`the JWK "${name}" member is not base64url`);
    }
    canonical[name] = value;
  }
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}

/** One DER element: its tag and where its contents start and end. */
interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

/** Reads the DER element at `offset` (definite lengths only, which is all DER allows). */
function readTlv(der: Buffer, offset: number, tag: number): Tlv {
  const lengthByte = der[offset + 1];
  if (der[offset] !== tag || lengthByte === undefined) throw new KeyImportError('unexpected RSA-PSS key encoding');
  let start = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4 || start + count > der.length) throw new KeyImportError('unexpected RSA-PSS key encoding');
    length = der.readUIntBE(start, count);
    start += count;
  }
  if (start + length > der.length) throw new KeyImportError('unexpected RSA-PSS key encoding');
  return { tag, start, end: start + length };
}

/** The unsigned big-endian bytes of a DER INTEGER, without the sign-padding zero, as base64url. */
function integerBase64Url(der: Buffer, integer: Tlv): string {
  let start = integer.start;
  while (start < integer.end - 1 && der[start] === 0) start++;
  return der.subarray(start, integer.end).toString('base64url');
}

/**
 * `n` and `e` of an RSA-PSS public key. Node cannot export RSA-PSS keys as JWK, so they are read
 * from its own SPKI encoding: SEQUENCE { AlgorithmIdentifier, BIT STRING { SEQUENCE { n, e } } }.
 */
function rsaPssJwk(key: KeyObject): Jwk {
  const der = key.export({ format: 'der', type: 'spki' });
  const spki = readTlv(der, 0, 0x30);
  const algorithm = readTlv(der, spki.start, 0x30);
  const bits = readTlv(der, algorithm.end, 0x03);
  if (der[bits.start] !== 0) throw new KeyImportError('unexpected RSA-PSS key encoding');
  const rsaKey = readTlv(der, bits.start + 1, 0x30);
  const n = readTlv(der, rsaKey.start, 0x02);
  const e = readTlv(der, n.end, 0x02);
  return { kty: 'RSA', e: integerBase64Url(der, e), n: integerBase64Url(der, n) };
}

/**
 * The public JWK members of an asymmetric key (a private key gives its public half). Node cannot
 * export RSA-PSS keys (OID id-RSASSA-PSS, like RFC 9421's B.1.2 key) as JWK, so for those `n` and
 * `e` are read from the key's SPKI encoding. Throws KeyImportError for secret keys and key types JWK
 * cannot express; the message holds no key material.
 */
export function publicJwkOf(key: KeyObject): Jwk {
  if (key.type === 'secret') throw new KeyImportError('secret keys have no public JWK');
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.asymmetricKeyType === 'rsa-pss') return rsaPssJwk(publicKey);
  try {
    return publicKey.export({ format: 'jwk' }) as Jwk;
  } catch {
    throw new KeyImportError(`${String(publicKey.asymmetricKeyType)} keys have no JWK form`);
  }
}

/**
 * Thumbprint of a public (or private: use its public part) asymmetric KeyObject. Computed from the
 * key itself, so one key always has one thumbprint whatever encoding it arrived in. Throws
 * KeyImportError for secret keys and key types JWK cannot express.
 */
export function keyThumbprint(key: KeyObject): string {
  return jwkThumbprint(publicJwkOf(key));
}
