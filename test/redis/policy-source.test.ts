import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observe/logger.js';
import { compilePolicy, PolicyError } from '../../src/policy/compile.js';
import { PolicyHandle } from '../../src/policy/handle.js';
import { followRedisPolicy, policyHistory, pushPolicy } from '../../src/redis/index.js';
import { connect, deleteKeys, redisUrl, sleep, uniquePrefix, warnIfSkipped } from './helpers.js';

warnIfSkipped();

const doc = (version: number, metadata: Record<string, unknown> = {}): Record<string, unknown> => ({
  metadata: { version, ...metadata },
  rules: [{ id: 'r1', action: 'deny', match: { route: { path: '/admin/**' } } }],
  default: { action: 'allow' },
});

/** Polls until `condition()` holds or `ms` pass; returns whether it held. */
async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await sleep(10);
  }
  return condition();
}

describe.skipIf(!redisUrl)('Redis policy source against a real Redis', () => {
  let client: Redis;
  const prefixes: string[] = [];
  const fresh = (): string => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    return prefix;
  };

  beforeAll(async () => {
    client = await connect();
  });

  afterAll(async () => {
    if (client === undefined) return;
    for (const prefix of prefixes) await deleteKeys(client, prefix);
    await client.quit();
  });

  it('pushes documents and records an audit entry for each', async () => {
    const prefix = fresh();
    const before = Date.now();
    const first = await pushPolicy(client, doc(1, { updatedBy: 'alice', comment: 'first' }), { prefix });
    const second = await pushPolicy(client, doc(2), {
      prefix,
      by: 'bob',
      comment: 'tighten',
    });
    expect(first).toEqual({
      version: 1,
      hash: compilePolicy(doc(1, { updatedBy: 'alice', comment: 'first' })).hash,
      previousVersion: null,
    });
    expect(second).toEqual({ version: 2, hash: compilePolicy(doc(2)).hash, previousVersion: 1 });
    expect(JSON.parse((await client.get(`${prefix}{policy}`)) as string)).toEqual(compilePolicy(doc(2)).document);

    const history = await policyHistory(client, { prefix });
    expect(history).toHaveLength(2);
    expect(
      history.map(({ version, hash, previousVersion, by, comment }) => ({
        version,
        hash,
        previousVersion,
        by,
        comment,
      }))
    ).toEqual([
      {
        version: 1,
        hash: first.hash,
        previousVersion: null,
        by: 'alice',
        comment: 'first',
      },
      {
        version: 2,
        hash: second.hash,
        previousVersion: 1,
        by: 'bob',
        comment: 'tighten',
      },
    ]);
    for (const entry of history) {
      expect(entry.id).toMatch(/^\d+-\d+$/);
      expect(new Date(entry.at).toISOString()).toBe(entry.at);
      expect(Date.parse(entry.at)).toBeGreaterThanOrEqual(before - 1000);
    }
    // Metadata wins over the arguments; without either, by/comment are null.
    await pushPolicy(client, doc(3, { updatedBy: 'carol' }), {
      prefix,
      by: 'dave',
    });
    await pushPolicy(client, doc(4), { prefix });
    const latest = await policyHistory(client, { prefix, count: 2 });
    expect(latest.map((e) => [e.version, e.previousVersion, e.by, e.comment])).toEqual([
      [3, 2, 'carol', null],
      [4, 3, null, null],
    ]);
    expect(await policyHistory(client, { prefix: fresh() })).toEqual([]);
  });

  it('refuses an invalid document and stores nothing', async () => {
    const prefix = fresh();
    const error = await pushPolicy(client, { metadata: { version: 'x' } }, { prefix }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).code).toBe('ERR_POLICY_INVALID');
    expect(await client.exists(`${prefix}{policy}`, `${prefix}{policy}:audit`)).toBe(0);
  });

  it('refuses a version lower than the stored one', async () => {
    const prefix = fresh();
    await pushPolicy(client, doc(5), { prefix });
    const error = await pushPolicy(client, doc(4), { prefix }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).code).toBe('ERR_POLICY_STALE');
    expect(JSON.parse((await client.get(`${prefix}{policy}`)) as string).metadata.version).toBe(5);
    expect(await policyHistory(client, { prefix })).toHaveLength(1);
    // The same version again is accepted.
    await expect(pushPolicy(client, doc(5), { prefix })).resolves.toMatchObject({ version: 5 });
  });

  it('keeps two handles in step: initial load, notices, a missed notice, bad documents', async () => {
    const prefix = fresh();
    await pushPolicy(client, doc(2), { prefix });
    const subA = client.duplicate();
    const subB = client.duplicate();
    const handleA = new PolicyHandle(compilePolicy(doc(1)), silentLogger);
    const handleB = new PolicyHandle(compilePolicy(doc(1)), silentLogger);
    const refusedB: string[] = [];
    handleB.on('refused', (event) => refusedB.push(event.code));
    const a = followRedisPolicy(handleA, { client, subscriber: subA, prefix });
    const b = followRedisPolicy(handleB, {
      client,
      subscriber: subB,
      prefix,
      checkIntervalMs: 200,
    });
    try {
      await Promise.all([a.ready, b.ready]);
      expect([handleA.version, handleB.version]).toEqual([2, 2]);

      // A notice reaches both well within a second (A has no useful periodic check: 30 s).
      await pushPolicy(client, doc(3), { prefix });
      expect(await until(() => handleA.version === 3 && handleB.version === 3, 1000)).toBe(true);

      // B misses the notice; its periodic check catches up.
      await subB.unsubscribe(`${prefix}policy:changed`);
      await pushPolicy(client, doc(4), { prefix });
      expect(await until(() => handleA.version === 4, 1000)).toBe(true);
      expect(await until(() => handleB.version === 4, 1000)).toBe(true);

      // Not JSON in the key: refused once through the handle, the version in force stays.
      await client.set(`${prefix}{policy}`, '{not json');
      expect(await until(() => refusedB.length > 0, 1000)).toBe(true);
      await sleep(500);
      expect(refusedB).toEqual(['ERR_POLICY_INVALID']);
      expect(handleB.version).toBe(4);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      subA.disconnect();
      subB.disconnect();
    }
  });

  it('survives an unreachable Redis and stops cleanly', async () => {
    const prefix = fresh();
    const { Redis: RedisClient } = await import('ioredis');
    // Nothing listens on port 1: every command fails; nothing may throw or reject.
    const dead = new RedisClient({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => undefined);
    const handle = new PolicyHandle(compilePolicy(doc(1)), silentLogger);
    const deadSubscriber = dead.duplicate();
    deadSubscriber.on('error', () => undefined);
    const follower = followRedisPolicy(handle, {
      client: dead,
      subscriber: deadSubscriber,
      prefix,
      checkIntervalMs: 50,
    });
    await sleep(200);
    expect(handle.version).toBe(1);
    // stop() does not wait for a connection that never comes, and `ready` still resolves.
    const started = Date.now();
    await follower.stop();
    await follower.ready;
    expect(Date.now() - started).toBeLessThan(1000);
    await follower.stop();
    deadSubscriber.disconnect();
    dead.disconnect();
  });
});
