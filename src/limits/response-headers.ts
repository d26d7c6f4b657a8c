import type { RateLimitInfo } from '../decision.js';
import { rateLimitHeaders as limitHeaders } from './headers.js';

/**
 * The IETF rate-limit fields for a decision that was counted against a limit (`RateLimit-Policy`,
 * `RateLimit`, and `Retry-After` when denied), from the decision's own `rateLimit` data, with
 * lower-case names like the rest of a deny response. Adapters add them to allowed responses too.
 */
export function rateLimitHeaders(info: RateLimitInfo, denied: boolean): Record<string, string> {
  const fields = limitHeaders(
    { id: info.policy, algorithm: 'gcra', limit: info.limit, periodMs: info.window * 1000, burst: info.limit, key: 'principal', ipv6Prefix: 64 },
    { allowed: !denied, limit: info.limit, remaining: info.remaining, retryAfterMs: info.retryAfter * 1000, resetMs: info.reset * 1000 },
  );
  const headers: Record<string, string> = {};
  for (const name of Object.keys(fields)) headers[name.toLowerCase()] = fields[name]!;
  return headers;
}
