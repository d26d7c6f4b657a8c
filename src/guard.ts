import type { TokenResult } from './attestation/token-verifier.js';
import {
  REASONS,
  toProblem,
  type CheckResult,
  type Decision,
  type DenyReason,
  type DenyResponse,
  type DenyStatus,
  type PolicyInForce,
  type RateLimitInfo,
  type Mode,
  type ReasonCode,
  type Requirement,
} from './decision.js';
import { resolveOptions, type GuardOptions, type ResolvedConfig, type ResolvedRoute } from './options.js';
import { ANONYMOUS, type Principal } from './principal.js';
import { normalizeRequest, type GuardRequest, type NormalizedRequest } from './request.js';
import { acceptSignature } from './signatures/accept-signature.js';
import type { ResolvedSignatureRequirements } from './signatures/options.js';
import { installKeyOf } from './signatures/install.js';
import { decisionEvent } from './observe/decision-event.js';
import { recordDecision } from './observe/metrics.js';
import { loadOpenTelemetry, recordSpan } from './observe/otel.js';
import type { CompiledRateLimit, PolicyResult, ProofRequirement } from './policy/types.js';
import type { PolicyHandle } from './policy/handle.js';
import type { CompiledPolicy } from './policy/compile.js';
import { policyContext } from './policy/context.js';
import { checkRateLimit, rateLimitKey, rateLimitRequest } from './limits/rate-limit.js';
import { rateLimitHeaders } from './limits/response-headers.js';
import type { AccountResult, RateLimitState } from './stores/store.js';
import { UNAVAILABLE_REASONS, type SignatureOutcome } from './signatures/verifier.js';

/** The installation signature's outcome. */
type InstallOutcome = SignatureOutcome;

/** A configured guard. Build it once and share it: it holds the key and token caches. */
export interface Guard {
  /** Decides one request. Never throws for bad input: every problem becomes a Decision with a reason code. */
  check(request: GuardRequest): Promise<Decision>;
  /**
   * Like `check`, but returns the Decision itself when deciding needs no I/O (keys already loaded,
   * the usual case) and a Promise only when it must wait, e.g. for a JWKS fetch. Adapters use it to
   * keep the hot path free of promises. Guards from `createGuard` always have it.
   */
  decide?(request: GuardRequest): Decision | Promise<Decision>;
  /** The HTTP answer for a deny (RFC 9457 problem details, `WWW-Authenticate` where it applies). */
  respond(decision: Decision): DenyResponse;
  /** Releases timers and connections. The guard answers `ERR_INTERNAL` afterwards. */
  close(): Promise<void>;
  /** The policy in force and how to change it (`update`, events); `undefined` without a policy. */
  readonly policy?: PolicyHandle;
  /**
   * How a request would be decided, without side effects (no nonce recorded, no rate limit counted):
   * the checks and principal, and the policy's trace — which list entry or rule decided, and why each
   * one before it did not match.
   */
  explain?(request: GuardRequest): Promise<Explanation>;
}

/** What `guard.explain` reports. */
export interface Explanation {
  /** `ERR_REQUEST_INVALID` when the request could not be read, `ERR_INTERNAL` when explaining failed; otherwise `OK`. */
  readonly reason: 'OK' | 'ERR_REQUEST_INVALID' | 'ERR_INTERNAL';
  readonly route: string | null;
  readonly principal: Principal;
  readonly checks: readonly CheckResult[];
  readonly policy: PolicyInForce | null;
  /** The policy's verdict, or `null` without a policy. */
  readonly result: PolicyResult | null;
  readonly trace: readonly PolicyTraceEntry[];
}

interface Scope {
  readonly route: string | null;
  readonly attestation: Requirement;
  readonly signature: Requirement;
  readonly signatureRequire: ResolvedSignatureRequirements;
  readonly installSignature: Requirement;
  readonly mode: Mode;
}

/** Creates a guard. Throws ConfigError (with a code and the option's path) when the options are wrong. */
export function createGuard(options: GuardOptions): Guard {
  const config = resolveOptions(options);
  // Span attributes once `@opentelemetry/api` (an optional peer) has loaded; a no-op without it.
  void loadOpenTelemetry();
  return new GuardImpl(config);
}

class GuardImpl implements Guard {
  readonly #config: ResolvedConfig;
  readonly #defaultScope: Scope;
  /** Accept-Signature values per route (and `null` for the default scope), built once. */
  readonly #acceptSignature = new Map<string | null, string>();
  #closed = false;

  constructor(config: ResolvedConfig) {
    this.#config = config;
    this.#defaultScope = Object.freeze({
      route: null,
      attestation: config.attestation,
      signature: config.signature,
      signatureRequire: config.signatureRequire,
      installSignature: config.installSignature,
      mode: config.mode,
    });
    const signatures = config.signatures?.config;
    if (signatures !== undefined) {
      this.#acceptSignature.set(null, acceptSignature(signatures, config.signatureRequire));
      for (const route of config.routes) {
        if (!this.#acceptSignature.has(route.pattern.source)) {
          this.#acceptSignature.set(route.pattern.source, acceptSignature(signatures, route.signatureRequire));
        }
      }
    }
  }

  get policy(): PolicyHandle | undefined {
    return this.#config.policy;
  }

  async explain(input: GuardRequest): Promise<Explanation> {
    try {
      return await this.#explain(input);
    } catch (error) {
      // As `check` does: the error's name is logged, never its message (it may quote the request).
      this.#config.logger.error({ err: { name: error instanceof Error ? error.name : typeof error } }, 'bonafide: internal error while explaining a request');
      return { reason: 'ERR_INTERNAL', route: null, principal: ANONYMOUS, checks: [], policy: null, result: null, trace: [] };
    }
  }

  async #explain(input: GuardRequest): Promise<Explanation> {
    const request = normalizeRequest(input);
    if (request === undefined) {
      return { reason: 'ERR_REQUEST_INVALID', route: null, principal: ANONYMOUS, checks: [], policy: null, result: null, trace: [] };
    }
    const scope = this.#scopeOf(request);
    const now = this.#config.now();
    const attestation = scope.attestation === 'off' ? undefined : await this.#attest(request, now);
    const verifier = this.#config.signatures;
    const signature =
      scope.signature === 'off' || verifier === undefined ? undefined : await verifier.verify(request, now, scope.signatureRequire, undefined, false);
    const checks = [...(attestation?.checks ?? []), ...(signature?.checks ?? [])];
    const principal = attestation?.principal.verified ? attestation.principal : (signature?.principal ?? ANONYMOUS);
    const proven = { attestation: attestation?.principal.verified === true, signature: signature?.reason === 'OK' };
    const handle = this.#config.policy;
    if (handle === undefined) return { reason: 'OK', route: scope.route, principal, checks, policy: null, result: null, trace: [] };
    const compiled = handle.current;
    const { result, trace } = compiled.explain(policyContext(request, principal, proven, now));
    return { reason: 'OK', route: scope.route, principal, checks, policy: { version: compiled.version, hash: compiled.hash }, result, trace };
  }

  check(input: GuardRequest): Promise<Decision> {
    const decision = this.decide(input);
    return decision instanceof Promise ? decision : Promise.resolve(decision);
  }

  decide(input: GuardRequest): Decision | Promise<Decision> {
    const started = performance.now();
    let scope = this.#defaultScope;
    let result: Decision | Promise<Decision>;
    try {
      const request = normalizeRequest(input);
      if (request === undefined) {
        result = this.#decide(scope, 'ERR_REQUEST_INVALID', ANONYMOUS, [], started);
      } else {
        scope = this.#scopeOf(request);
        result = this.#run(request, scope, started);
      }
    } catch (error) {
      result = this.#internalError(error, scope, started);
    }
    if (result instanceof Promise) {
      const failed = scope;
      return result
        .catch((error: unknown) => this.#internalError(error, failed, started))
        .then((decision) => this.#report(decision, input));
    }
    return this.#report(result, input);
  }

  #internalError(error: unknown, scope: Scope, started: number): Decision {
    this.#config.logger.error(
      { err: { name: error instanceof Error ? error.name : typeof error } },
      'bonafide: internal error while checking a request',
    );
    return this.#decide(scope, 'ERR_INTERNAL', ANONYMOUS, [], started);
  }

  /** Synchronous unless a verifier has to wait for keys, a body or the store: most requests never create a promise here. */
  #run(request: NormalizedRequest, scope: Scope, started: number): Decision | Promise<Decision> {
    if (this.#closed) return this.#decide(scope, 'ERR_INTERNAL', ANONYMOUS, [], started);
    const now = this.#config.now();
    // Taken now: a request still being verified when a new policy arrives is decided under this one.
    const handle = this.#config.policy;
    const policy = handle?.current;
    if (handle !== undefined && handle.waiting) return this.#decide(scope, 'ERR_POLICY_UNAVAILABLE', ANONYMOUS, [], started);
    const attestation = scope.attestation === 'off' ? undefined : this.#attest(request, now);
    const verifier = this.#config.signatures;
    // With a policy, a nonce waits for the policy's rate limit so the store takes both in one call.
    const record = policy !== undefined && this.#config.store.account !== undefined ? 'defer' : true;
    const signature =
      scope.signature === 'off' || verifier === undefined ? undefined : verifier.verify(request, now, scope.signatureRequire, undefined, record);
    let install: InstallOutcome | Promise<InstallOutcome> | undefined;
    if (scope.installSignature !== 'off' && this.#config.install !== undefined) {
      // The installation key comes from the verified token, so this check follows the attestation.
      install = attestation instanceof Promise ? attestation.then((a) => this.#install(request, now, a)) : this.#install(request, now, attestation);
    }
    if (attestation instanceof Promise || signature instanceof Promise || install instanceof Promise) {
      return Promise.all([attestation, signature, install]).then(([a, s, i]) => this.#conclude(request, scope, policy, a, s, i, started));
    }
    return this.#conclude(request, scope, policy, attestation, signature, install, started);
  }

  /** The installation signature, checked with the `ipk` of the verified attestation token. */
  #install(request: NormalizedRequest, now: number, attestation: AttestationState | undefined): InstallOutcome | Promise<SignatureOutcome> {
    const principal = attestation?.principal;
    const single = (outcome: 'invalid' | 'unverified', reason: ReasonCode): SignatureOutcome => ({
      checks: [{ check: 'signature', verifier: 'install', outcome, reason }],
      principal: undefined,
      reason,
    });
    // Without a verified token there is no key: fail closed (a required attestation check, which comes
    // first, reports why; with attestation optional or off, this check does).
    if (principal === undefined || !principal.verified || principal.installPublicKey === undefined) {
      return single('unverified', 'ERR_INSTALL_KEY_MISSING');
    }
    const key = installKeyOf(principal.installPublicKey, now);
    if (key === undefined) return single('invalid', 'ERR_INSTALL_KEY_INVALID');
    const install = this.#config.install!;
    return install.verify(request, now, install.config.require, key);
  }

  #attest(request: NormalizedRequest, now: number): AttestationState | Promise<AttestationState> {
    const verifiers = this.#config.verifiers;
    const state: AttestationState = { now, checks: [], principal: ANONYMOUS, unavailable: false, firstInvalid: undefined };
    for (let i = 0; i < verifiers.length; i++) {
      const verifier = verifiers[i]!;
      const result = verifier.verify(request.headers, now);
      if (result instanceof Promise) return this.#attestAsync(request, state, i, result);
      if (record(state, result)) break;
    }
    return state;
  }

  async #attestAsync(request: NormalizedRequest, state: AttestationState, index: number, pending: Promise<TokenResult>): Promise<AttestationState> {
    const verifiers = this.#config.verifiers;
    if (!record(state, await pending)) {
      for (let i = index + 1; i < verifiers.length; i++) {
        const verifier = verifiers[i]!;
        const result = verifier.verify(request.headers, state.now);
        if (record(state, result instanceof Promise ? await result : result)) break;
      }
    }
    return state;
  }

  /**
   * Attestation first, then signatures: the first required check that fails decides. A check that
   * could not run (keys, directory, store or body unavailable) and was configured to fail open lets
   * the request through with `failedOpen` and its reason, unless a later check denies.
   */
  #conclude(
    request: NormalizedRequest,
    scope: Scope,
    policy: CompiledPolicy | undefined,
    attestation: AttestationState | undefined,
    signature: SignatureOutcome | undefined,
    install: SignatureOutcome | undefined,
    started: number,
  ): Decision | Promise<Decision> {
    let checks: readonly CheckResult[];
    if (attestation === undefined) checks = signature === undefined ? [] : signature.checks;
    else checks = signature === undefined ? attestation.checks : [...attestation.checks, ...signature.checks];
    if (install !== undefined) checks = [...checks, ...install.checks];
    let principal = ANONYMOUS;
    if (attestation !== undefined && attestation.principal.verified) principal = attestation.principal;
    else if (signature?.principal !== undefined) principal = signature.principal;

    let failedOpen: ReasonCode | undefined;
    if (attestation !== undefined && scope.attestation === 'required' && !attestation.principal.verified) {
      if (!attestation.unavailable) return this.#decide(scope, attestation.firstInvalid ?? 'ERR_TOKEN_MISSING', principal, checks, started);
      if (!this.#config.failOpenAttestation) return this.#decide(scope, 'ERR_KEYS_UNAVAILABLE', principal, checks, started);
      failedOpen = 'ERR_KEYS_UNAVAILABLE';
    }
    if (install !== undefined && scope.installSignature === 'required' && install.reason !== 'OK') {
      if (!UNAVAILABLE_REASONS.has(install.reason) || !this.#config.failOpenSignature) {
        return this.#decide(scope, install.reason, principal, checks, started);
      }
      failedOpen ??= install.reason;
    }
    if (signature !== undefined && scope.signature === 'required' && signature.reason !== 'OK') {
      if (!UNAVAILABLE_REASONS.has(signature.reason) || !this.#config.failOpenSignature) {
        return this.#decide(scope, signature.reason, principal, checks, started);
      }
      failedOpen ??= signature.reason;
    }
    const proven = {
      attestation: attestation !== undefined && attestation.principal.verified,
      signature: signature !== undefined && signature.reason === 'OK',
    };
    // A nonce left to the policy step: recorded there (with the rate limit, if any) before an allow.
    const deferred: Deferred | undefined =
      signature?.nonce === undefined
        ? undefined
        : {
            outcome: signature,
            redo: (settled) => this.#conclude(request, scope, policy, attestation, settled, install, started),
          };
    return this.#applyPolicy(request, scope, policy, principal, checks, started, proven, failedOpen, deferred);
  }

  #scopeOf(request: NormalizedRequest): Scope {
    const routes = this.#config.routes;
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i]!;
      if (route.methods !== undefined && !route.methods.has(request.routeMethod)) continue;
      if (route.pattern.match(request.path)) return scopeFor(route);
    }
    return this.#defaultScope;
  }

  #decide(
    scope: Scope,
    reason: ReasonCode,
    principal: Principal,
    checks: readonly CheckResult[],
    started: number,
    failOpen = false,
    policy: PolicyOutcome = NO_POLICY,
  ): Decision {
    const durationMs = performance.now() - started;
    // One object shape for every decision, so the hot path stays monomorphic.
    if (reason === 'OK' || failOpen || scope.mode === 'monitor') {
      return {
        outcome: 'allow',
        status: 200,
        reason,
        monitor: reason !== 'OK' && !failOpen,
        failedOpen: reason !== 'OK' && failOpen,
        principal,
        checks,
        mode: scope.mode,
        route: scope.route,
        rule: policy.rule,
        policy: policy.policy,
        dryRun: policy.dryRun,
        rateLimit: policy.rateLimit,
        durationMs,
      };
    }
    return {
      outcome: 'deny',
      status: REASONS[reason].status as DenyStatus,
      reason: reason as DenyReason,
      monitor: false,
      failedOpen: false,
      principal,
      checks,
      mode: scope.mode,
      route: scope.route,
      rule: policy.rule,
      policy: policy.policy,
      dryRun: policy.dryRun,
      rateLimit: policy.rateLimit,
      durationMs,
    };
  }

  /**
   * The policy's verdict for a request every required check let through: lists, categories, rules
   * and the default decide; a rule may demand a kind of proof; an allow may be rate limited. Without
   * a policy, the request is allowed (`OK`, or failed open with `failedOpen`).
   */
  #applyPolicy(
    request: NormalizedRequest,
    scope: Scope,
    compiled: CompiledPolicy | undefined,
    principal: Principal,
    checks: readonly CheckResult[],
    started: number,
    proven: { readonly attestation: boolean; readonly signature: boolean },
    failedOpen: ReasonCode | undefined,
    deferred: Deferred | undefined,
  ): Decision | Promise<Decision> {
    // `#pass` is a method, not a closure over these arguments: this runs on every allowed request.
    if (compiled === undefined) {
      if (deferred === undefined) return this.#pass(scope, failedOpen, principal, checks, started, NO_POLICY);
      return this.#recordNonce(deferred, checks, (c) => this.#pass(scope, failedOpen, principal, c, started, NO_POLICY));
    }
    const result = compiled.evaluate(policyContext(request, principal, proven, this.#config.now()));
    const base: PolicyOutcome = {
      rule: result.source === 'rule' || result.source === 'category' ? result.match : result.source === 'default' ? 'default' : result.source,
      policy: { version: compiled.version, hash: compiled.hash },
      dryRun: result.dryRun,
      rateLimit: undefined,
    };
    // Denials record no nonce: the request is not accepted, and its checks say `replay: 'not-checked'`.
    if (result.require !== undefined && !proofSatisfied(result.require, proven)) {
      return this.#decide(scope, 'ERR_PROOF_REQUIRED', principal, checks, started, false, base);
    }
    switch (result.action) {
      case 'deny':
        return this.#decide(scope, 'ERR_POLICY_DENIED', principal, checks, started, false, base);
      case 'challenge':
        return this.#decide(scope, 'ERR_POLICY_CHALLENGE', principal, checks, started, false, base);
      case 'monitor':
        this.#config.logger.info({ bonafide: { rule: base.rule, principal: principal.id } }, 'bonafide: monitor rule matched');
        break;
      default:
        break;
    }
    const limit = result.action === 'monitor' ? undefined : result.rateLimit;
    // No key material (e.g. no client IP): the limit cannot be applied; the request is not counted.
    const key =
      limit === undefined
        ? undefined
        : rateLimitKey(limit, {
            principalId: principal.id,
            ip: request.ip,
            token: this.#tokenOf(request),
            header: (name: string) => request.headers.get(name),
          });
    if (limit === undefined || key === undefined) {
      if (deferred === undefined) return this.#pass(scope, failedOpen, principal, checks, started, base);
      return this.#recordNonce(deferred, checks, (c) => this.#pass(scope, failedOpen, principal, c, started, base));
    }
    const counted = (state: RateLimitState, settled = checks): Decision => {
      const outcome: PolicyOutcome = { ...base, rateLimit: rateLimitInfo(limit, state) };
      return state.allowed
        ? this.#pass(scope, failedOpen, principal, settled, started, outcome)
        : this.#decide(scope, 'ERR_RATE_LIMITED', principal, settled, started, false, outcome);
    };
    const unavailable = (): Decision =>
      this.#decide(scope, 'ERR_STORE_UNAVAILABLE', principal, checks, started, this.#config.failOpenRateLimit, base);
    const store = this.#config.store;
    const now = this.#config.now();
    if (deferred !== undefined && store.account !== undefined) {
      // The nonce and the limit in one store call. A replay (which takes nothing) or a store failure
      // decides the request again with the signature settled that way: it may fail open, or a limit
      // may still apply to whoever the caller is without that signature.
      const nonce = deferred.outcome.nonce!;
      const down = (): Decision | Promise<Decision> => deferred.redo(this.#settle(deferred, 'unavailable'));
      const answered = (answer: AccountResult): Decision | Promise<Decision> =>
        answer.nonce && answer.rateLimit !== undefined
          ? counted(answer.rateLimit, settledChecks(checks, nonce.check, this.#settle(deferred, true)))
          : deferred.redo(this.#settle(deferred, false));
      let answer: AccountResult | Promise<AccountResult>;
      try {
        answer = store.account({ nonce: { key: nonce.key, ttlMs: nonce.ttlMs }, rateLimit: rateLimitRequest(limit, key, now) });
      } catch {
        return down();
      }
      return answer instanceof Promise ? answer.then(answered, down) : answered(answer);
    }
    if (deferred !== undefined) return this.#recordNonce(deferred, checks, (c) => this.#limit(limit, key, now, (s) => counted(s, c), unavailable));
    return this.#limit(limit, key, now, counted, unavailable);
  }

  /** The allow for a request the policy let through: `OK`, or failed open with the check that failed. */
  #pass(
    scope: Scope,
    failedOpen: ReasonCode | undefined,
    principal: Principal,
    checks: readonly CheckResult[],
    started: number,
    outcome: PolicyOutcome,
  ): Decision {
    return failedOpen !== undefined
      ? this.#decide(scope, failedOpen, principal, checks, started, true, outcome)
      : this.#decide(scope, 'OK', principal, checks, started, false, outcome);
  }

  /** Takes from a rate limit through the store; a store failure is `unavailable`. */
  #limit(
    limit: CompiledRateLimit,
    key: string,
    now: number,
    counted: (state: RateLimitState) => Decision,
    unavailable: () => Decision,
  ): Decision | Promise<Decision> {
    let state: RateLimitState | Promise<RateLimitState>;
    try {
      state = checkRateLimit(this.#config.store, limit, key, now);
    } catch {
      return unavailable();
    }
    return state instanceof Promise ? state.then(counted, unavailable) : counted(state);
  }

  /**
   * Records a deferred nonce alone (no rate limit applies), then `then` with the settled checks; a
   * replay or a store failure decides the request again with the signature settled that way.
   */
  #recordNonce(
    deferred: Deferred,
    checks: readonly CheckResult[],
    then: (settled: readonly CheckResult[]) => Decision | Promise<Decision>,
  ): Decision | Promise<Decision> {
    const nonce = deferred.outcome.nonce!;
    const answered = (fresh: boolean): Decision | Promise<Decision> =>
      fresh ? then(settledChecks(checks, nonce.check, this.#settle(deferred, true))) : deferred.redo(this.#settle(deferred, false));
    const down = (): Decision | Promise<Decision> => deferred.redo(this.#settle(deferred, 'unavailable'));
    let recorded: boolean | Promise<boolean>;
    try {
      recorded = this.#config.store.recordNonce(nonce.key, nonce.ttlMs);
    } catch {
      return down();
    }
    return recorded instanceof Promise ? recorded.then(answered, down) : answered(recorded);
  }

  #settle(deferred: Deferred, answer: boolean | 'unavailable'): SignatureOutcome {
    return this.#config.signatures!.settle(deferred.outcome, answer);
  }

  /** The attestation token of the request (for rate limits keyed by token), from the first verifier's header. */
  #tokenOf(request: NormalizedRequest): string | undefined {
    for (const verifier of this.#config.verifiers) {
      const value = request.headers.get(verifier.config.header);
      if (value !== null) return value;
    }
    return undefined;
  }

  #report(decision: Decision, input: GuardRequest): Decision {
    const { logger, onDecision, metrics, logAllowed } = this.#config;
    if (decision.reason !== 'OK' || logAllowed) {
      try {
        const entry = { bonafide: decisionEvent(decision, input) };
        if (decision.status === 503 || decision.reason === 'ERR_INTERNAL') logger.error(entry, 'bonafide: request denied: verification unavailable');
        else if (decision.reason === 'OK') logger.info(entry, 'bonafide: request allowed');
        else if (decision.outcome === 'deny') logger.info(entry, 'bonafide: request denied');
        else if (decision.monitor) logger.warn(entry, 'bonafide: request would be denied (monitor mode)');
        else logger.warn(entry, 'bonafide: request allowed because a check failed open');
      } catch {
        // A broken logger must not turn a decision into a crash.
      }
    }
    recordDecision(metrics, decision);
    recordSpan(decision);
    if (onDecision !== undefined) {
      try {
        onDecision(decision, input);
      } catch (error) {
        logger.error({ err: { name: error instanceof Error ? error.name : typeof error } }, 'bonafide: onDecision threw');
      }
    }
    return decision;
  }

  respond(decision: Decision): DenyResponse {
    const reason: DenyReason = decision.reason === 'OK' ? 'ERR_INTERNAL' : decision.reason;
    const problem = toProblem(reason, this.#config.problemTypeBase);
    const headers: Record<string, string> = {
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
    };
    if (problem.status === 401 && (reason.startsWith('ERR_TOKEN_') || reason.startsWith('ERR_BINDING_') || POLICY_CHALLENGES.has(reason))) {
      const challenges = this.#config.verifiers
        .filter((v) => v.config.scheme !== null)
        .map((v) => {
          const error = reason === 'ERR_TOKEN_MISSING' ? '' : ', error="invalid_token"';
          return `${v.config.scheme} realm="${v.config.name}"${error}`;
        });
      if (challenges.length > 0) headers['www-authenticate'] = challenges.join(', ');
    }
    if (decision.rateLimit !== undefined) Object.assign(headers, rateLimitHeaders(decision.rateLimit, reason === 'ERR_RATE_LIMITED'));
    if (SIGNATURE_CHALLENGES.has(reason) || POLICY_CHALLENGES.has(reason)) {
      const accept = this.#acceptSignature.get(decision.route) ?? this.#acceptSignature.get(null);
      if (accept !== undefined) headers['accept-signature'] = accept;
    }
    return { status: problem.status, headers, body: JSON.stringify(problem) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#config.signatures?.config.directory?.close();
    await this.#config.policy?.close();
    if (this.#config.ownsStore) await this.#config.store.close?.();
  }
}

/** One step of a policy explanation: a list, category entry or rule, and whether (and why not) it matched. */
export interface PolicyTraceEntry {
  readonly source: string;
  readonly id: string;
  readonly matched: boolean;
  readonly why: string;
}

/** A verified signature whose nonce waits for the policy step, and how to decide again once the store has answered otherwise. */
interface Deferred {
  readonly outcome: SignatureOutcome;
  readonly redo: (settled: SignatureOutcome) => Decision | Promise<Decision>;
}

/** `checks` with the deferred nonce's check replaced by its settled form (same position). */
function settledChecks(checks: readonly CheckResult[], pending: CheckResult, settled: SignatureOutcome): readonly CheckResult[] {
  const index = checks.indexOf(pending);
  if (index < 0) return checks;
  const replacement = settled.checks.find((c) => c.label === pending.label && c.verifier === pending.verifier) ?? pending;
  const copy = checks.slice();
  copy[index] = replacement;
  return copy;
}

/** What a decision records of the policy. */
interface PolicyOutcome {
  readonly rule: string | null;
  readonly policy: PolicyInForce | null;
  readonly dryRun: readonly { readonly rule: string; readonly wouldAction: string }[];
  readonly rateLimit: RateLimitInfo | undefined;
}

const NO_DRY_RUN: readonly { readonly rule: string; readonly wouldAction: string }[] = Object.freeze([]);
const NO_POLICY: PolicyOutcome = Object.freeze({ rule: null, policy: null, dryRun: NO_DRY_RUN, rateLimit: undefined });

function proofSatisfied(require: ProofRequirement, proven: { readonly attestation: boolean; readonly signature: boolean }): boolean {
  switch (require) {
    case 'attestation':
      return proven.attestation;
    case 'signature':
      return proven.signature;
    case 'either':
      return proven.attestation || proven.signature;
    default:
      return true;
  }
}

function rateLimitInfo(limit: CompiledRateLimit, state: RateLimitState): RateLimitInfo {
  return {
    policy: limit.id,
    limit: state.limit,
    remaining: state.remaining,
    retryAfter: Math.ceil(state.retryAfterMs / 1000),
    reset: Math.ceil(state.resetMs / 1000),
    window: Math.ceil(limit.periodMs / 1000),
    ...(state.standIn === true ? { standIn: true as const } : {}),
  };
}

/** Denials whose answer says what to sign (RFC 9421 §5.1): a missing, refused or replayed signature. */
const SIGNATURE_CHALLENGES: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'ERR_SIGNATURE_MISSING',
  'ERR_SIGNATURE_TAG_INVALID',
  'ERR_SIGNATURE_PARAM_MISSING',
  'ERR_SIGNATURE_COVERAGE_INSUFFICIENT',
  'ERR_SIGNATURE_EXPIRED',
  'ERR_SIGNATURE_TOO_OLD',
  'ERR_SIGNATURE_REPLAYED',
  'ERR_DIGEST_MISSING',
]);

/** Policy denials that ask the caller to prove itself: both kinds of challenge apply. */
const POLICY_CHALLENGES: ReadonlySet<ReasonCode> = new Set<ReasonCode>(['ERR_POLICY_CHALLENGE', 'ERR_PROOF_REQUIRED']);

/** What the attestation verifiers have found so far for one request. */
interface AttestationState {
  readonly now: number;
  readonly checks: CheckResult[];
  principal: Principal;
  unavailable: boolean;
  firstInvalid: ReasonCode | undefined;
}

/** Adds one verifier's result; true when it verified (no further verifier needs to run). */
function record(state: AttestationState, result: TokenResult): boolean {
  const check = result.check;
  state.checks.push(check);
  if (check.outcome === 'verified') {
    state.principal = result.principal ?? ANONYMOUS;
    return true;
  }
  if (check.reason === 'ERR_KEYS_UNAVAILABLE') state.unavailable = true;
  else if (check.outcome === 'invalid' && state.firstInvalid === undefined) state.firstInvalid = check.reason;
  return false;
}

const scopes = new WeakMap<ResolvedRoute, Scope>();
function scopeFor(route: ResolvedRoute): Scope {
  let scope = scopes.get(route);
  if (scope === undefined) {
    scope = Object.freeze({
      route: route.pattern.source,
      attestation: route.attestation,
      signature: route.signature,
      signatureRequire: route.signatureRequire,
      installSignature: route.installSignature,
      mode: route.mode,
    });
    scopes.set(route, scope);
  }
  return scope;
}
