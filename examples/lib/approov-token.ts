import { createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * Mints Approov-style tokens for demos and tests: HS256 JWTs signed with the account secret, as the
 * Approov cloud service issues them to a genuine app. Never use this to mint tokens in production:
 * only Approov should hold the secret's signing role there.
 */

/** A fresh random demo account secret: 32 bytes, base64, the form `approov secret -get base64` prints. */
export function newApproovSecret(): string {
  return randomBytes(32).toString('base64');
}

/** The `pay` claim binding a token to header values: base64(SHA-256(the trimmed values concatenated)). */
export function bindingClaim(...values: string[]): string {
  return createHash('sha256').update(values.map((v) => v.trim()).join('')).digest('base64');
}

export interface ApproovTokenOptions {
  /** The account secret: base64 (or base64url) text, or raw bytes. */
  secret: string | Uint8Array;
  /** Seconds until the token expires, from `now`. Default 300. Ignored when `exp` is given. */
  expiresIn?: number;
  /** Absolute expiry in Unix seconds. */
  exp?: number;
  /** Header values to bind the token to (e.g. the Authorization header), in the verifier's order. */
  bindTo?: string | string[];
  /** Extra claims, e.g. `did` (device id). */
  claims?: Record<string, unknown>;
  /** The current time in Unix seconds. Default: the system clock. */
  now?: number;
}

const base64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function mintApproovToken(options: ApproovTokenOptions): string {
  const key = typeof options.secret === 'string' ? Buffer.from(options.secret, 'base64') : options.secret;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { exp: options.exp ?? now + (options.expiresIn ?? 300), ...options.claims };
  if (options.bindTo !== undefined) {
    payload.pay = bindingClaim(...(Array.isArray(options.bindTo) ? options.bindTo : [options.bindTo]));
  }
  const signingInput = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(payload)}`;
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}
