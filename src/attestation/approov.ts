import { createSecretKey } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { decodeBase64Secret } from '../lib/base64.js';
import type { Duration } from '../lib/duration.js';
import { checkObject, duration, headerName, invalid, missing, positiveInteger, stringList } from '../lib/validate.js';
import type { VerificationKey } from '../keys/key.js';
import type { Principal } from '../principal.js';
import type { TokenVerifierConfig } from './token-verifier.js';

/** The Approov profile: HS256 tokens signed with the account secret, optionally bound to request headers. */
export interface ApproovOptions {
  /**
   * The Approov account secret as `approov secret -get base64` prints it (standard base64 or
   * base64url), or its raw bytes. Must decode to at least 32 bytes. Required.
   */
  secret: string | Uint8Array;
  /** The header carrying the token. Default `Approov-Token`. */
  header?: string;
  /**
   * Token binding: the header(s) whose values the app bound into the token's `pay` claim, in the
   * order they were concatenated (e.g. `Authorization`). When set, a token without `pay`, a request
   * without a bound header, or a mismatch is denied. Default: no binding.
   */
  binding?: string | string[];
  /** Leeway for `exp` (and `nbf`/`iat` when present). Default `0`. */
  clockTolerance?: Duration;
  /** Largest token accepted, checked before any decoding. Default 8192 bytes. */
  maxTokenBytes?: number;
}

const KEYS = ['secret', 'header', 'binding', 'clockTolerance', 'maxTokenBytes'] as const;
const MIN_SECRET_BYTES = 32;

function secretKey(value: unknown, path: string): VerificationKey {
  if (value === undefined) throw missing(path, 'the Approov account secret (`approov secret -get base64`)');
  let bytes: Buffer | undefined;
  if (typeof value === 'string') {
    bytes = decodeBase64Secret(value);
    if (bytes === undefined) throw invalid(path, 'the account secret in base64 or base64url', 'a string that is neither');
  } else if (value instanceof Uint8Array) {
    bytes = Buffer.from(value);
  } else {
    throw invalid(path, 'a base64 string or a Uint8Array', value);
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new ConfigError(
      'ERR_CONFIG_WEAK_SECRET',
      path,
      `\`${path}\` decodes to ${bytes.length} bytes; an Approov secret has at least ${MIN_SECRET_BYTES}. Copy it again from \`approov secret -get base64\`.`,
    );
  }
  return Object.freeze({ kid: undefined, alg: 'HS256', key: createSecretKey(bytes), family: 'hmac' as const });
}

export function approovPrincipal(claims: Readonly<Record<string, unknown>>): Principal {
  const principal: { -readonly [K in keyof Principal]: Principal[K] } = {
    id: 'app:approov',
    kind: 'app',
    verified: true,
    via: 'approov',
    claims,
  };
  if (typeof claims.did === 'string') principal.deviceId = claims.did;
  if (typeof claims.ipk === 'string') principal.installPublicKey = claims.ipk;
  return Object.freeze(principal);
}

export function resolveApproov(value: unknown, path: string, cacheSize: number): TokenVerifierConfig {
  const o = checkObject(value, path, KEYS);
  const binding = o.binding === undefined ? undefined : stringList(o.binding, `${path}.binding`);
  binding?.forEach((h, i) => headerName(h, `${path}.binding[${i}]`));
  return {
    name: 'approov',
    header: o.header === undefined ? 'Approov-Token' : headerName(o.header, `${path}.header`),
    scheme: null,
    maxTokenBytes: positiveInteger(o.maxTokenBytes, `${path}.maxTokenBytes`, 8192),
    algorithms: new Set(['HS256']),
    keys: [secretKey(o.secret, `${path}.secret`)],
    clockTolerance: duration(o.clockTolerance, `${path}.clockTolerance`, 0),
    maxTokenAge: undefined,
    requiredClaims: [],
    checkClaims: undefined,
    checkVerified: undefined,
    binding: binding && { headers: binding.map((h) => h.toLowerCase()), claim: 'pay' },
    principal: approovPrincipal,
    cacheSize,
  };
}
