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
  #closed = false;

  constructor(config: ResolvedConfig) {
    this.#config = config;
    this.#defaultScope = Object.freeze({ route: null, attestation: config.attestation, mode: config.mode });
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

  /** Synchronous unless a verifier has to wait for keys: most requests never create a promise here. */
  #run(request: NormalizedRequest, scope: Scope, started: number): Decision | Promise<Decision> {
    if (this.#closed) return this.#decide(scope, 'ERR_INTERNAL', ANONYMOUS, [], started);
    if (scope.attestation === 'off') return this.#decide(scope, 'OK', ANONYMOUS, [], started);
    const verifiers = this.#config.verifiers;
    const state: AttestationState = { now: this.#config.now(), checks: [], principal: ANONYMOUS, unavailable: false, firstInvalid: undefined };
    for (let i = 0; i < verifiers.length; i++) {
      const verifier = verifiers[i]!;
      const result = verifier.verify(request.headers, state.now);
      if (result instanceof Promise) return this.#runAsync(request, scope, started, state, i, result);
      if (record(state, result)) break;
    }
    return this.#conclude(scope, state, started);
  }

  async #runAsync(
    request: NormalizedRequest,
    scope: Scope,
    started: number,
    state: AttestationState,
    index: number,
    pending: Promise<TokenResult>,
  ): Promise<Decision> {
    const verifiers = this.#config.verifiers;
    if (!record(state, await pending)) {
      for (let i = index + 1; i < verifiers.length; i++) {
        const verifier = verifiers[i]!;
        const result = verifier.verify(request.headers, state.now);
        if (record(state, result instanceof Promise ? await result : result)) break;
      }
    }
    return this.#conclude(scope, state, started);
  }

  #conclude(scope: Scope, state: AttestationState, started: number): Decision {
    const { principal, checks } = state;
    if (principal.verified || scope.attestation === 'optional') return this.#decide(scope, 'OK', principal, checks, started);
    if (state.unavailable) {
      return this.#decide(scope, 'ERR_KEYS_UNAVAILABLE', principal, checks, started, this.#config.failOpenAttestation);
    }
    return this.#decide(scope, state.firstInvalid ?? 'ERR_TOKEN_MISSING', principal, checks, started);
  }

  #scopeOf(request: NormalizedRequest): Scope {
    const routes = this.#config.routes;
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i]!;
      if (route.methods !== undefined && !route.methods.has(request.method)) continue;
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
    if (problem.status === 401) {
      const challenges = this.#config.verifiers
        .filter((v) => v.config.scheme !== null)
        .map((v) => {
          const error = reason === 'ERR_TOKEN_MISSING' ? '' : ', error="invalid_token"';
          return `${v.config.scheme} realm="${v.config.name}"${error}`;
        });
      if (challenges.length > 0) headers['www-authenticate'] = challenges.join(', ');
    }
    return { status: problem.status, headers, body: JSON.stringify(problem) };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

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
    scope = Object.freeze({ route: route.pattern.source, attestation: route.attestation, mode: route.mode });
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
