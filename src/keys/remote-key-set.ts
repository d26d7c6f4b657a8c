import type { Logger } from '../observe/logger.js';
import { importJwk, type VerificationKey } from './key.js';

/** How a remote JWKS is fetched and cached. */
export interface RemoteKeySetOptions {
  /** Seconds a fetched key set is used before it is refreshed. */
  readonly cacheMaxAge: number;
  /** Minimum seconds between two fetches, whatever triggers them (unknown `kid`, failures). */
  readonly cooldown: number;
  /** Seconds a fetch may take before it is abandoned. */
  readonly timeout: number;
  /** Largest response body accepted, in bytes. */
  readonly maxBytes: number;
  /** Most keys kept from one response. */
  readonly maxKeys: number;
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
  readonly logger: Logger;
}

/** What a lookup found: keys, or that the key set could not be loaded at all. */
export type KeyLookup = { status: 'found'; keys: readonly VerificationKey[] } | { status: 'unknown' } | { status: 'unavailable' };

class FetchFailure extends Error {
  override name = 'FetchFailure';
}

/**
 * A JWKS fetched from a URL and cached whole. A `kid` that is not in the set triggers at most one
 * refetch per cooldown, shared by every request waiting on it, so a flood of random `kid`s cannot
 * become a flood of fetches. When a refresh fails the keys already held stay in use.
 */
export class RemoteKeySet {
  readonly url: string;
  readonly #options: RemoteKeySetOptions;
  #keys: readonly VerificationKey[] = [];
  #loaded = false;
  #fetchedAt = -Infinity;
  #attemptedAt = -Infinity;
  #pending: Promise<void> | undefined;

  constructor(url: string, options: RemoteKeySetOptions) {
    this.url = url;
    this.#options = options;
  }

  /** Keys whose `kid` matches (any key when `kid` is undefined). */
  async lookup(kid: string | undefined): Promise<KeyLookup> {
    const now = this.#options.now();
    if (!this.#loaded || now - this.#fetchedAt >= this.#options.cacheMaxAge * 1000) {
      await this.#refresh(now);
    }
    if (!this.#loaded) return { status: 'unavailable' };
    let keys = this.#match(kid);
    if (keys.length === 0 && kid !== undefined) {
      // Perhaps the issuer rotated its keys: refetch, but only once per cooldown.
      await this.#refresh(this.#options.now());
      keys = this.#match(kid);
    }
    return keys.length > 0 ? { status: 'found', keys } : { status: 'unknown' };
  }

  #match(kid: string | undefined): readonly VerificationKey[] {
    return kid === undefined ? this.#keys : this.#keys.filter((k) => k.kid === kid);
  }

  #refresh(now: number): Promise<void> {
    if (this.#pending) return this.#pending;
    if (now - this.#attemptedAt < this.#options.cooldown * 1000) return Promise.resolve();
    this.#attemptedAt = now;
    this.#pending = withDeadline(this.#load(), this.#options.timeout * 1000)
      .then((keys) => {
        this.#keys = keys;
        this.#loaded = true;
        this.#fetchedAt = this.#options.now();
      })
      .catch((error: unknown) => {
        const reason = error instanceof FetchFailure ? error.message : 'fetch failed';
        this.#options.logger.warn(
          { url: loggableUrl(this.url), reason, staleKeys: this.#keys.length },
          this.#loaded ? 'bonafide: JWKS refresh failed; keeping the keys already loaded' : 'bonafide: JWKS fetch failed',
        );
      })
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }

  async #load(): Promise<VerificationKey[]> {
    const { timeout, maxBytes, maxKeys } = this.#options;
    let response: Response;
    try {
      response = await this.#options.fetch(this.url, {
        redirect: 'error',
        headers: { accept: 'application/json, application/jwk-set+json' },
        signal: AbortSignal.timeout(timeout * 1000),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new FetchFailure(timedOut ? `timed out after ${timeout}s` : 'network error');
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw new FetchFailure(`HTTP ${response.status}`);
    }
    const text = await readCapped(response, maxBytes);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new FetchFailure('response is not JSON');
    }
    const list = (document as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(list)) throw new FetchFailure('response has no "keys" array');
    const keys: VerificationKey[] = [];
    for (const jwk of list.slice(0, maxKeys)) {
      try {
        keys.push(importJwk(jwk));
      } catch {
        // One unusable key (an encryption key, an unsupported curve) must not poison the set.
      }
    }
    if (keys.length === 0) throw new FetchFailure('response has no usable signing keys');
    return keys;
  }
}

/** Bounds a fetch even when an injected fetch ignores its abort signal. */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FetchFailure(`timed out after ${ms / 1000}s`)), ms);
    timer.unref?.();
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Reads a response body as text, giving up as soon as it exceeds `maxBytes`. */
async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new FetchFailure(`response larger than ${maxBytes} bytes`);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      throw new FetchFailure('response body could not be read');
    }
    if (chunk.done) break;
    total += chunk.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new FetchFailure(`response larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The URL as logs may show it: origin and path only (no credentials, query or fragment). */
export function loggableUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
