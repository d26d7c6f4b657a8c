import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, type Guard, type PolicyDocument } from '../../src/index.js';
import { RedisStore } from '../../src/redis/index.js';
import { ed25519Pair } from '../helpers/http-sig.js';
import { connect, deleteKeys, recordCommands, redisUrl, signedFeed, uniquePrefix, warnIfSkipped } from './helpers.js';

/** Two guards, two clients, one Redis: a fleet of two instances. */

warnIfSkipped();
const agent = ed25519Pair();
const prefix = uniquePrefix();

describe.skipIf(redisUrl === undefined)('two guards sharing one Redis', () => {
  let clients: Redis[] = [];
  let guards: Guard[] = [];

  beforeAll(async () => {
    clients = [await connect(), await connect()];
    const policy: PolicyDocument = {
      metadata: { version: 1 },
      rules: [{ id: 'agents', match: { principal: { kind: 'agent' } }, action: 'allow', rateLimit: { limit: 10, period: '1h' } }],
      default: { action: 'allow' },
    };
    guards = clients.map((client) =>
      createGuard({
        signatures: { keys: [agent.publicJwk], directory: false },
        store: new RedisStore({ client, prefix, timeoutMs: 1000 }),
        policy,
      }),
    );
  });

  afterAll(async () => {
    await Promise.all(guards.map((g) => g.close()));
    await deleteKeys(clients[0]!, prefix);
    await Promise.all(clients.map((c) => c.quit()));
  });

  const signed = (nonce: string) => signedFeed(agent, nonce);

  it('refuses through one guard a nonce used through the other', async () => {
    const request = signed(`n-${prefix}`);
    expect((await guards[0]!.check(request)).reason).toBe('OK');
    expect(await guards[1]!.check(request)).toMatchObject({ outcome: 'deny', status: 429, reason: 'ERR_SIGNATURE_REPLAYED' });
  });

  it('spends one Redis command on a request that needs both a nonce and a rate limit', async () => {
    const client = clients[0]!;
    const { sent, restore } = recordCommands(client);
    try {
      const request = signed(`one-trip-${prefix}`);
      expect(await guards[0]!.check(request)).toMatchObject({ outcome: 'allow', reason: 'OK', rateLimit: { policy: 'agents' } });
      expect(sent).toEqual(['evalsha']);
      sent.length = 0;
      // The replay is refused in the same single command, and takes nothing from the limit.
      expect(await guards[0]!.check(request)).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_REPLAYED' });
      expect(sent).toEqual(['evalsha']);
    } finally {
      restore();
    }
  });

  it('counts one rate limit across both guards: of 30 concurrent requests, exactly the remaining allowance passes', async () => {
    const decisions = await Promise.all(Array.from({ length: 30 }, (_, i) => guards[i % 2]!.check(signed(`r-${i}-${prefix}`))));
    // Two requests of the limit of 10 were spent by the tests above (their replays took nothing).
    expect(decisions.filter((d) => d.reason === 'OK')).toHaveLength(8);
    expect(decisions.filter((d) => d.reason === 'ERR_RATE_LIMITED')).toHaveLength(22);
  });
});
