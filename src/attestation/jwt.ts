import { ConfigError } from '../errors.js';
import type { Duration } from '../lib/duration.js';
import {
  checkObject,
  duration,
  headerName,
  invalid,
  missing,
  oneOf,
  optionalString,
  positiveInteger,
  stringList,
} from '../lib/validate.js';
import { JWS_ALGORITHMS, algorithmAccepts, type JwsAlgorithm, type KeyInput } from '../keys/key.js';
import { resolveRemoteJwks, resolveStaticKeys, type KeyContext, type RemoteJwksOptions } from '../keys/resolve.js';
import type { Principal } from '../principal.js';
import type { ClaimFailure, TokenVerifierConfig } from './token-verifier.js';

/** The generic JWT profile: any attestation or service token, from any header, with your keys. */
export interface JwtOptions {
  /** The verifier's name in decisions and `principal.via`. Default `jwt`. */
  name?: string;
  /** The header carrying the token. Default `Authorization`. */
  header?: string;
  /**
   * The authentication scheme before the token (`Bearer`), matched case-insensitively. Default
   * `Bearer` when `header` is `Authorization`, otherwise none; `null` for a bare token.
   */
  scheme?: string | null;
  /** The accepted algorithms. Required: there is no default, and `none` is never accepted. */
  algorithms: JwsAlgorithm[];
  /** Fixed keys: PEM, JWK, JWKS, `{ secret }` for HMAC, or a KeyObject. One of `keys` or `jwks` is required. */
  keys?: KeyInput | KeyInput[];
  /** A remote JWKS (asymmetric keys only). One of `keys` or `jwks` is required. */
  jwks?: RemoteJwksOptions;
  /** Accepted `iss` value(s), compared exactly. Default: any. */
  issuer?: string | string[];
  /** Accepted `aud` value(s): the token's `aud` (string or array) must contain one. Default: any. */
  audience?: string | string[];
  /** Claims that must be present (besides `exp`, which always is). */
  requiredClaims?: string[];
  /** Reject tokens whose `iat` is older than this (requires `iat`). Default: no limit. */
  maxTokenAge?: Duration;
  /** Leeway for `exp`, `nbf` and `iat`. Default `0`. */
  clockTolerance?: Duration;
  /** Largest token accepted, checked before any decoding. Default 8192 bytes. */
  maxTokenBytes?: number;
  /** The principal kind callers with this token get. Default `service`. */
  kind?: 'app' | 'service';
}

const KEYS = [
  'name', 'header', 'scheme', 'algorithms', 'keys', 'jwks', 'issuer', 'audience',
  'requiredClaims', 'maxTokenAge', 'clockTolerance', 'maxTokenBytes', 'kind',
] as const;

function algorithmList(value: unknown, path: string): JwsAlgorithm[] {
  if (value === undefined) {
    throw missing(path, `the accepted algorithms, e.g. ['RS256'] (one or more of ${JWS_ALGORITHMS.join(', ')})`);
  }
  const list = stringList(value, path);
  for (const alg of list) {
    if (!(JWS_ALGORITHMS as readonly string[]).includes(alg)) {
      throw invalid(path, `a list of ${JWS_ALGORITHMS.join(', ')} ('${alg}' is not supported)`, value);
    }
  }
  return list as JwsAlgorithm[];
}

export function resolveJwt(value: unknown, path: string, cacheSize: number, context: KeyContext): TokenVerifierConfig {
  const o = checkObject(value, path, KEYS);
  const name = optionalString(o.name, `${path}.name`) ?? 'jwt';
  const header = o.header === undefined ? 'Authorization' : headerName(o.header, `${path}.header`);
  let scheme: string | null = header.toLowerCase() === 'authorization' ? 'Bearer' : null;
  if (o.scheme === null) scheme = null;
  else if (o.scheme !== undefined) scheme = headerName(o.scheme, `${path}.scheme`);
  const algorithms = algorithmList(o.algorithms, `${path}.algorithms`);
  const hmac = algorithms.filter((a) => a.startsWith('HS'));

  if ((o.keys === undefined) === (o.jwks === undefined)) {
    throw missing(`${path}.keys`, 'give exactly one of `keys` (fixed keys) or `jwks` (a remote JWKS)');
  }
  let keys;
  if (o.keys !== undefined) {
    keys = resolveStaticKeys(o.keys, `${path}.keys`);
    for (const alg of algorithms) {
      if (!keys.some((k) => algorithmAccepts(alg, k.family))) {
        throw new ConfigError(
          'ERR_CONFIG_INVALID_KEY',
          `${path}.algorithms`,
          `\`${path}.algorithms\` lists ${alg} but no key in \`${path}.keys\` can verify it; remove it or add a matching key${alg.startsWith('HS') ? ' as { secret }' : ''}.`,
        );
      }
    }
  } else {
    if (hmac.length > 0) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID_VALUE',
        `${path}.algorithms`,
        `\`${path}.algorithms\` lists ${hmac.join(', ')}, but HMAC secrets never come from a remote JWKS; use \`keys: { secret }\`.`,
      );
    }
    keys = resolveRemoteJwks(o.jwks, `${path}.jwks`, context, { cacheMaxAge: 600 });
  }

  const issuers = o.issuer === undefined ? undefined : new Set(stringList(o.issuer, `${path}.issuer`));
  const audiences = o.audience === undefined ? undefined : stringList(o.audience, `${path}.audience`);
  const requiredClaims = o.requiredClaims === undefined ? [] : stringList(o.requiredClaims, `${path}.requiredClaims`);
  const kind = oneOf(o.kind, `${path}.kind`, ['app', 'service'] as const, 'service');

  const checkClaims =
    issuers || audiences
      ? (claims: Readonly<Record<string, unknown>>): ClaimFailure | undefined => {
          if (issuers && !(typeof claims.iss === 'string' && issuers.has(claims.iss))) {
            return { reason: 'ERR_TOKEN_ISSUER_INVALID', claim: 'iss' };
          }
          if (audiences) {
            const aud = claims.aud;
            const list = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
            if (!audiences.some((a) => list.includes(a))) return { reason: 'ERR_TOKEN_AUDIENCE_INVALID', claim: 'aud' };
          }
          return undefined;
        }
      : undefined;

  const principal = (claims: Readonly<Record<string, unknown>>): Principal => {
    const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
    const iss = typeof claims.iss === 'string' ? claims.iss : undefined;
    const p: { -readonly [K in keyof Principal]: Principal[K] } = {
      id: `${kind}:${sub ?? iss ?? name}`,
      kind,
      verified: true,
      via: name,
      claims,
    };
    if (iss !== undefined) p.issuer = iss;
    if (sub !== undefined) p.subject = sub;
    return Object.freeze(p);
  };

  return {
    name,
    header,
    scheme,
    maxTokenBytes: positiveInteger(o.maxTokenBytes, `${path}.maxTokenBytes`, 8192),
    algorithms: new Set(algorithms),
    keys,
    clockTolerance: duration(o.clockTolerance, `${path}.clockTolerance`, 0),
    maxTokenAge: duration(o.maxTokenAge, `${path}.maxTokenAge`),
    requiredClaims,
    checkClaims,
    checkVerified: undefined,
    binding: undefined,
    principal,
    cacheSize,
  };
}
