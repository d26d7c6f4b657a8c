import { resolveApproov, type ApproovOptions } from './attestation/approov.js';
import { resolveFirebase, type FirebaseOptions } from './attestation/firebase.js';
import { resolveJwt, type JwtOptions } from './attestation/jwt.js';
import { TokenVerifier } from './attestation/token-verifier.js';
import type { Decision, Mode, Requirement } from './decision.js';
import { PROBLEM_TYPE_BASE } from './decision.js';
import { ConfigError } from './errors.js';
import { compilePathPattern, type PathPattern } from './lib/path-pattern.js';
import {
  checkObject,
  invalid,
  oneOf,
  optionalBoolean,
  optionalFunction,
  optionalString,
  positiveInteger,
  stringList,
} from './lib/validate.js';
import { silentLogger, type Logger } from './observe/logger.js';
import type { GuardRequest } from './request.js';

/** The attestation verifiers. Configure one or more; a request passes with a token any of them verifies. */
export interface AttestationOptions {
  /** Approov tokens (`Approov-Token`, HS256 with the account secret, optional token binding). */
  approov?: ApproovOptions;
  /** Firebase App Check tokens (`X-Firebase-AppCheck`, RS256 from Google's JWKS). */
  firebase?: FirebaseOptions;
  /** Any other JWT attestation or service token, with your own keys or JWKS. */
  jwt?: JwtOptions;
}

/** What a request must prove. */
export interface Requirements {
  /**
   * `required`: a verified attestation token or a deny. `optional`: verified if present, never blocks.
   * `off`: not checked. Default `required` (when any attestation verifier is configured).
   */
  attestation?: Requirement;
}

/** A route with its own requirements or mode. The first route that matches a request applies. */
export interface RouteOptions {
  /**
   * Path pattern matched against the normalised request path: literal segments, `*` or `:name`
   * for one segment, a final `**` for any rest. Case-insensitive unless `caseSensitive` is set.
   */
  path: string;
  /** HTTP methods this route applies to. Default: all. */
  methods?: string[];
  /** Requirements for this route; unset fields fall back to the guard's `require`. */
  require?: Requirements;
  /** Mode for this route. Default: the guard's `mode`. */
  mode?: Mode;
}

/** Options of `createGuard`. Validated at construction: an unknown key or bad value throws a ConfigError. */
export interface GuardOptions {
  /** `enforce` denies; `monitor` reports the would-be decision and lets every request through. Default `enforce`. */
  mode?: Mode;
  /** Attestation token verifiers. */
  attestation?: AttestationOptions;
  /** Requirements for requests no route matches. */
  require?: Requirements;
  /** Per-route requirements and modes, first match wins. Default: none. */
  routes?: RouteOptions[];
  /** Match route paths case-sensitively. Default `false` (Express routes case-insensitively by default). */
  caseSensitive?: boolean;
  /**
   * Allow requests when a check's key source fails (JWKS unreachable) instead of answering 503.
   * The decision then has `failedOpen: true`. Default: closed for every check.
   */
  failOpen?: { attestation?: boolean };
  /** Cache sizes. `tokens`: verified tokens remembered per verifier (default 10000; 0 disables). */
  cache?: { tokens?: number };
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** A pino-compatible logger. Default: silent. Never receives tokens, signatures or keys. */
  logger?: Logger;
  /** Called with every decision (and the request it was made for). Exceptions it throws are logged and ignored. */
  onDecision?: (decision: Decision, request: GuardRequest) => void;
  /** The fetch used for remote key sets. Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Prefix of the problem `type` URIs in deny responses. Default `urn:bonafide:problem:`. */
  problemTypeBase?: string;
}

export interface ResolvedRoute {
  readonly pattern: PathPattern;
  readonly methods: ReadonlySet<string> | undefined;
  readonly attestation: Requirement;
  readonly mode: Mode;
}

/** The complete, validated configuration a guard runs on. */
export interface ResolvedConfig {
  readonly mode: Mode;
  readonly verifiers: readonly TokenVerifier[];
  readonly attestation: Requirement;
  readonly routes: readonly ResolvedRoute[];
  readonly failOpenAttestation: boolean;
  readonly now: () => number;
  readonly logger: Logger;
  readonly onDecision: ((decision: Decision, request: GuardRequest) => void) | undefined;
  readonly problemTypeBase: string;
}

const TOP_KEYS = [
  'mode', 'attestation', 'require', 'routes', 'caseSensitive', 'failOpen', 'cache',
  'now', 'logger', 'onDecision', 'fetch', 'problemTypeBase',
] as const;
const MODES = ['enforce', 'monitor'] as const;
const REQUIREMENTS = ['required', 'optional', 'off'] as const;

function resolveLogger(value: unknown): Logger {
  if (value === undefined) return silentLogger;
  const l = value as Logger | null;
  if (l === null || typeof l !== 'object' || ['info', 'warn', 'error'].some((m) => typeof l[m as keyof Logger] !== 'function')) {
    throw invalid('logger', 'a pino-compatible logger with info, warn and error methods', value);
  }
  return l;
}

function resolveRequirement(value: unknown, path: string, fallback: Requirement): Requirement {
  if (value === undefined) return fallback;
  const o = checkObject(value, path, ['attestation']);
  return oneOf(o.attestation, `${path}.attestation`, REQUIREMENTS, fallback);
}

/** Validates user options into a frozen configuration. Throws ConfigError with the option's path. */
export function resolveOptions(options: GuardOptions): ResolvedConfig {
  const o = checkObject(options, '', TOP_KEYS);
  const mode = oneOf(o.mode, 'mode', MODES, 'enforce');
  const now = optionalFunction<() => number>(o.now, 'now') ?? Date.now;
  const logger = resolveLogger(o.logger);
  const fetchImpl = optionalFunction<typeof fetch>(o.fetch, 'fetch') ?? ((...args) => globalThis.fetch(...args));
  const cache = o.cache === undefined ? {} : checkObject(o.cache, 'cache', ['tokens']);
  const cacheSize = positiveInteger(cache.tokens, 'cache.tokens', 10_000, { allowZero: true });
  const context = { fetch: fetchImpl, now, logger };

  const verifiers: TokenVerifier[] = [];
  if (o.attestation !== undefined) {
    const a = checkObject(o.attestation, 'attestation', ['approov', 'firebase', 'jwt']);
    if (a.approov !== undefined) verifiers.push(new TokenVerifier(resolveApproov(a.approov, 'attestation.approov', cacheSize)));
    if (a.firebase !== undefined) {
      verifiers.push(new TokenVerifier(resolveFirebase(a.firebase, 'attestation.firebase', cacheSize, context)));
    }
    if (a.jwt !== undefined) verifiers.push(new TokenVerifier(resolveJwt(a.jwt, 'attestation.jwt', cacheSize, context)));
  }
  const names = new Set<string>();
  for (const v of verifiers) {
    if (names.has(v.config.name)) throw invalid('attestation.jwt.name', `a name other than '${v.config.name}'`, v.config.name);
    names.add(v.config.name);
  }
  if (verifiers.length === 0) {
    throw new ConfigError(
      'ERR_CONFIG_MISSING_OPTION',
      'attestation',
      'Configure at least one verifier: `attestation.approov`, `attestation.firebase` or `attestation.jwt`.',
    );
  }

  const attestation = resolveRequirement(o.require, 'require', 'required');
  const caseSensitive = optionalBoolean(o.caseSensitive, 'caseSensitive') ?? false;
  const routes: ResolvedRoute[] = [];
  if (o.routes !== undefined) {
    if (!Array.isArray(o.routes)) throw invalid('routes', 'an array of routes', o.routes);
    o.routes.forEach((route: unknown, i) => {
      const path = `routes[${i}]`;
      const r = checkObject(route, path, ['path', 'methods', 'require', 'mode']);
      const pattern = typeof r.path === 'string' ? compilePathPattern(r.path, caseSensitive) : undefined;
      if (!pattern) throw invalid(`${path}.path`, "a path pattern starting with '/' (with `*`, `:name` and a final `**`)", r.path);
      const methods = r.methods === undefined ? undefined : new Set(stringList(r.methods, `${path}.methods`).map((m) => m.toUpperCase()));
      routes.push({
        pattern,
        methods,
        attestation: resolveRequirement(r.require, `${path}.require`, attestation),
        mode: oneOf(r.mode, `${path}.mode`, MODES, mode),
      });
    });
  }
  const failOpen = o.failOpen === undefined ? {} : checkObject(o.failOpen, 'failOpen', ['attestation']);
  const failOpenAttestation = optionalBoolean(failOpen.attestation, 'failOpen.attestation') ?? false;
  if (failOpenAttestation) {
    logger.warn({ option: 'failOpen.attestation' }, 'bonafide: attestation fails open: requests pass while keys are unavailable');
  }
  if (mode === 'monitor') logger.warn({ option: 'mode' }, 'bonafide: monitor mode: denials are reported, not enforced');

  return Object.freeze({
    mode,
    verifiers,
    attestation,
    routes,
    failOpenAttestation,
    now,
    logger,
    onDecision: optionalFunction<(decision: Decision, request: GuardRequest) => void>(o.onDecision, 'onDecision'),
    problemTypeBase: optionalString(o.problemTypeBase, 'problemTypeBase') ?? PROBLEM_TYPE_BASE,
  });
}
