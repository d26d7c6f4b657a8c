import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Decision, DenyDecision } from '../src/decision.js';
import type { Guard } from '../src/guard.js';
import type { GuardOptions } from '../src/options.js';
import type { GuardRequest } from '../src/request.js';
import {
  INTERNAL_ERROR,
  absoluteUrl,
  allowHeaders,
  adapterOptions,
  decideWith,
  firstValue,
  localAuthority,
  nodeBodyReader,
  respondTo,
  type NodeRequestLike,
  resolveGuard,
  writeDeny,
} from './shared.js';

declare global {
  // Express types its request through this global namespace; merging into it is the documented way.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The bonafide decision for this request, set by the middleware before `next()` (and before `onDeny`). */
      bonafide?: Decision;
    }
  }
}

/** Options of the Express middleware. */
export interface ExpressOptions {
  /**
   * Answers a denied request instead of the default RFC 9457 problem response. It may write the
   * response or call `next()` / `next(err)`; a throw or rejection is passed to `next(err)`.
   * `req.bonafide` is already set. Default: write `guard.respond(decision)`.
   */
  onDeny?: (decision: DenyDecision, req: Request, res: Response, next: NextFunction) => void | Promise<void>;
}

/**
 * The URL the client used: `req.protocol` (honours `trust proxy`), the first `X-Forwarded-Host`
 * value when `trust proxy` trusts the peer (else `Host`), and `req.originalUrl` — raw, not decoded,
 * not relative to a mounted router.
 */
function urlOf(req: Request): string {
  const headers = req.headers;
  let host: string | undefined;
  const forwarded = headers['x-forwarded-host'];
  if (forwarded !== undefined && (req.app.get('trust proxy fn') as TrustFn)(req.socket.remoteAddress, 0)) {
    host = firstValue(forwarded);
  }
  if (host === undefined) host = headers.host || localAuthority(req.socket);
  return absoluteUrl(req.protocol, host, req.originalUrl);
}

type TrustFn = (address: string | undefined, hop: number) => boolean;

/** The body a parser left on `req.body` (a Buffer from `express.raw()` is the raw bytes). */
function parsedBody(this: Request): unknown {
  return this.body;
}

/**
 * Express middleware (Express 4 and 5) that checks every request with the guard. An allowed request
 * gets `req.bonafide` and continues; a denied one is answered with `guard.respond(decision)` — status,
 * headers, RFC 9457 problem body — or handed to `onDeny`. If the guard fails unexpectedly the request
 * is denied with 503 `ERR_INTERNAL`; the error never reaches Express's error handler.
 *
 * @param guardOrOptions A guard from `createGuard`, or the options to create one.
 * @param options Adapter options; see {@link ExpressOptions}.
 * @throws ConfigError when the options are invalid.
 */
export function bonafide(guardOrOptions: Guard | GuardOptions, options?: ExpressOptions): RequestHandler {
  const guard = resolveGuard(guardOrOptions);
  const onDeny = adapterOptions(options, '', ['onDeny']).onDeny as ExpressOptions['onDeny'];

  const apply = (decision: Decision, req: Request, res: Response, next: NextFunction): void => {
    req.bonafide = decision;
    if (decision.outcome === 'allow') {
      const headers = allowHeaders(decision);
      if (headers !== undefined) for (const name in headers) res.setHeader(name, headers[name]!);
      return next();
    }
    if (onDeny === undefined) return writeDeny(res, respondTo(guard, decision));
    try {
      const pending = onDeny(decision, req, res, next);
      if (pending instanceof Promise) pending.catch(next);
    } catch (error) {
      next(error);
    }
  };

  // Not async: when the guard decides without I/O (the usual case) the request goes on synchronously.
  return function bonafideExpress(req: Request, res: Response, next: NextFunction): void {
    let request: GuardRequest;
    try {
      request = {
        method: req.method,
        url: urlOf(req),
        headers: req.headers,
        ip: req.ip,
        readBody: nodeBodyReader(req as unknown as NodeRequestLike, parsedBody, req),
      };
    } catch {
      return apply(INTERNAL_ERROR, req, res, next);
    }
    const decision = decideWith(guard, request);
    if (decision instanceof Promise) decision.then((d) => apply(d, req, res, next)).catch(next);
    else apply(decision, req, res, next);
  };
}
