import type { IncomingHttpHeaders } from 'node:http';
import { BoundedCache } from '../lib/lru.js';
import { invalid, optionalBoolean, positiveInteger } from '../lib/validate.js';
import { silentLogger, type Logger } from '../observe/logger.js';
import type { SignatureKey } from './algorithms.js';
import { importDirectoryKeys } from './keys.js';
import { directoryKeysSignedIn } from './directory-signature.js';
import { guardedGet, type GuardedFetchError, type GuardedFetchOptions } from './ssrf.js';

/** Where an agent publishes its keys, under its origin (Web Bot Auth key directory). */
export const DIRECTORY_PATH = '/.well-known/http-message-signatures-directory';
/** The directory media type we ask for. */
export const DIRECTORY_MEDIA_TYPE = 'application/http-message-signatures-directory+json';

/** The hard ceiling on the failure cache: the Web Bot Auth deployment guidance says at most 5 minutes. */
const MAX_NEGATIVE_TTL_SECONDS = 300;
const OPTION_PATH = 'signatures.directory';

/** How agents' key directories are fetched and cached. */
export interface DirectoryOptions {
  /** Allowlist mode: only these origins are ever fetched (others → 'unknown'). Default: any public https origin. */
  allow?: readonly string[];
  /** Wall-clock budget of one fetch (DNS, connect, TLS, body), in ms. Default 3000. */
  timeoutMs?: number;
  /** Largest directory accepted, in bytes. Default 64 KiB. */
  maxBytes?: number;
  /** Most keys kept from one directory. Default 16. */
  maxKeys?: number;
  /** Directories (and remembered failures) cached at once, least recently used dropped first. Default 1000. */
  maxOrigins?: number;
  /** Floor on the lifetime from Cache-Control / Expires, in seconds; also the least time between two refetches for an unknown key. Default 60. */
  minTtlSeconds?: number;
  /** Ceiling on the lifetime from Cache-Control / Expires, in seconds. Default 86400. */
  maxTtlSeconds?: number;
  /** Lifetime of a directory served without cache headers, in seconds. Default 3600. */
  defaultTtlSeconds?: number;
  /** How long a failed fetch is remembered before the next attempt, in seconds. Default 60, clamped to [1, 300]. */
  negativeTtlSeconds?: number;
  /**
   * How long after its lifetime ends a directory still answers for the keys it holds at once, while
   * one background fetch refreshes it (RFC 5861 `stale-while-revalidate`, here set by the verifier),
   * in seconds. A key the refresh omits is refused once it lands. Staler than this, a lookup waits for
   * the refetch. `0` makes every lookup of a stale directory wait. Default 300.
   */
  staleWhileRevalidateSeconds?: number;
  /**
   * Most directory fetches in flight at once, across all origins. A lookup that would start one more
   * answers from the cache or 'unavailable', so a flood of distinct agent origins cannot become a
   * flood of outbound connections. Default 32.
   */
  maxConcurrentFetches?: number;
  /**
   * Keep only keys whose own signature over the directory response verifies (`"@authority";req` and
   * `content-digest`, tag `http-message-signatures-directory`): proof that whoever holds the private
   * key publishes this directory. Default `false`.
   */
  verifySignatures?: boolean;
  /** Test-only fetch settings: trust a test CA, reach loopback, resolve names with a stub. */
  fetch?: Pick<GuardedFetchOptions, 'ca' | 'allowPrivateAddresses' | 'resolve'>;
  logger?: Logger;
}

/**
 * What a directory says about one key: the key, `'unknown'` (the directory does not hold it, or the
 * origin is not allowed) or `'unavailable'` (the directory could not be fetched and no cached copy holds it).
 */
export type DirectoryLookup = SignatureKey | 'unknown' | 'unavailable';

/** Why a directory fetch failed, as logged: the fetch's own error kinds plus what the body can get wrong. */
type DirectoryFailure = GuardedFetchError | 'not-json' | 'not-directory' | 'internal';

/** One origin's cached state. Times are ms on the injected clock. */
interface CachedDirectory {
  /** When the cache may forget the entry: never for one holding keys (stale-on-error), the retry time for a failure. */
  readonly expiresAt: number;
  /** Keys by thumbprint, or undefined when no fetch ever succeeded (a remembered failure). */
  readonly keys: ReadonlyMap<string, SignatureKey> | undefined;
  /** Until when the keys are fresh (from the response's cache headers). */
  readonly freshUntil: number;
  /** No fetch before this time: set by a failure, negativeTtl after it. */
  readonly retryAt: number;
  /** When the last fetch started (rate limit for unknown keys). */
  readonly attemptedAt: number;
}

interface FetchOutcome {
  readonly entry: CachedDirectory | undefined;
  readonly ok: boolean;
}

type Download = { ok: true; keys: ReadonlyMap<string, SignatureKey>; ttlSeconds: number } | { ok: false; error: DirectoryFailure };

interface Settings {
  readonly allow: ReadonlySet<string> | undefined;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxKeys: number;
  readonly maxOrigins: number;
  readonly minTtl: number;
  readonly maxTtl: number;
  readonly defaultTtl: number;
  readonly negativeTtl: number;
  readonly staleWhileRevalidate: number;
  readonly maxConcurrentFetches: number;
  readonly verifySignatures: boolean;
}

/**
 * Finds agents' keys in their key directories (`<origin>/.well-known/http-message-signatures-directory`).
 *
 * The hot path is synchronous: a key in a fresh cached directory is returned without a promise, and
 * so is a key in a directory stale by less than staleWhileRevalidate, which starts a background
 * refresh. A lookup waits for a fetch only when the origin is not cached, its directory is staler
 * than that, or a key is not in the directory (at most once per minTtl while fresh, so a flood of
 * random keyids cannot make us fetch per request). Lookups and refreshes share one fetch per origin.
 * A successful fetch replaces the whole key set, which is how keys are revoked; a failed one never
 * evicts keys already held (an outage at the agent must not revoke its keys everywhere) and is
 * retried at most once per negativeTtl. Every fetch goes through the SSRF guard: https only, public
 * addresses only, no redirects, capped size and time.
 */
export class DirectoryClient {
  readonly #settings: Settings;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #fetchOptions: Pick<GuardedFetchOptions, 'ca' | 'allowPrivateAddresses' | 'resolve'>;
  #cache: BoundedCache<CachedDirectory>;
  #pending = new Map<string, Promise<FetchOutcome>>();
  #aborter = new AbortController();
  #closed = false;

  /** Validates the options (a bad value throws a ConfigError). `now` is ms since the epoch. */
  constructor(options: DirectoryOptions, now: () => number) {
    this.#settings = resolveSettings(options);
    this.#now = now;
    this.#logger = options.logger ?? silentLogger;
    const fetch = options.fetch ?? {};
    this.#fetchOptions = { ca: fetch.ca, allowPrivateAddresses: fetch.allowPrivateAddresses === true, resolve: fetch.resolve };
    this.#cache = new BoundedCache(this.#settings.maxOrigins);
  }

  /**
   * The key with this thumbprint from `origin`'s directory. Synchronous when the answer is cached
   * (the hot path: no promise); a Promise only when it must fetch. 'unknown': the directory was
   * fetched and does not hold the key (revoked or never listed, or outside its nbf/exp) or the origin
   * is not allowed; 'unavailable': the directory could not be fetched and no cached copy holds the
   * key, or `origin` is not an https origin. Never throws or rejects.
   */
  lookup(origin: string, thumbprint: string): DirectoryLookup | Promise<DirectoryLookup> {
    return this.#guarded(thumbprint, () => {
      const normalized = directoryOrigin(origin);
      return normalized === undefined ? undefined : { source: normalized, url: normalized + DIRECTORY_PATH, origin: normalized };
    });
  }

  /**
   * Like `lookup`, for a Signature-Agent of `type=jwks_uri`: the keys are the JWKS at `url` itself
   * (an https URL; the allowlist applies to its origin). Cached per URL.
   */
  lookupJwks(url: string, thumbprint: string): DirectoryLookup | Promise<DirectoryLookup> {
    return this.#guarded(thumbprint, () => {
      const normalized = jwksUrl(url);
      return normalized === undefined ? undefined : { source: normalized, url: normalized, origin: new URL(normalized).origin };
    });
  }

  /** The checks both lookups share: closed, not https (→ 'unavailable'), not allowed (→ 'unknown'); never throws. */
  #guarded(
    thumbprint: string,
    locate: () => { readonly source: string; readonly url: string; readonly origin: string } | undefined,
  ): DirectoryLookup | Promise<DirectoryLookup> {
    try {
      if (this.#closed) return 'unavailable';
      const where = locate();
      if (where === undefined) return 'unavailable';
      const allow = this.#settings.allow;
      if (allow !== undefined && !allow.has(where.origin)) return 'unknown';
      return this.#lookup(where.source, where.url, thumbprint);
    } catch {
      return 'unavailable';
    }
  }

  /** `source` keys the cache and the pending fetches: the origin for a directory, the URL for a JWKS. */
  #lookup(source: string, url: string, thumbprint: string): DirectoryLookup | Promise<DirectoryLookup> {
    const normalized = source;
    {
      const minTtl = this.#settings.minTtl;
      const now = this.#now();
      const entry = this.#cache.get(normalized, now);
      if (entry === undefined) return this.#fetchAndAnswer(normalized, url, thumbprint, undefined);
      // A remembered failure still inside its window (the cache drops it when the window ends).
      if (entry.keys === undefined) return 'unavailable';
      const held = usable(entry.keys.get(thumbprint), now);
      const retryAllowed = now >= entry.retryAt;
      if (now < entry.freshUntil) {
        if (held !== undefined) return held;
        // Not in a fresh directory: perhaps just added. Look again, but at most once per minTtl.
        if (!retryAllowed || now - entry.attemptedAt < minTtl * 1000) return 'unknown';
        return this.#fetchAndAnswer(normalized, url, thumbprint, entry);
      }
      // Stale. While a failed refresh is backing off, the stale keys keep serving.
      if (!retryAllowed) return held ?? 'unavailable';
      // Stale, but not by long: a held key answers now, and one background fetch refreshes the
      // directory (revoking what it omits). Staler than that, the lookup waits for the fetch.
      if (held !== undefined && now - entry.freshUntil < this.#settings.staleWhileRevalidate * 1000) {
        this.#refresh(normalized, url, entry);
        return held;
      }
      return this.#fetchAndAnswer(normalized, url, thumbprint, entry);
    }
  }

  /** Drops every cached directory and pending fetch (aborting them); later lookups answer 'unavailable'. */
  close(): void {
    this.#closed = true;
    this.#aborter.abort();
    this.#aborter = new AbortController();
    this.#pending = new Map();
    this.#cache = new BoundedCache(this.#settings.maxOrigins);
  }

  /** The fetch of `origin` in flight, else a new one; undefined when maxConcurrentFetches are already in flight. */
  #fetch(origin: string, url: string, previous: CachedDirectory | undefined): Promise<FetchOutcome> | undefined {
    let pending = this.#pending.get(origin);
    if (pending === undefined) {
      if (this.#pending.size >= this.#settings.maxConcurrentFetches) return undefined;
      pending = this.#load(origin, url, previous);
      this.#pending.set(origin, pending);
    }
    return pending;
  }

  /** Refreshes `origin` in the background (or lets the fetch in flight do it); nobody waits for it. */
  #refresh(origin: string, url: string, previous: CachedDirectory): void {
    // #load is written never to reject; nobody awaits this one, so a rejection must still be handled.
    // Over the fetch budget there is no refresh: a later lookup tries again.
    this.#fetch(origin, url, previous)?.catch(() => undefined);
  }

  #fetchAndAnswer(origin: string, url: string, thumbprint: string, previous: CachedDirectory | undefined): DirectoryLookup | Promise<DirectoryLookup> {
    const pending = this.#fetch(origin, url, previous);
    // Too many fetches in flight: answer from what is cached rather than queue another.
    if (pending === undefined) return usable(previous?.keys?.get(thumbprint), this.#now()) ?? 'unavailable';
    return pending.then(
      (outcome) => {
        if (this.#closed || outcome.entry?.keys === undefined) return 'unavailable';
        const held = usable(outcome.entry.keys.get(thumbprint), this.#now());
        if (held !== undefined) return held;
        return outcome.ok ? 'unknown' : 'unavailable';
      },
      () => 'unavailable',
    );
  }

  /** Fetches `origin`'s directory and records the result in the cache. Never rejects. */
  async #load(origin: string, url: string, previous: CachedDirectory | undefined): Promise<FetchOutcome> {
    const pendingMap = this.#pending;
    const started = this.#now();
    let download: Download;
    try {
      download = await this.#download(url);
    } catch {
      download = { ok: false, error: 'internal' };
    } finally {
      // Only our own map: after close() a new map holds nothing of ours.
      pendingMap.delete(origin);
    }
    if (this.#closed) return { entry: undefined, ok: false };
    const now = this.#now();
    const { minTtl, maxTtl, negativeTtl } = this.#settings;
    if (download.ok) {
      const ttl = Math.min(maxTtl, Math.max(minTtl, download.ttlSeconds));
      const entry: CachedDirectory = { expiresAt: Infinity, keys: download.keys, freshUntil: now + ttl * 1000, retryAt: -Infinity, attemptedAt: started };
      this.#cache.set(origin, entry);
      return { entry, ok: true };
    }
    const prior = this.#cache.get(origin, now) ?? previous;
    const retryAt = now + negativeTtl * 1000;
    const stale = prior?.keys !== undefined;
    try {
      this.#logger.warn(
        { origin, error: download.error },
        stale ? 'bonafide: key directory fetch failed; keeping the keys already cached' : 'bonafide: key directory fetch failed',
      );
    } catch {
      // A logger that throws must not keep the failure (and its back-off) out of the cache.
    }
    const entry: CachedDirectory =
      prior?.keys !== undefined
        ? { expiresAt: Infinity, keys: prior.keys, freshUntil: prior.freshUntil, retryAt, attemptedAt: started }
        : { expiresAt: retryAt, keys: undefined, freshUntil: -Infinity, retryAt, attemptedAt: started };
    this.#cache.set(origin, entry);
    return { entry, ok: false };
  }

  async #download(url: string): Promise<Download> {
    const { timeoutMs, maxBytes, maxKeys } = this.#settings;
    const response = await guardedGet(url, {
      timeoutMs,
      maxBytes,
      headers: { accept: DIRECTORY_MEDIA_TYPE },
      signal: this.#aborter.signal,
      ...this.#fetchOptions,
    });
    if (!response.ok) return { ok: false, error: response.error };
    // Only 200 OK is a directory (any other 2xx is a discovery failure).
    if (response.status !== 200) return { ok: false, error: 'status' };
    let document: unknown;
    try {
      // Fatal decoding: invalid UTF-8 is not JSON. A leading BOM is dropped.
      document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(response.body));
    } catch {
      return { ok: false, error: 'not-json' };
    }
    if (typeof document !== 'object' || document === null || Array.isArray(document) || !Array.isArray((document as { keys?: unknown }).keys)) {
      return { ok: false, error: 'not-directory' };
    }
    let { keys } = importDirectoryKeys(document, maxKeys);
    if (this.#settings.verifySignatures) {
      keys = directoryKeysSignedIn({ status: response.status, headers: response.headers, body: response.body }, url, keys, this.#now());
    }
    const byThumbprint = new Map<string, SignatureKey>();
    for (const key of keys) {
      const id = key.thumbprint ?? key.keyid;
      if (!byThumbprint.has(id)) byThumbprint.set(id, key);
    }
    return { ok: true, keys: byThumbprint, ttlSeconds: cacheLifetime(response.headers, this.#now(), this.#settings.defaultTtl) };
  }
}

/**
 * Normalizes a directory origin (`https://Example.COM:443/` → `https://example.com`); undefined when
 * not an https origin (a path other than `/`, a query, a fragment, userinfo, or http). The text is
 * checked as sent before the WHATWG parser sees it, because that parser forgives things an origin
 * must not have (`https:example.com`, backslashes, embedded tabs and newlines).
 */
export function directoryOrigin(value: string): string | undefined {
  if (typeof value !== 'string' || value.length > 2048) return undefined;
  // An agent sends the same Signature-Agent on every request: its origin is remembered.
  const known = recentOrigins.get(value);
  if (known !== undefined) return known === null ? undefined : known;
  const origin = originOf(value);
  if (recentOrigins.size >= RECENT_ORIGINS) recentOrigins.clear();
  recentOrigins.set(value, origin ?? null);
  return origin;
}

/** Signature-Agent values seen lately and their origins (`null`: not one); emptied when full. */
const recentOrigins = new Map<string, string | null>();
const RECENT_ORIGINS = 256;

function originOf(value: string): string | undefined {
  if (value.slice(0, 8).toLowerCase() !== 'https://') return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // Controls, space, non-ASCII, and the characters that would start a query, a fragment or a backslash path.
    if (c <= 0x20 || c >= 0x7f || c === 0x3f /* ? */ || c === 0x23 /* # */ || c === 0x5c /* \ */ || c === 0x40 /* @ */) return undefined;
  }
  const slash = value.indexOf('/', 8);
  if (slash === 8) return undefined;
  if (slash !== -1 && slash !== value.length - 1) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.hostname === '' || url.pathname !== '/') return undefined;
  return url.origin;
}

/** A JWKS URL for `type=jwks_uri`: https, no userinfo, fragment dropped (web-bot-auth.md §1.4). */
function jwksUrl(value: string): string | undefined {
  if (typeof value !== 'string' || value.length > 2048 || value.slice(0, 8).toLowerCase() !== 'https://') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.hostname === '') return undefined;
  url.hash = '';
  return url.href;
}

/**
 * Seconds a directory response may be used (RFC 9111 §4.2.1): `s-maxage`, else `max-age` (less
 * `Age`), else `Expires` − `Date`, else `defaultTtl`. `no-store` / `no-cache` → 0 (the caller's floor
 * applies). Not clamped here.
 */
export function cacheLifetime(headers: IncomingHttpHeaders, nowMs: number, defaultTtl: number): number {
  const cacheControl = headerText(headers['cache-control']);
  if (cacheControl !== undefined) {
    let maxAge: number | undefined;
    let sharedMaxAge: number | undefined;
    for (const part of cacheControl.split(',')) {
      const eq = part.indexOf('=');
      const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
      const raw = eq === -1 ? undefined : part.slice(eq + 1).trim();
      if (name === 'no-store' || name === 'no-cache') return 0;
      if (name === 'max-age') maxAge = deltaSeconds(raw) ?? maxAge;
      else if (name === 's-maxage') sharedMaxAge = deltaSeconds(raw) ?? sharedMaxAge;
    }
    const lifetime = sharedMaxAge ?? maxAge;
    if (lifetime !== undefined) return Math.max(0, lifetime - (deltaSeconds(headerText(headers['age'])) ?? 0));
  }
  const expires = headerText(headers['expires']);
  if (expires !== undefined) {
    const at = Date.parse(expires);
    // An invalid Expires (often "0") means already expired.
    if (Number.isNaN(at)) return 0;
    const date = Date.parse(headerText(headers['date']) ?? '');
    return Math.max(0, (at - (Number.isNaN(date) ? nowMs : date)) / 1000);
  }
  return defaultTtl;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** An RFC 9111 delta-seconds (digits, optionally quoted), or undefined. */
function deltaSeconds(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const text = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (text.length === 0 || text.length > 10) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return Number(text);
}

/** The key when it exists and its JWK nbf/exp (Unix seconds) admit `nowMs`. */
function usable(key: SignatureKey | undefined, nowMs: number): SignatureKey | undefined {
  if (key === undefined) return undefined;
  const seconds = nowMs / 1000;
  if (key.notBefore !== undefined && seconds < key.notBefore) return undefined;
  if (key.expiresAt !== undefined && seconds >= key.expiresAt) return undefined;
  return key;
}

function resolveSettings(options: DirectoryOptions): Settings {
  const at = (name: string): string => `${OPTION_PATH}.${name}`;
  let allow: Set<string> | undefined;
  if (options.allow !== undefined) {
    if (!Array.isArray(options.allow)) throw invalid(at('allow'), 'a list of https origins', options.allow);
    allow = new Set();
    options.allow.forEach((value: unknown, i) => {
      const origin = typeof value === 'string' ? directoryOrigin(value) : undefined;
      if (origin === undefined) throw invalid(`${at('allow')}[${i}]`, 'an https origin such as `https://agent.example`', value);
      allow!.add(origin);
    });
  }
  const minTtl = positiveInteger(options.minTtlSeconds, at('minTtlSeconds'), 60, { allowZero: true });
  const maxTtl = positiveInteger(options.maxTtlSeconds, at('maxTtlSeconds'), 86_400);
  if (maxTtl < minTtl) throw invalid(at('maxTtlSeconds'), `at least minTtlSeconds (${minTtl})`, maxTtl);
  const negativeTtl = positiveInteger(options.negativeTtlSeconds, at('negativeTtlSeconds'), 60, { allowZero: true });
  return {
    allow,
    timeoutMs: positiveInteger(options.timeoutMs, at('timeoutMs'), 3000),
    maxBytes: positiveInteger(options.maxBytes, at('maxBytes'), 64 * 1024),
    maxKeys: positiveInteger(options.maxKeys, at('maxKeys'), 16),
    maxOrigins: positiveInteger(options.maxOrigins, at('maxOrigins'), 1000),
    minTtl,
    maxTtl,
    defaultTtl: positiveInteger(options.defaultTtlSeconds, at('defaultTtlSeconds'), 3600, { allowZero: true }),
    // Clamped rather than refused: the ceiling is a protocol rule, not a preference.
    negativeTtl: Math.min(MAX_NEGATIVE_TTL_SECONDS, Math.max(1, negativeTtl)),
    staleWhileRevalidate: positiveInteger(options.staleWhileRevalidateSeconds, at('staleWhileRevalidateSeconds'), 300, { allowZero: true }),
    maxConcurrentFetches: positiveInteger(options.maxConcurrentFetches, at('maxConcurrentFetches'), 32),
    verifySignatures: optionalBoolean(options.verifySignatures, at('verifySignatures')) ?? false,
  };
}
