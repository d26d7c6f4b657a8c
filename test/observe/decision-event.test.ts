import { describe, expect, it } from 'vitest';
import type { AllowDecision, Decision, DenyDecision } from '../../src/decision.js';
import { decisionEvent } from '../../src/observe/decision-event.js';
import type { GuardRequest } from '../../src/request.js';

const allow: AllowDecision = {
  outcome: 'allow',
  status: 200,
  reason: 'OK',
  monitor: false,
  failedOpen: false,
  principal: { id: 'app:approov', kind: 'app', verified: true, via: 'approov', deviceId: 'device-1', claims: { did: 'device-1', exp: 1 } },
  checks: [{ check: 'attestation', verifier: 'approov', outcome: 'verified', reason: 'OK', cached: true }],
  mode: 'enforce',
  route: '/v1/*',
  rule: null,
  policy: null,
  dryRun: [],
  durationMs: 0.25,
};

const deny: DenyDecision = {
  outcome: 'deny',
  status: 401,
  reason: 'ERR_SIGNATURE_PARAM_MISSING',
  monitor: false,
  failedOpen: false,
  principal: { id: 'anonymous', kind: 'anonymous', verified: false },
  checks: [
    { check: 'attestation', verifier: 'approov', outcome: 'unverified', reason: 'ERR_TOKEN_MISSING' },
    {
      check: 'signature',
      verifier: 'web-bot-auth',
      outcome: 'invalid',
      reason: 'ERR_SIGNATURE_PARAM_MISSING',
      claim: 'nonce',
      label: 'sig1',
      keyid: 'poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U',
      agent: 'https://agent.example',
      replay: 'not-checked',
    },
  ],
  mode: 'enforce',
  route: null,
  rule: null,
  policy: null,
  dryRun: [],
  durationMs: 1.5,
};

const limited: Decision = {
  outcome: 'deny',
  status: 429,
  reason: 'ERR_RATE_LIMITED',
  monitor: false,
  failedOpen: false,
  principal: {
    id: 'agent:https://agent.example#poqkLGiymh',
    kind: 'agent',
    verified: true,
    via: 'web-bot-auth',
    keyid: 'poqkLGiymh',
    agent: 'https://agent.example',
    label: 'sig1',
  },
  checks: [{ check: 'signature', verifier: 'web-bot-auth', outcome: 'verified', reason: 'OK', label: 'sig1', keyid: 'poqkLGiymh', replay: 'checked' }],
  mode: 'enforce',
  route: '/v1/search',
  rule: 'crawlers-slow',
  policy: { version: 7, hash: 'sha256:0123abcd' },
  dryRun: [
    { rule: 'block-ai', wouldAction: 'deny' },
    { rule: 'challenge-new', wouldAction: 'challenge' },
  ],
  rateLimit: { policy: 'crawlers-slow', limit: 10, remaining: 0, retryAfter: 17, reset: 60, window: 60 },
  durationMs: 3,
};

const get = (url: string, method = 'GET'): GuardRequest => ({ method, url, headers: {} });

describe('decisionEvent', () => {
  it('describes an allow exactly', () => {
    expect(decisionEvent(allow, get('https://api.example.com/v1/items/9'))).toStrictEqual({
      outcome: 'allow',
      status: 200,
      reason: 'OK',
      monitor: false,
      failedOpen: false,
      rule: null,
      mode: 'enforce',
      policyVersion: null,
      policyHash: null,
      principal: { id: 'app:approov', kind: 'app', verified: true, via: 'approov' },
      route: '/v1/*',
      method: 'GET',
      path: '/v1/items/9',
      durationMs: 0.25,
      dryRun: [],
      rateLimited: false,
      checks: [{ check: 'attestation', verifier: 'approov', outcome: 'verified', reason: 'OK' }],
    });
  });

  it('describes a deny with its checks exactly, without keyid, agent, label or replay', () => {
    expect(decisionEvent(deny, get('https://api.example.com/v1/items', 'POST'))).toStrictEqual({
      outcome: 'deny',
      status: 401,
      reason: 'ERR_SIGNATURE_PARAM_MISSING',
      monitor: false,
      failedOpen: false,
      rule: null,
      mode: 'enforce',
      policyVersion: null,
      policyHash: null,
      principal: { id: 'anonymous', kind: 'anonymous', verified: false, via: null },
      route: null,
      method: 'POST',
      path: '/v1/items',
      durationMs: 1.5,
      dryRun: [],
      rateLimited: false,
      checks: [
        { check: 'attestation', verifier: 'approov', outcome: 'unverified', reason: 'ERR_TOKEN_MISSING' },
        { check: 'signature', verifier: 'web-bot-auth', outcome: 'invalid', reason: 'ERR_SIGNATURE_PARAM_MISSING', claim: 'nonce' },
      ],
    });
  });

  it('describes a rate-limited decision with a policy and dry-run matches exactly', () => {
    expect(decisionEvent(limited, get('https://api.example.com/v1/search'))).toStrictEqual({
      outcome: 'deny',
      status: 429,
      reason: 'ERR_RATE_LIMITED',
      monitor: false,
      failedOpen: false,
      rule: 'crawlers-slow',
      mode: 'enforce',
      policyVersion: 7,
      policyHash: 'sha256:0123abcd',
      principal: { id: 'agent:https://agent.example#poqkLGiymh', kind: 'agent', verified: true, via: 'web-bot-auth' },
      route: '/v1/search',
      method: 'GET',
      path: '/v1/search',
      durationMs: 3,
      dryRun: [
        { rule: 'block-ai', wouldAction: 'deny' },
        { rule: 'challenge-new', wouldAction: 'challenge' },
      ],
      rateLimited: true,
      checks: [{ check: 'signature', verifier: 'web-bot-auth', outcome: 'verified', reason: 'OK' }],
    });
  });

  it('reports a monitor-mode allow with the reason it would have been denied and status 200', () => {
    const monitor: Decision = { ...allow, reason: 'ERR_RATE_LIMITED', monitor: true, mode: 'monitor' };
    expect(decisionEvent(monitor, get('https://api.example.com/'))).toMatchObject({
      outcome: 'allow',
      status: 200,
      reason: 'ERR_RATE_LIMITED',
      monitor: true,
      failedOpen: false,
      mode: 'monitor',
      rateLimited: true,
    });
    const failedOpen: Decision = { ...allow, reason: 'ERR_KEYS_UNAVAILABLE', failedOpen: true };
    expect(decisionEvent(failedOpen, get('https://api.example.com/'))).toMatchObject({ outcome: 'allow', reason: 'ERR_KEYS_UNAVAILABLE', failedOpen: true, rateLimited: false });
  });

  it('copies the dry-run list and checks instead of sharing them with the decision', () => {
    const event = decisionEvent(limited, get('https://api.example.com/'));
    expect(event.dryRun).not.toBe(limited.dryRun);
    expect(event.dryRun[0]).not.toBe(limited.dryRun[0]);
    expect(event.checks[0]).not.toBe(limited.checks[0]);
  });

  it('is plain JSON: it survives a JSON round trip unchanged (apart from undefined fields)', () => {
    const event = decisionEvent(limited, get('https://api.example.com/v1/search'));
    expect(JSON.parse(JSON.stringify(event))).toStrictEqual(event);
  });

  describe('never carries a secret', () => {
    it('keeps only the pathname of a URL with a query string and a fragment', () => {
      const event = decisionEvent(allow, get('https://api.example.com/v1/items?token=s3cr3t&sig=abc#frag'));
      expect(event.path).toBe('/v1/items');
      expect(JSON.stringify(event)).not.toMatch(/s3cr3t|sig=|frag|\?/);
    });

    it('drops userinfo and the host', () => {
      const event = decisionEvent(allow, get('https://user:pa55@api.example.com/v1/x'));
      expect(event.path).toBe('/v1/x');
      expect(JSON.stringify(event)).not.toMatch(/pa55|api\.example\.com/);
    });

    it('leaves out the principal claims, device id, keyid, agent and label, and every check detail', () => {
      const text = JSON.stringify([decisionEvent(allow, get('https://a.example/')), decisionEvent(deny, get('https://a.example/'))]);
      for (const secret of ['device-1', 'claims', 'keyid', 'poqkLGiymh_W0uP6PZFw', 'agent.example', 'sig1', 'replay', 'cached']) {
        expect(text).not.toContain(secret);
      }
    });
  });

  describe('limits', () => {
    it('cuts the path to 256 characters and the method to 32', () => {
      const event = decisionEvent(allow, get(`https://api.example.com/${'a'.repeat(1000)}?q=1`, 'X'.repeat(100)));
      expect(event.path).toBe(`/${'a'.repeat(255)}`);
      expect(event.method).toBe('X'.repeat(32));
    });
  });

  describe('never throws', () => {
    it.each([
      ['null', null],
      ['a string', 'GET /'],
      ['a relative URL', { method: 'GET', url: '/v1/items?token=x', headers: {} }],
      ['an unparsable URL', { method: 'GET', url: 'http://a b/', headers: {} }],
      ['a number URL and method', { method: 7, url: 7, headers: {} }],
    ])('leaves method and path undefined (or read what it can) for %s', (_name, input) => {
      const event = decisionEvent(deny, input as unknown as GuardRequest);
      expect(event.path).toBeUndefined();
      expect(event.reason).toBe('ERR_SIGNATURE_PARAM_MISSING');
    });

    it('survives a request whose getters throw', () => {
      const input = {
        get method(): string {
          throw new Error('boom');
        },
        get url(): string {
          throw new Error('boom');
        },
        headers: {},
      };
      const event = decisionEvent(allow, input);
      expect(event.method).toBeUndefined();
      expect(event.path).toBeUndefined();
    });

    it('reports what it can of a malformed decision', () => {
      const broken = {
        outcome: 'deny',
        status: 403,
        reason: 'ERR_POLICY_DENIED',
        mode: 'enforce',
        rule: 'r1',
        policy: { version: 2, hash: 'h' },
        principal: null,
        checks: 'not an array',
        dryRun: 5,
        durationMs: 1,
      } as unknown as Decision;
      expect(decisionEvent(broken, get('https://a.example/p?x=1'))).toStrictEqual({
        outcome: 'deny',
        status: 403,
        reason: 'ERR_POLICY_DENIED',
        monitor: false,
        failedOpen: false,
        rule: 'r1',
        mode: 'enforce',
        policyVersion: 2,
        policyHash: 'h',
        principal: { id: 'anonymous', kind: 'anonymous', verified: false, via: null },
        route: null,
        method: 'GET',
        path: '/p',
        durationMs: 1,
        dryRun: [],
        rateLimited: false,
        checks: [],
      });
    });

    it('survives a decision whose getters throw', () => {
      const hostile = new Proxy({}, { get: () => { throw new Error('boom'); } }) as Decision;
      const event = decisionEvent(hostile, get('https://a.example/'));
      expect(event).toMatchObject({ outcome: 'deny', reason: 'ERR_INTERNAL', path: '/', checks: [], dryRun: [] });
    });
  });
});
