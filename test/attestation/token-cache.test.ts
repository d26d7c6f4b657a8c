import { describe, expect, it } from 'vitest';
import { createGuard, type Decision } from '../../src/index.js';
import { tokenSlot } from '../../src/attestation/token-verifier.js';
import { approovSecret, b64u, hs256, request } from '../helpers/jws.js';

/**
 * The verified-token cache is keyed by a 30-bit slot taken from the end of the token (its signature
 * segment); a hit also needs the stored token to equal the presented one. These tests pin both
 * halves: a slot alone never lets a token through, and two genuine tokens in one slot both work.
 */

const NOW = 1_800_000_000;
const secret = approovSecret();
const token = (payload: object) => hs256(payload, secret.bytes);

function guard(tokens?: number) {
  return createGuard({
    attestation: { approov: { secret: secret.base64 } },
    now: () => NOW * 1000,
    ...(tokens === undefined ? {} : { cache: { tokens } }),
  });
}

const decide = (g: ReturnType<typeof guard>, t: string): Promise<Decision> => g.check(request({ 'approov-token': t }));

function expectVerified(d: Decision, cached: boolean) {
  expect(d.outcome).toBe('allow');
  expect(d.reason).toBe('OK');
  expect(d.checks).toEqual([{ check: 'attestation', verifier: 'approov', outcome: 'verified', reason: 'OK', cached }]);
}

/** Genuine tokens until two share a slot (a birthday search over 2^30 slots: ~41,000 tokens expected). */
function twoTokensInOneSlot(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; i < 400_000; i++) {
    const t = token({ exp: NOW + 600, did: `device-${i}` });
    const other = seen.get(tokenSlot(t));
    if (other !== undefined) return [other, t];
    seen.set(tokenSlot(t), t);
  }
  throw new Error('no two tokens shared a slot');
}

describe('verified-token cache', () => {
  it('refuses a token that has a cached token\'s signature segment but another payload', async () => {
    const g = guard();
    const genuine = token({ exp: NOW + 60, did: 'device-1' });
    expectVerified(await decide(g, genuine), false);
    expectVerified(await decide(g, genuine), true);
    const [header, , signature] = genuine.split('.');
    const forged = `${header}.${b64u({ exp: NOW + 86_400, did: 'device-1' })}.${signature}`;
    expect(tokenSlot(forged)).toBe(tokenSlot(genuine));
    for (let i = 0; i < 3; i++) {
      const d = await decide(g, forged);
      expect(d).toMatchObject({ outcome: 'deny', status: 401, reason: 'ERR_TOKEN_SIGNATURE_INVALID' });
      expect(d.checks[0]).toMatchObject({ outcome: 'invalid', reason: 'ERR_TOKEN_SIGNATURE_INVALID' });
      expect(d.checks[0]?.cached).toBeUndefined();
    }
    // The forgery took nothing from the cache and put nothing in it.
    expectVerified(await decide(g, genuine), true);
  });

  it('refuses a token that differs from a cached one only before its tail (one header character)', async () => {
    const g = guard();
    const genuine = token({ exp: NOW + 60 });
    expectVerified(await decide(g, genuine), false);
    const altered = `${genuine[0] === 'e' ? 'f' : 'e'}${genuine.slice(1)}`;
    expect(tokenSlot(altered)).toBe(tokenSlot(genuine));
    expect((await decide(g, altered)).outcome).toBe('deny');
    expectVerified(await decide(g, genuine), true);
  });

  it('serves two genuine tokens that share a slot: they take turns, both always allowed', async () => {
    const [first, second] = twoTokensInOneSlot();
    expect(first).not.toBe(second);
    const g = guard();
    expectVerified(await decide(g, first), false);
    expectVerified(await decide(g, first), true);
    expectVerified(await decide(g, second), false);
    expectVerified(await decide(g, second), true);
    expectVerified(await decide(g, first), false);
    expectVerified(await decide(g, first), true);
  });

  it('matches a cached token by its text, not its object (a new string each request hits)', async () => {
    const g = guard();
    const t = token({ exp: NOW + 60 });
    expectVerified(await decide(g, t), false);
    expectVerified(await decide(g, Buffer.from(t, 'latin1').toString('latin1')), true);
  });

  it('stays bounded: a stream of distinct genuine tokens, all verified, the latest ones cached', async () => {
    const g = guard(100);
    const tokens = Array.from({ length: 1000 }, (_, i) => token({ exp: NOW + 60, did: `d${i}` }));
    for (const t of tokens) expectVerified(await decide(g, t), false);
    expectVerified(await decide(g, tokens[999]!), true);
    expectVerified(await decide(g, tokens[0]!), false);
  });
});

describe('tokenSlot', () => {
  it('is a 30-bit number that depends on the characters before the last one, not on the last', () => {
    const t = token({ exp: NOW + 60 });
    const slot = tokenSlot(t);
    expect(Number.isInteger(slot) && slot >= 0 && slot < 2 ** 30).toBe(true);
    expect(tokenSlot(`${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`)).toBe(slot);
    expect(tokenSlot(`x${t}`)).toBe(slot);
    const changed = `${t.slice(0, -2)}${t.at(-2) === 'A' ? 'B' : 'A'}${t.at(-1)}`;
    expect(tokenSlot(changed)).not.toBe(slot);
  });

  it('takes tokens of any length, even shorter than its window', () => {
    for (const t of ['', 'a', 'ab', 'a.b.c', 'x'.repeat(9), 'y'.repeat(8192)]) {
      const slot = tokenSlot(t);
      expect(Number.isInteger(slot) && slot >= 0 && slot < 2 ** 30).toBe(true);
    }
  });

  it('spreads genuine tokens over the slots (2,000 tokens, at most one shared slot: ~0.002 expected for 30 bits)', () => {
    const slots = new Set(Array.from({ length: 2000 }, (_, i) => tokenSlot(token({ exp: NOW + 60, did: `s${i}` }))));
    expect(slots.size).toBeGreaterThanOrEqual(1999);
  });
});
