import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/redis/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { RateLimitRequest } from '../../src/stores/store.js';
import { describeStoreContract } from '../stores/contract.js';
import { connect, deleteKeys, FAIL_FAST, prng, redisUrl, sleep, uniquePrefix, warnIfSkipped } from './helpers.js';

warnIfSkipped();

describe.skipIf(!redisUrl)('RedisStore against a real Redis', () => {
  let client: Redis;
  let other: Redis;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    client = await connect();
    other = await connect();
  });

  afterAll(async () => {
    if (client === undefined) return;
    await deleteKeys(client, prefix);
    await Promise.all([client.quit(), other?.quit()]);
  });

  // A real clock: `advance` sleeps, and nonce TTLs run on Redis's clock. A roomy timeout keeps a
  // loaded machine from failing the contract; the timeout itself is tested below.
  describeStoreContract('RedisStore', () => new RedisStore({ client, prefix, timeoutMs: 1000 }), { now: Date.now, advance: sleep });

  describe('keys', () => {
    it('stores a key as <prefix>{<key>} and expires rate-limit keys once fully reset', async () => {
      const store = new RedisStore({ client, prefix, timeoutMs: 1000 });
      expect(await store.recordNonce('nonce-a', 60_000)).toBe(true);
      expect(await client.exists(`${prefix}{nonce-a}`)).toBe(1);
      const ttl = await client.pttl(`${prefix}{nonce-a}`);
      expect(ttl).toBeGreaterThan(59_000);
      expect(ttl).toBeLessThanOrEqual(60_000);

      const now = Date.now();
      const request: RateLimitRequest = { key: 'rl:keys', algorithm: 'gcra', limit: 10, periodMs: 1000, burst: 10, now };
      expect((await store.rateLimit(request)).resetMs).toBe(100);
      const pttl = await client.pttl(`${prefix}{rl:keys}`);
      expect(pttl).toBeGreaterThan(0);
      // resetMs plus the grace that keeps lagging clocks from losing state.
      expect(pttl).toBeLessThanOrEqual(1100);
      // A read at cost 0 once fully reset leaves nothing behind.
      expect(await store.rateLimit({ ...request, now: now + 100, cost: 0 })).toEqual({ allowed: true, limit: 10, remaining: 10, retryAfterMs: 0, resetMs: 0 });
      expect(await client.exists(`${prefix}{rl:keys}`)).toBe(0);
    });

    it('uses the default prefix bonafide:', async () => {
      const store = new RedisStore({ client });
      const key = `${prefix}default`;
      try {
        expect(await store.recordNonce(key, 5000)).toBe(true);
        expect(await client.exists(`bonafide:{${key}}`)).toBe(1);
      } finally {
        await client.del(`bonafide:{${key}}`);
      }
    });

    it('refuses a malformed request with a RangeError before sending anything', async () => {
      const store = new RedisStore({ client, prefix });
      await expect(store.rateLimit({ key: 'rl:bad', algorithm: 'gcra', limit: 10, periodMs: 1000, burst: 2, cost: 3, now: Date.now() })).rejects.toBeInstanceOf(
        RangeError,
      );
      expect(await client.exists(`${prefix}{rl:bad}`)).toBe(0);
    });

    it('refuses bad options', () => {
      expect(() => new RedisStore({ client, prefix: 'a{b' })).toThrow(RangeError);
      expect(() => new RedisStore({ client, timeoutMs: 0 })).toThrow(RangeError);
      expect(() => new RedisStore({ client: {} as Redis })).toThrow(TypeError);
    });
  });

  describe('same answers as MemoryStore', () => {
    /** Random requests over a few keys whose spec (and sometimes algorithm) changes now and then. */
    function randomRequests(seed: number, count: number, algorithms: RateLimitRequest['algorithm'][]): RateLimitRequest[] {
      const random = prng(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
      type Spec = Omit<RateLimitRequest, 'key' | 'now' | 'cost'>;
      const newSpec = (): Spec => ({
        algorithm: pick(algorithms),
        limit: pick([1, 2, 3, 7, 10, 60]),
        periodMs: pick([1, 7, 100, 333, 1000, 60_000]),
        burst: int(1, 12),
      });
      const keys = ['a', 'b', 'c', 'd'];
      const specs = new Map(keys.map((key) => [key, newSpec()]));
      let now = Date.now() + 0.5;
      const requests: RateLimitRequest[] = [];
      for (let i = 0; i < count; i++) {
        const key = pick(keys);
        if (random() < 0.03) specs.set(key, newSpec());
        const spec = specs.get(key) as Spec;
        const roll = random();
        if (roll < 0.05) now += int(0, 3 * spec.periodMs);
        else if (roll < 0.6) now += int(0, Math.ceil(spec.periodMs / 5)) + random();
        const capacity = spec.algorithm === 'gcra' ? spec.burst : spec.limit;
        const cost = random() < 0.7 ? 1 : int(0, capacity);
        requests.push({ ...spec, key: `rl:random:${seed}:${key}`, cost, now });
      }
      return requests;
    }

    it.each([
      ['gcra', 1, ['gcra']],
      ['gcra', 2, ['gcra']],
      ['sliding-window', 3, ['sliding-window']],
      ['sliding-window', 4, ['sliding-window']],
      ['both, switching algorithms under one key', 5, ['gcra', 'sliding-window']],
    ] as [string, number, RateLimitRequest['algorithm'][]][])('for a random sequence: %s (seed %i)', async (_what, seed, algorithms) => {
      const redis = new RedisStore({ client, prefix, timeoutMs: 1000 });
      const memory = new MemoryStore();
      const requests = randomRequests(seed, 600, algorithms);
      let allowed = 0;
      let denied = 0;
      for (const [i, request] of requests.entries()) {
        const expected = memory.rateLimit(request);
        const actual = await redis.rateLimit(request);
        if (expected.allowed) allowed++;
        else denied++;
        expect({ i, ...actual }).toEqual({ i, ...expected });
      }
      // The sequence exercises both outcomes.
      expect(allowed).toBeGreaterThan(20);
      expect(denied).toBeGreaterThan(20);
    });

    it('is exact at large numbers (limit × periodMs near 2^50)', async () => {
      const redis = new RedisStore({ client, prefix, timeoutMs: 1000 });
      const memory = new MemoryStore();
      const now = Date.now();
      for (const algorithm of ['gcra', 'sliding-window'] as const) {
        const base = { key: `rl:large:${algorithm}`, algorithm, limit: 999_983, periodMs: 1_125_000_000, burst: 1000 };
        for (const [dt, cost] of [
          [0, 1000],
          [0, 1],
          [1, 1],
          [1_125, 1],
          [1_126, 2],
          [5_000_000, 7],
        ] as const) {
          const request = { ...base, now: now + dt, cost: Math.min(cost, algorithm === 'gcra' ? base.burst : base.limit) };
          expect(await redis.rateLimit(request)).toEqual(memory.rateLimit(request));
        }
      }
    });
  });

  describe('a stalled process', () => {
    it('does not count a reply that arrived during a stall as a timeout, nor pause for it', async () => {
      const store = new RedisStore({ client, prefix, timeoutMs: 20 });
      for (let round = 0; round < 4; round++) {
        const pending = store.recordNonce(`stall-${round}`, 60_000);
        // Block the event loop well past the timeout; Redis answers meanwhile.
        const until = performance.now() + 80;
        while (performance.now() < until) {
          // busy
        }
        await expect(pending).resolves.toBe(true);
      }
      expect(await store.recordNonce('stall-0', 60_000)).toBe(false);
    });
  });

  describe('two stores on separate clients', () => {
    it('see the same nonce: the first records it, the second reports a replay', async () => {
      const one = new RedisStore({ client, prefix });
      const two = new RedisStore({ client: other, prefix });
      expect(await one.recordNonce('shared-nonce', 60_000)).toBe(true);
      expect(await two.recordNonce('shared-nonce', 60_000)).toBe(false);
      expect(await one.recordNonce('shared-nonce', 60_000)).toBe(false);
    });

    it('race for one nonce: exactly one wins', async () => {
      const stores = [new RedisStore({ client, prefix, timeoutMs: 1000 }), new RedisStore({ client: other, prefix, timeoutMs: 1000 })];
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 2]!.recordNonce('raced-nonce', 60_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it.each(['gcra', 'sliding-window'] as const)('allow exactly the limit of 50 concurrent %s requests', async (algorithm) => {
      const stores = [new RedisStore({ client, prefix, timeoutMs: 1000 }), new RedisStore({ client: other, prefix, timeoutMs: 1000 })];
      const now = Date.now();
      const states = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          stores[i % 2]!.rateLimit({ key: `rl:concurrent:${algorithm}`, algorithm, limit: 10, periodMs: 60_000, burst: 10, now }),
        ),
      );
      expect(states.filter((s) => s.allowed)).toHaveLength(10);
      // Each allowed request saw a distinct remaining count: the updates were serialized. (One `now`
      // for all: under GCRA a request stamped a millisecond earlier but run later sees one less.)
      expect(
        states
          .filter((s) => s.allowed)
          .map((s) => s.remaining)
          .sort((a, b) => a - b),
      ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });
  });

  describe('ownsClient', () => {
    it('close() quits the client only when the store owns it', async () => {
      const borrowed = await connect();
      await new RedisStore({ client: borrowed, prefix }).close();
      expect(borrowed.status).toBe('ready');
      const ended = new Promise<void>((resolve) => borrowed.once('end', () => resolve()));
      await new RedisStore({ client: borrowed, prefix, ownsClient: true }).close();
      await ended;
      expect(borrowed.status).toBe('end');
    });
  });
});

describe('RedisStore when Redis does not answer', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const clients: Redis[] = [];

  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    server = undefined;
    // Late rejections of the abandoned commands land now, if anywhere.
    await sleep(100);
    expect(unhandled).toEqual([]);
  });

  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  const request = (): RateLimitRequest => ({ key: 'rl:down', algorithm: 'gcra', limit: 10, periodMs: 1000, burst: 10, now: Date.now() });

  /** Runs `call` and returns how long it took to reject, and with what. */
  async function timeRejection(call: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
    const started = performance.now();
    try {
      await call();
    } catch (error) {
      return { ms: performance.now() - started, error };
    }
    throw new Error('expected a rejection');
  }

  it('rejects at once for a client pointed at a closed port', async () => {
    const down = new Redis({ host: '127.0.0.1', port: 1, ...FAIL_FAST, retryStrategy: () => 200 });
    down.on('error', () => {});
    clients.push(down);
    const store = new RedisStore({ client: down, timeoutMs: 50 });
    for (const call of [() => store.recordNonce('n:down', 1000), () => store.rateLimit(request())]) {
      const { ms, error } = await timeRejection(call);
      expect(error).toBeInstanceOf(Error);
      // Refused before sending (no timer): the message says so; the bound is loose for shared machines.
      expect((error as Error).message).toMatch(/not connected/);
      expect(ms).toBeLessThan(1000);
    }
  });

  it('rejects within timeoutMs for a server that accepts but never answers', async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    // No ready check and no CLIENT SETINFO (either would wait forever): the client is ready once connected.
    const silent = new Redis({ host: '127.0.0.1', port, ...FAIL_FAST, enableReadyCheck: false, disableClientInfo: true, retryStrategy: () => null });
    silent.on('error', () => {});
    clients.push(silent);
    await new Promise<void>((resolve) => silent.once('ready', () => resolve()));
    const store = new RedisStore({ client: silent, timeoutMs: 50, retryAfterMs: 0 });
    for (const call of [() => store.recordNonce('n:silent', 1000), () => store.rateLimit(request())]) {
      const { ms, error } = await timeRejection(call);
      expect((error as Error).message).toMatch(/did not answer within 50 ms/);
      expect(ms).toBeGreaterThanOrEqual(45);
      // Without the timeout it would never settle; the upper bound is loose because CI machines are shared.
      expect(ms).toBeLessThan(2000);
    }
    // Commands in flight together that time out together (one stall) are one failure, not three: no pause.
    const together = new RedisStore({ client: silent, timeoutMs: 50 });
    const all = await Promise.all(Array.from({ length: 5 }, (_, i) => timeRejection(() => together.recordNonce(`n:together-${i}`, 1000))));
    expect(all.every(({ error }) => /did not answer/.test((error as Error).message))).toBe(true);
    expect(((await timeRejection(() => together.recordNonce('n:after', 1000))).error as Error).message).toMatch(/did not answer/);
    // With the default pause after three failures in a row, the next calls fail at once instead of waiting again.
    const paused = new RedisStore({ client: silent, timeoutMs: 50 });
    for (let i = 0; i < 3; i++) expect((await timeRejection(() => paused.recordNonce('n:silent', 1000))).ms).toBeGreaterThanOrEqual(45);
    for (const call of [() => paused.recordNonce('n:silent', 1000), () => paused.rateLimit(request())]) {
      const { ms, error } = await timeRejection(call);
      expect((error as Error).message).toMatch(/failed recently/);
      // At once: no timer involved (the message proves it; the bound only guards against a wait).
      expect(ms).toBeLessThan(45);
    }
    // The abandoned commands fail when the connection goes; that must not surface anywhere.
  });
});
