import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, type Guard, type PolicyDocument } from '../../src/index.js';
import { policyHistory, pushPolicy, RedisStore, redisPolicySource } from '../../src/redis/index.js';
import type { RateLimitRequest } from '../../src/stores/store.js';
import { ed25519Pair } from '../helpers/http-sig.js';
import { describeStoreContract } from '../stores/contract.js';
import { hasClusterTools, TestCluster } from './cluster-helpers.js';
import { inForce, recordCommands, redisUrl, signedFeed, sleep, uniquePrefix, warnIfSkipped } from './helpers.js';

/**
 * The Redis store and the Redis policy source on a Redis Cluster of three masters that the file
 * starts itself: the keys of one request land in different slots (on different nodes), and a fleet
 * of guards still shares nonces, rate limits and the policy.
 */

warnIfSkipped();
if (redisUrl !== undefined && !hasClusterTools) {
  console.warn('bonafide: redis-server or redis-cli is not installed, skipping the Redis Cluster tests');
}

const agent = ed25519Pair();
let counter = 0;
const signed = (nonce = `cluster-${++counter}`) => signedFeed(agent, nonce);

describe.skipIf(redisUrl === undefined || !hasClusterTools)('against a Redis Cluster of three masters', () => {
  const servers = new TestCluster();
  let client: Cluster;
  let other: Cluster;

  beforeAll(async () => {
    await servers.start();
    [client, other] = [await servers.connect(), await servers.connect()];
  });

  afterAll(async () => {
    await servers.stop();
  });

  // As against standalone Redis: a real clock whose `advance` sleeps. The store reads `client` when
  // each test starts, after beforeAll has connected it.
  describeStoreContract('RedisStore on a Cluster', () => new RedisStore({ client, prefix: uniquePrefix(), timeoutMs: 1000 }), { now: Date.now, advance: sleep });

  describe('RedisStore', () => {
    /** The port of the master that holds `slot`. */
    async function ownerOf(slot: number): Promise<number> {
      const ranges = await client.cluster('SLOTS');
      const range = ranges.find(([start, end]) => start <= slot && slot <= end);
      if (range === undefined) throw new Error(`no node holds slot ${slot}`);
      return Number(range[2]?.[1]);
    }

    it('accounts a nonce and a rate limit held by different nodes: two commands in turn, and a replay takes nothing', async () => {
      const prefix = uniquePrefix();
      const store = new RedisStore({ client, prefix, timeoutMs: 1000 });
      // The hash tag makes the slot that of the store key alone; pick a limit key on another master.
      const nonceKey = 'nonce:slots';
      const nonceSlot = await client.cluster('KEYSLOT', `${prefix}{${nonceKey}}`);
      expect(nonceSlot).toBe(await client.cluster('KEYSLOT', nonceKey));
      const nonceOwner = await ownerOf(nonceSlot);
      let limitKey = '';
      let limitSlot = -1;
      for (let i = 0; limitSlot < 0 || (await ownerOf(limitSlot)) === nonceOwner; i++) {
        limitKey = `rl:slots:${i}`;
        limitSlot = await client.cluster('KEYSLOT', `${prefix}{${limitKey}}`);
      }
      expect(limitSlot).not.toBe(nonceSlot);

      const now = Date.now();
      const limit: RateLimitRequest = { key: limitKey, algorithm: 'gcra', limit: 10, periodMs: 60_000, burst: 10, now };
      const { sent, restore } = recordCommands(client);
      try {
        expect(await store.account({ nonce: { key: nonceKey, ttlMs: 60_000 }, rateLimit: limit })).toEqual({
          nonce: true,
          rateLimit: { allowed: true, limit: 10, remaining: 9, retryAfterMs: 0, resetMs: 6000 },
        });
        expect(sent).toEqual(['set', 'evalsha']);
        sent.length = 0;
        expect(await store.account({ nonce: { key: nonceKey, ttlMs: 60_000 }, rateLimit: limit })).toEqual({ nonce: false });
        expect(sent).toEqual(['set']);
      } finally {
        restore();
      }
      // Still 9 left: the replay took nothing.
      expect(await store.rateLimit({ ...limit, cost: 0 })).toEqual({ allowed: true, limit: 10, remaining: 9, retryAfterMs: 0, resetMs: 6000 });

      // Each key is on the master that holds its slot (any other master would answer MOVED).
      const holds = async (port: number, key: string): Promise<number> => {
        const node = client.nodes('master').find((n) => n.options.port === port);
        if (node === undefined) throw new Error(`no master on port ${port}`);
        return node.exists(key);
      };
      const limitOwner = await ownerOf(limitSlot);
      expect(limitOwner).not.toBe(nonceOwner);
      expect(await holds(nonceOwner, `${prefix}{${nonceKey}}`)).toBe(1);
      expect(await holds(limitOwner, `${prefix}{${limitKey}}`)).toBe(1);
    });

    it('on two clients, sees one nonce and counts one limit', async () => {
      const prefix = uniquePrefix();
      const stores = [new RedisStore({ client, prefix, timeoutMs: 1000 }), new RedisStore({ client: other, prefix, timeoutMs: 1000 })];
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 2]!.recordNonce('raced-nonce', 60_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const now = Date.now();
      const states = await Promise.all(
        Array.from({ length: 30 }, (_, i) => stores[i % 2]!.rateLimit({ key: 'rl:concurrent', algorithm: 'sliding-window', limit: 10, periodMs: 60_000, burst: 10, now })),
      );
      expect(states.filter((s) => s.allowed)).toHaveLength(10);
      // Each allowed request saw a distinct remaining count: the updates were serialized.
      expect(
        states
          .filter((s) => s.allowed)
          .map((s) => s.remaining)
          .sort((a, b) => a - b),
      ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });
  });

  describe('two guards, one store each, on one cluster', () => {
    const policy: PolicyDocument = {
      metadata: { version: 1 },
      rules: [{ id: 'agents', match: { principal: { kind: 'agent' } }, action: 'allow', rateLimit: { limit: 10, period: '1h' } }],
      default: { action: 'allow' },
    };
    /** A fleet of two guards with a key prefix of its own, so each test starts from a full limit. */
    const fleet = (): Guard[] => {
      const prefix = uniquePrefix();
      return [client, other].map((c) =>
        createGuard({ signatures: { keys: [agent.publicJwk], directory: false }, store: new RedisStore({ client: c, prefix, timeoutMs: 1000 }), policy }),
      );
    };

    it('refuses through one guard a nonce used through the other', async () => {
      const guards = fleet();
      try {
        const request = signed();
        expect(await guards[0]!.check(request)).toMatchObject({ outcome: 'allow', reason: 'OK', rateLimit: { policy: 'agents', remaining: 9 } });
        expect(await guards[1]!.check(request)).toMatchObject({ outcome: 'deny', status: 429, reason: 'ERR_SIGNATURE_REPLAYED' });
        expect(await guards[0]!.check(request)).toMatchObject({ outcome: 'deny', status: 429, reason: 'ERR_SIGNATURE_REPLAYED' });
        // The replays took nothing from the limit.
        expect(await guards[1]!.check(signed())).toMatchObject({ outcome: 'allow', reason: 'OK', rateLimit: { remaining: 8 } });
      } finally {
        await Promise.all(guards.map((g) => g.close()));
      }
    });

    it('allows exactly the limit of 10 out of 30 concurrent requests spread over both', async () => {
      const guards = fleet();
      try {
        const decisions = await Promise.all(Array.from({ length: 30 }, (_, i) => guards[i % 2]!.check(signed())));
        expect(decisions.filter((d) => d.reason === 'OK')).toHaveLength(10);
        expect(decisions.filter((d) => d.reason === 'ERR_RATE_LIMITED')).toHaveLength(20);
        // (Not asserted: distinct `remaining` counts. Each check stamps its own `now`, and a request
        // stamped a millisecond earlier but run later rounds its GCRA remaining down by one.)
      } finally {
        await Promise.all(guards.map((g) => g.close()));
      }
    });
  });

  describe('policy source', () => {
    const doc = (version: number): PolicyDocument => ({ metadata: { version }, default: { action: 'allow' } });

    /**
     * A guard following the policy under `prefix` through `other`; `subscribers` receives the
     * connection it duplicates, and `ended` that connection again once it has emitted 'end'.
     */
    function follower(prefix: string, subscribers: unknown[] = [], ended: unknown[] = []): Guard {
      const duplicate = other.duplicate.bind(other);
      other.duplicate = ((...args: Parameters<Cluster['duplicate']>) => {
        const made = duplicate(...args);
        subscribers.push(made);
        made.once('end', () => ended.push(made));
        return made;
      }) as Cluster['duplicate'];
      try {
        return createGuard({
          signatures: { keys: [agent.publicJwk], directory: false },
          policy: { source: redisPolicySource({ client: other, prefix }) },
        });
      } finally {
        other.duplicate = duplicate;
      }
    }

    it('a guard on a Cluster follows a document stored and announced by hand, through a duplicated Cluster subscriber', async () => {
      const prefix = uniquePrefix();
      const subscribers: unknown[] = [];
      const ended: unknown[] = [];
      const guard = follower(prefix, subscribers, ended);
      try {
        await guard.policy!.ready;
        expect(subscribers).toHaveLength(1);
        expect((subscribers[0] as Cluster).isCluster).toBe(true);
        expect(guard.policy!.waiting).toBe(true);
        // What the push script does, one key per command: store the document, announce its version.
        // (The document key is the one keysOf() in src/redis/policy-source.ts gives; keep them equal.)
        const pushed = performance.now();
        await client.set(`${prefix}{policy}`, JSON.stringify(doc(1)));
        // On a Cluster, PUBLISH reaches the subscribers of every node, whichever node it is sent to.
        await client.publish(`${prefix}policy:changed`, '1');
        // The periodic check runs every 30 s: within one second, the change notice got through.
        expect(await inForce(guard, 1, 1000)).toBeGreaterThanOrEqual(0);
        expect(performance.now() - pushed).toBeLessThan(1000);
        expect(await guard.check(signed())).toMatchObject({ outcome: 'allow', reason: 'OK', policy: { version: 1 } });
      } finally {
        await guard.close();
      }
      // guard.close() disconnected the subscriber it made, for good ('end': no reconnection).
      await expect.poll(() => ended, { timeout: 1000 }).toEqual(subscribers);
    });

    // The push script's two keys (`<prefix>{policy}`, `<prefix>{policy}:audit`) share a hash tag, so
    // they are in one slot: without it the Cluster refuses the script with CROSSSLOT.
    it('pushPolicy through one Cluster client is in force within one second on a guard following through another', async () => {
      const prefix = uniquePrefix();
      const guard = follower(prefix);
      try {
        await guard.policy!.ready;
        const pushed = performance.now();
        expect(await pushPolicy(client, doc(1), { prefix, by: 'test' })).toMatchObject({ version: 1, previousVersion: null });
        expect(await inForce(guard, 1, 1000)).toBeGreaterThanOrEqual(0);
        expect(performance.now() - pushed).toBeLessThan(1000);
        expect(await guard.check(signed())).toMatchObject({ outcome: 'allow', reason: 'OK', policy: { version: 1 } });
        expect(await policyHistory(client, { prefix })).toMatchObject([{ version: 1, previousVersion: null, by: 'test' }]);
      } finally {
        await guard.close();
      }
    });
  });
});
