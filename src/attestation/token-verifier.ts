import type { CheckOutcome, ReasonCode } from '../decision.js';
import { BoundedCache } from '../lib/lru.js';
import { algorithmAccepts, type VerificationKey } from '../keys/key.js';
import type { RemoteKeySet } from '../keys/remote-key-set.js';
import type { Principal } from '../principal.js';
import type { HeaderReader } from '../request.js';
import { checkBinding, type BindingConfig } from './binding.js';
import { parseJws, verifyJwsSignature, type ParsedJws } from './jws.js';

/** A claim-level failure: the reason, and the claim it concerns. */
export interface ClaimFailure {
  readonly reason: ReasonCode;
  readonly claim?: string;
}

/** Everything a token verifier needs, resolved and validated from the user's options. */
export interface TokenVerifierConfig {
  /** The verifier's name in check results (`approov`, `firebase`, `jwt`, …). */
  readonly name: string;
  /** The header the token travels in (display case, e.g. `Approov-Token`). */
  readonly header: string;
  /** An authentication scheme that prefixes the token (`Bearer`), or `null` for a bare token. */
  readonly scheme: string | null;
  readonly maxTokenBytes: number;
  readonly algorithms: ReadonlySet<string>;
  /** Static keys, or a remote JWKS. */
  readonly keys: readonly VerificationKey[] | RemoteKeySet;
  /** Seconds of leeway for `exp`, `nbf` and `iat`. */
  readonly clockTolerance: number;
  /** Seconds after `iat` a token is accepted; requires `iat`. */
  readonly maxTokenAge: number | undefined;
  readonly requiredClaims: readonly string[];
  /** Checks that depend only on the token's claims (issuer, audience, …); run before the crypto. */
  readonly checkClaims: ((claims: Readonly<Record<string, unknown>>) => ClaimFailure | undefined) | undefined;
  /** Checks that need a verified token (e.g. an app allowlist: a 403 must only follow a genuine token). */
  readonly checkVerified: ((claims: Readonly<Record<string, unknown>>) => ClaimFailure | undefined) | undefined;
  readonly binding: BindingConfig | undefined;
  readonly principal: (claims: Readonly<Record<string, unknown>>) => Principal;
  /** Most verified tokens remembered; 0 disables the cache. */
  readonly cacheSize: number;
}

/** One verifier's conclusion. */
export interface TokenResult {
  readonly outcome: CheckOutcome;
  readonly reason: ReasonCode;
  readonly claim?: string;
  readonly cached?: boolean;
  readonly principal?: Principal;
}

interface CachedToken {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly principal: Principal;
}

/** At most this many keys are tried for one token that names no `kid`. */
const MAX_KEYS_TRIED = 4;

const MISSING: TokenResult = Object.freeze({ outcome: 'unverified', reason: 'ERR_TOKEN_MISSING' });
const UNAVAILABLE: TokenResult = Object.freeze({ outcome: 'unverified', reason: 'ERR_KEYS_UNAVAILABLE' });

function invalid(reason: ReasonCode, claim?: string): TokenResult {
  return claim === undefined ? { outcome: 'invalid', reason } : { outcome: 'invalid', reason, claim };
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Verifies one kind of attestation token: extraction, size cap, header allowlist, claims, key
 * selection, signature, binding. Verified tokens are remembered by their exact text until they
 * expire; time and binding checks still run on every request.
 */
export class TokenVerifier {
  readonly config: TokenVerifierConfig;
  readonly #headerLower: string;
  readonly #schemePrefix: string | null;
  readonly #cache: BoundedCache<CachedToken>;

  constructor(config: TokenVerifierConfig) {
    this.config = config;
    this.#headerLower = config.header.toLowerCase();
    this.#schemePrefix = config.scheme === null ? null : `${config.scheme.toLowerCase()} `;
    this.#cache = new BoundedCache(config.cacheSize);
  }

  /** The raw token, `undefined` when absent, or `null` when the header does not carry the expected scheme. */
  extract(headers: HeaderReader): string | null | undefined {
    const value = headers.get(this.#headerLower);
    if (value === null) return undefined;
    let token = value.trim();
    if (this.#schemePrefix !== null) {
      if (token.length < this.#schemePrefix.length) return token.length === 0 ? undefined : null;
      if (token.slice(0, this.#schemePrefix.length).toLowerCase() !== this.#schemePrefix) return null;
      token = token.slice(this.#schemePrefix.length).trim();
    }
    return token.length === 0 ? undefined : token;
  }

  verify(headers: HeaderReader, nowMs: number): TokenResult | Promise<TokenResult> {
    const token = this.extract(headers);
    if (token === undefined) return MISSING;
    if (token === null) return invalid('ERR_TOKEN_MALFORMED');
    if (token.length > this.config.maxTokenBytes) return invalid('ERR_TOKEN_TOO_LARGE');
    const now = nowMs / 1000;
    const hit = this.#cache.get(token, nowMs);
    if (hit !== undefined) return this.#perRequest(hit, headers, now, true);

    const parsed = parseJws(token, this.config.algorithms);
    if (!parsed.ok) return invalid(parsed.reason);
    const jws = parsed.jws;
    const failure = this.#checkClaims(jws.payload, now);
    if (failure !== undefined) return invalid(failure.reason, failure.claim);

    const keys = this.config.keys;
    if (Array.isArray(keys)) return this.#afterKeys(token, jws, keys, headers, now);
    return (keys as RemoteKeySet).lookup(jws.kid).then((found) => {
      if (found.status === 'unavailable') return UNAVAILABLE;
      if (found.status === 'unknown') return invalid('ERR_TOKEN_KEY_UNKNOWN');
      return this.#afterKeys(token, jws, found.keys, headers, now);
    });
  }

  #afterKeys(
    token: string,
    jws: ParsedJws,
    keys: readonly VerificationKey[],
    headers: HeaderReader,
    now: number,
  ): TokenResult {
    let tried = 0;
    let verified = false;
    let usable = false;
    for (const key of keys) {
      if (jws.kid !== undefined && key.kid !== undefined && key.kid !== jws.kid) continue;
      if (key.alg !== undefined && key.alg !== jws.alg) continue;
      if (!algorithmAccepts(jws.alg, key.family)) continue;
      usable = true;
      if (verifyJwsSignature(jws, key)) {
        verified = true;
        break;
      }
      if (++tried >= MAX_KEYS_TRIED) break;
    }
    if (!usable) return invalid('ERR_TOKEN_KEY_UNKNOWN');
    if (!verified) return invalid('ERR_TOKEN_SIGNATURE_INVALID');
    const rejected = this.config.checkVerified?.(jws.payload);
    if (rejected !== undefined) return invalid(rejected.reason, rejected.claim);
    const entry: CachedToken = { claims: jws.payload, principal: this.config.principal(jws.payload) };
    const exp = jws.payload.exp as number;
    this.#cache.set(token, entry, (exp + this.config.clockTolerance) * 1000);
    return this.#perRequest(entry, headers, now, false);
  }

  /** Checks that must run on every request, cached token or not. */
  #perRequest(entry: CachedToken, headers: HeaderReader, now: number, cached: boolean): TokenResult {
    const timing = this.#checkTime(entry.claims, now);
    if (timing !== undefined) return { outcome: 'invalid', reason: timing.reason, claim: timing.claim, cached };
    if (this.config.binding !== undefined) {
      const reason = checkBinding(this.config.binding, entry.claims, headers);
      if (reason !== undefined) return { outcome: 'invalid', reason, cached };
    }
    return { outcome: 'verified', reason: 'OK', cached, principal: entry.principal };
  }

  #checkClaims(claims: Readonly<Record<string, unknown>>, now: number): ClaimFailure | undefined {
    if (claims.exp === undefined) return { reason: 'ERR_TOKEN_CLAIM_MISSING', claim: 'exp' };
    for (const name of ['exp', 'nbf', 'iat'] as const) {
      if (claims[name] !== undefined && !isNumericDate(claims[name])) {
        return { reason: 'ERR_TOKEN_CLAIM_INVALID', claim: name };
      }
    }
    if (this.config.maxTokenAge !== undefined && claims.iat === undefined) {
      return { reason: 'ERR_TOKEN_CLAIM_MISSING', claim: 'iat' };
    }
    for (const name of this.config.requiredClaims) {
      if (claims[name] === undefined) return { reason: 'ERR_TOKEN_CLAIM_MISSING', claim: name };
    }
    return this.#checkTime(claims, now) ?? this.config.checkClaims?.(claims);
  }

  #checkTime(claims: Readonly<Record<string, unknown>>, now: number): ClaimFailure | undefined {
    const tolerance = this.config.clockTolerance;
    if (now - tolerance >= (claims.exp as number)) return { reason: 'ERR_TOKEN_EXPIRED', claim: 'exp' };
    const nbf = claims.nbf as number | undefined;
    if (nbf !== undefined && now + tolerance < nbf) return { reason: 'ERR_TOKEN_NOT_YET_VALID', claim: 'nbf' };
    const iat = claims.iat as number | undefined;
    if (iat !== undefined) {
      if (now + tolerance < iat) return { reason: 'ERR_TOKEN_NOT_YET_VALID', claim: 'iat' };
      const maxAge = this.config.maxTokenAge;
      if (maxAge !== undefined && now - tolerance > iat + maxAge) return { reason: 'ERR_TOKEN_TOO_OLD', claim: 'iat' };
    }
    return undefined;
  }
}
