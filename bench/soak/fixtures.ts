/**
 * The soak's dependencies, each with the faults it can be told to show:
 *
 * - a key directory: the local HTTPS server of the tests (test/helpers/directory-server.ts, the test
 *   certificate) publishing one agent's key, which can turn slow (answers after more than the guard's
 *   directory timeout), hang (never answers), answer garbage (200 with non-JSON, or JSON without
 *   `keys`), answer a huge body (1 MiB, chunked, so the cap is found while reading), and recover;
 * - a JWKS: a plain-HTTP server on loopback (the servers' injected fetch sends the guard's https JWKS
 *   URL there) that can answer 500 or stop listening (connection refused), and recover on the same port;
 * - a redis-server of the soak's own on a free port (like test/redis/outage.test.ts), which can be
 *   stopped (SIGSTOP), resumed (SIGCONT), killed (SIGKILL) and started again on the same port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { Jwk } from '../../src/index.js';
import { startDirectoryServer, type DirectoryServer, type ScriptedResponse } from '../../test/helpers/directory-server.js';
import { DIRECTORY_MAX_AGE_SECONDS, DIRECTORY_TIMEOUT_MS } from './config.js';

export type DirectoryMode = 'ok' | 'slow' | 'hang' | 'garbage' | 'huge';

/** The directory server and the mode it answers in. */
export interface Directory {
  readonly origin: string;
  readonly port: number;
  mode: DirectoryMode;
  /** Requests for the directory, by the mode they were answered in. */
  readonly fetches: Record<DirectoryMode, number>;
  close(): Promise<void>;
}

/** Huge: 16 times the guard's default cap (64 KiB). */
const HUGE_BODY = Buffer.alloc(1024 * 1024, 0x20);
/** Hang: longer than any soak (setTimeout's ceiling is about 24.8 days); closing the server ends it. */
const FOREVER_MS = 2 ** 31 - 2;

export async function startDirectory(keys: readonly Jwk[]): Promise<Directory> {
  const fetches: Record<DirectoryMode, number> = { ok: 0, slow: 0, hang: 0, garbage: 0, huge: 0 };
  let garbageCount = 0;
  const state = { mode: 'ok' as DirectoryMode };
  const ok: ScriptedResponse = {
    status: 200,
    headers: { 'content-type': 'application/http-message-signatures-directory+json', 'cache-control': `max-age=${DIRECTORY_MAX_AGE_SECONDS}` },
    body: { keys },
  };
  const server: DirectoryServer = await startDirectoryServer(() => {
    const mode = state.mode;
    fetches[mode]++;
    switch (mode) {
      case 'ok':
        return ok;
      case 'slow':
        // Answers, but only after three times the guard's timeout.
        return { ...ok, delayMs: DIRECTORY_TIMEOUT_MS * 3 };
      case 'hang':
        return { delayMs: FOREVER_MS };
      case 'garbage':
        // Alternately not JSON at all and JSON that is not a directory.
        return garbageCount++ % 2 === 0
          ? { status: 200, headers: { 'content-type': 'application/json' }, body: '<html>garbage}{' }
          : { status: 200, headers: { 'content-type': 'application/json' }, body: { keys: 'not-a-list', hello: 'world' } };
      case 'huge':
        return { status: 200, headers: { 'content-type': 'application/json' }, body: HUGE_BODY, chunked: true };
    }
  });
  // The test helper records every request; a long soak does not need them.
  const requests = server.requests;
  const trim = setInterval(() => requests.splice(0, requests.length), 1000);
  trim.unref();
  return {
    origin: server.origin,
    port: server.port,
    get mode() {
      return state.mode;
    },
    set mode(value: DirectoryMode) {
      state.mode = value;
    },
    fetches,
    close: async () => {
      clearInterval(trim);
      await server.close();
    },
  };
}

export type JwksMode = 'ok' | 'error' | 'refused';

export interface JwksServer {
  readonly port: number;
  readonly mode: JwksMode;
  /** Requests answered, by mode ('refused' counts nothing: nobody listens). */
  readonly fetches: Record<JwksMode, number>;
  setMode(mode: JwksMode): Promise<void>;
  close(): Promise<void>;
}

/** A JWKS on loopback; `refused` closes the listening socket (and every connection), `ok`/`error` listen again on the same port. */
export async function startJwks(jwks: { keys: readonly Jwk[] }): Promise<JwksServer> {
  const fetches: Record<JwksMode, number> = { ok: 0, error: 0, refused: 0 };
  let mode: JwksMode = 'ok';
  const body = JSON.stringify(jwks);
  const server: HttpServer = createHttpServer((req, res) => {
    fetches[mode]++;
    if (mode === 'error') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    port,
    get mode() {
      return mode;
    },
    fetches,
    async setMode(next) {
      if (next === 'refused') await close();
      else if (!server.listening) await listen(port);
      mode = next;
    },
    close,
  };
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

export type RedisState = 'running' | 'stopped' | 'killed';

/** A redis-server of the soak's own: no persistence, loopback only. */
export interface OwnRedis {
  readonly url: string;
  readonly state: RedisState;
  /** SIGSTOP: the process is there, its socket accepts, nothing is answered. */
  stop(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL: connections are reset, nothing listens. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: it has no persistence). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`redis-server on port ${port} was not ready within 10 s: ${output.slice(-300)}`)), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${String(code)}): ${output.slice(-300)}`));
    });
  });
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child = await spawnRedis(port);
  let state: RedisState = 'running';
  const killChild = (c: ChildProcess): Promise<void> =>
    new Promise((resolve) => {
      c.removeAllListeners('exit');
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  return {
    url: `redis://127.0.0.1:${port}`,
    get state() {
      return state;
    },
    stop() {
      child.kill('SIGSTOP');
      state = 'stopped';
    },
    resume() {
      child.kill('SIGCONT');
      state = 'running';
    },
    async kill() {
      await killChild(child);
      state = 'killed';
    },
    async restart() {
      child = await spawnRedis(port);
      state = 'running';
    },
    async close() {
      if (state === 'stopped') child.kill('SIGCONT');
      await killChild(child);
      state = 'killed';
    },
  };
}

