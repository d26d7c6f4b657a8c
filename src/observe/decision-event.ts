import type { Decision } from '../decision.js';
import type { GuardRequest } from '../request.js';

/** Longest `path` an event carries; longer paths are cut. */
const MAX_PATH = 256;
/** Longest `method` an event carries; longer methods are cut. */
const MAX_METHOD = 32;

/**
 * What a decision event says about one verifier's result: the kind of proof, which verifier, what it
 * concluded and why. Never the `keyid`, agent, signature label or any token, signature or key material.
 */
export interface DecisionEventCheck {
  /** `attestation` or `signature`. */
  check: string;
  /** The verifier that produced it: `approov`, `firebase`, a JWT verifier's name, `web-bot-auth`, `rfc9421` or `install`. */
  verifier: string;
  /** `verified`, `invalid` or `unverified`. */
  outcome: string;
  /** `OK`, or the reason code of why not. */
  reason: string;
  /** The name (never the value) of the claim, signature parameter or component the reason refers to, when there is one. */
  claim?: string;
}

/**
 * One structured event per decision, for logs and event pipelines. Its field names are stable: they
 * are part of the public API, and are only ever added to, never renamed or removed, within a major
 * version. The event is plain JSON-serialisable data.
 *
 * It never contains a secret: no token, signature, key, `keyid`, nonce, query string, header value or
 * client IP.
 */
export interface DecisionEvent {
  /** `allow` (including monitor-mode and failed-open allows) or `deny`. */
  outcome: 'allow' | 'deny';
  /** The HTTP status the decision answers with: 200 for every allow, the deny status otherwise. */
  status: number;
  /** `OK`, or the reason code of why the request was (or, when `monitor` or `failedOpen`, would have been) denied. */
  reason: string;
  /** True when the request would have been denied and passed only because the mode is `monitor`. */
  monitor: boolean;
  /** True when a check could not run and was configured to fail open. */
  failedOpen: boolean;
  /** What in the policy decided (a rule id, `list:bad`, a category key, `default`); `null` without a policy. */
  rule: string | null;
  /** The mode the request was decided under. */
  mode: 'enforce' | 'monitor';
  /** The version of the policy in force; `null` without a policy. */
  policyVersion: number | null;
  /** The content hash of the policy in force; `null` without a policy. */
  policyHash: string | null;
  /** Who the caller is, as far as it proved: its id and kind, whether it was verified, and by which verifier (`null` when none). */
  principal: { id: string; kind: string; verified: boolean; via: string | null };
  /** The route pattern that scoped the request, or `null` when the global requirements applied. */
  route: string | null;
  /** The request method (at most 32 characters), or `undefined` when the request had none. */
  method: string | undefined;
  /** The URL's pathname only (no query string, no fragment), at most 256 characters; `undefined` when the URL is not absolute. */
  path: string | undefined;
  /** Wall time spent deciding, in milliseconds. */
  durationMs: number;
  /** Dry-run rules that matched and what each would have done. */
  dryRun: { rule: string; wouldAction: string }[];
  /** True when a rate limit refused the request (or, in monitor mode, would have): the reason is `ERR_RATE_LIMITED`. */
  rateLimited: boolean;
  /** Every verifier's result, in the order they ran. */
  checks: DecisionEventCheck[];
}

/**
 * The structured event for one decision and the request it was made for. Never throws: a request
 * that cannot be read leaves `method` and `path` undefined.
 */
export function decisionEvent(decision: Decision, request: GuardRequest): DecisionEvent {
  try {
    return build(decision, request);
  } catch {
    // Only a decision that is not one the guard made can get here; report what can still be read.
    return fallback(decision, request);
  }
}

function build(decision: Decision, request: GuardRequest): DecisionEvent {
  const principal = decision.principal;
  const policy = decision.policy;
  return {
    outcome: decision.outcome,
    status: decision.status,
    reason: decision.reason,
    monitor: decision.monitor,
    failedOpen: decision.failedOpen,
    rule: decision.rule ?? null,
    mode: decision.mode,
    policyVersion: policy?.version ?? null,
    policyHash: policy?.hash ?? null,
    principal: { id: principal.id, kind: principal.kind, verified: principal.verified, via: principal.via ?? null },
    route: decision.route ?? null,
    method: methodOf(request),
    path: pathOf(request),
    durationMs: decision.durationMs,
    dryRun: (decision.dryRun ?? []).map((entry) => ({ rule: entry.rule, wouldAction: entry.wouldAction })),
    rateLimited: decision.reason === 'ERR_RATE_LIMITED',
    checks: (decision.checks ?? []).map((c) => {
      const check: DecisionEventCheck = { check: c.check, verifier: c.verifier, outcome: c.outcome, reason: c.reason };
      if (typeof c.claim === 'string') check.claim = c.claim;
      return check;
    }),
  };
}

/** Reads a value, or gives `fallback` when reading throws or yields the wrong type. */
function read<T>(get: () => unknown, is: (value: unknown) => value is T, fallback: T): T {
  try {
    const value = get();
    return is(value) ? value : fallback;
  } catch {
    return fallback;
  }
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number';
const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';
const isStringOrNull = (value: unknown): value is string | null => value === null || typeof value === 'string';
const isNumberOrNull = (value: unknown): value is number | null => value === null || typeof value === 'number';

function fallback(decision: Decision, request: GuardRequest): DecisionEvent {
  const d = decision as unknown as Record<string, Record<string, unknown> | undefined>;
  const outcome = read(() => d.outcome, (v): v is 'allow' | 'deny' => v === 'allow' || v === 'deny', 'deny');
  return {
    outcome,
    status: read(() => d.status, isNumber, outcome === 'allow' ? 200 : 503),
    reason: read(() => d.reason, isString, 'ERR_INTERNAL'),
    monitor: read(() => d.monitor, isBoolean, false),
    failedOpen: read(() => d.failedOpen, isBoolean, false),
    rule: read(() => d.rule, isStringOrNull, null),
    mode: read(() => d.mode, (v): v is 'enforce' | 'monitor' => v === 'enforce' || v === 'monitor', 'enforce'),
    policyVersion: read(() => d.policy?.version ?? null, isNumberOrNull, null),
    policyHash: read(() => d.policy?.hash ?? null, isStringOrNull, null),
    principal: {
      id: read(() => d.principal?.id, isString, 'anonymous'),
      kind: read(() => d.principal?.kind, isString, 'anonymous'),
      verified: read(() => d.principal?.verified, isBoolean, false),
      via: read(() => d.principal?.via ?? null, isStringOrNull, null),
    },
    route: read(() => d.route, isStringOrNull, null),
    method: methodOf(request),
    path: pathOf(request),
    durationMs: read(() => d.durationMs, isNumber, 0),
    dryRun: [],
    rateLimited: read(() => d.reason, isString, '') === 'ERR_RATE_LIMITED',
    checks: [],
  };
}

function methodOf(request: GuardRequest): string | undefined {
  try {
    const method: unknown = request?.method;
    return typeof method === 'string' ? method.slice(0, MAX_METHOD) : undefined;
  } catch {
    return undefined;
  }
}

/** The pathname of an absolute URL: never its query string (which may carry tokens) or fragment. */
function pathOf(request: GuardRequest): string | undefined {
  try {
    const url: unknown = request?.url;
    return typeof url === 'string' ? new URL(url).pathname.slice(0, MAX_PATH) : undefined;
  } catch {
    return undefined;
  }
}
