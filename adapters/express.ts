import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Decision, DenyDecision } from '../src/decision.js';
import type { Guard } from '../src/guard.js';
import type { GuardOptions } from '../src/options.js';
import {
  INTERNAL_ERROR,
  absoluteUrl,
  adapterOptions,
  firstValue,
  localAuthority,
  respondTo,
  resolveGuard,
  settle,
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

  return async function bonafideExpress(req: Request, res: Response, next: NextFunction): Promise<void> {
    let decision: Decision;
    try {
      decision = settle(await guard.check({ method: req.method, url: urlOf(req), headers: req.headers, ip: req.ip }));
    } catch {
      decision = INTERNAL_ERROR;
    }
    req.bonafide = decision;
    if (decision.outcome === 'allow') return next();
    if (onDeny === undefined) return writeDeny(res, respondTo(guard, decision));
    try {
      await onDeny(decision, req, res, next);
    } catch (error) {
      next(error);
    }
  };
}
