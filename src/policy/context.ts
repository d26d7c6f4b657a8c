import type { PolicyContext } from './types.js';
import type { NormalizedRequest } from '../request.js';

/** The facts a policy is evaluated on: the principal and what it proved, the route, the client. */
export function policyContext(
  request: NormalizedRequest,
  principal: PolicyContext['principal'],
  proven: PolicyContext['proven'],
  now: number,
): PolicyContext {
  return {
    principal,
    proven,
    method: request.routeMethod,
    path: request.path,
    ip: request.ip,
    userAgent: request.headers.get('user-agent'),
    hasHeader: (name) => request.headers.get(name) !== null,
    now,
  };
}
