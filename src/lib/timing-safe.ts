import { timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality of two strings. The length is not secret (it is fixed by the algorithm that
 * produced the expected value), so a length mismatch returns early.
 */
export function timingSafeEqualString(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(actual, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

