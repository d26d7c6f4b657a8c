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
export type DenyStatus = 400 | 401 | 403 | 503;

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
  /** The kind of proof: `attestation` for tokens. */
  readonly check: 'attestation';
  /** The verifier that produced it: `approov`, `firebase`, or the generic JWT verifier's name. */
  readonly verifier: string;
  readonly outcome: CheckOutcome;
  /** `OK` when verified, otherwise why not. */
  readonly reason: ReasonCode;
  /** The claim a claim-related reason refers to (e.g. `exp`). */
  readonly claim?: string;
  /** True when the result came from the verified-token cache. */
  readonly cached?: boolean;
}

interface DecisionBase {
  readonly principal: Principal;
  /** Results of every verifier that ran, in order. */
  readonly checks: readonly CheckResult[];
  /** The mode the request was decided under. */
  readonly mode: Mode;
  /** The route pattern that scoped this request, or `null` when the global requirements applied. */
  readonly route: string | null;
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
