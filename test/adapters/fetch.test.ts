import { describe, expect, it } from 'vitest';
import { bonafide, hono } from '../../adapters/fetch.js';
import type { Decision } from '../../src/index.js';
import { contractGuard, failingGuard } from './fixtures/guard.js';
import { mintApproov } from './fixtures/tokens.js';

/** The fetch adapter called directly with Web Requests: the parts a real server cannot reach. */

const { guard, secret, seen } = contractGuard();
const AUTHORIZATION = 'Bearer user-1';
const token = () => mintApproov(secret, { bind: AUTHORIZATION });

describe('bonafide/fetch', () => {
  it('resolves null for an allowed request and the problem Response for a denied one', async () => {
    const check = bonafide(guard);
    const allowed = new Request('https://api.example.com/v1/items', {
      headers: { authorization: AUTHORIZATION, 'approov-token': token() },
    });
    expect(await check(allowed)).toBeNull();
    const denied = await check(new Request('https://api.example.com/v1/items'));
    expect(denied).toBeInstanceOf(Response);
    expect(denied!.status).toBe(401);
    expect(denied!.headers.get('content-type')).toBe('application/problem+json');
    expect(await denied!.json()).toMatchObject({ code: 'ERR_TOKEN_MISSING' });
  });

  it('decide() returns the decision with the Response', async () => {
    const check = bonafide(guard);
    const allowed = await check.decide(
      new Request('https://api.example.com/v1/items', { headers: { authorization: AUTHORIZATION, 'approov-token': token() } }),
    );
    expect(allowed.response).toBeNull();
    expect(allowed.decision).toMatchObject({ outcome: 'allow', reason: 'OK', principal: { id: 'app:approov' } });
    const denied = await check.decide(new Request('https://api.example.com/v1/items'));
    expect(denied.decision).toMatchObject({ outcome: 'deny', status: 401, reason: 'ERR_TOKEN_MISSING' });
    expect(denied.response?.status).toBe(401);
  });

  it('uses onDeny for the deny Response', async () => {
    const check = bonafide(guard, { onDeny: (decision) => new Response(decision.reason, { status: 418 }) });
    const res = await check(new Request('https://api.example.com/v1/items'));
    expect(res?.status).toBe(418);
    expect(await res?.text()).toBe('ERR_TOKEN_MISSING');
  });

  it('with trustProxy, rebuilds the URL and IP from the first X-Forwarded-* values', async () => {
    const check = bonafide(guard, { trustProxy: true });
    const headers = {
      'x-forwarded-proto': 'https, http',
      'x-forwarded-host': 'api.example.com, internal',
      'x-forwarded-for': '203.0.113.7, 10.0.0.1',
    };
    seen.length = 0;
    await check(new Request('http://10.0.0.5:8080/v1/items/%7Eraw?q=a%20b', { headers }));
    expect(seen[0]).toMatchObject({ url: 'https://api.example.com/v1/items/%7Eraw?q=a%20b', ip: '203.0.113.7' });

    seen.length = 0;
    await check(new Request('http://10.0.0.5:8080/v1?x=1', { headers: { 'x-forwarded-proto': 'https' } }));
    expect(seen[0]).toMatchObject({ url: 'https://10.0.0.5:8080/v1?x=1', ip: undefined });

    seen.length = 0;
    const forged = await check(new Request('http://10.0.0.5/v1', { headers: { 'x-forwarded-host': 'evil/health#' } }));
    expect(forged?.status).toBe(400);
    expect(seen[0]).toMatchObject({ url: '', reason: 'ERR_REQUEST_INVALID' });
  });

  it('without trustProxy, ignores X-Forwarded-*; getIp supplies the IP', async () => {
    const check = bonafide(guard, { getIp: () => '198.51.100.1' });
    seen.length = 0;
    await check(new Request('http://10.0.0.5/v1', { headers: { 'x-forwarded-host': 'api.example.com', 'x-forwarded-for': '203.0.113.7' } }));
    expect(seen[0]).toMatchObject({ url: 'http://10.0.0.5/v1', ip: '198.51.100.1' });
  });

  it('answers 503 ERR_INTERNAL when the guard fails', async () => {
    for (const failure of ['rejects', 'throws', 'garbage'] as const) {
      const check = bonafide(failingGuard(guard, failure));
      const res = await check(new Request('https://api.example.com/health'));
      expect(res?.status).toBe(503);
      expect(await res?.json()).toMatchObject({ code: 'ERR_INTERNAL' });
      const { decision } = await check.decide(new Request('https://api.example.com/health'));
      expect(decision).toMatchObject({ outcome: 'deny', reason: 'ERR_INTERNAL' });
    }
  });

  it('refuses bad options at construction', () => {
    expect(() => bonafide(guard, { trustProxy: 'yes' as never })).toThrow(expect.objectContaining({ path: 'trustProxy' }));
    expect(() => bonafide(guard, { getIp: 1 as never })).toThrow(expect.objectContaining({ path: 'getIp' }));
    expect(() => bonafide(guard, { trust: true } as never)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_UNKNOWN_OPTION' }));
    expect(() => bonafide({ attestation: {} })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_MISSING_OPTION' }));
  });
});

describe('bonafide/fetch hono()', () => {
  function context(request: Request) {
    const vars = new Map<string, Decision>();
    return { vars, c: { req: { raw: request }, set: (key: 'bonafide', value: Decision) => void vars.set(key, value) } };
  }

  it('sets the decision and calls next for an allowed request', async () => {
    const { vars, c } = context(
      new Request('https://api.example.com/v1', { headers: { authorization: AUTHORIZATION, 'approov-token': token() } }),
    );
    let called = 0;
    const result = await hono(guard)(c, async () => void called++);
    expect(result).toBeUndefined();
    expect(called).toBe(1);
    expect(vars.get('bonafide')).toMatchObject({ outcome: 'allow', reason: 'OK' });
  });

  it('sets the decision and returns the deny Response without calling next', async () => {
    const { vars, c } = context(new Request('https://api.example.com/v1'));
    let called = 0;
    const result = await hono(guard)(c, async () => void called++);
    expect(called).toBe(0);
    expect(result).toBeInstanceOf(Response);
    expect((result as Response).status).toBe(401);
    expect(vars.get('bonafide')).toMatchObject({ outcome: 'deny', reason: 'ERR_TOKEN_MISSING' });
  });
});
