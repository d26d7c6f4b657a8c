import { hash } from 'node:crypto';
import type { CompiledRateLimit } from '../policy/types.js';
import type { RateLimitRequest, RateLimitState, Store } from '../stores/store.js';
import { ipKey } from './key.js';

/** What a request offers to key a limit on; each limit uses one of them (`CompiledRateLimit.key`). */
export interface RateLimitKeyMaterial {
  principalId: string;
  ip?: string;
  /** The attestation token, whole. */
  token?: string;
  /** A request header by name, `null` when absent. */
  header?: (name: string) => string | null;
}

/**
 * The store key for a request under a limit: `rl:<limit id>:<hashed key material>`; undefined when
 * the key material is missing (e.g. no IP, an invalid IP, an empty header) — the caller then skips or
 * denies per its fail mode.
 *
 * Never contains a raw token or IP: the store may be shared, dumped or monitored, and a token is a
 * credential. The material is hashed (sha256, base64url, truncated to 22 characters: 132 bits, far
 * beyond any collision a store could hold), the limit id stays readable for operators. The hash
 * covers the algorithm and the kind of key too (`ip`, `header:x-api-key`, …), so a value of one kind
 * never shares state with the same text of another, and a spec whose algorithm changes under the
 * same id starts fresh instead of reading the other algorithm's state. An `ip` key is the address
 * aggregated by `ipKey` (IPv6 to `ipv6Prefix` bits); a header value is trimmed.
 */
export function rateLimitKey(limit: CompiledRateLimit, material: RateLimitKeyMaterial): string | undefined {
  let kind: string = limit.key;
  let value: string | undefined;
  switch (limit.key) {
    case 'principal':
      value = material.principalId;
      break;
    case 'ip':
      value = material.ip === undefined ? undefined : ipKey(material.ip, limit.ipv6Prefix);
      break;
    case 'token':
      value = material.token;
      break;
    default: {
      const name = limit.key.slice('header:'.length).toLowerCase();
      kind = `header:${name}`;
      value = material.header?.(name)?.trim();
    }
  }
  if (value === undefined || value === '') return undefined;
  const digest = hash('sha256', `${limit.algorithm}\n${kind}\n${value}`, 'base64url');
  return `rl:${limit.id}:${digest.slice(0, 22)}`;
}

/** Takes one request (cost 1) from `limit` at `key` in `store`; a store failure throws or rejects, for the caller's fail mode. */
export function checkRateLimit(store: Store, limit: CompiledRateLimit, key: string, nowMs: number): RateLimitState | Promise<RateLimitState> {
  return store.rateLimit(rateLimitRequest(limit, key, nowMs));
}

/** The store request for one request of cost 1 against a policy's rate limit. */
export function rateLimitRequest(limit: CompiledRateLimit, key: string, nowMs: number): RateLimitRequest {
  return { key, algorithm: limit.algorithm, limit: limit.limit, periodMs: limit.periodMs, burst: limit.burst, cost: 1, now: nowMs };
}

/** Above this, `limit × periodMs` plus a cost could leave the exact integer range of a double (2^53). */
const MAX_PRODUCT = 2 ** 50;

/**
 * Checks a `RateLimitRequest` the way every store must (see its TSDoc) and returns its cost. Shared
 * so the memory store and a Redis store refuse the same requests with the same RangeError, before
 * any state is touched; the store's script can then trust its arguments.
 */
export function validateRateLimitRequest(request: RateLimitRequest): number {
  const { algorithm, limit, periodMs, burst, now } = request;
  const cost = request.cost ?? 1;
  if (typeof request.key !== 'string' || request.key === '') throw new RangeError('bonafide: rate limit key must be a non-empty string');
  if (algorithm !== 'gcra' && algorithm !== 'sliding-window') throw new RangeError(`bonafide: unknown rate limit algorithm ${String(algorithm)}`);
  if (!isCount(limit, 1) || !isCount(periodMs, 1) || limit * periodMs > MAX_PRODUCT) {
    throw new RangeError('bonafide: rate limit needs integer limit ≥ 1 and periodMs ≥ 1 with limit × periodMs ≤ 2^50');
  }
  const capacity = algorithm === 'gcra' ? burst : limit;
  if (algorithm === 'gcra' && (!isCount(burst, 1) || burst * periodMs > MAX_PRODUCT)) {
    throw new RangeError('bonafide: GCRA needs an integer burst ≥ 1 with burst × periodMs ≤ 2^50');
  }
  if (!isCount(cost, 0) || cost > capacity) {
    throw new RangeError(`bonafide: rate limit cost must be an integer from 0 to ${capacity}: a larger one could never be allowed`);
  }
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new RangeError('bonafide: rate limit now must be a finite number of ms');
  return cost;
}

function isCount(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}
