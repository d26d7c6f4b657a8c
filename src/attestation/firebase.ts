import type { Duration } from '../lib/duration.js';
import { checkObject, duration, headerName, invalid, missing, positiveInteger, stringList } from '../lib/validate.js';
import type { KeyInput } from '../keys/key.js';
import { resolveRemoteJwks, resolveStaticKeys, type KeyContext, type RemoteJwksOptions } from '../keys/resolve.js';
import type { Principal } from '../principal.js';
import type { ClaimFailure, TokenVerifierConfig } from './token-verifier.js';

export const FIREBASE_JWKS_URL = 'https://firebaseappcheck.googleapis.com/v1/jwks';
const ISSUER_PREFIX = 'https://firebaseappcheck.googleapis.com/';

/** The Firebase App Check profile: RS256 tokens from Google's App Check JWKS. */
export interface FirebaseOptions {
  /** The Firebase project number (digits, not the project id). Required. */
  projectNumber: string | number;
  /** Only these app ids (`sub`) may call; others get `ERR_TOKEN_APP_NOT_ALLOWED` (403). Default: any app of the project. */
  appIds?: string[];
  /** The header carrying the token. Default `X-Firebase-AppCheck`. */
  header?: string;
  /**
   * Where the keys come from. Default: Google's App Check JWKS, cached for 6 hours. Give
   * `{ url, … }` to tune the fetch, or use `keys` for a fixed key set (tests, air-gapped setups).
   */
  jwks?: Partial<RemoteJwksOptions>;
  /** Fixed keys instead of the remote JWKS. */
  keys?: KeyInput | KeyInput[];
  /** Leeway for `exp`, `nbf` and `iat`. Default `0`. */
  clockTolerance?: Duration;
  /** Largest token accepted, checked before any decoding. Default 8192 bytes. */
  maxTokenBytes?: number;
}

const KEYS = ['projectNumber', 'appIds', 'header', 'jwks', 'keys', 'clockTolerance', 'maxTokenBytes'] as const;

function firebasePrincipal(claims: Readonly<Record<string, unknown>>): Principal {
  const appId = claims.sub as string;
  return Object.freeze({
    id: `app:${appId}`,
    kind: 'app',
    verified: true,
    via: 'firebase',
    appId,
    issuer: claims.iss as string,
    subject: appId,
    claims,
  });
}

export function resolveFirebase(value: unknown, path: string, cacheSize: number, context: KeyContext): TokenVerifierConfig {
  const o = checkObject(value, path, KEYS);
  if (o.projectNumber === undefined) throw missing(`${path}.projectNumber`, 'the Firebase project number');
  const projectNumber = String(o.projectNumber);
  if (!/^\d{1,32}$/.test(projectNumber)) throw invalid(`${path}.projectNumber`, 'the project number (digits)', o.projectNumber);
  const issuer = ISSUER_PREFIX + projectNumber;
  const audience = `projects/${projectNumber}`;
  const appIds = o.appIds === undefined ? undefined : new Set(stringList(o.appIds, `${path}.appIds`));
  if (o.keys !== undefined && o.jwks !== undefined) {
    throw invalid(`${path}.keys`, 'left out when `jwks` is given (choose fixed keys or a remote JWKS)', o.keys);
  }
  const keys =
    o.keys !== undefined
      ? resolveStaticKeys(o.keys, `${path}.keys`)
      : resolveRemoteJwks({ url: FIREBASE_JWKS_URL, ...(o.jwks as object | undefined) }, `${path}.jwks`, context, {
          cacheMaxAge: 6 * 3600,
        });

  const checkClaims = (claims: Readonly<Record<string, unknown>>): ClaimFailure | undefined => {
    if (claims.iss !== issuer) return { reason: 'ERR_TOKEN_ISSUER_INVALID', claim: 'iss' };
    const aud = claims.aud;
    if (!Array.isArray(aud) || !aud.includes(audience)) return { reason: 'ERR_TOKEN_AUDIENCE_INVALID', claim: 'aud' };
    if (claims.sub === undefined) return { reason: 'ERR_TOKEN_CLAIM_MISSING', claim: 'sub' };
    if (typeof claims.sub !== 'string' || claims.sub.length === 0) return { reason: 'ERR_TOKEN_CLAIM_INVALID', claim: 'sub' };
    return undefined;
  };
  const checkVerified =
    appIds &&
    ((claims: Readonly<Record<string, unknown>>): ClaimFailure | undefined =>
      appIds.has(claims.sub as string) ? undefined : { reason: 'ERR_TOKEN_APP_NOT_ALLOWED', claim: 'sub' });

  return {
    name: 'firebase',
    header: o.header === undefined ? 'X-Firebase-AppCheck' : headerName(o.header, `${path}.header`),
    scheme: null,
    maxTokenBytes: positiveInteger(o.maxTokenBytes, `${path}.maxTokenBytes`, 8192),
    algorithms: new Set(['RS256']),
    keys,
    clockTolerance: duration(o.clockTolerance, `${path}.clockTolerance`, 0),
    maxTokenAge: undefined,
    requiredClaims: [],
    checkClaims,
    checkVerified,
    binding: undefined,
    principal: firebasePrincipal,
    cacheSize,
  };
}
