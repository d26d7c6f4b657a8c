import { ConfigError } from '../errors.js';
import { parseDuration } from './duration.js';

/** Small, explicit validators for option objects: each failure names the option and what to do. */

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`;
}

/** Edit distance, for "did you mean" hints on option names (short strings only). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known name nearest to `name`, if near enough to suggest ("did you mean"). Long names get none. */
export function closest(name: string, known: readonly string[]): string | undefined {
  if (name.length > 64) return undefined;
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(lower.length / 3)) + 1;
  for (const candidate of known) {
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Asserts a plain object with no keys other than `known`. */
export function checkObject(value: unknown, path: string, known: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('ERR_CONFIG_INVALID_VALUE', path, `\`${path}\` must be an object, got ${describe(value)}.`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const hint = closest(key, known);
      const full = path ? `${path}.${key}` : key;
      throw new ConfigError(
        'ERR_CONFIG_UNKNOWN_OPTION',
        full,
        `Unknown option \`${full}\`${hint ? `; did you mean \`${hint}\`?` : `; known options here: ${known.join(', ')}.`}`,
      );
    }
  }
  return value as Record<string, unknown>;
}

export function invalid(path: string, expected: string, value: unknown): ConfigError {
  return new ConfigError('ERR_CONFIG_INVALID_VALUE', path, `\`${path}\` must be ${expected}, got ${describe(value)}.`);
}

export function missing(path: string, what: string): ConfigError {
  return new ConfigError('ERR_CONFIG_MISSING_OPTION', path, `\`${path}\` is required: ${what}.`);
}

export function optionalString(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw invalid(path, 'a non-empty string', value);
  return value;
}

export function optionalBoolean(value: unknown, path: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalid(path, 'true or false', value);
  return value;
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function headerName(value: unknown, path: string): string {
  if (typeof value !== 'string' || !HEADER_NAME.test(value)) throw invalid(path, 'an HTTP header name', value);
  return value;
}

/** A string or a non-empty array of strings, as a list. */
export function stringList(value: unknown, path: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string' && v.length > 0)) {
    throw invalid(path, 'a non-empty string or a non-empty array of non-empty strings', value);
  }
  return list as string[];
}

export function oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw invalid(path, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

/** Seconds from a Duration option (`30`, `"30s"`, `"5m"`), or the fallback. */
export function duration(value: unknown, path: string, fallback: number): number;
export function duration(value: unknown, path: string, fallback?: undefined): number | undefined;
export function duration(value: unknown, path: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const seconds = parseDuration(value);
  if (seconds === undefined) throw invalid(path, 'a duration: seconds as a number, or a string like "30s", "5m", "6h"', value);
  return seconds;
}

export function positiveInteger(value: unknown, path: string, fallback: number, { allowZero = false } = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw invalid(path, allowZero ? 'a whole number ≥ 0' : 'a whole number ≥ 1', value);
  }
  return value;
}

export function optionalFunction<F>(value: unknown, path: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalid(path, 'a function', value);
  return value as F;
}

export function httpsUrl(value: unknown, path: string, { allowHttp = false } = {}): string {
  if (typeof value !== 'string') throw invalid(path, 'an https URL', value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(path, 'an https URL', value);
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    throw new ConfigError('ERR_CONFIG_INVALID_VALUE', path, `\`${path}\` must use https (keys fetched over plain http can be forged in transit).`);
  }
  return url.href;
}
