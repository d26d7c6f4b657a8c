import type { DefaultContext, DefaultState, Middleware, ParameterizedContext } from 'koa';
import type { Decision, DenyDecision } from '../src/decision.js';
import type { Guard } from '../src/guard.js';
import type { GuardOptions } from '../src/options.js';
import { isAuthority } from '../src/lib/authority.js';
import {
  INTERNAL_ERROR,
  absoluteUrl,
  allowHeaders,
  adapterOptions,
  decideWith,
  localAuthority,
  nodeBodyReader,
  respondTo,
  resolveGuard,
  type NodeRequestLike,
} from './shared.js';

declare module 'koa' {
  interface DefaultState {
    /** The bonafide decision for this request, set by the middleware before `next()` (and before `onDeny`). */
    bonafide?: Decision;
  }
}

/** The Koa context the middleware receives. */
export type KoaContext = ParameterizedContext<DefaultState, DefaultContext>;

/** Options of the Koa middleware. */
export interface KoaOptions {
  /**
   * Answers a denied request instead of the default RFC 9457 problem response, by setting
   * `ctx.status`, headers and `ctx.body`. `ctx.state.bonafide` is already set; the downstream
   * middleware does not run; a throw or rejection propagates to Koa's error handling.
   * Default: apply `guard.respond(decision)`.
   */
  onDeny?: (decision: DenyDecision, ctx: KoaContext) => void | Promise<void>;
}

/**
 * The URL the client used: `ctx.protocol` and `ctx.host` (both honour `app.proxy`; `X-Forwarded-*`
 * first values) and `ctx.originalUrl`, the raw request-target.
 *
 * The common case — no `app.proxy`, HTTP/1, a Host that is one plain authority — reads what those
 * getters would return straight from the request (the socket's TLS and the Host header): Koa's
 * getters split, trim and re-check the header on every access, which showed in the per-request cost.
 * Anything else goes through the getters themselves.
 */
function urlOf(ctx: KoaContext): string {
  const req = ctx.req;
  if (!ctx.app.proxy && req.httpVersionMajor < 2) {
    const host = req.headers.host;
    if (host !== undefined && !host.includes(',') && isAuthority(host)) {
      return absoluteUrl((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http', host, ctx.originalUrl);
    }
  }
  return absoluteUrl(ctx.protocol, ctx.host || localAuthority(req.socket), ctx.originalUrl);
}

/** Raw bytes koa-bodyparser (and similar) kept on `ctx.request.rawBody`. */
function keptBody(this: KoaContext): unknown {
  return (this.request as { rawBody?: unknown }).rawBody;
}

/**
 * Koa middleware (Koa 2 and 3) that checks every request with the guard. An allowed request gets
 * `ctx.state.bonafide` and continues; a denied one is answered with `guard.respond(decision)` —
 * status, headers, RFC 9457 problem body — or handed to `onDeny`. If the guard fails unexpectedly
 * the request is denied with 503 `ERR_INTERNAL`; nothing is thrown into Koa's error handling.
 *
 * @param guardOrOptions A guard from `createGuard`, or the options to create one.
 * @param options Adapter options; see {@link KoaOptions}.
 * @throws ConfigError when the options are invalid.
 */
export function bonafide(guardOrOptions: Guard | GuardOptions, options?: KoaOptions): Middleware<DefaultState, DefaultContext> {
  const guard = resolveGuard(guardOrOptions);
  const onDeny = adapterOptions(options, '', ['onDeny']).onDeny as KoaOptions['onDeny'];

  const apply = (decision: Decision, ctx: KoaContext, next: () => Promise<unknown>): unknown => {
    ctx.state.bonafide = decision;
    if (decision.outcome === 'allow') {
      const headers = allowHeaders(decision);
      if (headers !== undefined) ctx.set(headers);
      return next();
    }
    if (onDeny !== undefined) return onDeny(decision, ctx);
    const response = respondTo(guard, decision);
    ctx.status = response.status;
    ctx.set(response.headers);
    // A string body keeps the content-type set above (Koa only infers one when none is set).
    ctx.body = response.body;
    return undefined;
  };

  // Not async: when the guard decides without I/O (the usual case) no extra promise is made.
  return function bonafideKoa(ctx: KoaContext, next: () => Promise<unknown>): Promise<unknown> {
    let decision: Decision | Promise<Decision>;
    try {
      decision = decideWith(guard, {
        method: ctx.method,
        url: urlOf(ctx),
        headers: ctx.req.headers,
        ip: ctx.ip || undefined,
        readBody: nodeBodyReader(ctx.req as unknown as NodeRequestLike, keptBody, ctx),
      });
    } catch {
      decision = INTERNAL_ERROR;
    }
    if (decision instanceof Promise) return decision.then((d) => apply(d, ctx, next));
    try {
      return Promise.resolve(apply(decision, ctx, next));
    } catch (error) {
      return Promise.reject(error);
    }
  };
}
