import { resolveApproov, type ApproovOptions } from './attestation/approov.js';
import { resolveFirebase, type FirebaseOptions } from './attestation/firebase.js';
import { resolveJwt, type JwtOptions } from './attestation/jwt.js';
import { TokenVerifier, type TokenVerifierConfig } from './attestation/token-verifier.js';
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
import {
  clockSkewRisk,
  resolveSignatureRequirements,
  resolveSignatures,
  type ResolvedSignatureRequirements,
  type RiskWarning,
  type SignatureOptions,
  type SignatureRequirements,
} from './signatures/options.js';
import { SignatureVerifier } from './signatures/verifier.js';
import { resolveInstallSignature, type InstallSignatureOptions } from './signatures/install.js';
import { MemoryStore } from './stores/memory.js';
import type { Store } from './stores/store.js';
import { compilePolicy, PolicyError, type CompiledPolicy } from './policy/compile.js';
import { loadPolicyFile, PolicyHandle } from './policy/handle.js';
import type { PolicySource } from './policy/source.js';
import type { PolicyDocument } from './policy/types.js';
import { validateMetrics, type Metrics } from './observe/metrics.js';

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
   * `off`: not checked. Default `required` when an attestation verifier is configured, else `off`.
   */
  attestation?: Requirement;
  /**
   * `required`: at least one verified HTTP message signature or a deny (with `Accept-Signature`).
   * `optional`: verified if present, never blocks. `off`: not checked. Default `required` when
   * `signatures` is configured, else `off`.
   */
  signature?: Requirement;
  /**
   * `required`: an installation signature verified with the key in the attestation token (see
   * `installSignature`) or a deny. Default `required` when `installSignature` is configured, else `off`.
   */
  installSignature?: Requirement;
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
  /** What signatures on this route must cover, added to `signatures.require`. */
  signature?: SignatureRequirements;
}

/** Options of `createGuard`. Validated at construction: an unknown key or bad value throws a ConfigError. */
export interface GuardOptions {
  /** `enforce` denies; `monitor` reports the would-be decision and lets every request through (logs a warning at construction). Default `enforce`. */
  mode?: Mode;
  /** Attestation token verifiers. */
  attestation?: AttestationOptions;
  /** HTTP message signature verification (RFC 9421; Web Bot Auth by default). */
  signatures?: SignatureOptions;
  /**
   * Installation message signing: a request signature (label `install`) checked with the ECDSA P-256
   * key carried in the verified attestation token (Approov `ipk`). `true` for the defaults.
   */
  installSignature?: InstallSignatureOptions | true;
  /**
   * The policy: a document (validated and compiled now; a bad one throws ConfigError), or
   * `{ file, watch? }` to load it from a JSON file and, with `watch: true` (the default), apply every
   * change to the file, or `{ source, initial? }` to follow a shared source such as Redis
   * (`redisPolicySource` from `bonafide/redis`): until its first document arrives the guard answers
   * 503 `ERR_POLICY_UNAVAILABLE` (await `guard.policy.ready` before serving), or decides under
   * `initial` when given. Change it at runtime with `guard.policy.update(document)`. Default: none.
   */
  policy?: PolicyDocument | { file: string; watch?: boolean } | { source: PolicySource; initial?: PolicyDocument };
  /** Where nonces are recorded against replay. Default: an in-memory store (one process). */
  store?: Store;
  /** Requirements for requests no route matches. */
  require?: Requirements;
  /** Per-route requirements and modes, first match wins. Default: none. */
  routes?: RouteOptions[];
  /** Match route paths case-sensitively. Default `false` (Express routes case-insensitively by default). */
  caseSensitive?: boolean;
  /**
   * Allow requests when a check's key source fails (JWKS unreachable) instead of answering 503.
   * The decision then has `failedOpen: true`. `signature` covers an unreachable key directory, an
   * unavailable replay store and an unreadable body; `rateLimit` a store that cannot count. Default:
   * closed for every check. Each one opened logs a warning at construction.
   */
  failOpen?: { attestation?: boolean; signature?: boolean; rateLimit?: boolean };
  /** Cache sizes. `tokens`: verified tokens remembered per verifier (default 10000; 0 disables). */
  cache?: { tokens?: number };
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** A pino-compatible logger. Default: silent. Never receives tokens, signatures or keys. */
  logger?: Logger;
  /**
   * Counts every decision by outcome, reason, rule and mode and records how long it took (see
   * `examples/metrics/prom-client.ts`). Labels never carry an IP, a token or a key id. Default: none.
   */
  metrics?: Metrics;
  /** `deny` (default): log denied, monitored and failed-open decisions; `all`: every decision, allows at info. */
  logDecisions?: 'deny' | 'all';
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
  readonly signature: Requirement;
  readonly signatureRequire: ResolvedSignatureRequirements;
  readonly installSignature: Requirement;
  readonly mode: Mode;
}

/** The complete, validated configuration a guard runs on. */
export interface ResolvedConfig {
  readonly mode: Mode;
  readonly verifiers: readonly TokenVerifier[];
  readonly attestation: Requirement;
  readonly signatures: SignatureVerifier | undefined;
  readonly signature: Requirement;
  readonly signatureRequire: ResolvedSignatureRequirements;
  readonly install: SignatureVerifier | undefined;
  readonly installSignature: Requirement;
  readonly store: Store;
  /** True when the store is the default memory store, which `close()` releases. */
  readonly ownsStore: boolean;
  readonly routes: readonly ResolvedRoute[];
  readonly failOpenAttestation: boolean;
  readonly failOpenSignature: boolean;
  readonly failOpenRateLimit: boolean;
  readonly policy: PolicyHandle | undefined;
  readonly now: () => number;
  readonly logger: Logger;
  readonly onDecision: ((decision: Decision, request: GuardRequest) => void) | undefined;
  readonly metrics: Metrics | undefined;
  readonly logAllowed: boolean;
  readonly problemTypeBase: string;
}

const TOP_KEYS = [
  'mode', 'attestation', 'signatures', 'installSignature', 'policy', 'store', 'require', 'routes', 'caseSensitive', 'failOpen', 'cache',
  'now', 'logger', 'onDecision', 'metrics', 'logDecisions', 'fetch', 'problemTypeBase',
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

interface ResolvedRequirements {
  readonly attestation: Requirement;
  readonly signature: Requirement;
  readonly installSignature: Requirement;
}

function resolveRequirement(value: unknown, path: string, fallback: ResolvedRequirements, available: ResolvedRequirements): ResolvedRequirements {
  if (value === undefined) return fallback;
  const o = checkObject(value, path, ['attestation', 'signature', 'installSignature']);
  const attestation = oneOf(o.attestation, `${path}.attestation`, REQUIREMENTS, fallback.attestation);
  const signature = oneOf(o.signature, `${path}.signature`, REQUIREMENTS, fallback.signature);
  const installSignature = oneOf(o.installSignature, `${path}.installSignature`, REQUIREMENTS, fallback.installSignature);
  if (installSignature !== 'off' && available.installSignature === 'off') {
    throw new ConfigError('ERR_CONFIG_MISSING_OPTION', `${path}.installSignature`, `\`${path}.installSignature\` needs \`installSignature\` to be configured, or set it to 'off'.`);
  }
  if (attestation !== 'off' && available.attestation === 'off') {
    throw new ConfigError('ERR_CONFIG_MISSING_OPTION', `${path}.attestation`, `\`${path}.attestation\` needs an attestation verifier: configure \`attestation\`, or set it to 'off'.`);
  }
  if (signature !== 'off' && available.signature === 'off') {
    throw new ConfigError('ERR_CONFIG_MISSING_OPTION', `${path}.signature`, `\`${path}.signature\` needs signature verification: configure \`signatures\`, or set it to 'off'.`);
  }
  return { attestation, signature, installSignature };
}

/** Stands in, as a waiting placeholder, until a policy source delivers its first document. */
const WAITING_DOCUMENT: PolicyDocument = { metadata: { version: 0, name: 'waiting for the policy source' }, default: { action: 'deny' } };

function resolvePolicy(value: unknown, logger: Logger): PolicyHandle {
  if (value !== null && typeof value === 'object' && 'source' in value && !('metadata' in value)) {
    const o = checkObject(value, 'policy', ['source', 'initial']);
    const source = o.source as PolicySource | null;
    if (source === null || typeof source !== 'object' || typeof source.follow !== 'function') {
      throw invalid('policy.source', 'a policy source, e.g. redisPolicySource({ client }) from bonafide/redis', source);
    }
    const handle = o.initial === undefined ? new PolicyHandle(compilePolicy(WAITING_DOCUMENT), logger, true) : resolvePolicy(o.initial, logger);
    handle.follow(source);
    return handle;
  }
  const isFile = value !== null && typeof value === 'object' && 'file' in value && !('metadata' in value);
  let compiled: CompiledPolicy;
  try {
    if (isFile) {
      const o = checkObject(value, 'policy', ['file', 'watch']);
      if (typeof o.file !== 'string' || o.file.length === 0) throw invalid('policy.file', 'the path of a JSON policy file', o.file);
      compiled = loadPolicyFile(o.file);
      const handle = new PolicyHandle(compiled, logger);
      if ((optionalBoolean(o.watch, 'policy.watch') ?? true) === true) handle.watchFile(o.file);
      return handle;
    }
    compiled = compilePolicy(value);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if (error instanceof PolicyError) {
      const first = error.problems[0];
      throw new ConfigError(
        'ERR_CONFIG_INVALID_VALUE',
        `policy${first?.path ? first.path.replaceAll('/', '.') : ''}`,
        `The policy is invalid: ${error.problems.slice(0, 5).map((p) => `${p.path || '/'} ${p.message}`).join('; ')}. Check it with \`bonafide policy validate\`.`,
      );
    }
    throw new ConfigError('ERR_CONFIG_INVALID_VALUE', 'policy.file', 'The policy file could not be read or is not JSON.');
  }
  return new PolicyHandle(compiled, logger);
}

function resolveStore(value: unknown, now: () => number): Store {
  if (value === undefined) return new MemoryStore({ now });
  const store = value as Partial<Store> | null;
  if (store === null || typeof store !== 'object' || typeof store.recordNonce !== 'function' || typeof store.rateLimit !== 'function') {
    throw invalid('store', 'a Store with recordNonce(key, ttlMs) and rateLimit(request) methods', value);
  }
  return store as Store;
}

/**
 * Validates user options into a frozen configuration. Throws ConfigError with the option's path.
 * Options that weaken security are legal but each logs one warning, only once everything validated.
 */
export function resolveOptions(options: GuardOptions): ResolvedConfig {
  const o = checkObject(options, '', TOP_KEYS);
  const mode = oneOf(o.mode, 'mode', MODES, 'enforce');
  const now = optionalFunction<() => number>(o.now, 'now') ?? Date.now;
  const logger = resolveLogger(o.logger);
  const fetchImpl = optionalFunction<typeof fetch>(o.fetch, 'fetch') ?? ((...args) => globalThis.fetch(...args));
  const cache = o.cache === undefined ? {} : checkObject(o.cache, 'cache', ['tokens']);
  const cacheSize = positiveInteger(cache.tokens, 'cache.tokens', 10_000, { allowZero: true });
  const context = { fetch: fetchImpl, now, logger };
  const warnings: RiskWarning[] = [];

  const verifiers: TokenVerifier[] = [];
  if (o.attestation !== undefined) {
    const a = checkObject(o.attestation, 'attestation', ['approov', 'firebase', 'jwt']);
    const add = (config: TokenVerifierConfig, path: string): void => {
      verifiers.push(new TokenVerifier(config));
      warnings.push(...clockSkewRisk(`${path}.clockTolerance`, config.clockTolerance, 'tokens'));
    };
    if (a.approov !== undefined) add(resolveApproov(a.approov, 'attestation.approov', cacheSize), 'attestation.approov');
    if (a.firebase !== undefined) add(resolveFirebase(a.firebase, 'attestation.firebase', cacheSize, context), 'attestation.firebase');
    if (a.jwt !== undefined) add(resolveJwt(a.jwt, 'attestation.jwt', cacheSize, context), 'attestation.jwt');
  }
  const names = new Set<string>();
  for (const v of verifiers) {
    if (names.has(v.config.name)) throw invalid('attestation.jwt.name', `a name other than '${v.config.name}'`, v.config.name);
    names.add(v.config.name);
  }
  const store = resolveStore(o.store, now);
  const signatures =
    o.signatures === undefined
      ? undefined
      : new SignatureVerifier(resolveSignatures(o.signatures, 'signatures', { now, logger, cacheSize, warnings }), store);
  if (verifiers.length === 0 && signatures === undefined) {
    throw new ConfigError(
      'ERR_CONFIG_MISSING_OPTION',
      'attestation',
      'Configure at least one verifier: `attestation.approov`, `attestation.firebase`, `attestation.jwt` or `signatures`.',
    );
  }

  let install: SignatureVerifier | undefined;
  if (o.installSignature !== undefined) {
    if (verifiers.length === 0) {
      throw new ConfigError('ERR_CONFIG_MISSING_OPTION', 'installSignature', 'Installation signatures are checked with the key in an attestation token: configure `attestation` too.');
    }
    install = new SignatureVerifier(resolveInstallSignature(o.installSignature, 'installSignature', cacheSize), store, 'install');
    warnings.push(...clockSkewRisk('installSignature.clockSkew', install.config.clockSkew, 'signatures'));
  }
  const available: ResolvedRequirements = {
    attestation: verifiers.length > 0 ? 'required' : 'off',
    signature: signatures !== undefined ? 'required' : 'off',
    installSignature: install !== undefined ? 'required' : 'off',
  };
  const requirements = resolveRequirement(o.require, 'require', available, available);
  const signatureRequire = signatures?.config.require ?? resolveSignatureRequirements(undefined, 'signatures.require');
  const caseSensitive = optionalBoolean(o.caseSensitive, 'caseSensitive') ?? false;
  const routes: ResolvedRoute[] = [];
  if (o.routes !== undefined) {
    if (!Array.isArray(o.routes)) throw invalid('routes', 'an array of routes', o.routes);
    o.routes.forEach((route: unknown, i) => {
      const path = `routes[${i}]`;
      const r = checkObject(route, path, ['path', 'methods', 'require', 'mode', 'signature']);
      const pattern = typeof r.path === 'string' ? compilePathPattern(r.path, caseSensitive) : undefined;
      if (!pattern) throw invalid(`${path}.path`, "a path pattern starting with '/' (with `*`, `:name` and a final `**`)", r.path);
      const methods = r.methods === undefined ? undefined : new Set(stringList(r.methods, `${path}.methods`).map((m) => m.toUpperCase()));
      const required = resolveRequirement(r.require, `${path}.require`, requirements, available);
      if (r.signature !== undefined && signatures === undefined) {
        throw new ConfigError('ERR_CONFIG_MISSING_OPTION', `${path}.signature`, `\`${path}.signature\` needs signature verification: configure \`signatures\`.`);
      }
      routes.push({
        pattern,
        methods,
        attestation: required.attestation,
        signature: required.signature,
        installSignature: required.installSignature,
        signatureRequire: resolveSignatureRequirements(r.signature, `${path}.signature`, signatureRequire),
        mode: oneOf(r.mode, `${path}.mode`, MODES, mode),
      });
      if (r.mode === 'monitor' && mode !== 'monitor') {
        warnings.push({ obj: { option: `${path}.mode` }, msg: 'bonafide: monitor mode on a route: its denials are reported, not enforced' });
      }
    });
  }
  const failOpen = o.failOpen === undefined ? {} : checkObject(o.failOpen, 'failOpen', ['attestation', 'signature', 'rateLimit']);
  const failOpenRateLimit = optionalBoolean(failOpen.rateLimit, 'failOpen.rateLimit') ?? false;
  if (failOpenRateLimit) {
    warnings.push({ obj: { option: 'failOpen.rateLimit' }, msg: 'bonafide: rate limits fail open: requests pass uncounted while the store is unavailable' });
  }
  const failOpenAttestation = optionalBoolean(failOpen.attestation, 'failOpen.attestation') ?? false;
  if (failOpenAttestation) {
    warnings.push({ obj: { option: 'failOpen.attestation' }, msg: 'bonafide: attestation fails open: requests pass while keys are unavailable' });
  }
  const failOpenSignature = optionalBoolean(failOpen.signature, 'failOpen.signature') ?? false;
  if (failOpenSignature) {
    warnings.push({
      obj: { option: 'failOpen.signature' },
      msg: 'bonafide: signatures fail open: requests pass while a key directory, the replay store or the body is unavailable',
    });
  }
  if (mode === 'monitor') warnings.push({ obj: { option: 'mode' }, msg: 'bonafide: monitor mode: denials are reported, not enforced' });

  const onDecision = optionalFunction<(decision: Decision, request: GuardRequest) => void>(o.onDecision, 'onDecision');
  const metrics = o.metrics === undefined ? undefined : validateMetrics(o.metrics, 'metrics');
  const logAllowed = oneOf(o.logDecisions, 'logDecisions', ['deny', 'all'] as const, 'deny') === 'all';
  const problemTypeBase = optionalString(o.problemTypeBase, 'problemTypeBase') ?? PROBLEM_TYPE_BASE;
  // Last: a policy file watcher or source starts here, so nothing after it may throw.
  const policy = o.policy === undefined ? undefined : resolvePolicy(o.policy, logger);

  const resolved: ResolvedConfig = Object.freeze({
    mode,
    verifiers,
    attestation: requirements.attestation,
    signatures,
    signature: requirements.signature,
    signatureRequire,
    install,
    installSignature: requirements.installSignature,
    store,
    ownsStore: o.store === undefined,
    routes,
    failOpenAttestation,
    failOpenSignature,
    failOpenRateLimit,
    policy,
    now,
    logger,
    onDecision,
    metrics,
    logAllowed,
    problemTypeBase,
  });
  for (const warning of warnings) logger.warn(warning.obj, warning.msg);
  return resolved;
}
