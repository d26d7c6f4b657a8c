import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { fakeJwks } from '../helpers/jwks-server.js';
import { request, signAsymmetric } from '../helpers/jws.js';

const NOW = 1_800_000_000;
const URL = 'https://keys.example.com/.well-known/jwks.json';
let k1: { publicKey: KeyObject; privateKey: KeyObject };
let k2: { publicKey: KeyObject; privateKey: KeyObject };
const jwk = (key: KeyObject, kid: string) => ({ ...key.export({ format: 'jwk' }), kid, use: 'sig' });

beforeAll(() => {
  k1 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  k2 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
});

function setup(jwksOptions: Record<string, unknown> = {}, options: Record<string, unknown> = {}) {
  const fake = fakeJwks({ keys: [jwk(k1.publicKey, 'k1')] });
  let now = NOW * 1000;
  const g = createGuard({
    attestation: { jwt: { algorithms: ['ES256'], jwks: { url: URL, ...jwksOptions } } },
    fetch: fake.fetch,
    now: () => now,
    ...options,
  });
  const token = (kid: string, key = k1.privateKey, claims: object = {}) =>
    signAsymmetric('ES256', { exp: NOW + 3600, sub: 's', ...claims }, key, { kid });
  const check = (t: string) => g.check(request({ authorization: `Bearer ${t}` }));
  return { fake, g, token, check, advance: (seconds: number) => (now += seconds * 1000) };
}

describe('remote JWKS', () => {
  it('fetches once and serves every later token from the cached set', async () => {
    const { fake, token, check } = setup();
    for (let i = 0; i < 5; i++) expect((await check(token('k1', k1.privateKey, { n: i }))).reason).toBe('OK');
    expect(fake.calls).toEqual([URL]);
  });

  it('shares one in-flight fetch among concurrent requests', async () => {
    const { fake, token, check } = setup();
    fake.respond.delayMs = 20;
    const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => check(token('k1', k1.privateKey, { n: i }))));
    expect(decisions.every((d) => d.reason === 'OK')).toBe(true);
    expect(fake.calls.length).toBe(1);
  });

  it('a flood of random kids causes at most one refetch per cooldown, and valid tokens keep working', async () => {
    const { fake, token, check, advance } = setup({ cooldown: '30s' });
    expect((await check(token('k1'))).reason).toBe('OK');
    const flood = await Promise.all(Array.from({ length: 1000 }, () => check(token(randomUUID()))));
    expect(new Set(flood.map((d) => d.reason))).toEqual(new Set(['ERR_TOKEN_KEY_UNKNOWN']));
    // The set was fetched moments ago: within the cooldown an unknown kid does not refetch.
    expect(fake.calls.length).toBe(1);
    expect((await check(token('k1', k1.privateKey, { n: 2 }))).reason).toBe('OK');
    advance(31);
    const second = await Promise.all(Array.from({ length: 1000 }, () => check(token(randomUUID()))));
    expect(second.every((d) => d.reason === 'ERR_TOKEN_KEY_UNKNOWN')).toBe(true);
    expect(fake.calls.length).toBe(2); // one refetch for the whole second flood
    expect((await check(token('k1', k1.privateKey, { n: 3 }))).reason).toBe('OK');
  });

  it('picks up a rotated key on an unknown kid once the cooldown allows', async () => {
    const { fake, token, check, advance } = setup({ cooldown: '30s' });
    expect((await check(token('k1'))).reason).toBe('OK');
    fake.respond.jwks = { keys: [jwk(k1.publicKey, 'k1'), jwk(k2.publicKey, 'k2')] };
    advance(31);
    expect((await check(token('k2', k2.privateKey))).reason).toBe('OK');
    expect(fake.calls.length).toBe(2);
  });

  it('refreshes after cacheMaxAge and keeps the stale keys when the refresh fails', async () => {
    const { fake, token, check, advance } = setup({ cacheMaxAge: '10m', cooldown: '30s' });
    expect((await check(token('k1'))).reason).toBe('OK');
    fake.respond.status = 500;
    advance(601);
    expect((await check(token('k1', k1.privateKey, { n: 1 }))).reason).toBe('OK');
    expect(fake.calls.length).toBe(2);
  });

  it('answers 503 ERR_KEYS_UNAVAILABLE when no keys were ever loaded, and retries only after the cooldown', async () => {
    const { fake, token, check, advance } = setup({ cooldown: '30s' });
    fake.respond.status = 502;
    const d = await check(token('k1'));
    expect(d).toMatchObject({ outcome: 'deny', status: 503, reason: 'ERR_KEYS_UNAVAILABLE', checks: [{ outcome: 'unverified' }] });
    await check(token('k1', k1.privateKey, { n: 1 }));
    expect(fake.calls.length).toBe(1);
    fake.respond.status = 200;
    advance(31);
    expect((await check(token('k1', k1.privateKey, { n: 2 }))).reason).toBe('OK');
  });

  it('fails open only when configured, and says so', async () => {
    const { fake, token, check } = setup({}, { failOpen: { attestation: true } });
    fake.respond.status = 500;
    expect(await check(token('k1'))).toMatchObject({ outcome: 'allow', status: 200, reason: 'ERR_KEYS_UNAVAILABLE', failedOpen: true, monitor: false });
  });

  it('gives up on a hanging JWKS endpoint after the timeout', async () => {
    const { fake, token, check } = setup({ timeout: '100ms' });
    fake.respond.hang = true;
    const started = Date.now();
    expect((await check(token('k1'))).reason).toBe('ERR_KEYS_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('gives up even when an injected fetch ignores the abort signal', async () => {
    const never: typeof fetch = () => new Promise(() => {});
    const g = createGuard({
      attestation: { jwt: { algorithms: ['ES256'], jwks: { url: URL, timeout: '100ms' } } },
      fetch: never,
      now: () => NOW * 1000,
    });
    const t = signAsymmetric('ES256', { exp: NOW + 60 }, k1.privateKey, { kid: 'k1' });
    expect((await g.check(request({ authorization: `Bearer ${t}` }))).reason).toBe('ERR_KEYS_UNAVAILABLE');
  });

  it.each([
    ['a body over maxBytes', { body: JSON.stringify({ keys: [], pad: 'x'.repeat(5000) }) }],
    ['a body that is not JSON', { body: '<html>' }],
    ['JSON without keys', { body: '{"keys":"no"}' }],
    ['only unusable keys', { body: JSON.stringify({ keys: [{ kty: 'RSA', use: 'enc', n: 'AQAB', e: 'AQAB' }, { kty: 'EC', crv: 'P-192' }] }) }],
  ])('treats %s as unavailable', async (_name, respond) => {
    const { fake, token, check } = setup({ maxBytes: 4096 });
    Object.assign(fake.respond, respond);
    expect((await check(token('k1'))).reason).toBe('ERR_KEYS_UNAVAILABLE');
  });

  it('never fetches the jku or x5u a token names', async () => {
    const { fake, token, check } = setup();
    const t = signAsymmetric('ES256', { exp: NOW + 60 }, k2.privateKey, { kid: 'k1', jku: 'https://attacker.example/jwks', x5u: 'https://169.254.169.254/' });
    expect((await check(t)).reason).toBe('ERR_TOKEN_SIGNATURE_INVALID');
    expect(fake.calls.every((u) => u === URL)).toBe(true);
    expect((await check(token('k1'))).reason).toBe('OK');
  });
});
