import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createGuard, type Guard, type PolicyDocument } from '../../src/index.js';
import { pushPolicy, redisPolicySource } from '../../src/redis/index.js';
import { ed25519Pair } from '../helpers/http-sig.js';
import { connect, deleteKeys, inForce, redisUrl, signedFeed, sleep, uniquePrefix, warnIfSkipped } from './helpers.js';

/**
 * One policy for a fleet: two guards follow the document in Redis through the `policy.source`
 * option; a push through one guard's connection is in force on the other within one second.
 */

warnIfSkipped();
const agent = ed25519Pair();
const prefix = uniquePrefix();

const doc = (version: number, extra: Partial<PolicyDocument> = {}): PolicyDocument => ({
  metadata: { version },
  default: { action: 'allow' },
  ...extra,
});

let counter = 0;
const signed = () => signedFeed(agent, `fleet-${++counter}`);

describe.skipIf(redisUrl === undefined)('one policy for a fleet, through Redis', () => {
  let clients: Redis[] = [];
  let guards: Guard[] = [];

  beforeAll(async () => {
    clients = [await connect(), await connect()];
    guards = clients.map((client) =>
      createGuard({
        signatures: { keys: [agent.publicJwk], directory: false },
        policy: { source: redisPolicySource({ client, prefix }) },
      }),
    );
  });

  afterAll(async () => {
    await Promise.all(guards.map((g) => g.close()));
    await deleteKeys(clients[0]!, prefix);
    await Promise.all(clients.map((c) => c.quit()));
  });

  it('answers 503 ERR_POLICY_UNAVAILABLE until the first document arrives', async () => {
    await Promise.all(guards.map((g) => g.policy!.ready));
    expect(guards[0]!.policy!.waiting).toBe(true);
    const decision = await guards[0]!.check(signed());
    expect(decision).toMatchObject({ outcome: 'deny', status: 503, reason: 'ERR_POLICY_UNAVAILABLE' });
    expect(guards[0]!.respond(decision).status).toBe(503);
  });

  it('applies a push through one guard’s connection on the other within one second', async () => {
    await pushPolicy(clients[0]!, doc(1), { prefix, by: 'test' });
    const [a, b] = await Promise.all([inForce(guards[0]!, 1), inForce(guards[1]!, 1)]);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(b).toBeGreaterThanOrEqual(0);
    expect(b).toBeLessThan(1000);
    expect(await guards[1]!.check(signed())).toMatchObject({ outcome: 'allow', reason: 'OK', policy: { version: 1 } });

    // Flip the agent from good to bad: in force on the other guard within one second.
    const bad = doc(2, { lists: { bad: { principals: [`thumbprint:${agent.thumbprint}`] } } });
    const pushed = performance.now();
    await pushPolicy(clients[0]!, bad, { prefix, by: 'test', comment: 'cut off' });
    const flipped = await inForce(guards[1]!, 2);
    expect(flipped).toBeGreaterThanOrEqual(0);
    expect(performance.now() - pushed).toBeLessThan(1000);
    expect(await guards[1]!.check(signed())).toMatchObject({ outcome: 'deny', status: 403, reason: 'ERR_POLICY_DENIED', rule: 'list:bad', policy: { version: 2 } });
  });

  it('decides under the initial document until the source has one, and stops following on close', async () => {
    const otherPrefix = uniquePrefix();
    const client = clients[0]!;
    const guard = createGuard({
      signatures: { keys: [agent.publicJwk], directory: false },
      policy: { source: redisPolicySource({ client, prefix: otherPrefix }), initial: doc(0, { default: { action: 'deny' } }) },
    });
    await guard.policy!.ready;
    expect(guard.policy!.waiting).toBe(false);
    expect(await guard.check(signed())).toMatchObject({ outcome: 'deny', reason: 'ERR_POLICY_DENIED', policy: { version: 0 } });
    await pushPolicy(client, doc(5), { prefix: otherPrefix });
    expect(await inForce(guard, 5)).toBeGreaterThanOrEqual(0);
    expect((await guard.check(signed())).reason).toBe('OK');
    await guard.close();
    await pushPolicy(client, doc(6), { prefix: otherPrefix });
    await sleep(200);
    expect(guard.policy!.version).toBe(5);
    await deleteKeys(client, otherPrefix);
  });

  it('refuses a policy option that is not a source', () => {
    const base = { signatures: { keys: [agent.publicJwk], directory: false as const } };
    expect(() => createGuard({ ...base, policy: { source: {} as never } })).toThrow(ConfigError);
    expect(() => createGuard({ ...base, policy: { source: {} as never } })).toThrow(/policy\.source/);
    expect(() => createGuard({ ...base, policy: { source: redisPolicySource({ client: clients[0]! }), other: 1 } as never })).toThrow(ConfigError);
  });
});
