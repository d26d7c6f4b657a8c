import { ConfigError } from '../errors.js';
import type { Duration } from '../lib/duration.js';
import { checkObject, duration, httpsUrl, positiveInteger } from '../lib/validate.js';
import type { Logger } from '../observe/logger.js';
import { importKeys, KeyImportError, type KeyInput, type VerificationKey } from './key.js';
import { RemoteKeySet } from './remote-key-set.js';

/** Options for a JWKS fetched over HTTPS. */
export interface RemoteJwksOptions {
  /** The JWKS URL (https). */
  url: string;
  /** How long a fetched key set is used before it is refreshed. Default `"10m"` (Firebase: `"6h"`). */
  cacheMaxAge?: Duration;
  /**
   * Minimum time between two fetches. An unknown `kid` refetches at most once per cooldown, and a
   * failed fetch is not retried before it ends. Default `"30s"`.
   */
  cooldown?: Duration;
  /** How long one fetch may take. Default `"5s"`. */
  timeout?: Duration;
  /** Largest JWKS response accepted, in bytes. Default 65536. */
  maxBytes?: number;
  /** Most keys kept from one response. Default 32. */
  maxKeys?: number;
}

export const REMOTE_JWKS_KEYS = ['url', 'cacheMaxAge', 'cooldown', 'timeout', 'maxBytes', 'maxKeys'] as const;

export interface KeyContext {
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
  readonly logger: Logger;
}

export function resolveRemoteJwks(
  value: unknown,
  path: string,
  context: KeyContext,
  defaults: { cacheMaxAge: number },
): RemoteKeySet {
  const o = checkObject(value, path, REMOTE_JWKS_KEYS);
  return new RemoteKeySet(httpsUrl(o.url, `${path}.url`), {
    cacheMaxAge: duration(o.cacheMaxAge, `${path}.cacheMaxAge`, defaults.cacheMaxAge),
    cooldown: duration(o.cooldown, `${path}.cooldown`, 30),
    timeout: Math.max(0.001, duration(o.timeout, `${path}.timeout`, 5)),
    maxBytes: positiveInteger(o.maxBytes, `${path}.maxBytes`, 65536),
    maxKeys: positiveInteger(o.maxKeys, `${path}.maxKeys`, 32),
    fetch: context.fetch,
    now: context.now,
    logger: context.logger,
  });
}

/** Imports static keys, turning import failures into a ConfigError that names the option. */
export function resolveStaticKeys(value: unknown, path: string): VerificationKey[] {
  const inputs = Array.isArray(value) ? value : [value];
  if (inputs.length === 0) throw new ConfigError('ERR_CONFIG_INVALID_KEY', path, `\`${path}\` must hold at least one key.`);
  const keys: VerificationKey[] = [];
  inputs.forEach((input: KeyInput, i) => {
    try {
      keys.push(...importKeys(input));
    } catch (error) {
      const where = Array.isArray(value) ? `${path}[${i}]` : path;
      const why = error instanceof KeyImportError ? error.message : 'the key could not be imported';
      throw new ConfigError('ERR_CONFIG_INVALID_KEY', where, `\`${where}\`: ${why}.`);
    }
  });
  if (keys.length === 0) throw new ConfigError('ERR_CONFIG_INVALID_KEY', path, `\`${path}\` must hold at least one key.`);
  return keys;
}
