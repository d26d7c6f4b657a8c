import type { Decision, DenyDecision, DenyResponse } from '../src/decision.js';
import type { Guard } from '../src/guard.js';
import { optionalBoolean, optionalFunction } from '../src/lib/validate.js';
import type { GuardOptions } from '../src/options.js';
import { readWebBody, type GuardRequest } from '../src/request.js';
import { INTERNAL_ERROR, absoluteUrl, adapterOptions, decideWith, firstValue, respondTo, resolveGuard } from './shared.js';

/** Options of the fetch adapter and the Hono middleware. */
export interface FetchOptions {
  /**
   * Builds the Response for a denied request instead of the default RFC 9457 problem response.
   * A throw or rejection propagates to the caller. Default: `new Response(body, { status, headers })`
   * from `guard.respond(decision)`.
   */
  onDeny?: (decision: DenyDecision, request: Request) => Response | Promise<Response>;
  /**
   * Trust `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-For` (first values): the guard
   * then sees the URL the client used in front of the proxy, and the left-most forwarded address as
   * the client IP. Enable only behind a proxy that sets these headers. Default `false`.
   */
  trustProxy?: boolean;
  /**
   * Returns the client IP (for example from the runtime's connection info). Takes precedence over
   * `trustProxy`. Default: no IP, or the first `X-Forwarded-For` value with `trustProxy`.
   */
  getIp?: (request: Request) => string | undefined;
}

/** A decision and the Response that applies it (`null` when the request may continue). */
export interface FetchDecision {
  readonly decision: Decision;
  readonly response: Response | null;
}

/**
 * Checks a Web `Request`: resolves to the deny `Response` to return, or `null` to continue.
 * Never rejects because of the guard: an internal failure resolves to a 503 `ERR_INTERNAL` Response.
 */
export interface FetchGuard {
  (request: Request): Promise<Response | null>;
  /** The decision as well as the Response, for handlers that want to read `decision.principal`. */
  decide(request: Request): Promise<FetchDecision>;
}

/** The part of a Hono `Context` the middleware uses (typed structurally: this module never imports Hono). */
export interface HonoContextLike {
  readonly req: { readonly raw: Request };
  set(key: 'bonafide', value: Decision): void;
}

/** A Hono middleware: sets `c.set('bonafide', decision)`, then returns the deny Response or awaits `next()`. */
export type HonoMiddleware = (c: HonoContextLike, next: () => Promise<void>) => Promise<Response | void>;

const KNOWN = ['onDeny', 'trustProxy', 'getIp'] as const;

/** Everything a request needs, resolved once per middleware. */
interface Adapter {
  readonly guard: Guard;
  readonly onDeny: FetchOptions['onDeny'];
  readonly trustProxy: boolean;
  readonly getIp: FetchOptions['getIp'];
}

function adapterOf(guardOrOptions: Guard | GuardOptions, options: FetchOptions | undefined): Adapter {
  const guard = resolveGuard(guardOrOptions);
  const record = adapterOptions(options, '', KNOWN);
  return {
    guard,
    onDeny: record.onDeny as FetchOptions['onDeny'],
    trustProxy: optionalBoolean(record.trustProxy, 'trustProxy') ?? false,
    getIp: optionalFunction<FetchOptions['getIp']>(record.getIp, 'getIp'),
  };
}

/**
 * The request URL, or with `trustProxy` the URL in front of the proxy: the first X-Forwarded-Proto
 * and X-Forwarded-Host values replace the scheme and authority, the path and query stay as received.
 */
function forwardedUrl(request: Request): string {
  const url = request.url;
  const proto = firstValue(request.headers.get('x-forwarded-proto'));
  const host = firstValue(request.headers.get('x-forwarded-host'));
  if (proto === undefined && host === undefined) return url;
  const schemeEnd = url.indexOf('://');
  const pathStart = url.indexOf('/', schemeEnd + 3);
  if (schemeEnd <= 0 || pathStart === -1) return url;
  return absoluteUrl(proto ?? url.slice(0, schemeEnd), host ?? url.slice(schemeEnd + 3, pathStart), url.slice(pathStart));
}

function toGuardRequest(adapter: Adapter, request: Request): GuardRequest {
  const { trustProxy, getIp } = adapter;
  const headers = request.headers;
  let ip: string | undefined;
  if (getIp !== undefined) ip = getIp(request);
  else if (trustProxy) ip = firstValue(headers.get('x-forwarded-for'));
  return {
    method: request.method,
    url: trustProxy ? forwardedUrl(request) : request.url,
    headers,
    ip,
    readBody: request.body === null ? undefined : (maxBytes) => readWebBody(request, maxBytes),
  };
}

function toResponse(response: DenyResponse): Response {
  return new Response(response.body, { status: response.status, headers: response.headers });
}

/** The decision for a request; any failure (even building the GuardRequest) is `INTERNAL_ERROR`. */
async function decisionFor(adapter: Adapter, request: Request): Promise<Decision> {
  try {
    return await decideWith(adapter.guard, toGuardRequest(adapter, request));
  } catch {
    return INTERNAL_ERROR;
  }
}

function denyResponse(adapter: Adapter, decision: DenyDecision, request: Request): Response | Promise<Response> {
  if (adapter.onDeny !== undefined) return adapter.onDeny(decision, request);
  return toResponse(respondTo(adapter.guard, decision));
}

/**
 * A guard for Web-standard `fetch` handlers (Bun, Deno, Cloudflare Workers, Next.js middleware, Hono):
 * `const denied = await guard(request); if (denied) return denied;`. `guard.decide(request)` also
 * returns the decision. The URL the guard sees is `request.url` — the runtime's parsed URL, so dot
 * segments are already resolved — or, with `trustProxy`, the URL in front of the proxy.
 *
 * @param guardOrOptions A guard from `createGuard`, or the options to create one.
 * @param options Adapter options; see {@link FetchOptions}.
 * @throws ConfigError when the options are invalid.
 */
export function bonafide(guardOrOptions: Guard | GuardOptions, options?: FetchOptions): FetchGuard {
  const adapter = adapterOf(guardOrOptions, options);
  const fetchGuard = async function bonafideFetch(request: Request): Promise<Response | null> {
    const decision = await decisionFor(adapter, request);
    return decision.outcome === 'allow' ? null : denyResponse(adapter, decision, request);
  } as FetchGuard;
  fetchGuard.decide = async function decide(request: Request): Promise<FetchDecision> {
    const decision = await decisionFor(adapter, request);
    return { decision, response: decision.outcome === 'allow' ? null : await denyResponse(adapter, decision, request) };
  };
  return fetchGuard;
}

/**
 * Hono middleware: `app.use(hono(guard))`. Sets `c.set('bonafide', decision)` (declare
 * `Variables: { bonafide: Decision }` on your app to read it with `c.get('bonafide')`), then returns
 * the deny Response or awaits `next()`. Accepts the same options as {@link bonafide}.
 *
 * @param guardOrOptions A guard from `createGuard`, or the options to create one.
 * @param options Adapter options; see {@link FetchOptions}.
 * @throws ConfigError when the options are invalid.
 */
export function hono(guardOrOptions: Guard | GuardOptions, options?: FetchOptions): HonoMiddleware {
  const adapter = adapterOf(guardOrOptions, options);
  return async function bonafideHono(c: HonoContextLike, next: () => Promise<void>): Promise<Response | void> {
    const request = c.req.raw;
    const decision = await decisionFor(adapter, request);
    c.set('bonafide', decision);
    if (decision.outcome === 'allow') return next();
    return denyResponse(adapter, decision, request);
  };
}
