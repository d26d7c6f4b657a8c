import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

const TLS_DIR = new URL('../fixtures/tls/', import.meta.url);

/** The self-signed test certificate (for `localhost`, 127.0.0.1 and ::1); trust it with the test-only `ca` option. */
export const TEST_CA = readFileSync(new URL('localhost-cert.pem', TLS_DIR), 'utf8');
const TEST_KEY = readFileSync(new URL('localhost-key.pem', TLS_DIR), 'utf8');

/** A resolver stub for the guarded fetch: `localhost` is 127.0.0.1, anything else does not resolve. */
export const resolveLocalhost = async (hostname: string): Promise<{ address: string; family: number }[]> => {
  if (hostname === 'localhost') return [{ address: '127.0.0.1', family: 4 }];
  throw Object.assign(new Error(`no such host ${hostname}`), { code: 'ENOTFOUND' });
};

/** What the server answers to one request. */
export interface ScriptedResponse {
  /** Default 200. */
  status?: number;
  headers?: Record<string, string | string[]>;
  /** A string, bytes, or an object sent as JSON. Default: empty. */
  body?: string | Buffer | object;
  /** Wait this long before sending anything. */
  delayMs?: number;
  /** Send the headers and this much of the body, then stall (never finish). */
  stallAfterBytes?: number;
  /** Send the body in chunks without a Content-Length (chunked transfer encoding). */
  chunked?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}

/** A real HTTPS server on `::` (dual stack: 127.0.0.1 and ::1) whose answers a test scripts. */
export interface DirectoryServer {
  readonly port: number;
  /** `https://localhost:<port>`: the origin tests look up (with resolveLocalhost and TEST_CA). */
  readonly origin: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** The answer to each request: a fixed response or a function of the request. */
  respond: ScriptedResponse | ((request: RecordedRequest, index: number) => ScriptedResponse);
  /** Answers used once each, in order, before `respond`. */
  readonly queue: ScriptedResponse[];
  /** Requests to this path only (the well-known directory path, by default). */
  count(path?: string): number;
  close(): Promise<void>;
}

export async function startDirectoryServer(respond: DirectoryServer['respond'] = { status: 404 }): Promise<DirectoryServer> {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedResponse[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers };
    requests.push(recorded);
    const current = state.respond;
    const script = queue.shift() ?? (typeof current === 'function' ? current(recorded, requests.length - 1) : current);
    const send = (): void => {
      if (res.destroyed) return;
      const body =
        script.body === undefined
          ? Buffer.alloc(0)
          : Buffer.isBuffer(script.body)
            ? script.body
            : Buffer.from(typeof script.body === 'string' ? script.body : JSON.stringify(script.body));
      res.statusCode = script.status ?? 200;
      for (const [name, value] of Object.entries(script.headers ?? {})) res.setHeader(name, value);
      if (script.stallAfterBytes !== undefined) {
        if (!res.hasHeader('content-length')) res.setHeader('content-length', body.length);
        res.write(body.subarray(0, script.stallAfterBytes));
        return; // never ends: the client's deadline or the server's close ends it
      }
      if (script.chunked) {
        for (let at = 0; at < body.length; at += 1024) res.write(body.subarray(at, at + 1024));
        res.end();
        return;
      }
      if (!res.hasHeader('content-length')) res.setHeader('content-length', body.length);
      res.end(body);
    };
    if (script.delayMs) later(script.delayMs, send);
    else send();
  };

  const server: Server = createServer({ cert: TEST_CA, key: TEST_KEY }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '::', ipv6Only: false }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const state: DirectoryServer = {
    port,
    origin: `https://localhost:${port}`,
    requests,
    respond,
    queue,
    count: (path = '/.well-known/http-message-signatures-directory') => requests.filter((r) => r.path === path).length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}
