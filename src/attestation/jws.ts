import { constants, createHmac, timingSafeEqual, verify as verifySignature } from 'node:crypto';
import type { ReasonCode } from '../decision.js';
import { isBase64Url } from '../lib/base64.js';
import type { JwsAlgorithm, VerificationKey } from '../keys/key.js';

/** A compact JWS split and decoded, not yet verified. */
export interface ParsedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly alg: JwsAlgorithm;
  readonly kid: string | undefined;
  /** `BASE64URL(header) "." BASE64URL(payload)`, the bytes the signature covers (RFC 7515 §5.2). */
  readonly signingInput: string;
  readonly signature: Buffer;
}

/** The parsed token, or the reason it was refused (a string, so success allocates no wrapper). */
export type JwsParseResult = ParsedJws | ReasonCode;

const MAX_KID_LENGTH = 256;

function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The protected header, checked: an algorithm from the allowlist, no `crit`, a sane `kid`. */
export type HeaderResult =
  | { ok: true; header: Readonly<Record<string, unknown>>; alg: JwsAlgorithm; kid: string | undefined }
  | { ok: false; reason: ReasonCode };

/**
 * Tokens from one issuer share the same header segment, so its checked form is remembered: a small
 * map of at most this many distinct segments per verifier, emptied when full.
 */
const HEADER_CACHE_SIZE = 64;

function checkHeader(segment: string, algorithms: ReadonlySet<string>): HeaderResult {
  if (segment.length === 0 || !isBase64Url(segment)) return { ok: false, reason: 'ERR_TOKEN_MALFORMED' };
  const header = decodeJsonObject(segment);
  if (header === undefined) return { ok: false, reason: 'ERR_TOKEN_MALFORMED' };
  const alg = header.alg;
  if (typeof alg !== 'string') return { ok: false, reason: 'ERR_TOKEN_MALFORMED' };
  if (!algorithms.has(alg)) return { ok: false, reason: 'ERR_TOKEN_ALG_NOT_ALLOWED' };
  // RFC 7515 §4.1.11: a recipient must refuse a JWS whose crit lists anything it does not
  // understand. bonafide understands no extension (not even b64, which makes no sense for a JWT).
  if (header.crit !== undefined) return { ok: false, reason: 'ERR_TOKEN_CRIT_UNSUPPORTED' };
  const kid = header.kid;
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)) {
    return { ok: false, reason: 'ERR_TOKEN_MALFORMED' };
  }
  return { ok: true, header: Object.freeze(header), alg: alg as JwsAlgorithm, kid };
}

/**
 * Splits a compact JWS and checks its header against the allowlist, before any crypto. The caller
 * has already capped the token's size. `jku`, `x5u`, `jwk` and `x5c` are never read: keys come only
 * from the verifier's configuration. `headers` remembers checked header segments (see above).
 */
export function parseJws(
  token: string,
  algorithms: ReadonlySet<string>,
  headers: Map<string, HeaderResult> = new Map(),
): JwsParseResult {
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (second === -1 || token.indexOf('.', second + 1) !== -1) return 'ERR_TOKEN_MALFORMED';
  const h = token.slice(0, first);
  let checked = headers.get(h);
  if (checked === undefined) {
    checked = checkHeader(h, algorithms);
    if (headers.size >= HEADER_CACHE_SIZE) headers.clear();
    headers.set(h, checked);
  }
  if (!checked.ok) return checked.reason;
  const p = token.slice(first + 1, second);
  const s = token.slice(second + 1);
  // The signature segment is checked strictly: Node's decoder would skip stray characters, and a
  // token must verify only in the exact form it was issued. The payload needs no alphabet scan:
  // the signature covers its exact text, so a payload that is not what was signed fails anyway.
  if (p.length === 0 || !isBase64Url(s)) return 'ERR_TOKEN_MALFORMED';
  const payload = decodeJsonObject(p);
  if (payload === undefined) return 'ERR_TOKEN_MALFORMED';
  return {
    header: checked.header,
    payload,
    alg: checked.alg,
    kid: checked.kid,
    signingInput: token.slice(0, second),
    signature: Buffer.from(s, 'base64url'),
  };
}

const HASH: Record<JwsAlgorithm, string | null> = {
  HS256: 'sha256', HS384: 'sha384', HS512: 'sha512',
  RS256: 'sha256', RS384: 'sha384', RS512: 'sha512',
  PS256: 'sha256', PS384: 'sha384', PS512: 'sha512',
  ES256: 'sha256', ES384: 'sha384', ES512: 'sha512',
  EdDSA: null,
};

/** IEEE P1363 r‖s lengths (RFC 7518 §3.4); a DER-encoded ECDSA signature is refused. */
const EC_SIGNATURE_BYTES: Partial<Record<JwsAlgorithm, number>> = { ES256: 64, ES384: 96, ES512: 132 };

/**
 * Verifies the JWS signature with one key. The caller has checked that the key's family accepts
 * the algorithm. Never throws: malformed signatures are simply not valid.
 */
export function verifyJwsSignature(jws: ParsedJws, key: VerificationKey): boolean {
  const { alg, signature, signingInput } = jws;
  const hash = HASH[alg];
  try {
    if (key.family === 'hmac') {
      const mac = createHmac(hash as string, key.key).update(signingInput).digest();
      return mac.length === signature.length && timingSafeEqual(mac, signature);
    }
    const data = Buffer.from(signingInput, 'latin1');
    if (alg.startsWith('PS')) {
      return verifySignature(
        hash,
        data,
        { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
        signature,
      );
    }
    const ecBytes = EC_SIGNATURE_BYTES[alg];
    if (ecBytes !== undefined) {
      if (signature.length !== ecBytes) return false;
      return verifySignature(hash, data, { key: key.key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    return verifySignature(hash, data, key.key, signature);
  } catch {
    return false;
  }
}
