import { pathStart } from './lib/authority.js';

/** Read access to request headers, case-insensitively. A Web `Headers` object fits as-is. */
export interface HeaderReader {
  /** The field value, repeated lines joined with `", "`, or `null` when absent. */
  get(name: string): string | null;
}

/** A header record as Node and most frameworks hold it: values may be arrays of lines. */
export type HeaderRecord = Record<string, string | readonly string[] | number | undefined>;

/**
 * The request a guard checks. A Web `Request` fits as-is; adapters pass plain objects.
 * `url` must be absolute: the URL the client used, with the raw (undecoded) path and query.
 */
export interface GuardRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: HeaderReader | HeaderRecord;
  /** The client IP, as the framework resolved it (honouring its trust-proxy setting). */
  readonly ip?: string;
}

/** The normalised request the verifiers see. */
export interface NormalizedRequest {
  readonly method: string;
  readonly url: string;
  /** The path for route matching: dot segments removed, unreserved percent-escapes decoded. */
  readonly path: string;
  readonly headers: HeaderReader;
  readonly ip: string | undefined;
}

/** Reads a plain header record case-insensitively, joining repeated lines with `", "`. */
class RecordHeaders implements HeaderReader {
  readonly #record: HeaderRecord;
  #lower: Map<string, string | readonly string[] | number | undefined> | undefined;

  constructor(record: HeaderRecord) {
    this.#record = record;
  }

  get(name: string): string | null {
    const lower = name.toLowerCase();
    let value = this.#record[lower];
    if (value === undefined) value = this.#byLowerName().get(lower);
    if (value === undefined) return null;
    if (typeof value === 'string') return value;
    if (typeof value === 'number') return String(value);
    return Array.isArray(value) ? (value as string[]).join(', ') : null;
  }

  #byLowerName(): Map<string, string | readonly string[] | number | undefined> {
    if (this.#lower === undefined) {
      // Mixed-case keys (a hand-built record): index once, merging names that differ only by case.
      this.#lower = new Map();
      for (const key of Object.keys(this.#record)) {
        const lower = key.toLowerCase();
        const value = this.#record[key];
        if (value === undefined) continue;
        const previous = this.#lower.get(lower);
        const lines = Array.isArray(value) ? (value as string[]) : [String(value)];
        if (previous === undefined) this.#lower.set(lower, lines.length === 1 ? lines[0] : lines);
        else this.#lower.set(lower, [...(Array.isArray(previous) ? previous : [String(previous)]), ...lines]);
      }
    }
    return this.#lower;
  }
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * The path used to match routes. Percent-escapes of unreserved characters are decoded and dot
 * segments removed (RFC 3986 §6.2.2), so `/v1/%61pp/../app` cannot slip past a pattern for `/v1/app`.
 */
export function normalizePath(rawPath: string): string {
  let path = rawPath;
  if (path.includes('%')) {
    path = path.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
      const ch = String.fromCharCode(Number.parseInt(hex, 16));
      return UNRESERVED.test(ch) ? ch : escape.toUpperCase();
    });
  }
  // A dot segment always follows a slash; `/file.json` needs no rewriting.
  if (!path.includes('/.')) return path;
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '.') continue;
    if (segment === '..') {
      if (out.length > 1) out.pop();
      continue;
    }
    out.push(segment);
  }
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (last === '.' || last === '..') out.push('');
  return out.join('/') || '/';
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COMMON_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Validates and normalises a request. Returns `undefined` when the method or URL is unusable; the
 * guard turns that into an `ERR_REQUEST_INVALID` decision instead of throwing.
 */
export function normalizeRequest(input: GuardRequest): NormalizedRequest | undefined {
  if (input === null || typeof input !== 'object') return undefined;
  const { method, url, headers } = input;
  if (typeof method !== 'string' || (!COMMON_METHODS.has(method) && (method.length > 32 || !TOKEN.test(method)))) {
    return undefined;
  }
  if (typeof url !== 'string' || url.length > 16384) return undefined;
  const start = pathStart(url);
  if (start === -1) return undefined;
  const query = url.indexOf('?', start);
  const rawPath = query === start ? '/' : url.slice(start, query === -1 ? url.length : query) || '/';
  let reader: HeaderReader;
  if (headers !== null && typeof headers === 'object' && typeof (headers as HeaderReader).get === 'function') {
    reader = headers as HeaderReader;
  } else if (headers !== null && typeof headers === 'object') {
    reader = new RecordHeaders(headers as HeaderRecord);
  } else {
    return undefined;
  }
  const ip = typeof input.ip === 'string' ? input.ip : undefined;
  return {
    method: COMMON_METHODS.has(method) ? method : method.toUpperCase(),
    url,
    path: normalizePath(rawPath),
    headers: reader,
    ip,
  };
}
