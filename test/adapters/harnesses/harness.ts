import { createServer, type Server as HttpServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Guard } from '../../../src/index.js';

/** Node's default 16 KiB header cap would answer a 64 KiB token with 431 before the guard runs. */
export const MAX_HEADER_SIZE = 128 * 1024;

export interface HarnessConfig {
  readonly guard: Guard;
  /** The framework's own trust-proxy setting (`trust proxy`, `app.proxy`, `trustProxy`). Default off. */
  readonly trustProxy?: boolean;
  /** Answer denies through the adapter's `onDeny`: 418, text/plain, `denied:<reason>`. */
  readonly teapot?: boolean;
  /** Mount the guarded routes under `/api` (router, sub-app or prefixed plugin). */
  readonly mount?: boolean;
}

export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  close(): Promise<void>;
}

export interface Harness {
  readonly name: string;
  /** Which member of `X-Forwarded-Host: a, b` the framework believes when it trusts the proxy. */
  readonly forwardedEntry: 'first' | 'last';
  /** Who refuses a malformed Host header: the adapter (via the guard, 400 ERR_REQUEST_INVALID) or the server itself. */
  readonly hostCheckedBy: 'adapter' | 'server';
  /** The client IP the guard sees on a direct request, or undefined when the runtime exposes none. */
  readonly directIp: string | undefined;
  start(config: HarnessConfig): Promise<RunningServer>;
}

/** Starts a Node server on 127.0.0.1, port 0. */
export function listenNode(listener: RequestListener): Promise<RunningServer> {
  const server = createServer({ maxHeaderSize: MAX_HEADER_SIZE }, listener);
  return listening(server);
}

export function listening(server: HttpServer): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ origin: `http://127.0.0.1:${port}`, close: () => closeNode(server) });
    });
  });
}

export function closeNode(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
