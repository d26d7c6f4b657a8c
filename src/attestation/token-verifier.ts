import { randomBytes } from 'node:crypto';
import type { CheckOutcome, CheckResult, ReasonCode } from '../decision.js';
import { BoundedCache } from '../lib/lru.js';
import { algorithmAccepts, type VerificationKey } from '../keys/key.js';
import type { RemoteKeySet } from '../keys/remote-key-set.js';
import type { Principal } from '../principal.js';
import type { HeaderReader } from '../request.js';
import { checkBinding, type BindingConfig } from './binding.js';
import { parseJws, verifyJwsSignature, type HeaderResult, type ParsedJws } from './jws.js';

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

/** One verifier's conclusion: the check as the decision reports it, and who was proven (when verified). */
export interface TokenResult {
  readonly check: CheckResult;
  readonly principal?: Principal;
}

/**
 * A verified token as remembered: it is also the result of a hit that passes the per-request checks
 * (a TokenResult never leaves the guard, which reads only `check` and `principal`).
 */
interface CachedToken extends TokenResult {
  /** The exact token text: a hit is a slot whose token equals the presented one. */
  readonly token: string;
  readonly principal: Principal;
  readonly claims: Readonly<Record<string, unknown>>;
  /** When the entry stops being served: `exp` plus the clock tolerance, in ms. */
  readonly expiresAt: number;
}

const TIME_CLAIMS = ['exp', 'nbf', 'iat'] as const;

/** At most this many keys are tried for one token that names no `kid`. */
const MAX_KEYS_TRIED = 4;

/** Characters read from the end of a token for its cache slot (see tokenSlot). */
const SLOT_CHARS = 8;

/** Per process, so nobody outside can compute which slot a token takes. */
const SLOT_SEED = randomBytes(4).readUInt32LE(0);

/**
 * The cache slot of a token: a 30-bit number mixed, with a per-process seed, from the characters
 * just before its last one, which lie in the signature segment (the last character of a base64url
 * segment may carry only a few bits). Any real signature makes them random, and only verified
 * tokens are stored, so nobody chooses the slot of an entry. A slot is a hint: a hit also needs the
 * stored token to equal the presented one, so two genuine tokens that share a slot only take turns.
 * Keying the cache by a small number instead of the token text spares hashing the whole token: V8
 * hashes every character of a new string used as a Map key (~250 ns for a 180-character token).
 */
export function tokenSlot(token: string): number {
  const end = token.length - 1;
  let h = SLOT_SEED;
  for (let i = end > SLOT_CHARS ? end - SLOT_CHARS : 0; i < end; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 15)) >>> 2;
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
  readonly #cache: BoundedCache<CachedToken, number>;
  readonly #headers = new Map<string, HeaderResult>();
  readonly #missing: TokenResult;
  readonly #unavailable: TokenResult;
  readonly #verifiedFresh: CheckResult;
  readonly #verifiedCached: CheckResult;

  constructor(config: TokenVerifierConfig) {
    this.config = config;
    this.#headerLower = config.header.toLowerCase();
    this.#schemePrefix = config.scheme === null ? null : `${config.scheme.toLowerCase()} `;
    this.#cache = new BoundedCache(config.cacheSize);
    this.#missing = Object.freeze({ check: this.#check('unverified', 'ERR_TOKEN_MISSING') });
    this.#unavailable = Object.freeze({ check: this.#check('unverified', 'ERR_KEYS_UNAVAILABLE') });
    this.#verifiedFresh = this.#check('verified', 'OK', undefined, false);
    this.#verifiedCached = this.#check('verified', 'OK', undefined, true);
  }

  #check(outcome: CheckOutcome, reason: ReasonCode, claim?: string, cached?: boolean): CheckResult {
    const check: { -readonly [K in keyof CheckResult]: CheckResult[K] } = {
      check: 'attestation',
      verifier: this.config.name,
      outcome,
      reason,
    };
    if (claim !== undefined) check.claim = claim;
    if (cached !== undefined) check.cached = cached;
    return Object.freeze(check);
  }

  #invalid(reason: ReasonCode, claim?: string, cached?: boolean): TokenResult {
    return { check: this.#check('invalid', reason, claim, cached) };
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
    if (token === undefined) return this.#missing;
    if (token === null) return this.#invalid('ERR_TOKEN_MALFORMED');
    if (token.length > this.config.maxTokenBytes) return this.#invalid('ERR_TOKEN_TOO_LARGE');
    const now = nowMs / 1000;
    const slot = tokenSlot(token);
    const hit = this.#cache.get(slot, nowMs);
    if (hit !== undefined && hit.token === token) return this.#perRequest(hit, headers, now, true) ?? hit;

    const jws = parseJws(token, this.config.algorithms, this.#headers);
    if (typeof jws === 'string') return this.#invalid(jws);
    const failure = this.#checkClaims(jws.payload, now);
    if (failure !== undefined) return this.#invalid(failure.reason, failure.claim);

    const keys = this.config.keys;
    if (Array.isArray(keys)) return this.#afterKeys(token, slot, jws, keys, headers, now);
    return (keys as RemoteKeySet).lookup(jws.kid).then((found) => {
      if (found.status === 'unavailable') return this.#unavailable;
      if (found.status === 'unknown') return this.#invalid('ERR_TOKEN_KEY_UNKNOWN');
      return this.#afterKeys(token, slot, jws, found.keys, headers, now);
    });
  }

  #afterKeys(
    token: string,
    slot: number,
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
    if (!usable) return this.#invalid('ERR_TOKEN_KEY_UNKNOWN');
    if (!verified) return this.#invalid('ERR_TOKEN_SIGNATURE_INVALID');
    const rejected = this.config.checkVerified?.(jws.payload);
    if (rejected !== undefined) return this.#invalid(rejected.reason, rejected.claim);
    const principal = this.config.principal(jws.payload);
    const expiresAt = ((jws.payload.exp as number) + this.config.clockTolerance) * 1000;
    const entry: CachedToken = { check: this.#verifiedCached, token, principal, claims: jws.payload, expiresAt };
    this.#cache.set(slot, entry);
    return this.#perRequest(entry, headers, now, false) ?? { check: this.#verifiedFresh, principal };
  }

  /** Checks that must run on every request, cached token or not; `undefined` when they pass. */
  #perRequest(entry: CachedToken, headers: HeaderReader, now: number, cached: boolean): TokenResult | undefined {
    const timing = this.#checkTime(entry.claims, now);
    if (timing !== undefined) return this.#invalid(timing.reason, timing.claim, cached);
    if (this.config.binding !== undefined) {
      const reason = checkBinding(this.config.binding, entry.claims, headers);
      if (reason !== undefined) return this.#invalid(reason, undefined, cached);
    }
    return undefined;
  }

  #checkClaims(claims: Readonly<Record<string, unknown>>, now: number): ClaimFailure | undefined {
    if (claims.exp === undefined) return { reason: 'ERR_TOKEN_CLAIM_MISSING', claim: 'exp' };
    for (let i = 0; i < TIME_CLAIMS.length; i++) {
      const name = TIME_CLAIMS[i]!;
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
