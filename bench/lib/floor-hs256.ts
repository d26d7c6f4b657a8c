/** The floor of the micro benchmarks: the least a correct HS256 verifier can do, by hand on node:crypto. */
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';

export interface Claims {
  readonly exp: number;
  readonly [name: string]: unknown;
}

function decodeJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Split, decode and check the header, HMAC-SHA256, compare in constant time, decode the payload, check `exp`. */
export function floorVerify(token: string, key: KeyObject, nowSeconds: number): Claims | undefined {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1) return undefined;
  const header = decodeJson(token.slice(0, first)) as { alg?: unknown } | null | undefined;
  if (header === null || typeof header !== 'object' || header.alg !== 'HS256') return undefined;
  const mac = createHmac('sha256', key).update(token.slice(0, second)).digest();
  const signature = Buffer.from(token.slice(second + 1), 'base64url');
  if (signature.length !== mac.length || !timingSafeEqual(mac, signature)) return undefined;
  const payload = decodeJson(token.slice(first + 1, second)) as Claims | null | undefined;
  if (payload === null || typeof payload !== 'object' || typeof payload.exp !== 'number') return undefined;
  return nowSeconds < payload.exp ? payload : undefined;
}
