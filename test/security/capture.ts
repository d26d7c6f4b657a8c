import type { KeyObject } from 'node:crypto';
import { expect } from 'vitest';
import type { Decision, DecisionLabels, GuardRequest, Logger, Metrics, Store } from '../../src/index.js';

/**
 * Test-only: everything the guard says to the outside world, as text, and the secrets that must
 * never be in it. A leak is found by plain substring search over JSON, so every secret is searched
 * in each encoding it could plausibly be printed in.
 */

/** One thing the guard emitted, labelled with where it came from (for a readable failure). */
export interface Emitted {
  readonly where: string;
  readonly text: string;
}

export interface Capture {
  readonly emitted: Emitted[];
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly onDecision: (decision: Decision, request: GuardRequest) => void;
  /** Log lines only (level, object, message), for exact assertions. */
  readonly lines: { level: 'info' | 'warn' | 'error'; obj: object; msg: string | undefined }[];
  /** Records any value under a label (respond() answers, explain() output, error messages, CLI output). */
  record(where: string, value: unknown): void;
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message} ${JSON.stringify(value)}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function capture(): Capture {
  const emitted: Emitted[] = [];
  const lines: Capture['lines'] = [];
  const record = (where: string, value: unknown): void => {
    emitted.push({ where, text: text(value) });
  };
  const at =
    (level: 'info' | 'warn' | 'error') =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, msg });
      record(`logger.${level}`, { obj, msg });
    };
  return {
    emitted,
    lines,
    record,
    logger: { info: at('info'), warn: at('warn'), error: at('error') },
    metrics: { decision: (labels: DecisionLabels, seconds: number) => record('metrics.decision', { labels, seconds }) },
    // The request is the caller's own data and holds the secrets by design: only the decision is scanned.
    onDecision: (decision: Decision) => record('onDecision', decision),
  };
}

/** A secret and the name it is reported under when found. */
export interface Needle {
  readonly name: string;
  readonly value: string;
}

/** Shorter strings would match by chance (a claim name, a reason code); no secret here is this short. */
const MIN_NEEDLE = 16;

export class Secrets {
  readonly needles: Needle[] = [];

  /** A secret as the text it travels as (a header value, a token, a query parameter). */
  text(name: string, value: string): this {
    if (value.length < MIN_NEEDLE) throw new Error(`test secret ${name} is too short to search for`);
    this.needles.push({ name, value });
    // JSON.stringify would escape these; search for the escaped form as well.
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) this.needles.push({ name: `${name} (JSON-escaped)`, value: escaped });
    return this;
  }

  /** Raw secret bytes in every encoding they could be printed in. */
  bytes(name: string, bytes: Uint8Array): this {
    const b = Buffer.from(bytes);
    this.text(`${name} (base64)`, b.toString('base64'));
    this.text(`${name} (base64, unpadded)`, b.toString('base64').replace(/=+$/, ''));
    this.text(`${name} (base64url)`, b.toString('base64url'));
    this.text(`${name} (hex)`, b.toString('hex'));
    // JSON.stringify(Buffer) and of a Uint8Array.
    this.text(`${name} (JSON bytes)`, `[${[...b].join(',')}]`);
    this.text(`${name} (JSON Uint8Array)`, `{"0":${b[0]},"1":${b[1]},"2":${b[2]},"3":${b[3]}`);
    if (/^[\x20-\x7e]+$/.test(b.toString('latin1'))) this.text(`${name} (text)`, b.toString('latin1'));
    return this;
  }

  /** A compact JWS: the whole token and its signature segment (and the signature's raw bytes). */
  token(name: string, token: string): this {
    this.text(name, token);
    const parts = token.split('.');
    const signature = parts[2];
    if (signature !== undefined && signature.length >= MIN_NEEDLE) {
      this.text(`${name} signature segment`, signature);
      this.bytes(`${name} signature bytes`, Buffer.from(signature, 'base64url'));
    }
    return this;
  }

  /** A `Signature` header value: the whole value and every signature's bytes (`:base64:`). */
  signatureHeader(name: string, value: string): this {
    this.text(name, value);
    for (const match of value.matchAll(/:([A-Za-z0-9+/=]+):/g)) {
      const b64 = match[1]!;
      if (b64.length < MIN_NEEDLE) continue;
      this.bytes(`${name} signature bytes`, Buffer.from(b64, 'base64'));
    }
    return this;
  }

  /** A private key: the private JWK members and the PKCS#8 PEM body, line by line and joined. */
  privateKey(name: string, key: KeyObject): this {
    const jwk = key.export({ format: 'jwk' }) as Record<string, unknown>;
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
      const value = jwk[member];
      if (typeof value === 'string') this.text(`${name} JWK ${member}`, value);
    }
    const pem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
    const body = pem.split('\n').filter((line) => line.length > 0 && !line.startsWith('-----'));
    this.text(`${name} PEM body`, body.join(''));
    this.text(`${name} PEM body (with newlines)`, body.join('\n'));
    for (const line of body) if (line.length >= MIN_NEEDLE * 2) this.text(`${name} PEM line`, line);
    return this;
  }

  /** Every (secret, place) pair where a secret shows up. */
  leaks(emitted: readonly Emitted[]): string[] {
    const found: string[] = [];
    for (const { where, text } of emitted) {
      for (const needle of this.needles) if (text.includes(needle.value)) found.push(`${needle.name} in ${where}`);
    }
    return found;
  }

  /** Fails with the list of leaks; also checks that something was captured at all. */
  expectNone(emitted: readonly Emitted[], { atLeast = 1 } = {}): void {
    expect(emitted.length).toBeGreaterThanOrEqual(atLeast);
    expect(this.leaks(emitted)).toEqual([]);
  }
}

/**
 * A memory-backed store that records every key it is given (nonce and rate-limit keys must never
 * hold raw token or header material) and can be switched to fail with an error whose message
 * carries a secret (which must not be passed on).
 */
export function recordingStore(inner: Store, failure: () => string | undefined): Store & { keys: string[] } {
  const keys: string[] = [];
  const maybeFail = (): void => {
    const message = failure();
    if (message !== undefined) throw new Error(message);
  };
  return {
    keys,
    recordNonce(key, ttlMs) {
      keys.push(key);
      maybeFail();
      return inner.recordNonce(key, ttlMs);
    },
    rateLimit(request) {
      keys.push(request.key);
      const message = failure();
      // The asynchronous failure path (a remote store rejects).
      if (message !== undefined) return Promise.reject(new Error(message));
      return inner.rateLimit(request);
    },
  };
}
