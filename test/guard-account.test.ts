import { describe, expect, it } from 'vitest';
import { createGuard, MemoryStore, type GuardOptions, type PolicyDocument, type Store } from '../src/index.js';
import type { AccountRequest, RateLimitRequest } from '../src/index.js';
import { ed25519Pair, sign } from './helpers/http-sig.js';

/**
 * A request that needs a nonce and a rate limit: the guard leaves the nonce to the policy step and
 * asks the store for both at once (`Store.account`), so a shared store answers in one round trip.
 * Denials record no nonce; a replay takes nothing from the limit; a store failure follows the
 * failure modes; a store without `account` gets the two calls as before.
 */

const NOW = 1_800_000_000;
const agent = ed25519Pair();

/** A memory store that logs every call; `fail` makes every call throw. */
class SpyStore implements Store {
  readonly inner = new MemoryStore({ now: () => NOW * 1000 });
  readonly calls: string[] = [];
  fail = false;

  recordNonce(key: string, ttlMs: number): boolean {
    this.calls.push('recordNonce');
    if (this.fail) throw new Error('down');
    return this.inner.recordNonce(key, ttlMs);
  }

  rateLimit(request: RateLimitRequest) {
    this.calls.push('rateLimit');
    if (this.fail) throw new Error('down');
    return this.inner.rateLimit(request);
  }

  account(request: AccountRequest) {
    this.calls.push('account');
    if (this.fail) throw new Error('down');
    return this.inner.account(request);
  }
}

/** The same without `account`: a store written before it existed. */
class TwoCallStore implements Store {
  readonly inner = new MemoryStore({ now: () => NOW * 1000 });
  readonly calls: string[] = [];
  recordNonce(key: string, ttlMs: number): Promise<boolean> {
    this.calls.push('recordNonce');
    return Promise.resolve(this.inner.recordNonce(key, ttlMs));
  }
  rateLimit(request: RateLimitRequest) {
    this.calls.push('rateLimit');
    return Promise.resolve(this.inner.rateLimit(request));
  }
}

const policy = (extra: Partial<PolicyDocument> = {}): PolicyDocument => ({
  metadata: { version: 1 },
  rules: [
    { id: 'blocked', match: { route: { path: '/blocked/**' } }, action: 'deny' },
    { id: 'open', match: { route: { path: '/open/**' } }, action: 'allow' },
    { id: 'agents', match: { principal: { kind: 'agent' } }, action: 'allow', rateLimit: { limit: 3, period: '1m' } },
    { id: 'anonymous', action: 'allow', rateLimit: { limit: 2, period: '1m', key: 'ip' } },
  ],
  default: { action: 'allow' },
  ...extra,
});

function guardWith(store: Store, extra: Partial<GuardOptions> = {}) {
  return createGuard({
    signatures: { keys: [agent.publicJwk], directory: false },
    require: { signature: 'required' },
    store,
    policy: policy(),
    now: () => NOW * 1000,
    ...extra,
  });
}

let counter = 0;
const signed = (path = '/feeds/1', nonce = `n-${++counter}`) => ({
  ...sign(
    { method: 'GET', url: `https://api.example.com${path}`, headers: { host: 'api.example.com' } },
    { key: agent.privateKey, algorithm: 'ed25519', keyid: agent.thumbprint, params: { created: NOW, expires: NOW + 300, keyid: agent.thumbprint, nonce, tag: 'web-bot-auth' } },
  ),
  ip: '198.51.100.7',
});

describe('a nonce and a rate limit in one store call', () => {
  it('asks the store once, records the nonce, counts the limit and says replay was checked', async () => {
    const store = new SpyStore();
    const guard = guardWith(store);
    const decision = await guard.check(signed());
    expect(store.calls).toEqual(['account']);
    expect(decision).toMatchObject({ outcome: 'allow', reason: 'OK', rule: 'agents', rateLimit: { policy: 'agents', limit: 3, remaining: 2 } });
    expect(decision.checks).toHaveLength(1);
    expect(decision.checks[0]).toMatchObject({ outcome: 'verified', reason: 'OK', replay: 'checked' });
  });

  it('refuses a replay without taking from the signer’s limit', async () => {
    const store = new SpyStore();
    const guard = guardWith(store);
    const request = signed();
    expect((await guard.check(request)).rateLimit?.remaining).toBe(2);
    const replay = await guard.check(request);
    expect(replay).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_REPLAYED' });
    expect(replay.checks[0]).toMatchObject({ outcome: 'invalid', reason: 'ERR_SIGNATURE_REPLAYED', claim: 'nonce', replay: 'checked' });
    for (let i = 0; i < 5; i++) await guard.check(request);
    // The replays took nothing: two requests of the limit are left for the signer.
    expect((await guard.check(signed())).rateLimit?.remaining).toBe(1);
    expect((await guard.check(signed())).rateLimit?.remaining).toBe(0);
    expect(await guard.check(signed())).toMatchObject({ outcome: 'deny', reason: 'ERR_RATE_LIMITED', status: 429 });
  });

  it('records no nonce for a request the policy denies, and says replay was not checked', async () => {
    const store = new SpyStore();
    const guard = guardWith(store);
    const request = signed('/blocked/1', 'kept');
    const denied = await guard.check(request);
    expect(denied).toMatchObject({ outcome: 'deny', reason: 'ERR_POLICY_DENIED', rule: 'blocked' });
    expect(denied.checks[0]).toMatchObject({ outcome: 'verified', replay: 'not-checked' });
    expect(store.calls).toEqual([]);
    expect(store.inner.size).toBe(0);
  });

  it('records the nonce alone (one call) where no rate limit applies', async () => {
    const store = new SpyStore();
    const guard = guardWith(store);
    const request = signed('/open/1');
    const decision = await guard.check(request);
    expect(decision).toMatchObject({ outcome: 'allow', reason: 'OK', rule: 'open' });
    expect(decision.checks[0]).toMatchObject({ replay: 'checked' });
    expect(store.calls).toEqual(['recordNonce']);
    expect(await guard.check(request)).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_REPLAYED' });
  });

  it('decides a replay with an optional signature as an anonymous request, counted by its own limit', async () => {
    const store = new SpyStore();
    const guard = guardWith(store, { require: { signature: 'optional' } });
    const request = signed();
    expect((await guard.check(request)).principal.kind).toBe('agent');
    store.calls.length = 0;
    const replay = await guard.check(request);
    expect(replay).toMatchObject({ outcome: 'allow', reason: 'OK', rule: 'anonymous', principal: { id: 'anonymous' }, rateLimit: { policy: 'anonymous', remaining: 1 } });
    expect(replay.checks[0]).toMatchObject({ reason: 'ERR_SIGNATURE_REPLAYED' });
    // The combined call found the replay; the anonymous limit was then taken on its own.
    expect(store.calls).toEqual(['account', 'rateLimit']);
  });

  it('fails closed with 503 when the store cannot answer, and open (then limited as anonymous) when asked', async () => {
    const store = new SpyStore();
    store.fail = true;
    const closed = await guardWith(store).check(signed());
    expect(closed).toMatchObject({ outcome: 'deny', status: 503, reason: 'ERR_STORE_UNAVAILABLE' });
    expect(closed.checks[0]).toMatchObject({ outcome: 'unverified', reason: 'ERR_STORE_UNAVAILABLE', replay: 'unavailable' });
    expect(store.calls).toEqual(['account']);

    store.calls.length = 0;
    const open = await guardWith(store, { failOpen: { signature: true, rateLimit: true } }).check(signed());
    expect(open).toMatchObject({ outcome: 'allow', failedOpen: true, reason: 'ERR_STORE_UNAVAILABLE', rule: 'anonymous' });
    expect(open.checks[0]).toMatchObject({ replay: 'unavailable' });
    expect(store.calls).toEqual(['account', 'rateLimit']);
  });

  it('calls recordNonce then rateLimit on a store without account', async () => {
    const store = new TwoCallStore();
    const guard = guardWith(store);
    const request = signed();
    const decision = await guard.check(request);
    expect(decision).toMatchObject({ outcome: 'allow', reason: 'OK', rateLimit: { remaining: 2 } });
    expect(decision.checks[0]).toMatchObject({ replay: 'checked' });
    expect(store.calls).toEqual(['recordNonce', 'rateLimit']);
    expect(await guard.check(request)).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_REPLAYED' });
  });

  it('records each nonce at once when a request carries several signatures', async () => {
    const store = new SpyStore();
    const guard = guardWith(store);
    const first = signed('/feeds/multi', 'multi-a');
    const both = sign(first, {
      key: agent.privateKey,
      algorithm: 'ed25519',
      keyid: agent.thumbprint,
      label: 'sig2',
      params: { created: NOW, expires: NOW + 300, keyid: agent.thumbprint, nonce: 'multi-b', tag: 'web-bot-auth' },
    });
    const decision = await guard.check(both);
    expect(decision).toMatchObject({ outcome: 'allow', reason: 'OK', rateLimit: { remaining: 2 } });
    expect(decision.checks.map((c) => c.replay)).toEqual(['checked', 'checked']);
    expect(store.calls).toEqual(['recordNonce', 'recordNonce', 'rateLimit']);
  });
});
