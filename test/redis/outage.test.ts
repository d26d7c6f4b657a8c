import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createGuard, type GuardOptions } from '../../src/index.js';
import { MemoryStore } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { ed25519Pair } from '../helpers/http-sig.js';
import { redisUrl, signedFeed, warnIfSkipped } from './helpers.js';

/**
 * An outage: a redis-server of the test's own, on its own port, stopped and started again. While it is
 * down, decisions follow the failure mode (closed: 503; open: allowed and marked failed open); when it
 * is back, the guard recovers by itself. No crash, no unhandled rejection.
 */

warnIfSkipped();
const hasServer = spawnSync('redis-server', ['--version']).status === 0;
const agent = ed25519Pair();

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) resolve(child);
    });
    child.once('exit', () => reject(new Error('redis-server exited')));
  });
}

function stopRedis(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

let counter = 0;
const signed = () => signedFeed(agent, `outage-${++counter}`);

describe.skipIf(redisUrl === undefined || !hasServer)('a Redis outage', () => {
  let server: ChildProcess | undefined;
  let client: Redis | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    client?.disconnect();
    if (server !== undefined) await stopRedis(server);
  });

  it('fails closed (or open, when asked) while Redis is down, and recovers by itself', async () => {
    const port = await freePort();
    server = await startRedis(port);
    client = new Redis({ host: '127.0.0.1', port, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    client.on('error', () => undefined);
    await new Promise((resolve) => client!.once('ready', resolve));
    const store = new RedisStore({ client, timeoutMs: 200 });
    const base: GuardOptions = { signatures: { keys: [agent.publicJwk], directory: false }, store };
    const closed = createGuard(base);
    const open = createGuard({ ...base, failOpen: { signature: true } });
    // Rate limits only (no nonce), with an in-memory limiter standing in while Redis is away.
    const limited = createGuard({
      signatures: { keys: [agent.publicJwk], directory: false },
      require: { signature: 'optional' },
      store: new RedisStore({ client, timeoutMs: 200, standIn: new MemoryStore() }),
      policy: { metadata: { version: 1 }, rules: [{ id: 'per-ip', action: 'allow', rateLimit: { limit: 2, period: '1h', key: 'ip' } }], default: { action: 'allow' } },
    });
    const fromIp = (ip: string) => ({ method: 'GET', url: 'https://api.example.com/feed', headers: { host: 'api.example.com' }, ip });
    expect(await limited.check(fromIp('203.0.113.1'))).toMatchObject({ outcome: 'allow', rateLimit: { remaining: 1 } });
    expect((await limited.check(fromIp('203.0.113.1'))).rateLimit?.standIn).toBeUndefined();

    expect((await closed.check(signed())).reason).toBe('OK');

    await stopRedis(server);
    server = undefined;
    const down = await closed.check(signed());
    expect(down).toMatchObject({ outcome: 'deny', status: 503, reason: 'ERR_STORE_UNAVAILABLE' });
    expect(down.checks[0]).toMatchObject({ replay: 'unavailable' });
    expect(await open.check(signed())).toMatchObject({ outcome: 'allow', failedOpen: true, reason: 'ERR_STORE_UNAVAILABLE' });
    // The stand-in counts for this process alone while Redis is down: 2 more, then 429.
    const ip = '203.0.113.2';
    expect(await limited.check(fromIp(ip))).toMatchObject({ outcome: 'allow', reason: 'OK', rateLimit: { remaining: 1, standIn: true } });
    expect(await limited.check(fromIp(ip))).toMatchObject({ outcome: 'allow', reason: 'OK', rateLimit: { remaining: 0, standIn: true } });
    expect(await limited.check(fromIp(ip))).toMatchObject({ outcome: 'deny', status: 429, reason: 'ERR_RATE_LIMITED', rateLimit: { standIn: true } });
    // Many requests during the outage: each fails at once, and nothing waits in a client queue.
    const started = performance.now();
    const burst = await Promise.all(Array.from({ length: 500 }, () => closed.check(signed())));
    expect(burst.every((d) => d.reason === 'ERR_STORE_UNAVAILABLE' && d.status === 503)).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
    const queues = client as unknown as { offlineQueue: { length: number }; commandQueue: { length: number } };
    expect(queues.offlineQueue.length).toBe(0);
    expect(queues.commandQueue.length).toBe(0);

    server = await startRedis(port);
    await new Promise((resolve) => (client!.status === 'ready' ? resolve(undefined) : client!.once('ready', resolve)));
    expect((await closed.check(signed())).reason).toBe('OK');
    // Back on Redis: the shared count again (a fresh key there), no stand-in.
    const back = await limited.check(fromIp('203.0.113.3'));
    expect(back).toMatchObject({ outcome: 'allow', rateLimit: { remaining: 1 } });
    expect(back.rateLimit?.standIn).toBeUndefined();
    expect(unhandled).toEqual([]);
  });
});
