import { pathStart } from './lib/authority.js';
import { BodyTooLargeError, type SignatureRequest } from './signatures/verifier.js';

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
  /**
   * The raw body bytes as received (before any decompression or parsing), read only when a signed
   * `Content-Digest` must be checked. Reject with an error when the body exceeds `maxBytes`; resolve
   * `undefined` when the bytes are not available. A Web `Request` needs none: its clone is read.
   */
  readonly readBody?: (maxBytes: number) => Promise<Uint8Array | undefined>;
}

/** Read access to the separate field lines of a header, when the source keeps them. */
interface FieldLineReader {
  lines(name: string): readonly string[] | undefined;
}

/** The normalised request the verifiers see. */
export class NormalizedRequest implements SignatureRequest {
  constructor(
    /** The method as received (RFC 9421 `@method` is case-sensitive). */
    readonly method: string,
    readonly url: string,
    /** The path for route matching: dot segments removed, unreserved percent-escapes decoded. */
    readonly path: string,
    readonly headers: HeaderReader,
    readonly ip: string | undefined,
    readonly input: GuardRequest,
  ) {}

  /** The method for route matching: upper-case. */
  get routeMethod(): string {
    return COMMON_METHODS.has(this.method) ? this.method : this.method.toUpperCase();
  }

  header(name: string): string | null {
    return this.headers.get(name);
  }

  /** Field lines for RFC 9421 components: separate lines when the source keeps them, else the combined value as one. */
  fieldLines(name: string): readonly string[] | undefined {
    const reader = this.headers as Partial<FieldLineReader> & HeaderReader;
    if (typeof reader.lines === 'function') return reader.lines(name);
    const value = reader.get(name);
    return value === null ? undefined : [value];
  }

  get hasBody(): boolean {
    const length = this.headers.get('content-length');
    if (length !== null) return length.trim() !== '0';
    if (this.headers.get('transfer-encoding') !== null) return true;
    // A Web Request built in process (`new Request(url, { body })`) may carry neither header; its
    // adapter supplies `readBody` exactly when it has a body.
    if (typeof this.input.readBody === 'function') return true;
    const input = this.input as Partial<Request>;
    return isWebRequest(this.input) && input.body !== null && input.body !== undefined;
  }

  get body(): ((maxBytes: number) => Promise<Uint8Array | undefined>) | undefined {
    const input = this.input;
    if (typeof input.readBody === 'function') return (maxBytes) => input.readBody!(maxBytes);
    if (isWebRequest(input)) return (maxBytes) => readWebBody(input, maxBytes);
    return undefined;
  }
}

function isWebRequest(input: GuardRequest): input is GuardRequest & Request {
  return typeof (input as Partial<Request>).clone === 'function' && 'body' in input;
}

/** Reads a clone of a Web Request's body, so the application can still read the original. */
export async function readWebBody(request: Request, maxBytes: number): Promise<Uint8Array | undefined> {
  if (request.bodyUsed) return undefined;
  const stream = request.clone().body;
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError('bonafide: body larger than the digest check reads');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** Reads a plain header record case-insensitively, joining repeated lines with `", "`. */
class RecordHeaders implements HeaderReader, FieldLineReader {
  readonly #record: HeaderRecord;
  #lower: ReadonlyMap<string, string | readonly string[] | number | undefined> | undefined;

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

  lines(name: string): readonly string[] | undefined {
    const lower = name.toLowerCase();
    let value = this.#record[lower];
    if (value === undefined) value = this.#byLowerName().get(lower);
    if (value === undefined) return undefined;
    if (typeof value === 'string') return [value];
    if (typeof value === 'number') return [String(value)];
    return Array.isArray(value) ? (value as string[]) : undefined;
  }

  #byLowerName(): ReadonlyMap<string, string | readonly string[] | number | undefined> {
    if (this.#lower === undefined) {
      // Node (and so every Node framework) gives lower-case names only: then a miss is a miss.
      if (!hasUpperCaseKey(this.#record)) return (this.#lower = NO_HEADERS);
      // Mixed-case keys (a hand-built record): index once, merging names that differ only by case.
      const byLower = new Map<string, string | readonly string[] | number | undefined>();
      for (const key of Object.keys(this.#record)) {
        const lower = key.toLowerCase();
        const value = this.#record[key];
        if (value === undefined) continue;
        const previous = byLower.get(lower);
        const lines = Array.isArray(value) ? (value as string[]) : [String(value)];
        if (previous === undefined) byLower.set(lower, lines.length === 1 ? lines[0] : lines);
        else byLower.set(lower, [...(Array.isArray(previous) ? previous : [String(previous)]), ...lines]);
      }
      this.#lower = byLower;
    }
    return this.#lower;
  }
}

const NO_HEADERS: ReadonlyMap<string, string> = new Map<string, string>();

/** True when some key of the record has an upper-case ASCII letter (checked without allocating). */
function hasUpperCaseKey(record: HeaderRecord): boolean {
  for (const key in record) {
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      if (c >= 65 && c <= 90) return true;
    }
  }
  return false;
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

/** The URL an adapter built and checked last (see `urlChecked`), and where its path starts. */
let validatedUrl: string | undefined;
let validatedStart = 0;

/**
 * Tells `normalizeRequest` that `url` is `scheme://authority` + a target with no `#`, its authority
 * already checked with `isAuthority`, and its path starting at `start`: the adapter that built it
 * just did what `pathStart` would do again. Only the last URL is remembered, and only a URL with the
 * same text is taken as checked — the text alone decides where its path starts.
 */
export function urlChecked(url: string | undefined, start: number): void {
  validatedUrl = url;
  validatedStart = start;
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
  const start = url === validatedUrl ? validatedStart : pathStart(url);
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
  return new NormalizedRequest(method, url, normalizePath(rawPath), reader, ip, input);
}
