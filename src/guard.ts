import type { TokenResult } from './attestation/token-verifier.js';
import {
  REASONS,
  toProblem,
  type CheckResult,
  type Decision,
  type DenyReason,
  type DenyResponse,
  type DenyStatus,
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
    const attestation = scope.attestation === 'off' ? undefined : this.#attest(request, now);
    const verifier = this.#config.signatures;
    const signature = scope.signature === 'off' || verifier === undefined ? undefined : verifier.verify(request, now, scope.signatureRequire);
    let install: InstallOutcome | Promise<InstallOutcome> | undefined;
    if (scope.installSignature !== 'off' && this.#config.install !== undefined) {
      // The installation key comes from the verified token, so this check follows the attestation.
      install = attestation instanceof Promise ? attestation.then((a) => this.#install(request, now, a)) : this.#install(request, now, attestation);
    }
    if (attestation instanceof Promise || signature instanceof Promise || install instanceof Promise) {
      return Promise.all([attestation, signature, install]).then(([a, s, i]) => this.#conclude(scope, a, s, i, started));
    }
    return this.#conclude(scope, attestation, signature, install, started);
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
    scope: Scope,
    attestation: AttestationState | undefined,
    signature: SignatureOutcome | undefined,
    install: SignatureOutcome | undefined,
    started: number,
  ): Decision {
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
    if (failedOpen !== undefined) return this.#decide(scope, failedOpen, principal, checks, started, true);
    return this.#decide(scope, 'OK', principal, checks, started);
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
      durationMs,
    };
  }

  #report(decision: Decision, input: GuardRequest): Decision {
    const { logger, onDecision } = this.#config;
    if (decision.reason !== 'OK') {
      try {
        const entry = logEntry(decision, input);
        if (decision.status === 503 || decision.reason === 'ERR_INTERNAL') logger.error(entry, 'bonafide: request denied: verification unavailable');
        else if (decision.outcome === 'deny') logger.info(entry, 'bonafide: request denied');
        else if (decision.monitor) logger.warn(entry, 'bonafide: request would be denied (monitor mode)');
        else logger.warn(entry, 'bonafide: request allowed because a check failed open');
      } catch {
        // A broken logger must not turn a decision into a crash.
      }
    }
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
    if (problem.status === 401 && (reason.startsWith('ERR_TOKEN_') || reason.startsWith('ERR_BINDING_'))) {
      const challenges = this.#config.verifiers
        .filter((v) => v.config.scheme !== null)
        .map((v) => {
          const error = reason === 'ERR_TOKEN_MISSING' ? '' : ', error="invalid_token"';
          return `${v.config.scheme} realm="${v.config.name}"${error}`;
        });
      if (challenges.length > 0) headers['www-authenticate'] = challenges.join(', ');
    }
    if (SIGNATURE_CHALLENGES.has(reason)) {
      const accept = this.#acceptSignature.get(decision.route) ?? this.#acceptSignature.get(null);
      if (accept !== undefined) headers['accept-signature'] = accept;
    }
    return { status: problem.status, headers, body: JSON.stringify(problem) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#config.signatures?.config.directory?.close();
    if (this.#config.ownsStore) await this.#config.store.close?.();
  }
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

/** What a log line says about a decision: codes and the route, never tokens, query strings or keys. */
function logEntry(decision: Decision, input: GuardRequest): object {
  let path: string | undefined;
  try {
    path = typeof input?.url === 'string' ? new URL(input.url).pathname : undefined;
  } catch {
    path = undefined;
  }
  const failing = decision.checks.find((c) => c.reason === decision.reason);
  return {
    bonafide: {
      outcome: decision.outcome,
      reason: decision.reason,
      status: decision.outcome === 'deny' ? decision.status : REASONS[decision.reason].status,
      monitor: decision.monitor,
      failedOpen: decision.failedOpen,
      route: decision.route,
      method: typeof input?.method === 'string' ? input.method.slice(0, 32) : undefined,
      path: path?.slice(0, 256),
      principal: decision.principal.id,
      verifier: failing?.verifier,
      claim: failing?.claim,
    },
  };
}
