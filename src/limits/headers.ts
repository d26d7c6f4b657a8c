import { serializeInteger, serializeList, serializeString } from 'structured-headers';
import type { CompiledRateLimit } from '../policy/types.js';
import type { RateLimitState } from '../stores/store.js';

interface Serialized {
  /** The whole `RateLimit-Policy` value. */
  readonly policy: string;
  /** The policy id as a Structured Field string, quotes included. */
  readonly id: string;
}

/** What never changes for one compiled limit: serialized once, dropped with the limit. */
const SERIALIZED = new WeakMap<CompiledRateLimit, Serialized>();

/**
 * The response fields of draft-ietf-httpapi-ratelimit-headers (08 and later, Structured Field
 * lists) for one limit, so clients can pace themselves instead of finding the limit by hitting it:
 *
 * - `RateLimit-Policy: "<id>";q=<limit>;w=<window seconds>` — the quota and its window (the
 *   period rounded up to whole seconds, at least 1);
 * - `RateLimit: "<id>";r=<remaining>;t=<seconds to reset>` — what is left now, and when the limit
 *   is fully back (`resetMs` rounded up);
 * - `Retry-After: <seconds>` (RFC 9110, an integer, `retryAfterMs` rounded up, at least 1) only when
 *   the request was not allowed: rounding up so that a client that waits exactly that long is
 *   allowed, and never 0, which would invite an immediate retry loop.
 *
 * The id is the limit id (the rule id or `default`); a character a Structured Field string cannot
 * hold (outside printable ASCII) is written as `?` rather than failing the response. Every value is
 * serialized by `structured-headers`, never by hand, so quoting and escaping follow RFC 9651; what
 * is fixed per limit (the policy field, the quoted id) is serialized once, because serializing a
 * whole list costs over a microsecond per response and the integers alone cost next to nothing.
 */
export function rateLimitHeaders(limit: CompiledRateLimit, state: RateLimitState): Record<string, string> {
  let fixed = SERIALIZED.get(limit);
  if (fixed === undefined) {
    const id = fieldString(limit.id);
    const window = Math.max(1, Math.ceil(limit.periodMs / 1000));
    fixed = { policy: serializeList([[id, new Map([['q', limit.limit], ['w', window]])]]), id: serializeString(id) };
    SERIALIZED.set(limit, fixed);
  }
  const remaining = serializeInteger(Math.max(0, Math.floor(state.remaining)));
  const reset = serializeInteger(Math.max(0, Math.ceil(state.resetMs / 1000)));
  const headers: Record<string, string> = { 'RateLimit-Policy': fixed.policy, RateLimit: `${fixed.id};r=${remaining};t=${reset}` };
  if (!state.allowed) headers['Retry-After'] = String(Math.max(1, Math.ceil(state.retryAfterMs / 1000)));
  return headers;
}

/** The id as a Structured Field string: printable ASCII only. */
function fieldString(id: string): string {
  return /^[\x20-\x7e]*$/.test(id) ? id : id.replace(/[^\x20-\x7e]/g, '?');
}
