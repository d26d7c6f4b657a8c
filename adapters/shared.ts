import { toProblem, type Decision, type DenyDecision, type DenyResponse } from '../src/decision.js';
import { ConfigError } from '../src/errors.js';
import { isAuthority } from '../src/lib/authority.js';
import { createGuard, type Guard } from '../src/guard.js';
import { urlChecked, type GuardRequest } from '../src/request.js';
import { checkObject, optionalFunction } from '../src/lib/validate.js';
import type { GuardOptions } from '../src/options.js';
import { ANONYMOUS } from '../src/principal.js';
import { BodyTooLargeError } from '../src/signatures/verifier.js';
import { rateLimitHeaders } from '../src/limits/response-headers.js';

/** Logic two or more adapters need. Internal: not part of any package entry point. */

/** A Guard is anything with a `check` function; everything else is options for `createGuard`. */
export function resolveGuard(guardOrOptions: Guard | GuardOptions, path = 'guard'): Guard {
  if (guardOrOptions !== null && typeof guardOrOptions === 'object') {
    if (typeof (guardOrOptions as Partial<Guard>).check === 'function') {
      if (typeof (guardOrOptions as Partial<Guard>).respond !== 'function') {
        throw new ConfigError(
          'ERR_CONFIG_INVALID_VALUE',
          path,
          `\`${path}\` has a \`check\` function but no \`respond\`; pass a guard from createGuard() or its options.`,
        );
      }
      return guardOrOptions as Guard;
    }
    return createGuard(guardOrOptions as GuardOptions);
  }
  throw new ConfigError(
    'ERR_CONFIG_INVALID_VALUE',
    path,
    `\`${path}\` must be a guard from createGuard() or the options for one.`,
  );
}

/**
 * Validates an adapter's own options object once, when the middleware is created: no unknown keys,
 * and `onDeny` a function when set. Returns the record for adapter-specific fields.
 */
export function adapterOptions(value: unknown, path: string, known: readonly string[]): Record<string, unknown> {
  const record = value === undefined ? {} : checkObject(value, path, known);
  optionalFunction(record.onDeny, path ? `${path}.onDeny` : 'onDeny');
  return record;
}

/**
 * The decision an adapter applies when the guard itself failed (a custom guard whose `check` threw
 * or resolved to something that is not a Decision). Fails closed: 503 `ERR_INTERNAL`.
 */
export const INTERNAL_ERROR: DenyDecision = Object.freeze({
  outcome: 'deny',
  status: 503,
  reason: 'ERR_INTERNAL',
  principal: ANONYMOUS,
  checks: Object.freeze([]),
  mode: 'enforce',
  route: null,
  rule: null,
  policy: null,
  dryRun: Object.freeze([]),
  durationMs: 0,
  monitor: false,
  failedOpen: false,
});

/** The decision itself when it is one, else `INTERNAL_ERROR`: only `outcome: 'allow'` lets a request through. */
export function settle(value: unknown): Decision {
  const outcome = (value as Decision | null | undefined)?.outcome;
  return outcome === 'allow' || outcome === 'deny' ? (value as Decision) : INTERNAL_ERROR;
}

/**
 * The guard's decision for a request, synchronously when the guard can decide without I/O
 * (`guard.decide`), else a Promise. Whatever goes wrong — a throw, a rejection, something that is
 * not a Decision — becomes `INTERNAL_ERROR`, so a request is never let through by accident.
 */
export function decideWith(guard: Guard, request: GuardRequest): Decision | Promise<Decision> {
  let result: unknown;
  try {
    result = typeof guard.decide === 'function' ? guard.decide(request) : guard.check(request);
  } catch {
    return INTERNAL_ERROR;
  }
  if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
    return Promise.resolve(result).then(settle, () => INTERNAL_ERROR);
  }
  return settle(result);
}

/** `guard.respond(decision)`, or a bare `ERR_INTERNAL` problem if a custom guard's `respond` throws. */
export function respondTo(guard: Guard, decision: Decision): DenyResponse {
  try {
    return guard.respond(decision);
  } catch {
    const problem = toProblem('ERR_INTERNAL');
    return {
      status: problem.status,
      headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
      body: JSON.stringify(problem),
    };
  }
}

/** The first member of a comma-separated list header (`X-Forwarded-Host: a, b` → `a`), trimmed. */
export function firstValue(value: string | readonly string[] | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const line = typeof value === 'string' ? value : value[0];
  if (line === undefined) return undefined;
  const comma = line.indexOf(',');
  const first = (comma === -1 ? line : line.slice(0, comma)).trim();
  return first.length === 0 ? undefined : first;
}

/**
 * An absolute-form request-target (RFC 9112 §3.2.2). Hosts are checked with `isAuthority`: anything
 * but an RFC 3986 host and port — above all `/`, `?`, `#`, `\`, `@` or whitespace — would let a
 * Host or X-Forwarded-Host header move where the guard believes the path starts.
 */
const ABSOLUTE_FORM = /^https?:\/\/[^/?#\\@\s]+(?:[/?]|$)/i;

/** The local address a socket accepted the request on, as an authority (`127.0.0.1:8080`, `[::1]:8080`). */
export function localAuthority(socket: { localAddress?: string; localPort?: number } | null | undefined): string | undefined {
  const address = socket?.localAddress;
  if (address === undefined) return undefined;
  const host = address.includes(':') ? `[${address}]` : address;
  return socket?.localPort === undefined ? host : `${host}:${socket.localPort}`;
}

/**
 * The absolute URL the client used, from the scheme and authority the framework resolved (trust
 * proxy honoured) and the raw request-target (RFC 9112 §3.3). Returns `''` — which the guard answers
 * with 400 `ERR_REQUEST_INVALID` — when the scheme is not http(s) or the authority is malformed, so a
 * forged header can never shift the path the guard matches routes on.
 *
 * - origin-form (`/path?query`): `scheme://authority/path?query`, byte for byte;
 * - absolute-form (`http://host/path`, sent to proxies): the request-target itself;
 * - asterisk-form (`OPTIONS *`): `scheme://authority` (empty path).
 */
export function absoluteUrl(scheme: string, authority: string | undefined, target: string): string {
  if (scheme !== 'http' && scheme !== 'https') {
    const lower = scheme.toLowerCase();
    if (lower !== 'http' && lower !== 'https') return '';
    scheme = lower;
  }
  if (target.charCodeAt(0) === 47 /* / */) {
    if (authority === undefined || !isAuthority(authority)) return '';
    const url = scheme + '://' + authority + target;
    // The guard would check the authority again, and look for the path and a `#`: say it is done.
    if (!target.includes('#')) urlChecked(url, scheme.length + 3 + authority.length);
    return url;
  }
  if (ABSOLUTE_FORM.test(target)) return target;
  if (target === '*') return authority !== undefined && isAuthority(authority) ? scheme + '://' + authority : '';
  return '';
}

/** The Node response methods an adapter needs to write a deny. */
export interface NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}

/** Writes a DenyResponse to a Node response. Headers set earlier (CORS, request ids) are kept. */
export function writeDeny(res: NodeResponseLike, response: DenyResponse): void {
  res.statusCode = response.status;
  const headers = response.headers;
  for (const name in headers) res.setHeader(name, headers[name]!);
  res.end(response.body);
}

/** The parts of a Node `IncomingMessage` the body reader needs. */
export interface NodeRequestLike {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly readableEnded: boolean;
  readonly complete: boolean;
  read(): Buffer | string | null;
  unshift(chunk: Buffer): void;
  on(event: 'readable' | 'error' | 'aborted', listener: (error?: unknown) => void): unknown;
  off(event: 'readable' | 'error' | 'aborted', listener: (error?: unknown) => void): unknown;
  /** Raw bytes kept by a body parser's `verify` hook (`req.rawBody = buf`), if any. */
  rawBody?: unknown;
}

/**
 * A `readBody` for a Node request, or `undefined` when it carries no body. It uses raw bytes a body
 * parser already kept (`rawBody`, or `fallback` called on `owner`, such as Express's `req.body`
 * Buffer from `express.raw()`; a module-level function, so no closure is made per request);
 * otherwise it reads the stream itself and puts the bytes back (`unshift`) before the stream ends,
 * so the application's own body parser still reads the whole body afterwards.
 */
export function nodeBodyReader<T>(
  req: NodeRequestLike,
  fallback?: (this: T) => unknown,
  owner?: T,
): ((maxBytes: number) => Promise<Uint8Array | undefined>) | undefined {
  const headers = req.headers;
  // Checked before any closure is made: most requests (GET, HEAD) carry no body.
  if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return undefined;
  return (maxBytes) => {
    let kept = req.rawBody ?? fallback?.call(owner as T);
    // koa-bodyparser keeps `rawBody` as text; for the UTF-8 bodies it parses that is the same bytes.
    if (typeof kept === 'string') kept = Buffer.from(kept, 'utf8');
    if (kept instanceof Uint8Array) return kept.byteLength > maxBytes ? Promise.reject(new BodyTooLargeError('body too large')) : Promise.resolve(kept);
    return readNodeStream(req, maxBytes);
  };
}

function readNodeStream(req: NodeRequestLike, maxBytes: number): Promise<Uint8Array | undefined> {
  if (req.readableEnded) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): Buffer => {
      req.off('readable', onReadable);
      req.off('error', onError);
      req.off('aborted', onError);
      const body = Buffer.concat(chunks);
      // Back into the stream before it ends: the application reads the same bytes after us.
      if (body.length > 0) req.unshift(body);
      return body;
    };
    const onError = (): void => {
      done();
      reject(new Error('bonafide: the request body could not be read'));
    };
    function onReadable(): void {
      let chunk: Buffer | string | null;
      while ((chunk = req.read()) !== null) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
        chunks.push(bytes);
        size += bytes.length;
        if (size > maxBytes) {
          done();
          reject(new BodyTooLargeError('bonafide: body larger than the digest check reads'));
          return;
        }
      }
      if (req.complete || req.readableEnded) resolve(done());
    }
    req.on('readable', onReadable);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}

/** Headers for an allowed response: the IETF rate-limit fields when the request was counted against a limit. */
export function allowHeaders(decision: Decision): Record<string, string> | undefined {
  return decision.rateLimit === undefined ? undefined : rateLimitHeaders(decision.rateLimit, false);
}
