import { ConfigError } from '../errors.js';
import type { Duration } from '../lib/duration.js';
import {
  checkObject,
  duration,
  invalid,
  oneOf,
  optionalBoolean,
  optionalString,
  positiveInteger,
  stringList,
} from '../lib/validate.js';
import type { Logger } from '../observe/logger.js';
import type { SignatureKey } from './algorithms.js';
import { DirectoryClient, directoryOrigin, type DirectoryOptions } from './directory.js';
import { importSignatureKeys, type SignatureKeyInput } from './keys.js';
import { parseComponentId } from './parse.js';
import { SIGNATURE_ALGORITHMS, type ComponentId, type SignatureAlgorithm } from './types.js';

/** What a signed request must cover or carry, beyond what the profile itself requires. */
export interface SignatureRequirements {
  /**
   * Components every signature must cover, as in `Signature-Input`: `@method`, `@path`,
   * `content-type`, `"@query-param";name="id"`. Default: none beyond the profile's.
   */
  components?: string[];
  /** Signature parameters every signature must carry (`nonce`, `expires`, …). `created` and `keyid` always are. */
  parameters?: string[];
  /**
   * Requests with a body must carry a `Content-Digest` (RFC 9530) that the signature covers; bonafide
   * recomputes it over the received bytes. A covered `content-digest` is always checked. Default `false`.
   */
  contentDigest?: boolean;
}

/** Verification of HTTP message signatures (RFC 9421), by default with the Web Bot Auth profile. */
export interface SignatureOptions {
  /**
   * `web-bot-auth` (default): tag `web-bot-auth`, `@authority` or `@target-uri` covered, the signature's
   * Signature-Agent member covered, `created`, `expires` and `keyid` required, keys from `keys` or
   * discovered from the agent's key directory, no HMAC. `rfc9421`: plain RFC 9421 with `keys` only.
   */
  profile?: 'web-bot-auth' | 'rfc9421';
  /** Only signatures with this `tag` are candidates. Default `web-bot-auth` for that profile, none for `rfc9421`. */
  tag?: string;
  /** Only the signature with this label is a candidate. Default: any label. */
  label?: string;
  /** Keys you trust, found by the signature's `keyid`: JWK, JWKS, PEM, KeyObject, or `{ keyid, secret }` (HMAC, `rfc9421` only). */
  keys?: SignatureKeyInput | SignatureKeyInput[];
  /**
   * Key discovery from the Signature-Agent's key directory (`web-bot-auth` only), behind an SSRF guard.
   * `false` trusts `keys` only. Default: enabled for any public https origin.
   */
  directory?: false | DirectoryOptions;
  /** Names for verified principals, by agent origin (`https://chatgpt.com`) or by keyid. Default: `agent:<origin>#<thumbprint>`. */
  agents?: Record<string, string>;
  /** Algorithms accepted. Default: all six for `rfc9421`; all but `hmac-sha256` for `web-bot-auth` (which forbids shared secrets). */
  algorithms?: SignatureAlgorithm[];
  /** Leeway for `created` in the future and `expires` in the past. Default 60 s; over 5 minutes logs a warning at construction. */
  clockSkew?: Duration;
  /** Oldest `created` accepted. Default: no limit beyond `expires` (but see `maxNonceAge`). */
  maxAge?: Duration;
  /**
   * Oldest `created` accepted for a signature that carries a `nonce` while `replay` is on, whatever its
   * `expires`: past this (plus `clockSkew`) it is refused with `ERR_SIGNATURE_TOO_OLD`. It is also the
   * longest a nonce is kept, so it bounds the replay store — a signer with its own key cannot fill it
   * with nonces kept until an `expires` days away — and a nonce is never forgotten while its signature
   * would still be accepted (RFC 9421 §7.2.2). Default 5 minutes: signers sign each request just
   * before sending it.
   */
  maxNonceAge?: Duration;
  /** Every signature must carry a `nonce`. Default `false` (nonces that are present are still checked for replay). */
  requireNonce?: boolean;
  /** Record nonces and refuse a nonce seen before (per keyid) for as long as its signature is accepted. Default `true`; `false` logs a warning at construction. */
  replay?: boolean;
  /** Most candidate signatures verified per request. Default 4. */
  maxSignatures?: number;
  /** Accept the RFC 9421 example keys (tests and demos only). Default `false`; `true` logs a warning at construction. */
  allowTestKeys?: boolean;
  /** Requirements for every route (routes may add their own). */
  require?: SignatureRequirements;
  /** Largest body read to check a Content-Digest. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Signature caches: verified signatures and parsed headers remembered (default 10000; 0 disables). */
  cacheSize?: number;
}

/** Requirements as the verifier uses them. */
export interface ResolvedSignatureRequirements {
  readonly components: readonly ComponentId[];
  readonly parameters: readonly string[];
  readonly contentDigest: boolean;
}

export interface ResolvedSignatureConfig {
  readonly profile: 'web-bot-auth' | 'rfc9421';
  readonly tag: string | undefined;
  readonly label: string | undefined;
  readonly keys: ReadonlyMap<string, SignatureKey>;
  readonly directory: DirectoryClient | undefined;
  readonly agents: ReadonlyMap<string, string>;
  readonly algorithms: ReadonlySet<SignatureAlgorithm>;
  readonly clockSkew: number;
  readonly maxAge: number | undefined;
  /** Seconds: how long a nonce-carrying signature is accepted and its nonce kept (see `maxNonceAge`). */
  readonly maxNonceAge: number;
  readonly requireNonce: boolean;
  readonly replay: boolean;
  readonly maxSignatures: number;
  readonly allowTestKeys: boolean;
  readonly require: ResolvedSignatureRequirements;
  readonly maxBodyBytes: number;
  readonly cacheSize: number;
}

/**
 * A risky-but-legal setting, logged at `warn` once at construction (after the whole configuration
 * validated): the option's path in `obj.option` and, in `msg`, why it is risky. Never a value of a
 * secret or key.
 */
export interface RiskWarning {
  readonly obj: { readonly option: string; readonly seconds?: number };
  readonly msg: string;
}

/** The default `maxNonceAge`, in seconds. */
export const DEFAULT_MAX_NONCE_AGE = 300;

/** Clock skews and tolerances above this many seconds are reported as risky: they stretch what a token or signature proves. */
export const LONG_CLOCK_SKEW_SECONDS = 300;

/** The warning for a clock skew (signatures) or tolerance (tokens) over LONG_CLOCK_SKEW_SECONDS at `path`; none at or under it. */
export function clockSkewRisk(path: string, seconds: number, of: 'tokens' | 'signatures'): RiskWarning[] {
  if (seconds <= LONG_CLOCK_SKEW_SECONDS) return [];
  const msg =
    of === 'tokens'
      ? 'bonafide: a clock tolerance over 5 minutes accepts tokens long after they expire'
      : 'bonafide: a clock skew over 5 minutes accepts signatures long after they expire and long before they were created';
  return [{ obj: { option: path, seconds }, msg }];
}

const KEYS = [
  'profile', 'tag', 'label', 'keys', 'directory', 'agents', 'algorithms', 'clockSkew', 'maxAge', 'maxNonceAge', 'requireNonce',
  'replay', 'maxSignatures', 'allowTestKeys', 'require', 'maxBodyBytes', 'cacheSize',
] as const;
const PARAMETERS = ['created', 'expires', 'nonce', 'alg', 'keyid', 'tag'];

/** Validates `require` of the signature options or of a route. */
export function resolveSignatureRequirements(
  value: unknown,
  path: string,
  base: ResolvedSignatureRequirements = { components: [], parameters: [], contentDigest: false },
): ResolvedSignatureRequirements {
  if (value === undefined) return base;
  const o = checkObject(value, path, ['components', 'parameters', 'contentDigest']);
  const components = [...base.components];
  if (o.components !== undefined) {
    for (const [i, text] of stringList(o.components, `${path}.components`).entries()) {
      const id = parseComponentId(text);
      if (id === undefined) {
        throw invalid(`${path}.components[${i}]`, 'a component identifier such as `@method` or `"@query-param";name="id"`', text);
      }
      if (!components.some((c) => c.id === id.id)) components.push(id);
    }
  }
  const parameters = [...base.parameters];
  if (o.parameters !== undefined) {
    for (const name of stringList(o.parameters, `${path}.parameters`)) {
      if (!PARAMETERS.includes(name)) throw invalid(`${path}.parameters`, `signature parameters among ${PARAMETERS.join(', ')}`, name);
      if (!parameters.includes(name)) parameters.push(name);
    }
  }
  const contentDigest = optionalBoolean(o.contentDigest, `${path}.contentDigest`) ?? base.contentDigest;
  return Object.freeze({ components, parameters, contentDigest });
}

/** Validates the `signatures` options into a frozen configuration. Throws ConfigError. */
export function resolveSignatures(
  value: unknown,
  path: string,
  context: { now: () => number; logger: Logger; cacheSize: number; warnings?: RiskWarning[] },
): ResolvedSignatureConfig {
  // Collected for the caller to log once everything validated; logged at once without a collector.
  const risk = (warning: RiskWarning): void => {
    if (context.warnings !== undefined) context.warnings.push(warning);
    else context.logger.warn(warning.obj, warning.msg);
  };
  const o = checkObject(value, path, KEYS);
  const profile = oneOf(o.profile, `${path}.profile`, ['web-bot-auth', 'rfc9421'] as const, 'web-bot-auth');
  const wba = profile === 'web-bot-auth';
  const tag = optionalString(o.tag, `${path}.tag`) ?? (wba ? 'web-bot-auth' : undefined);
  const label = optionalString(o.label, `${path}.label`);

  const algorithms = new Set<SignatureAlgorithm>(
    o.algorithms === undefined
      ? SIGNATURE_ALGORITHMS.filter((a) => !wba || a !== 'hmac-sha256')
      : stringList(o.algorithms, `${path}.algorithms`).map((a) => {
          if (!(SIGNATURE_ALGORITHMS as readonly string[]).includes(a)) {
            throw invalid(`${path}.algorithms`, `algorithms among ${SIGNATURE_ALGORITHMS.join(', ')}`, a);
          }
          if (wba && a === 'hmac-sha256') {
            throw new ConfigError(
              'ERR_CONFIG_INVALID_VALUE',
              `${path}.algorithms`,
              'Web Bot Auth forbids shared secrets: remove `hmac-sha256`, or use `profile: "rfc9421"`.',
            );
          }
          return a as SignatureAlgorithm;
        }),
  );

  const keys = new Map<string, SignatureKey>();
  if (o.keys !== undefined) {
    for (const key of importSignatureKeys(o.keys as SignatureKeyInput, `${path}.keys`)) {
      if (key.algorithm === 'hmac-sha256' && wba) {
        throw new ConfigError(
          'ERR_CONFIG_INVALID_KEY',
          `${path}.keys`,
          'Web Bot Auth forbids shared secrets: use an Ed25519, ECDSA or RSA key, or `profile: "rfc9421"`.',
        );
      }
      keys.set(key.keyid, key);
      if (key.thumbprint !== undefined && !keys.has(key.thumbprint)) keys.set(key.thumbprint, key);
    }
  }

  let directory: DirectoryClient | undefined;
  if (o.directory !== undefined && o.directory !== false && !wba) {
    throw new ConfigError('ERR_CONFIG_INVALID_VALUE', `${path}.directory`, 'Key directories belong to the Web Bot Auth profile; set `profile: "web-bot-auth"` or remove `directory`.');
  }
  if (wba && o.directory !== false) {
    const options = o.directory === undefined ? {} : (checkObject(o.directory, `${path}.directory`, DIRECTORY_KEYS) as DirectoryOptions);
    if (options.allow !== undefined) {
      stringList(options.allow, `${path}.directory.allow`).forEach((origin, i) => {
        if (directoryOrigin(origin) === undefined) throw invalid(`${path}.directory.allow[${i}]`, 'an https origin such as `https://agent.example`', origin);
      });
    }
    directory = new DirectoryClient({ logger: context.logger, ...options }, context.now);
    const fetchOptions = options.fetch;
    if (fetchOptions?.allowPrivateAddresses === true) {
      risk({
        obj: { option: `${path}.directory.fetch.allowPrivateAddresses` },
        msg: 'bonafide: key directories may be fetched from loopback and private addresses (test-only): a Signature-Agent header can aim fetches at your own network',
      });
    }
    if (fetchOptions?.ca !== undefined) {
      risk({
        obj: { option: `${path}.directory.fetch.ca` },
        msg: 'bonafide: key directory fetches trust an extra certificate authority (test-only): whoever holds its key can serve keys for any agent',
      });
    }
  }
  if (!wba && keys.size === 0) {
    throw new ConfigError('ERR_CONFIG_MISSING_OPTION', `${path}.keys`, '`signatures.keys` is required with `profile: "rfc9421"`: the keys signatures are checked with.');
  }

  const agents = new Map<string, string>();
  if (o.agents !== undefined) {
    const record = checkObject(o.agents, `${path}.agents`, Object.keys(o.agents as object));
    for (const [id, name] of Object.entries(record)) {
      if (typeof name !== 'string' || name.length === 0) throw invalid(`${path}.agents.${id}`, 'a non-empty name', name);
      agents.set(directoryOrigin(id) ?? id, name);
    }
  }

  const clockSkew = duration(o.clockSkew, `${path}.clockSkew`, 60);
  const replay = optionalBoolean(o.replay, `${path}.replay`) ?? true;
  const allowTestKeys = optionalBoolean(o.allowTestKeys, `${path}.allowTestKeys`) ?? false;
  const resolved: ResolvedSignatureConfig = Object.freeze({
    profile,
    tag,
    label,
    keys,
    directory,
    agents,
    algorithms,
    clockSkew,
    maxAge: duration(o.maxAge, `${path}.maxAge`),
    maxNonceAge: duration(o.maxNonceAge, `${path}.maxNonceAge`, DEFAULT_MAX_NONCE_AGE),
    requireNonce: optionalBoolean(o.requireNonce, `${path}.requireNonce`) ?? false,
    replay,
    maxSignatures: positiveInteger(o.maxSignatures, `${path}.maxSignatures`, 4),
    allowTestKeys,
    require: resolveSignatureRequirements(o.require, `${path}.require`),
    maxBodyBytes: positiveInteger(o.maxBodyBytes, `${path}.maxBodyBytes`, 1024 * 1024),
    cacheSize: positiveInteger(o.cacheSize, `${path}.cacheSize`, context.cacheSize, { allowZero: true }),
  });
  if (allowTestKeys) {
    risk({
      obj: { option: `${path}.allowTestKeys` },
      msg: 'bonafide: the RFC 9421 example keys are accepted (tests and demos only): their private keys are published, so anyone can sign with them',
    });
  }
  if (!replay) {
    risk({
      obj: { option: `${path}.replay` },
      msg: 'bonafide: replay protection is off: a captured signed request can be sent again until its signature expires',
    });
  }
  clockSkewRisk(`${path}.clockSkew`, clockSkew, 'signatures').forEach(risk);
  return resolved;
}

const DIRECTORY_KEYS = [
  'allow', 'timeoutMs', 'maxBytes', 'maxKeys', 'maxOrigins', 'minTtlSeconds', 'maxTtlSeconds', 'defaultTtlSeconds',
  'negativeTtlSeconds', 'staleWhileRevalidateSeconds', 'maxConcurrentFetches', 'verifySignatures', 'fetch',
];
