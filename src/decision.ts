import type { Principal } from './principal.js';

/**
 * Stable reason codes. `OK` is the only reason of an unqualified allow; every other code names why a
 * request was (or, in monitor mode or when a check failed open, would have been) denied.
 */
export const REASONS = {
  OK: { status: 200, title: 'Allowed', detail: 'Every required check passed.' },
  ERR_REQUEST_INVALID: {
    status: 400,
    title: 'Request could not be read',
    detail: 'The request has no valid method or absolute URL.',
  },
  ERR_TOKEN_MISSING: {
    status: 401,
    title: 'Attestation token missing',
    detail: 'This route requires an attestation token and the request carries none.',
  },
  ERR_TOKEN_TOO_LARGE: {
    status: 401,
    title: 'Attestation token too large',
    detail: 'The attestation token is larger than this API accepts.',
  },
  ERR_TOKEN_MALFORMED: {
    status: 401,
    title: 'Attestation token malformed',
    detail: 'The attestation token is not a well-formed compact JWS.',
  },
  ERR_TOKEN_ALG_NOT_ALLOWED: {
    status: 401,
    title: 'Attestation token algorithm not allowed',
    detail: 'The attestation token is signed with an algorithm this API does not accept.',
  },
  ERR_TOKEN_CRIT_UNSUPPORTED: {
    status: 401,
    title: 'Attestation token has critical extensions',
    detail: 'The attestation token declares critical header parameters this API does not understand.',
  },
  ERR_TOKEN_KEY_UNKNOWN: {
    status: 401,
    title: 'Attestation token key unknown',
    detail: 'No key this API trusts matches the attestation token.',
  },
  ERR_TOKEN_SIGNATURE_INVALID: {
    status: 401,
    title: 'Attestation token signature invalid',
    detail: 'The attestation token signature does not verify.',
  },
  ERR_TOKEN_EXPIRED: {
    status: 401,
    title: 'Attestation token expired',
    detail: 'The attestation token has expired; obtain a fresh one.',
  },
  ERR_TOKEN_NOT_YET_VALID: {
    status: 401,
    title: 'Attestation token not yet valid',
    detail: 'The attestation token is not valid yet (nbf or iat is in the future).',
  },
  ERR_TOKEN_TOO_OLD: {
    status: 401,
    title: 'Attestation token too old',
    detail: 'The attestation token was issued longer ago than this API accepts.',
  },
  ERR_TOKEN_CLAIM_MISSING: {
    status: 401,
    title: 'Attestation token claim missing',
    detail: 'The attestation token lacks a claim this API requires.',
  },
  ERR_TOKEN_CLAIM_INVALID: {
    status: 401,
    title: 'Attestation token claim invalid',
    detail: 'A claim or header of the attestation token has the wrong type or value.',
  },
  ERR_TOKEN_ISSUER_INVALID: {
    status: 401,
    title: 'Attestation token issuer invalid',
    detail: 'The attestation token was not issued by an issuer this API trusts.',
  },
  ERR_TOKEN_AUDIENCE_INVALID: {
    status: 401,
    title: 'Attestation token audience invalid',
    detail: 'The attestation token is not intended for this API.',
  },
  ERR_TOKEN_APP_NOT_ALLOWED: {
    status: 403,
    title: 'App not allowed',
    detail: 'The attestation token is genuine but its app is not allowed to call this API.',
  },
  ERR_BINDING_HEADER_MISSING: {
    status: 401,
    title: 'Token binding header missing',
    detail: 'The attestation token must be bound to a request header that the request does not carry.',
  },
  ERR_BINDING_CLAIM_MISSING: {
    status: 401,
    title: 'Token binding claim missing',
    detail: 'The attestation token carries no binding (pay) claim although this API requires one.',
  },
  ERR_BINDING_MISMATCH: {
    status: 401,
    title: 'Token binding mismatch',
    detail: 'The attestation token is bound to different request header values.',
  },
  ERR_SIGNATURE_MISSING: {
    status: 401,
    title: 'Signature missing',
    detail: 'This route requires an HTTP message signature (RFC 9421); see Accept-Signature for what to sign.',
  },
  ERR_SIGNATURE_MALFORMED: {
    status: 400,
    title: 'Signature headers malformed',
    detail: 'Signature, Signature-Input or Signature-Agent is not a valid structured field, or a label is in only one of them.',
  },
  ERR_SIGNATURE_TOO_LARGE: {
    status: 400,
    title: 'Signature headers too large',
    detail: 'The signature headers are longer, or hold more signatures or components, than this API accepts.',
  },
  ERR_SIGNATURE_TAG_INVALID: {
    status: 401,
    title: 'Signature tag not accepted',
    detail: 'No signature carries the tag this API requires (e.g. tag="web-bot-auth").',
  },
  ERR_SIGNATURE_PARAM_MISSING: {
    status: 401,
    title: 'Signature parameter missing',
    detail: 'The signature lacks a parameter this API requires (created, expires, keyid, nonce).',
  },
  ERR_SIGNATURE_PARAM_INVALID: {
    status: 401,
    title: 'Signature parameter invalid',
    detail: 'A signature parameter has the wrong type or value (e.g. created after expires).',
  },
  ERR_SIGNATURE_COMPONENT_MISSING: {
    status: 401,
    title: 'Signed component missing',
    detail: 'The signature covers a header or component that the request does not carry.',
  },
  ERR_SIGNATURE_COMPONENT_INVALID: {
    status: 401,
    title: 'Signed component invalid',
    detail: 'The signature covers a component that is duplicated, upper-case, unknown or not allowed.',
  },
  ERR_SIGNATURE_COVERAGE_INSUFFICIENT: {
    status: 401,
    title: 'Signature does not cover enough',
    detail: 'The signature does not cover a component this API requires (e.g. @authority, or its own Signature-Agent member).',
  },
  ERR_SIGNATURE_AGENT_INVALID: {
    status: 401,
    title: 'Signature-Agent invalid',
    detail: 'The Signature-Agent member of the signature is missing, not an https origin, or of an unsupported type.',
  },
  ERR_SIGNATURE_EXPIRED: {
    status: 401,
    title: 'Signature expired',
    detail: 'The signature has expired; sign the request again.',
  },
  ERR_SIGNATURE_NOT_YET_VALID: {
    status: 401,
    title: 'Signature not yet valid',
    detail: 'The signature was created in the future; check the signer\'s clock.',
  },
  ERR_SIGNATURE_TOO_OLD: {
    status: 401,
    title: 'Signature too old',
    detail: 'The signature was created, or is valid for, longer than this API accepts.',
  },
  ERR_SIGNATURE_KEY_UNKNOWN: {
    status: 401,
    title: 'Signature key unknown',
    detail: 'No key this API trusts or can discover matches the signature keyid.',
  },
  ERR_SIGNATURE_TEST_KEY: {
    status: 401,
    title: 'Signature made with a test key',
    detail: 'The signature was made with an RFC 9421 example key, which this API refuses.',
  },
  ERR_SIGNATURE_ALG_NOT_ALLOWED: {
    status: 401,
    title: 'Signature algorithm not allowed',
    detail: 'The signature key uses an algorithm this API does not accept (e.g. hmac-sha256 for Web Bot Auth).',
  },
  ERR_SIGNATURE_ALG_MISMATCH: {
    status: 401,
    title: 'Signature algorithm mismatch',
    detail: 'The signature alg parameter disagrees with the algorithm of its key.',
  },
  ERR_SIGNATURE_INVALID: {
    status: 401,
    title: 'Signature invalid',
    detail: 'The signature does not verify over the request.',
  },
  ERR_SIGNATURE_REPLAYED: {
    status: 429,
    title: 'Signature replayed',
    detail: 'This signature nonce was already used; sign the request again with a fresh nonce.',
  },
  ERR_INSTALL_KEY_MISSING: {
    status: 401,
    title: 'Installation key missing',
    detail: 'The attestation token carries no installation public key (ipk) to check the installation signature with.',
  },
  ERR_INSTALL_KEY_INVALID: {
    status: 401,
    title: 'Installation key invalid',
    detail: 'The installation public key (ipk) in the attestation token is not an ECDSA P-256 public key.',
  },
  ERR_DIGEST_MISSING: {
    status: 401,
    title: 'Content-Digest missing',
    detail: 'This route requires a signed Content-Digest (RFC 9530) for requests with a body.',
  },
  ERR_DIGEST_INVALID: {
    status: 400,
    title: 'Content-Digest invalid',
    detail: 'Content-Digest is not a dictionary of byte sequences, or names no supported algorithm (sha-256, sha-512).',
  },
  ERR_DIGEST_MISMATCH: {
    status: 401,
    title: 'Content-Digest mismatch',
    detail: 'The body does not match its signed Content-Digest.',
  },
  ERR_BODY_TOO_LARGE: {
    status: 413,
    title: 'Body too large to verify',
    detail: 'The body is larger than this API reads to check its Content-Digest.',
  },
  ERR_BODY_UNAVAILABLE: {
    status: 503,
    title: 'Body unavailable',
    detail: 'The body bytes needed to check Content-Digest were not available to the verifier.',
  },
  ERR_DIRECTORY_UNAVAILABLE: {
    status: 503,
    title: 'Signature key directory unavailable',
    detail: "The signing agent's key directory could not be fetched; try again shortly.",
  },
  ERR_STORE_UNAVAILABLE: {
    status: 503,
    title: 'Replay store unavailable',
    detail: 'The store that records signature nonces could not be reached; try again shortly.',
  },
  ERR_POLICY_UNAVAILABLE: {
    status: 503,
    title: 'Policy unavailable',
    detail: 'The policy has not been loaded from its source yet; try again shortly.',
  },
  ERR_POLICY_DENIED: {
    status: 403,
    title: 'Denied by policy',
    detail: 'The caller is not allowed here by the policy in force.',
  },
  ERR_POLICY_CHALLENGE: {
    status: 401,
    title: 'Proof requested by policy',
    detail: 'The policy in force asks this caller to prove who it is (sign the request, or send an attestation token).',
  },
  ERR_PROOF_REQUIRED: {
    status: 401,
    title: 'Proof required',
    detail: 'This route only admits callers that prove who they are with the kind of proof the policy names.',
  },
  ERR_RATE_LIMITED: {
    status: 429,
    title: 'Rate limited',
    detail: 'Too many requests for this caller; retry after the time in Retry-After.',
  },
  ERR_KEYS_UNAVAILABLE: {
    status: 503,
    title: 'Verification keys unavailable',
    detail: 'The keys needed to verify the request could not be loaded; try again shortly.',
  },
  ERR_INTERNAL: {
    status: 503,
    title: 'Verification failed internally',
    detail: 'The request could not be verified because of an internal error; try again shortly.',
  },
} as const satisfies Record<string, { status: number; title: string; detail: string }>;

export type ReasonCode = keyof typeof REASONS;
/** Every reason code except `OK`. */
export type DenyReason = Exclude<ReasonCode, 'OK'>;
export type DenyStatus = 400 | 401 | 403 | 413 | 429 | 503;

/** The HTTP status a reason maps to when it denies a request. */
export function statusOf(reason: ReasonCode): number {
  return REASONS[reason].status;
}

/** How strictly a route wants a kind of proof. `optional` annotates the request but never blocks it. */
export type Requirement = 'required' | 'optional' | 'off';
/** `enforce` denies; `monitor` computes and reports the decision but lets the request through. */
export type Mode = 'enforce' | 'monitor';

/** Evidence outcome of one verifier: never just pass/fail. */
export type CheckOutcome = 'verified' | 'invalid' | 'unverified';

/** What one verifier concluded about one request. Contains no token, signature or key material. */
export interface CheckResult {
  /** The kind of proof: `attestation` for tokens, `signature` for HTTP message signatures. */
  readonly check: 'attestation' | 'signature';
  /**
   * The verifier that produced it: `approov`, `firebase`, the generic JWT verifier's name,
   * `web-bot-auth` or `rfc9421` (signatures), or `install` (installation message signature).
   */
  readonly verifier: string;
  readonly outcome: CheckOutcome;
  /** `OK` when verified, otherwise why not. */
  readonly reason: ReasonCode;
  /** The claim a claim-related reason refers to (e.g. `exp`), or the signature parameter or component (e.g. `nonce`, `@authority`). */
  readonly claim?: string;
  /** True when the result came from the verified-token or verified-signature cache. */
  readonly cached?: boolean;
  /** Signatures: the label of the signature this result is about. */
  readonly label?: string;
  /** Signatures: the signature's `keyid`. */
  readonly keyid?: string;
  /** Signatures: the agent (Signature-Agent origin or URL) the signature speaks for. */
  readonly agent?: string;
  /**
   * Signatures: what replay protection did. `checked`: the nonce was recorded and had not been
   * seen; `not-checked`: no nonce or no store; `unavailable`: the store failed (and the check failed
   * open, when the decision still allows).
   */
  readonly replay?: 'checked' | 'not-checked' | 'unavailable';
}

/** The policy a decision was made under. */
export interface PolicyInForce {
  readonly version: number;
  readonly hash: string;
}

/** The rate limit a decision was counted against. */
export interface RateLimitInfo {
  /** The limit's id: the rule id, or `default`. */
  readonly policy: string;
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until a request would be allowed (0 when allowed). */
  readonly retryAfter: number;
  /** Seconds until the limit fully resets. */
  readonly reset: number;
  /** Seconds of the limit's period. */
  readonly window: number;
  /**
   * Present when the shared store could not answer and its stand-in counted the request instead
   * (`RedisStore` `standIn`): a per-process count, not the fleet's.
   */
  readonly standIn?: true;
}

interface DecisionBase {
  readonly principal: Principal;
  /** Results of every verifier that ran, in order. */
  readonly checks: readonly CheckResult[];
  /** The mode the request was decided under. */
  readonly mode: Mode;
  /** The route pattern that scoped this request, or `null` when the global requirements applied. */
  readonly route: string | null;
  /**
   * What in the policy decided: a rule id, a list entry (`list:bad`, `list:good`), a category key, or
   * `default`; `null` without a policy (or when a check denied before the policy was consulted).
   */
  readonly rule: string | null;
  /** The policy version and content hash the decision was made under; `null` without a policy. */
  readonly policy: PolicyInForce | null;
  /** Dry-run rules that matched: what each would have done. */
  readonly dryRun: readonly { readonly rule: string; readonly wouldAction: string }[];
  /** The rate limit the request was counted against, when one applied. */
  readonly rateLimit?: RateLimitInfo;
  /** Wall time spent deciding, in milliseconds. */
  readonly durationMs: number;
}

/** The request may proceed. */
export interface AllowDecision extends DecisionBase {
  readonly outcome: 'allow';
  readonly status: 200;
  /**
   * `OK`, or — when `monitor` or `failedOpen` is true — the reason the request would have been denied.
   */
  readonly reason: ReasonCode;
  /** True when the request would have been denied and passed only because the mode is `monitor`. */
  readonly monitor: boolean;
  /** True when a key source failed and the operator configured fail-open for that check. */
  readonly failedOpen: boolean;
}

/** The request must be answered with `status` and the problem body from `toProblem`. */
export interface DenyDecision extends DecisionBase {
  readonly outcome: 'deny';
  readonly status: DenyStatus;
  readonly reason: DenyReason;
  readonly monitor: false;
  readonly failedOpen: false;
}

/** The guard's answer for one request: plain, JSON-serialisable data. */
export type Decision = AllowDecision | DenyDecision;

/** The HTTP answer for a denied request: RFC 9457 problem details plus headers. */
export interface DenyResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** `application/problem+json` text. */
  readonly body: string;
}

/** RFC 9457 problem details with the reason code as an extension member. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: DenyReason;
}

export const PROBLEM_TYPE_BASE = 'urn:bonafide:problem:';

/** The RFC 9457 problem object for a reason. Never includes a token, signature or key. */
export function toProblem(reason: DenyReason, typeBase = PROBLEM_TYPE_BASE): Problem {
  const { status, title, detail } = REASONS[reason];
  return { type: typeBase + reason.slice(4).toLowerCase().replaceAll('_', '-'), title, status, detail, code: reason };
}
