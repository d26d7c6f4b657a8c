/**
 * One soak server: `server.ts <fastify|express>`, started by bench/soak.ts as a child process with an
 * IPC channel (and `--expose-gc`, so its memory is sampled after a forced collection). It listens on
 * 127.0.0.1 and an ephemeral port and guards every route with one bonafide guard:
 *
 * - attestation (required, except on /v1/agent): Approov (HS256, token binding on X-Session-Id) and a
 *   generic JWT verifier (ES256) whose keys come from a remote JWKS the driver serves;
 * - Web Bot Auth signatures (required on /v1/agent only) with key discovery from the driver's local
 *   HTTPS directory (the test certificate trusted through NODE_EXTRA_CA_CERTS, loopback allowed, a
 *   resolver stub: `localhost` is 127.0.0.1, every other name fails) and replay protection;
 * - the soak policy (config.ts): a small burst limit on /v1/limited, a per-IP limit on /v1/ip;
 * - the store: `RedisStore` (with a memory stand-in for rate limits) when the driver passes a Redis
 *   URL, else the default in-memory store.
 *
 * The client IP comes from X-Forwarded-For: both frameworks trust the loopback proxy. The guard's
 * decisions are counted through `onDecision`. Nothing here is guarded that the driver needs: it
 * asks for counters and memory over IPC (`{ type: 'stats', gc }`), not over HTTP.
 */
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createGuard, MemoryStore, type Decision, type Guard, type GuardOptions, type Store } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { resolveLocalhost } from '../../test/helpers/directory-server.js';
import {
  BINDING_HEADER,
  DIRECTORY_MAX_AGE_SECONDS,
  DIRECTORY_NEGATIVE_TTL_SECONDS,
  DIRECTORY_TIMEOUT_MS,
  FRAMEWORKS,
  JWKS_CACHE_MAX_AGE,
  JWKS_COOLDOWN,
  JWKS_TIMEOUT,
  JWKS_URL,
  JWT_AUDIENCE,
  JWT_ISSUER,
  POLICY,
  REDIS_RETRY_AFTER_MS,
  REDIS_TIMEOUT_MS,
  type DriverMessage,
  type Framework,
  type ServerConfig,
  type ServerMessage,
  type ServerStats,
} from './config.js';

function fail(message: string): never {
  process.stderr.write(`soak server: ${message}\n`);
  process.exit(2);
}

const framework = process.argv[2] as Framework | undefined;
if (!FRAMEWORKS.includes(framework as Framework)) fail(`usage: server.ts <${FRAMEWORKS.join('|')}>`);
if (process.send === undefined) fail('run me with an IPC channel (bench/soak.ts does)');
const rawConfig = process.env.SOAK_SERVER_CONFIG;
if (rawConfig === undefined) fail('SOAK_SERVER_CONFIG is required');
const config = JSON.parse(rawConfig) as ServerConfig;

let unhandled = 0;
process.on('unhandledRejection', (reason) => {
  unhandled++;
  process.stderr.write(`soak server: unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}\n`);
});
process.on('uncaughtException', (error) => {
  unhandled++;
  process.stderr.write(`soak server: uncaught exception: ${error.stack ?? String(error)}\n`);
});

/** Sends the guard's JWKS fetches (to JWKS_URL) to the driver's plain-HTTP server on loopback. */
const jwksFetch: typeof globalThis.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const local = url.startsWith(JWKS_URL) ? `http://127.0.0.1:${config.jwksPort}/jwks.json` : url;
  return globalThis.fetch(local, init);
};

let memoryStore: MemoryStore | undefined;
let standIn: MemoryStore | undefined;
let redis: Redis | undefined;

async function makeStore(): Promise<Store> {
  if (config.redis === undefined) {
    memoryStore = new MemoryStore();
    return memoryStore;
  }
  // The client settings RedisStore documents; reconnect quickly so a restarted Redis is found soon.
  redis = new Redis(config.redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 100, connectTimeout: 2000 });
  redis.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Redis did not become ready within 5 s')), 5000);
    redis!.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  standIn = new MemoryStore();
  return countFailures(new RedisStore({ client: redis, prefix: config.redis.prefix, timeoutMs: REDIS_TIMEOUT_MS, retryAfterMs: REDIS_RETRY_AFTER_MS, standIn }));
}

/** Store calls that failed, by error message (RedisStore says why: timeout, not connected, paused). */
const storeFailures: Record<string, number> = {};

/** The store with every rejected call counted (the guard then answers 503 or asks the stand-in). */
function countFailures(store: RedisStore): Store {
  const counted = <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await call(...args);
      } catch (error) {
        const key = error instanceof Error ? error.message.replace(/\d+ ms/, 'N ms') : String(error);
        storeFailures[key] = (storeFailures[key] ?? 0) + 1;
        throw error;
      }
    };
  return {
    recordNonce: counted(store.recordNonce.bind(store)),
    // A rate-limit call that Redis could not answer is answered by the stand-in: it never rejects here.
    rateLimit: counted(store.rateLimit.bind(store)),
    account: counted(store.account.bind(store)),
    close: () => store.close(),
  };
}

/** A logger that counts what the guard reports (fetch failures name their kind: timeout, status, too-large, …). */
const logs: Record<string, number> = {};
const counting = (level: string) => (obj: unknown, msg?: string): void => {
  const o = (obj ?? {}) as { error?: unknown; reason?: unknown };
  const kind = typeof o.error === 'string' ? o.error : typeof o.reason === 'string' ? o.reason : undefined;
  const key = `${level}: ${msg ?? ''}${kind === undefined ? '' : ` (${kind})`}`;
  logs[key] = (logs[key] ?? 0) + 1;
};
const logger = { info: () => undefined, warn: counting('warn'), error: counting('error') };

const decisions: Record<string, number> = {};
let decisionMaxMs = 0;
const count = (decision: Decision): void => {
  const key = `${decision.status} ${decision.reason}`;
  decisions[key] = (decisions[key] ?? 0) + 1;
  if (decision.durationMs > decisionMaxMs) decisionMaxMs = decision.durationMs;
};

function guardOptions(store: Store): GuardOptions {
  return {
    attestation: {
      approov: { secret: config.approovSecret, binding: [BINDING_HEADER] },
      jwt: {
        name: 'partner',
        algorithms: ['ES256'],
        jwks: { url: JWKS_URL, timeout: JWKS_TIMEOUT, cacheMaxAge: JWKS_CACHE_MAX_AGE, cooldown: JWKS_COOLDOWN },
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
      },
    },
    signatures: {
      directory: {
        timeoutMs: DIRECTORY_TIMEOUT_MS,
        minTtlSeconds: DIRECTORY_MAX_AGE_SECONDS,
        negativeTtlSeconds: DIRECTORY_NEGATIVE_TTL_SECONDS,
        // Test-only: reach loopback, resolve only `localhost`. The test certificate is trusted through
        // NODE_EXTRA_CA_CERTS (set by the driver), not `fetch.ca`: with `ca`, every fetch builds a TLS
        // context holding all of Node's root certificates plus it (about 25 ms of CPU each), which
        // would make this soak measure the test option instead of the guard.
        fetch: { allowPrivateAddresses: true, resolve: resolveLocalhost },
      },
    },
    require: { attestation: 'required', signature: 'off' },
    routes: [{ path: '/v1/agent/**', require: { attestation: 'off', signature: 'required' } }],
    policy: POLICY,
    store,
    fetch: jwksFetch,
    onDecision: count,
    logger,
  };
}

/** What an allowed request is answered: the decision's reason (an allow may have failed open). */
function allowBody(decision: Decision | null | undefined): string {
  return JSON.stringify({
    reason: decision?.reason ?? 'NO_DECISION',
    failedOpen: decision?.failedOpen ?? false,
    monitor: decision?.monitor ?? false,
    // Counted by the Redis store's stand-in (Redis could not answer): per process, not shared.
    standIn: decision?.rateLimit?.standIn === true,
  });
}

interface Running {
  readonly port: number;
  close(): Promise<void>;
}

async function startFastify(guard: Guard): Promise<Running> {
  const { default: Fastify } = await import('fastify');
  const { bonafide } = await import('../../adapters/fastify.js');
  // Trust the loopback proxy: the client IP is the X-Forwarded-For value the driver sets.
  const app = Fastify({ logger: false, trustProxy: ['127.0.0.1', '::1'] });
  await app.register(bonafide, { guard });
  app.get('/v1/*', async (request, reply) => {
    reply.header('content-type', 'application/json');
    return allowBody(request.bonafide);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

async function startExpress(guard: Guard): Promise<Running> {
  const { default: express } = await import('express');
  const { bonafide } = await import('../../adapters/express.js');
  const app = express();
  app.set('trust proxy', 'loopback');
  app.use(bonafide(guard));
  app.use((req, res) => {
    res.type('application/json').send(allowBody(req.bonafide));
  });
  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const store = await makeStore();
const guard = createGuard(guardOptions(store));
const running = await (framework === 'fastify' ? startFastify(guard) : startExpress(guard));

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
const gc = (globalThis as { gc?: () => void }).gc;

function stats(forceGc: boolean): ServerStats {
  if (forceGc && gc !== undefined) {
    gc();
    gc();
  }
  const s: ServerStats = {
    pid: process.pid,
    memory: process.memoryUsage(),
    gcForced: forceGc && gc !== undefined,
    decisions: { ...decisions },
    decisionMaxMs,
    loopDelayMaxMs: loop.max / 1e6,
    unhandled,
    logs: { ...logs },
    storeFailures: { ...storeFailures },
    ...(memoryStore === undefined ? {} : { store: { nonces: memoryStore.size, rateLimitKeys: memoryStore.rateLimitSize } }),
    ...(standIn === undefined ? {} : { standInKeys: standIn.rateLimitSize }),
  };
  decisionMaxMs = 0;
  loop.reset();
  return s;
}

const send = (message: ServerMessage): void => {
  process.send!(message);
};

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 2000).unref();
  await running.close().catch(() => undefined);
  await guard.close().catch(() => undefined);
  await store.close?.();
  redis?.disconnect();
  process.exit(0);
}

process.on('message', (message: DriverMessage) => {
  if (message.type === 'stats') send({ type: 'stats', id: message.id, stats: stats(message.gc) });
  else if (message.type === 'stop') void stop();
});
process.on('disconnect', () => void stop());
process.once('SIGTERM', () => void stop());
send({ type: 'ready', port: running.port });
