import { createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * Approov-style test tokens: HS256 over a 32-byte account secret, `exp` an hour ahead as a
 * float (Approov writes milliseconds into it), a device id, and optionally `pay`, the token
 * binding: base64(SHA-256(bound header value)).
 */
export interface TokenFactory {
  /** The account secret as `approov secret -get base64` prints it. */
  readonly secretBase64: string;
  readonly secret: Buffer;
  /** A new token with a fresh device id (random, or `did`: the caller's own unique one), so no two calls return the same text. */
  make(options?: { bindTo?: string; expiresIn?: number; did?: string }): string;
}

const HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'HS256' })).toString('base64url');

export function tokenFactory(secret: Buffer = randomBytes(32)): TokenFactory {
  return {
    secretBase64: secret.toString('base64'),
    secret,
    make(options = {}) {
      const claims: Record<string, unknown> = {
        exp: Date.now() / 1000 + (options.expiresIn ?? 3600),
        did: options.did ?? randomBytes(16).toString('base64'),
      };
      if (options.bindTo !== undefined) claims.pay = createHash('sha256').update(options.bindTo, 'utf8').digest('base64');
      const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
      return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
    },
  };
}

/**
 * A new string object with the same text. A server parses every request's header into a fresh
 * string whose hash V8 has not computed yet; reusing one string object would let a cache lookup
 * skip that work and flatter the cache-hit cases.
 */
export function freshCopy(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/**
 * The request an adapter would hand the guard for one Approov-protected call: Node's lower-case
 * header record, as-is, with the token (and, when bound, the Authorization value) as given.
 */
export function approovRequest(token: string, authorization?: string): { method: string; url: string; headers: Record<string, string>; ip: string } {
  const headers: Record<string, string> = {
    host: 'api.example.com',
    'user-agent': 'okhttp/4.12.0',
    accept: 'application/json',
    'approov-token': token,
  };
  if (authorization !== undefined) headers.authorization = authorization;
  return { method: 'GET', url: 'https://api.example.com/v1/hello', headers, ip: '203.0.113.7' };
}
