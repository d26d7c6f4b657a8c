import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGuard, type GuardOptions, type PolicyDocument } from '../src/index.js';
import { contentDigest } from '../src/signatures/content-digest.js';
import { ed25519Pair, sign } from './helpers/http-sig.js';
import { approovSecret, hs256 } from './helpers/jws.js';

/** The policy through the guard: precedence, proof, actions, rate limits, runtime changes, explain. */

const NOW = 1_800_000_000;
const secret = approovSecret();
const agent = ed25519Pair();

function doc(version: number, extra: Partial<PolicyDocument> = {}): PolicyDocument {
  return { metadata: { version }, default: { action: 'allow' }, ...extra };
}

function options(policy: GuardOptions['policy'], extra: Partial<GuardOptions> = {}): GuardOptions {
  const now = NOW * 1000;
  return {
    attestation: { approov: { secret: secret.base64 } },
    signatures: { keys: [agent.publicJwk], directory: false, replay: false },
    require: { attestation: 'optional', signature: 'optional' },
    policy,
    now: () => now,
    ...extra,
  };
}

const token = (claims: object = { exp: NOW + 60 }) => hs256(claims, secret.bytes);
const app = (path = '/v1/app/items', ip = '198.51.100.7') => ({
  method: 'GET',
  url: `https://api.example.com${path}`,
  headers: { host: 'api.example.com', 'approov-token': token() },
  ip,
});
const signedAgent = (path = '/feeds/1') =>
  sign(
    { method: 'GET', url: `https://api.example.com${path}`, headers: { host: 'api.example.com' } },
    { key: agent.privateKey, algorithm: 'ed25519', keyid: agent.thumbprint, params: { created: NOW, expires: NOW + 300, keyid: agent.thumbprint, tag: 'web-bot-auth' } },
  );
const anonymous = (path = '/v1/app/items') => ({ method: 'GET', url: `https://api.example.com${path}`, headers: { host: 'api.example.com' }, ip: '198.51.100.9' });

describe('policy through the guard', () => {
  it('records the policy version, hash and what decided', async () => {
    const guard = createGuard(options(doc(3)));
    const d = await guard.check(app());
    expect(d).toMatchObject({ outcome: 'allow', reason: 'OK', rule: 'default', policy: { version: 3, hash: guard.policy!.hash } });
    expect(guard.policy!.hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('bad list beats good list beats rules beats the default', async () => {
    const policy = doc(1, {
      lists: { bad: { principals: ['id:app:approov'] }, good: { principals: ['id:app:approov', `thumbprint:${agent.thumbprint}`] } },
      rules: [{ id: 'deny-all', action: 'deny' }],
    });
    const guard = createGuard(options(policy));
    expect(await guard.check(app())).toMatchObject({ outcome: 'deny', status: 403, reason: 'ERR_POLICY_DENIED', rule: 'list:bad' });
    expect(await guard.check(signedAgent())).toMatchObject({ outcome: 'allow', reason: 'OK', rule: 'list:good' });
    expect(await guard.check(anonymous())).toMatchObject({ outcome: 'deny', reason: 'ERR_POLICY_DENIED', rule: 'deny-all' });
  });

  it('flips an identity from good to bad on the very next request', async () => {
    const guard = createGuard(options(doc(1, { lists: { good: { principals: ['id:app:approov'] } }, default: { action: 'deny' } })));
    expect((await guard.check(app())).outcome).toBe('allow');
    expect(guard.policy!.update(doc(2, { categories: { 'app:approov': { trust: 'bad' } }, lists: { good: { principals: ['id:app:approov'] } }, default: { action: 'deny' } }))).toMatchObject({ ok: true, version: 2 });
    expect(await guard.check(app())).toMatchObject({ outcome: 'deny', reason: 'ERR_POLICY_DENIED', rule: 'app:approov', policy: { version: 2 } });
  });

  it('refuses an invalid or stale document and keeps the last good one', async () => {
    const guard = createGuard(options(doc(5)));
    const refused: unknown[] = [];
    guard.policy!.on('refused', (event) => refused.push(event));
    const invalid = guard.policy!.update({ metadata: { version: 6 }, default: { action: 'explode' } });
    expect(invalid).toMatchObject({ ok: false, code: 'ERR_POLICY_INVALID' });
    expect((invalid as { problems: readonly { path: string }[] }).problems[0]!.path).toBe('/default/action');
    expect(guard.policy!.update(doc(4))).toMatchObject({ ok: false, code: 'ERR_POLICY_STALE', problems: [{ path: '/metadata/version' }] });
    expect(refused).toHaveLength(2);
    expect((await guard.check(app())).policy).toMatchObject({ version: 5 });
  });

  it('throws a ConfigError at construction for an invalid document', () => {
    expect(() => createGuard(options({ metadata: { version: 1 }, default: { action: 'allow' }, rules: [{ id: 'x', action: 'nope' }] } as never))).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID_VALUE', path: 'policy.rules.0.action' }),
    );
  });

  it('decides a request in flight under the policy it started with', async () => {
    const guard = createGuard(options(doc(1), { require: { attestation: 'optional', signature: 'optional' } }));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const body = Buffer.from('{"a":1}');
    const slow = sign(
      { method: 'POST', url: 'https://api.example.com/feeds/1', headers: { host: 'api.example.com', 'content-digest': contentDigest(body), 'content-length': String(body.length) } },
      { key: agent.privateKey, algorithm: 'ed25519', keyid: agent.thumbprint, components: ['@authority', 'content-digest'], params: { created: NOW, expires: NOW + 300, keyid: agent.thumbprint, tag: 'web-bot-auth' } },
    );
    const pending = guard.check({ ...slow, readBody: async () => (await gate, body) });
    expect(guard.policy!.update(doc(2, { default: { action: 'deny' } })).ok).toBe(true);
    release();
    expect(await pending).toMatchObject({ outcome: 'allow', policy: { version: 1 } });
    expect(await guard.check(app())).toMatchObject({ outcome: 'deny', policy: { version: 2 } });
  });

  it('records dry-run rules without letting them decide', async () => {
    const guard = createGuard(options(doc(1, { rules: [{ id: 'would-block', action: 'deny', mode: 'dry-run' }] })));
    const d = await guard.check(app());
    expect(d).toMatchObject({ outcome: 'allow', reason: 'OK', rule: 'default', dryRun: [{ rule: 'would-block', wouldAction: 'deny' }] });
  });

  it('admits only callers with the proof a rule requires', async () => {
    const guard = createGuard(options(doc(1, { rules: [{ id: 'feeds', match: { route: { path: '/feeds/**' } }, require: 'signature', action: 'allow' }] })));
    expect(await guard.check(signedAgent())).toMatchObject({ outcome: 'allow', rule: 'feeds' });
    const d = await guard.check(app('/feeds/1'));
    expect(d).toMatchObject({ outcome: 'deny', status: 401, reason: 'ERR_PROOF_REQUIRED', rule: 'feeds' });
    expect(guard.respond(d).headers['accept-signature']).toContain('tag="web-bot-auth"');
  });

  it('challenges with Accept-Signature and WWW-Authenticate', async () => {
    const guard = createGuard(options(doc(1, { rules: [{ id: 'prove', match: { principal: { verified: false } }, action: 'challenge' }] })));
    const d = await guard.check(anonymous());
    expect(d).toMatchObject({ outcome: 'deny', status: 401, reason: 'ERR_POLICY_CHALLENGE', rule: 'prove' });
    const headers = guard.respond(d).headers;
    expect(headers['accept-signature']).toContain('"@authority"');
  });

  it('rate limits with 429, Retry-After and the RateLimit fields, exactly at the boundary', async () => {
    let now = NOW * 1000;
    const policy = doc(1, { rules: [{ id: 'app', match: { principal: { kind: 'app' } }, action: 'allow', rateLimit: { limit: 2, period: '10s', key: 'principal' } }] });
    const guard = createGuard({ ...options(policy), now: () => now });
    const first = await guard.check(app());
    expect(first).toMatchObject({ outcome: 'allow', rule: 'app', rateLimit: { policy: 'app', limit: 2, remaining: 1, window: 10 } });
    expect((await guard.check(app())).outcome).toBe('allow');
    const third = await guard.check(app());
    expect(third).toMatchObject({ outcome: 'deny', status: 429, reason: 'ERR_RATE_LIMITED', rateLimit: { remaining: 0, retryAfter: 5 } });
    expect(guard.respond(third).headers).toMatchObject({ 'retry-after': '5', 'ratelimit-policy': '"app";q=2;w=10', ratelimit: '"app";r=0;t=10' });
    now += 4_999;
    expect((await guard.check(app())).reason).toBe('ERR_RATE_LIMITED');
    now += 1;
    expect((await guard.check(app())).reason).toBe('OK');
  });

  it('keys IP limits on the IPv6 /64', async () => {
    const policy = doc(1, { default: { action: 'allow', rateLimit: { limit: 1, period: '1m', key: 'ip' } } });
    const guard = createGuard(options(policy));
    expect((await guard.check({ ...anonymous(), ip: '2001:db8:1:2::1' })).reason).toBe('OK');
    expect((await guard.check({ ...anonymous(), ip: '2001:db8:1:2:ffff::9' })).reason).toBe('ERR_RATE_LIMITED');
    expect((await guard.check({ ...anonymous(), ip: '2001:db8:1:3::1' })).reason).toBe('OK');
  });

  it('applies a watched policy file when it changes, and refuses a broken one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bonafide-policy-'));
    const file = join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify(doc(1)));
    const guard = createGuard(options({ file }));
    const applied = new Promise((resolve) => guard.policy!.once('applied', resolve));
    // Replaced by rename, as deploy tools do.
    writeFileSync(join(dir, 'next.json'), JSON.stringify(doc(2, { default: { action: 'deny' } })));
    renameSync(join(dir, 'next.json'), file);
    await applied;
    expect(await guard.check(app())).toMatchObject({ outcome: 'deny', policy: { version: 2 } });
    const refused = new Promise((resolve) => guard.policy!.once('refused', resolve));
    writeFileSync(file, '{ not json');
    expect(await refused).toMatchObject({ code: 'ERR_POLICY_INVALID' });
    expect((await guard.check(app())).policy).toMatchObject({ version: 2 });
    await guard.close();
  });

  it('explains without counting or recording', async () => {
    const policy = doc(1, {
      rules: [
        { id: 'feeds-only-agents', match: { route: { path: '/feeds/**' }, principal: { kind: 'agent' } }, action: 'allow' },
        { id: 'limit', action: 'allow', rateLimit: { limit: 1, period: '1m' } },
      ],
    });
    const guard = createGuard(options(policy));
    const explanation = await guard.explain!(app());
    expect(explanation).toMatchObject({ reason: 'OK', principal: { id: 'app:approov' }, policy: { version: 1 }, result: { action: 'allow', source: 'rule', match: 'limit' } });
    expect(explanation.trace.find((t) => t.id === 'feeds-only-agents')).toMatchObject({ matched: false });
    // The limit of 1 was not spent by explain.
    expect((await guard.check(app())).reason).toBe('OK');
    expect((await guard.check(app())).reason).toBe('ERR_RATE_LIMITED');
  });
});

