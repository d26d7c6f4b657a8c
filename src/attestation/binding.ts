import { hash } from 'node:crypto';
import type { ReasonCode } from '../decision.js';
import { timingSafeEqualString } from '../lib/timing-safe.js';
import type { HeaderReader } from '../request.js';

/** Token binding as Approov defines it: a claim holding base64(SHA-256(bound header values)). */
export interface BindingConfig {
  /** Lower-case header names, in the order their values are concatenated. */
  readonly headers: readonly string[];
  /** The claim holding the hash; `pay` for Approov. */
  readonly claim: string;
}

/**
 * Checks the binding claim against the request. Each bound header value is trimmed and the values
 * are concatenated in the configured order with no separator, then hashed with SHA-256 and encoded
 * as standard, padded base64; a base64url `pay` does not match. Compared in constant time.
 */
export function checkBinding(
  binding: BindingConfig,
  claims: Readonly<Record<string, unknown>>,
  headers: HeaderReader,
): ReasonCode | undefined {
  const pay = claims[binding.claim];
  if (typeof pay !== 'string' || pay.length === 0) return 'ERR_BINDING_CLAIM_MISSING';
  let bound = '';
  for (const name of binding.headers) {
    const value = headers.get(name)?.trim();
    if (!value) return 'ERR_BINDING_HEADER_MISSING';
    bound += value;
  }
  // One-shot hash (Node ≥ 20.12): several times cheaper than a Hash object for a short input.
  return timingSafeEqualString(hash('sha256', bound, 'base64'), pay) ? undefined : 'ERR_BINDING_MISMATCH';
}
