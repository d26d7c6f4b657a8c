/**
 * The server of the Redis store benchmark (bench/redis.ts): `store-server.ts <memory|redis>`, run as
 * a child process with an IPC channel. A Fastify 5 app on 127.0.0.1 whose GET /hello answers 200
 * `hello world` behind bonafide, configured so that every request needs both a nonce and a rate limit:
 *
 * - a Web Bot Auth signature with the public JWK from BENCH_SIGNATURE_JWK (no key directory),
 *   `requireNonce: true` and replay protection on (the default): each nonce is recorded in the store;
 * - the policy from BENCH_POLICY, whose rule limits /hello per principal with a limit so high it
 *   never denies: every request takes from the limit in the store.
 *
 * The store is the only difference: `new MemoryStore()`, or `new RedisStore({ client })` with a client
 * to REDIS_URL and the key prefix BENCH_REDIS_PREFIX. The client's `sendCommand` is wrapped to count
 * every command the store sends.
 *
 * It sends `{ type: 'ready', port }` once it listens, and answers `{ type: 'stats' }` with its
 * counters (`ServerStats`). SIGTERM stops it.
 */
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { createGuard, type Decision, type Jwk, type PolicyDocument } from '../../src/index.js';
import { RedisStore } from '../../src/redis/store.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { Store } from '../../src/stores/store.js';
import { connectRedis, countCommands, redisUrl, type CommandCounts } from './redis.js';

const STORES = ['memory', 'redis'] as const;
export type StoreKind = (typeof STORES)[number];

/** What the server decided and sent so far. */
export interface ServerStats {
  /** Allowed with the nonce recorded (`replay: 'checked'`) and a rate limit taken: what every request must be. */
  complete: number;
  /** Allowed without one of the two (by reason): the benchmark would not measure what it says. */
  incomplete: Record<string, number>;
  /** Denied, by reason code. */
  denied: Record<string, number>;
  /** Commands the store's Redis client sent, by name (empty for the memory store). */
  commands: CommandCounts;
  /**
   * The longest event-loop delay (ms) since the previous stats message: a stall longer than the
   * store's timeout fails Redis commands whose replies were already there (timers run before I/O).
   */
  loopDelayMaxMs: number;
}

export type ServerMessage = { type: 'ready'; port: number } | { type: 'stats'; stats: ServerStats };

function fail(message: string): never {
  process.stderr.write(`bench store server: ${message}\n`);
  process.exit(2);
}

const kind = process.argv[2] as StoreKind | undefined;
if (!STORES.includes(kind as StoreKind)) fail(`usage: store-server.ts <${STORES.join('|')}>`);
const jwk = process.env.BENCH_SIGNATURE_JWK;
if (jwk === undefined) fail('BENCH_SIGNATURE_JWK (a public JWK as JSON) is required');
const policy = process.env.BENCH_POLICY;
if (policy === undefined) fail('BENCH_POLICY (a policy document as JSON) is required');
if (process.send === undefined) fail('run me with an IPC channel (bench/redis.ts does)');

const stats: ServerStats = { complete: 0, incomplete: {}, denied: {}, commands: {}, loopDelayMaxMs: 0 };
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const bump = (record: Record<string, number>, key: string): void => {
  record[key] = (record[key] ?? 0) + 1;
};
const count = (decision: Decision): void => {
  if (decision.outcome !== 'allow') return bump(stats.denied, decision.reason);
  const replay = decision.checks[0]?.replay;
  if (replay === 'checked' && decision.rateLimit !== undefined) stats.complete++;
  else bump(stats.incomplete, decision.rateLimit === undefined ? 'no rate limit' : `replay ${String(replay)}`);
};

let client: Redis | undefined;
let store: Store;
if (kind === 'redis') {
  const prefix = process.env.BENCH_REDIS_PREFIX;
  if (prefix === undefined) fail('BENCH_REDIS_PREFIX is required with the redis store');
  client = await connectRedis(redisUrl());
  // Counted from here on: the connection's own handshake (INFO for the ready check) is not the store's.
  stats.commands = countCommands(client);
  store = new RedisStore({ client, prefix });
} else {
  store = new MemoryStore();
}

const guard = createGuard({
  // The requests are signed before the windows that use them (up to a few minutes earlier), so a
  // nonce-carrying signature is accepted (and its nonce kept) for longer than the 5-minute default.
  signatures: { keys: [JSON.parse(jwk) as Jwk], directory: false, requireNonce: true, maxNonceAge: '3h' },
  policy: JSON.parse(policy) as PolicyDocument,
  store,
  onDecision: count,
});

const { default: Fastify } = await import('fastify');
const { bonafide } = await import('../../adapters/fastify.js');
const app = Fastify({ logger: false });
await app.register(bonafide, { guard });
app.get('/hello', async () => 'hello world');
await app.listen({ port: 0, host: '127.0.0.1' });

const send = (message: ServerMessage): void => {
  process.send!(message);
};
process.on('message', (message: { type?: string }) => {
  if (message.type !== 'stats') return;
  stats.loopDelayMaxMs = loopDelay.max / 1e6;
  loopDelay.reset();
  send({ type: 'stats', stats });
});
send({ type: 'ready', port: (app.server.address() as AddressInfo).port });

const stop = (): void => {
  // Keep-alive sockets from the load generator may hold close() open; do not wait for them.
  setTimeout(() => process.exit(0), 500).unref();
  void app
    .close()
    .then(() => guard.close())
    .then(() => client?.quit())
    .finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
