import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createGuard, MemoryStore, type Decision, type GuardOptions, type PolicyDocument } from '../../src/index.js';
import { ed25519Pair, sign, type TestRequest } from '../helpers/http-sig.js';

/**
 * How long a signature's nonce is kept (issue 6 review): never longer than `maxNonceAge` (default 5
 * minutes) plus the skew, whatever `expires` the signer chose — so a signer with its own key cannot
 * fill the replay store — and never shorter than the signature is accepted, so a replay cannot
 * succeed once the nonce is forgotten.
 */

const NOW = 1_800_000_000;
const SKEW = 60;
const MAX_NONCE_AGE = 300;
const agent = ed25519Pair();
const YEAR = 365 * 86_400;

/** The clock, in seconds, shared by the guard and its store. */
let clock: number;
const nowMs = (): number => clock * 1000;

beforeEach(() => {
  clock = NOW;
});

const request: TestRequest = { method: 'GET', url: 'https://api.example.com/v1/items', headers: { host: 'api.example.com' } };
const nonce = (): string => randomBytes(32).toString('base64url');

/** A Web Bot Auth request signed at `created` (default NOW), valid until `expires` (default a year later). */
function signed(params: { created?: number; expires?: number | undefined; nonce?: string | undefined } = {}): TestRequest {
  const created = params.created ?? NOW;
  return sign(request, {
    key: agent.privateKey,
    algorithm: 'ed25519',
    keyid: agent.thumbprint,
    components: ['@authority', '"signature-agent";key="sig1"'],
    params: {
      created,
      expires: 'expires' in params ? params.expires : created + YEAR,
      keyid: agent.thumbprint,
      nonce: 'nonce' in params ? params.nonce : nonce(),
      tag: 'web-bot-auth',
    },
    agent: { url: 'https://agent.example' },
  });
}

function guardWith(store: MemoryStore, signatures: Partial<NonNullable<GuardOptions['signatures']>> = {}, extra: Partial<GuardOptions> = {}) {
  return createGuard({ signatures: { keys: [agent.publicJwk], directory: false, ...signatures }, store, now: nowMs, ...extra });
}

function outcome(d: Decision): { outcome: string; reason: string; status: number } {
  return { outcome: d.outcome, reason: d.reason, status: d.status };
}

const OK = { outcome: 'allow', reason: 'OK', status: 200 };
const TOO_OLD = { outcome: 'deny', reason: 'ERR_SIGNATURE_TOO_OLD', status: 401 };
const REPLAYED = { outcome: 'deny', reason: 'ERR_SIGNATURE_REPLAYED', status: 429 };

describe('nonce lifetime', () => {
  it('keeps a nonce for maxNonceAge plus skew and one second, not until an expires a year away', async () => {
    const store = new MemoryStore({ now: nowMs });
    const record = vi.spyOn(store, 'recordNonce');
    expect(outcome(await guardWith(store).check(signed()))).toEqual(OK);
    expect(record).toHaveBeenCalledTimes(1);
    expect(record.mock.calls[0]![1]).toBe((MAX_NONCE_AGE + SKEW + 1) * 1000);
  });

  it('refuses a nonce-carrying signature older than maxNonceAge: a replay is refused on both sides of the boundary', async () => {
    const store = new MemoryStore({ now: nowMs });
    const guard = guardWith(store);
    const req = signed();
    expect(outcome(await guard.check(req))).toEqual(OK);
    // The last second the time window accepts it: the nonce is still held.
    clock = NOW + MAX_NONCE_AGE + SKEW;
    const replayed = await guard.check(req);
    expect(outcome(replayed)).toEqual(REPLAYED);
    expect(replayed.checks[0]).toMatchObject({ outcome: 'invalid', reason: 'ERR_SIGNATURE_REPLAYED', claim: 'nonce', replay: 'checked' });
    // One second later its nonce may be gone, and so is the signature's acceptance, though `expires` is far away.
    clock = NOW + MAX_NONCE_AGE + SKEW + 1;
    const late = await guard.check(req);
    expect(outcome(late)).toEqual(TOO_OLD);
    expect(late.checks[0]).toMatchObject({ outcome: 'invalid', reason: 'ERR_SIGNATURE_TOO_OLD', claim: 'created' });
    expect(store.size).toBe(1);
  });

  it('long-lived nonces cannot lock other signers out of a full memory store for longer than maxNonceAge', async () => {
    const store = new MemoryStore({ now: nowMs, maxEntries: 3 });
    const guard = guardWith(store);
    for (let i = 0; i < 3; i++) expect(outcome(await guard.check(signed()))).toEqual(OK);
    // Full of live nonces: the store refuses rather than forget one.
    expect(outcome(await guard.check(signed()))).toEqual({ outcome: 'deny', reason: 'ERR_STORE_UNAVAILABLE', status: 503 });
    clock = NOW + MAX_NONCE_AGE + SKEW + 1;
    expect(outcome(await guard.check(signed({ created: clock })))).toEqual(OK);
    expect(store.size).toBe(1);
  });

  it('rfc9421 without expires or maxAge: a nonce is never forgotten while its signature is accepted', async () => {
    const store = new MemoryStore({ now: nowMs });
    const guard = guardWith(store, { profile: 'rfc9421', keys: [{ keyid: 'partner', key: agent.publicKey }] });
    const req = sign(request, {
      key: agent.privateKey,
      algorithm: 'ed25519',
      keyid: 'partner',
      components: ['@method', '@authority', '@path'],
      params: { created: NOW, keyid: 'partner', nonce: nonce() },
    });
    expect(outcome(await guard.check(req))).toEqual(OK);
    clock = NOW + MAX_NONCE_AGE + SKEW;
    expect(outcome(await guard.check(req))).toEqual(REPLAYED);
    clock = NOW + 400;
    expect(outcome(await guard.check(req))).toEqual(TOO_OLD);
  });

  it('the nonce is kept only as long as an earlier expires or maxAge accepts the signature', async () => {
    const store = new MemoryStore({ now: nowMs });
    const record = vi.spyOn(store, 'recordNonce');
    expect(outcome(await guardWith(store).check(signed({ expires: NOW + 30 })))).toEqual(OK);
    expect(outcome(await guardWith(store, { maxAge: '1m' }).check(signed()))).toEqual(OK);
    expect(record.mock.calls.map((call) => call[1])).toEqual([(30 + SKEW + 1) * 1000, (60 + SKEW + 1) * 1000]);
  });

  it('a nonce recorded together with a rate limit (Store.account) gets the same lifetime', async () => {
    const store = new MemoryStore({ now: nowMs });
    const account = vi.spyOn(store, 'account');
    const policy: PolicyDocument = {
      metadata: { version: 1 },
      rules: [{ id: 'agents', match: { principal: { kind: 'agent' } }, action: 'allow', rateLimit: { limit: 10, period: '1m' } }],
      default: { action: 'allow' },
    };
    const d = await guardWith(store, {}, { policy, require: { signature: 'required' } }).check(signed());
    expect(outcome(d)).toEqual(OK);
    expect(d.checks[0]).toMatchObject({ outcome: 'verified', replay: 'checked' });
    expect(account).toHaveBeenCalledTimes(1);
    expect(account.mock.calls[0]![0].nonce.ttlMs).toBe((MAX_NONCE_AGE + SKEW + 1) * 1000);
  });

  it('maxNonceAge is configurable', async () => {
    const store = new MemoryStore({ now: nowMs });
    const record = vi.spyOn(store, 'recordNonce');
    const guard = guardWith(store, { maxNonceAge: '1h' });
    const req = signed({ created: NOW - 1800 });
    expect(outcome(await guard.check(req))).toEqual(OK);
    expect(record.mock.calls[0]![1]).toBe((1800 + SKEW + 1) * 1000);
    clock = NOW + 1800 + SKEW + 1;
    expect(outcome(await guard.check(req))).toEqual(TOO_OLD);
  });

  it.each([
    ['a word', 'forever'],
    ['a negative number', -5],
    ['false', false],
  ])('refuses maxNonceAge as %s at construction', (_name, value) => {
    expect(() => guardWith(new MemoryStore(), { maxNonceAge: value as never })).toThrow(
      expect.objectContaining({ name: 'ConfigError', code: 'ERR_CONFIG_INVALID_VALUE', path: 'signatures.maxNonceAge' }),
    );
  });
});

describe('signatures whose nonce is not recorded keep their expires window', () => {
  it('without a nonce: accepted after maxNonceAge while it has not expired', async () => {
    const guard = guardWith(new MemoryStore({ now: nowMs }));
    const req = signed({ expires: NOW + 3600, nonce: undefined });
    clock = NOW + 1800;
    const d = await guard.check(req);
    expect(outcome(d)).toEqual(OK);
    expect(d.checks[0]).toMatchObject({ replay: 'not-checked' });
  });

  it('with replay off: nothing is recorded and maxNonceAge does not apply', async () => {
    const store = new MemoryStore({ now: nowMs });
    const record = vi.spyOn(store, 'recordNonce');
    const guard = guardWith(store, { replay: false });
    clock = NOW + 1800;
    expect(outcome(await guard.check(signed({ expires: NOW + 3600 })))).toEqual(OK);
    expect(record).not.toHaveBeenCalled();
  });
});
