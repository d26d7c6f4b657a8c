/**
 * What the soak driver (bench/soak.ts) and its servers (bench/soak/server.ts) agree on: the guard's
 * timeouts and cache settings, the routes and the policy, and the messages on the IPC channel.
 *
 * The timeouts are short on purpose: a fault (a hanging key directory, a dead JWKS, a stopped Redis)
 * must show within a few seconds, and the guard must answer within these bounds while it lasts.
 */
import type { PolicyDocument } from '../../src/index.js';

/** The frameworks a soak runs, one server process each. */
export const FRAMEWORKS = ['fastify', 'express'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** One fetch of a key directory (`signatures.directory.timeoutMs`). */
export const DIRECTORY_TIMEOUT_MS = 1000;
/** The directory's `Cache-Control: max-age`, and the guard's floor on it (`minTtlSeconds`). */
export const DIRECTORY_MAX_AGE_SECONDS = 1;
/** How long the guard remembers a failed directory fetch (`negativeTtlSeconds`; 1 is its floor). */
export const DIRECTORY_NEGATIVE_TTL_SECONDS = 1;
/** Remote JWKS settings of the generic JWT verifier. */
export const JWKS_TIMEOUT = '500ms';
export const JWKS_CACHE_MAX_AGE = '2s';
export const JWKS_COOLDOWN = '1s';
/** Per-command timeout of the Redis store (its default). */
export const REDIS_TIMEOUT_MS = 50;
/** After three failures in a row, RedisStore fails at once for this long (its default). */
export const REDIS_RETRY_AFTER_MS = 1000;

/**
 * After a fault ends, the guard may still answer as during the fault for this long: a cached
 * directory goes stale after max-age, a failure is remembered for negativeTtl, a fetch in flight
 * runs to its timeout, the Redis store waits out its pause and the client's reconnection.
 */
export const RECOVERY_GRACE_MS =
  (DIRECTORY_MAX_AGE_SECONDS + DIRECTORY_NEGATIVE_TTL_SECONDS) * 1000 + DIRECTORY_TIMEOUT_MS + REDIS_RETRY_AFTER_MS;

/**
 * How much longer than the slowest request of the baseline phase (what queueing costs on this
 * machine under this load) a request may take in any phase: the slowest waits the guard can add —
 * a directory fetch and a JWKS fetch, each to its timeout, and a Redis command to its timeout —
 * plus half a second.
 */
export const LATENCY_ALLOWANCE_MS = DIRECTORY_TIMEOUT_MS + 500 /* JWKS_TIMEOUT */ + REDIS_TIMEOUT_MS + 500;

/** The generic JWT verifier's issuer, audience, and the JWKS URL the guard is configured with. */
export const JWT_ISSUER = 'https://issuer.soak.test';
export const JWT_AUDIENCE = 'soak-api';
/**
 * The guard sees an https JWKS URL (it accepts no other); the server's injected `fetch` sends it to
 * the driver's plain-HTTP JWKS server on loopback. Everything after the fetch (status, size cap,
 * parsing, caching, cooldown, stale keys) is the guard's real code.
 */
export const JWKS_URL = 'https://jwks.soak.test/jwks.json';

/** The Approov token binding header. */
export const BINDING_HEADER = 'x-session-id';
/** Client id of a burst (the burst-limit rule counts per value of this header). */
export const CLIENT_HEADER = 'x-soak-client';
/** The burst-limit rule: `BURST_LIMIT` requests at once, refilled at one per `BURST_PERIOD_MS / BURST_LIMIT`. */
export const BURST_LIMIT = 5;
export const BURST_PERIOD_MS = 10_000;

/** Routes: attestation everywhere except /v1/agent (signatures only). */
export const ROUTES = {
  app: '/v1/app/items',
  partner: '/v1/partner/orders',
  agent: '/v1/agent/feed',
  limited: '/v1/limited/search',
  /** Rate limited per client IP (memory mode: one key per distinct IP). */
  ip: '/v1/ip/lookup',
} as const;

/** The policy both servers run. */
export const POLICY: PolicyDocument = {
  metadata: { version: 1, name: 'soak' },
  rules: [
    {
      id: 'burst-limit',
      match: { route: { path: '/v1/limited/**' } },
      action: 'allow',
      rateLimit: { limit: BURST_LIMIT, period: BURST_PERIOD_MS / 1000, burst: BURST_LIMIT, key: `header:${CLIENT_HEADER}` },
    },
    { id: 'per-ip', match: { route: { path: '/v1/ip/**' } }, action: 'allow', rateLimit: { limit: 100, period: '1m', key: 'ip' } },
  ],
  default: { action: 'allow' },
};

/** What the driver hands a server (JSON in SOAK_SERVER_CONFIG). */
export interface ServerConfig {
  readonly approovSecret: string;
  /** The driver's JWKS server: the guard's fetch of JWKS_URL goes here. */
  readonly jwksPort: number;
  /** Redis for the store, or none (the memory store). */
  readonly redis?: { readonly url: string; readonly prefix: string };
}

/** Counters a server keeps. */
export interface ServerStats {
  readonly pid: number;
  /** `process.memoryUsage()` right after a forced GC (when run with --expose-gc). */
  readonly memory: NodeJS.MemoryUsage;
  readonly gcForced: boolean;
  /** Decisions the guard made (through `onDecision`), by `<status> <reason>`. */
  readonly decisions: Record<string, number>;
  /** The slowest decision (`durationMs`) since the previous stats message. */
  readonly decisionMaxMs: number;
  /** The longest event-loop delay (ms) since the previous stats message. */
  readonly loopDelayMaxMs: number;
  /** Unhandled rejections and uncaught exceptions: must stay 0. */
  readonly unhandled: number;
  /** The memory store's nonces and rate-limit keys (undefined on Redis). */
  readonly store?: { readonly nonces: number; readonly rateLimitKeys: number };
  /** The Redis stand-in's rate-limit keys (on Redis). */
  readonly standInKeys?: number;
  /** What the guard logged at warn and error level, by message (and the error kind it names). */
  readonly logs: Record<string, number>;
  /** Redis store calls that failed (timed out, not connected, paused after failures), by message. */
  readonly storeFailures: Record<string, number>;
}

export type ServerMessage = { type: 'ready'; port: number } | { type: 'stats'; id: number; stats: ServerStats };
export type DriverMessage = { type: 'stats'; id: number; gc: boolean } | { type: 'stop' };
