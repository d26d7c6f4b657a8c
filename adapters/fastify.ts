import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Decision, DenyDecision } from '../src/decision.js';
import { ConfigError } from '../src/errors.js';
import type { Guard } from '../src/guard.js';
import { optionalFunction } from '../src/lib/validate.js';
import type { GuardOptions } from '../src/options.js';
import {
  INTERNAL_ERROR,
  absoluteUrl,
  allowHeaders,
  decideWith,
  localAuthority,
  nodeBodyReader,
  respondTo,
  resolveGuard,
  type NodeRequestLike,
} from './shared.js';

type HookDone = (error?: Error) => void;

declare module 'fastify' {
  interface FastifyRequest {
    /** The bonafide decision for this request, set in `onRequest`; `null` until then. */
    bonafide: Decision | null;
  }
}

/** Options of the Fastify plugin. */
export interface FastifyBonafideOptions {
  /** A guard from `createGuard`, or the options to create one. Required. */
  guard: Guard | GuardOptions;
  /**
   * Answers a denied request instead of the default RFC 9457 problem response. It must send the
   * reply (`reply.code(…).send(…)`); the route handler does not run. `request.bonafide` is already
   * set; a throw or rejection goes to Fastify's error handler. Default: send `guard.respond(decision)`.
   */
  onDeny?: (decision: DenyDecision, request: FastifyRequest, reply: FastifyReply) => void | Promise<void>;
}

const plugin: FastifyPluginAsync<FastifyBonafideOptions> = async (fastify: FastifyInstance, options) => {
  // Fastify also passes its own register options (prefix, logLevel, …) here, so unknown keys are fine.
  if (options === null || typeof options !== 'object' || options.guard === undefined) {
    throw new ConfigError(
      'ERR_CONFIG_MISSING_OPTION',
      'guard',
      '`guard` is required: register bonafide with `{ guard: createGuard({ … }) }` or `{ guard: { …options } }`.',
    );
  }
  const guard = resolveGuard(options.guard);
  const onDeny = optionalFunction<FastifyBonafideOptions['onDeny']>(options.onDeny, 'onDeny');
  // Fastify 5's `request.host` includes the port; on Fastify 4 that is `request.hostname`.
  const modern = Number.parseInt(fastify.version, 10) >= 5;

  fastify.decorateRequest('bonafide', null);
  const apply = (decision: Decision, request: FastifyRequest, reply: FastifyReply, done: HookDone): void => {
    request.bonafide = decision;
    if (decision.outcome === 'allow') {
      const headers = allowHeaders(decision);
      if (headers !== undefined) reply.headers(headers);
      return done();
    }
    if (onDeny !== undefined) {
      // onDeny sends the reply; `done` is not called, so the route handler does not run.
      Promise.resolve()
        .then(() => onDeny(decision, request, reply))
        .catch((error: unknown) => done(error as Error));
      return;
    }
    const response = respondTo(guard, decision);
    // A Buffer, because Fastify appends `; charset=utf-8` to the content-type of a string payload.
    reply.code(response.status).headers(response.headers).send(Buffer.from(response.body));
  };

  // A callback hook, not an async one: when the guard decides without I/O no promise is made.
  fastify.addHook('onRequest', function bonafideHook(request: FastifyRequest, reply: FastifyReply, done: HookDone) {
    let decision: Decision | Promise<Decision>;
    try {
      // `originalUrl` is the raw request-target the client sent: not prefix-relative, and not the
      // result of `rewriteUrl`, so it is what a signature over `@path` or `@target-uri` covers.
      const host = (modern ? request.host : request.hostname) || localAuthority(request.raw.socket);
      const url = absoluteUrl(request.protocol, host, request.originalUrl);
      decision = decideWith(guard, {
        method: request.method,
        url,
        headers: request.headers,
        ip: request.ip,
        readBody: nodeBodyReader(request.raw as unknown as NodeRequestLike),
      });
    } catch {
      decision = INTERNAL_ERROR;
    }
    if (decision instanceof Promise) decision.then((d) => apply(d, request, reply, done)).catch(done);
    else apply(decision, request, reply, done);
  });
};

/**
 * Fastify plugin (Fastify 4 and 5) that checks every request in the scope it is registered in, in an
 * `onRequest` hook. An allowed request gets `request.bonafide` and continues; a denied one is answered
 * with `guard.respond(decision)` — status, headers, RFC 9457 problem body — or handed to `onDeny`. If
 * the guard fails unexpectedly the request is denied with 503 `ERR_INTERNAL`.
 *
 * Wrapped with `fastify-plugin`, so registering it at the root guards every route; register it inside
 * a plugin (e.g. one with a `prefix`) to guard only that plugin's routes.
 *
 * @throws ConfigError (when the plugin loads) if `guard` is missing or the options are invalid.
 */
export const bonafide = fp(plugin, { fastify: '4.x || 5.x', name: 'bonafide' });

export default bonafide;
