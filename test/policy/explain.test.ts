import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/policy/compile.js';
import type { PolicyContext } from '../../src/policy/types.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

function context(over: Partial<Omit<PolicyContext, 'principal'>> & { principal?: Partial<PolicyContext['principal']> } = {}): PolicyContext {
  const { principal, ...rest } = over;
  return {
    proven: { attestation: false, signature: false },
    method: 'GET',
    path: '/health',
    ip: '198.51.100.7',
    userAgent: 'Mozilla/5.0',
    hasHeader: () => false,
    now: NOW,
    ...rest,
    principal: { id: 'wba:https://agent.example#k1', kind: 'agent', verified: true, agent: 'https://agent.example', ...principal },
  };
}

const compiled = compilePolicy({
  metadata: { version: 7 },
  categories: { 'https://agent.example': { categories: ['ai-assistant'] } },
  lists: {
    bad: {
      principals: [{ value: 'id:wba:https://agent.example#k1', expiresAt: '2026-05-01T00:00:00Z' }],
      networks: ['203.0.113.0/24', { value: '198.51.100.0/24', expiresAt: '2026-05-15T00:00:00Z' }],
      userAgents: ['*BadBot*'],
    },
    good: { principals: ['category:search-engine'] },
  },
  rules: [
    { id: 'v1-only', match: { route: { path: '/v1/**' } }, action: 'deny' },
    { id: 'old', action: 'deny', expiresAt: '2026-01-01T00:00:00Z' },
    { id: 'later', action: 'deny', notBefore: '2027-01-01T00:00:00Z' },
    { id: 'watch', action: 'challenge', mode: 'dry-run', match: { principal: { categories: 'ai-assistant' } } },
    { id: 'posts', match: { route: { methods: ['POST'] } }, action: 'deny' },
    { id: 'office', match: { network: ['10.0.0.0/8'] }, action: 'allow' },
    { id: 'humans', match: { principal: { kind: 'human' } }, action: 'allow' },
    { id: 'unverified', match: { principal: { verified: false } }, action: 'challenge' },
    { id: 'keyed', match: { headers: { 'x-api-key': true } }, action: 'allow' },
    { id: 'app', match: { principal: { claims: { appId: 'com.example' } } }, action: 'allow' },
    { id: 'agents', match: { principal: { via: 'web-bot-auth' } }, action: 'allow' },
    { id: 'ops', match: { principal: { operator: 'https://agent.example' } }, action: 'rate-limit', rateLimit: { limit: 60, period: '1m' } },
    { id: 'unreached', match: { route: { path: '/never' } }, action: 'deny' },
  ],
  default: { action: 'deny' },
});

describe('explain', () => {
  it('gives, for every category entry, list and rule, whether it matched and the first reason why not', () => {
    const { result, trace } = compiled.explain(context());
    expect(result).toMatchObject({ action: 'rate-limit', source: 'rule', match: 'ops', dryRun: [{ rule: 'watch', wouldAction: 'challenge' }] });
    expect(trace).toEqual([
      { source: 'category', id: 'https://agent.example', matched: true, why: 'entry for the agent: categories [ai-assistant]' },
      { source: 'list:bad', id: 'principals', matched: false, why: 'id:wba:https://agent.example#k1 matches but expired at 2026-05-01T00:00:00.000Z' },
      { source: 'list:bad', id: 'networks', matched: false, why: '198.51.100.0/24 contains 198.51.100.7 but expired at 2026-05-15T00:00:00.000Z' },
      { source: 'list:bad', id: 'userAgents', matched: false, why: 'no pattern matches the User-Agent' },
      {
        source: 'list:good',
        id: 'principals',
        matched: false,
        why: 'no entry for id:wba:https://agent.example#k1, operator:https://agent.example, category:ai-assistant',
      },
      { source: 'rule', id: 'v1-only', matched: false, why: 'route.path /v1/** does not match /health' },
      { source: 'rule', id: 'old', matched: false, why: 'expired at 2026-01-01T00:00:00.000Z' },
      { source: 'rule', id: 'later', matched: false, why: 'not before 2027-01-01T00:00:00.000Z' },
      { source: 'rule', id: 'watch', matched: true, why: 'dry-run: would challenge; recorded in dryRun, does not decide' },
      { source: 'rule', id: 'posts', matched: false, why: 'route.methods POST does not include GET' },
      { source: 'rule', id: 'office', matched: false, why: 'network 10.0.0.0/8 does not contain 198.51.100.7' },
      { source: 'rule', id: 'humans', matched: false, why: 'principal.kind "agent" is not human' },
      { source: 'rule', id: 'unverified', matched: false, why: 'principal.verified is true, the rule wants false' },
      { source: 'rule', id: 'keyed', matched: false, why: 'header x-api-key is absent, the rule wants it present' },
      { source: 'rule', id: 'app', matched: false, why: 'principal.claims.appId (none) is not com.example' },
      { source: 'rule', id: 'agents', matched: false, why: 'principal.via (none) is not web-bot-auth' },
      { source: 'rule', id: 'ops', matched: true, why: 'decides: rate-limit' },
      { source: 'rule', id: 'unreached', matched: false, why: 'not evaluated: decided by rule ops' },
      { source: 'default', id: 'default', matched: false, why: 'not evaluated: decided by rule ops' },
    ]);
  });

  it('names the list entry that decided, and marks the rest as not evaluated', () => {
    const { result, trace } = compiled.explain(context({ ip: '203.0.113.9', principal: { id: 'someone', agent: undefined } }));
    expect(result).toMatchObject({ action: 'deny', source: 'list:bad', match: '203.0.113.0/24' });
    expect(trace.filter((t) => t.matched)).toEqual([{ source: 'list:bad', id: 'networks', matched: true, why: '203.0.113.0/24 contains 203.0.113.9' }]);
    expect(trace.find((t) => t.source === 'list:bad' && t.id === 'userAgents')).toMatchObject({ matched: false, why: 'not evaluated: decided by list:bad networks' });
    expect(trace.at(-1)).toEqual({ source: 'default', id: 'default', matched: false, why: 'not evaluated: decided by list:bad networks' });
  });

  it('shows the default deciding', () => {
    const { result, trace } = compiled.explain(context({ principal: { id: 'x', agent: undefined, via: undefined }, ip: undefined, userAgent: null }));
    expect(result.source).toBe('default');
    expect(trace.find((t) => t.id === 'networks')).toMatchObject({ why: 'no client IP' });
    expect(trace.find((t) => t.id === 'userAgents')).toMatchObject({ why: 'no User-Agent' });
    expect(trace.find((t) => t.id === 'office')).toMatchObject({ why: 'network 10.0.0.0/8: no client IP' });
    expect(trace.find((t) => t.source === 'category')).toEqual({
      source: 'category',
      id: 'x',
      matched: false,
      why: 'no categories entry for the principal id, agent or issuer',
    });
    expect(trace.at(-1)).toEqual({ source: 'default', id: 'default', matched: true, why: 'no list entry or rule decided: deny' });
  });

  it('shows a trust verdict deciding before the lists', () => {
    const flipped = compilePolicy({
      metadata: { version: 1 },
      categories: { 'https://agent.example': { trust: 'bad' }, 'wba:https://agent.example#k1': { categories: ['x'] } },
      lists: { good: { principals: ['operator:https://agent.example'] } },
      rules: [{ id: 'r', action: 'allow' }],
      default: { action: 'allow' },
    });
    const { result, trace } = flipped.explain(context());
    expect(result).toMatchObject({ action: 'deny', source: 'category', match: 'https://agent.example', categories: ['x'] });
    expect(trace).toEqual([
      { source: 'category', id: 'wba:https://agent.example#k1', matched: true, why: 'entry for the principal id: categories [x]' },
      { source: 'category', id: 'https://agent.example', matched: true, why: 'entry for the agent: trust bad: deny' },
      { source: 'list:good', id: 'principals', matched: false, why: 'not evaluated: decided by category https://agent.example (trust bad)' },
      { source: 'rule', id: 'r', matched: false, why: 'not evaluated: decided by category https://agent.example (trust bad)' },
      { source: 'default', id: 'default', matched: false, why: 'not evaluated: decided by category https://agent.example (trust bad)' },
    ]);
  });

  it('describes principal and operator mismatches', () => {
    const small = compilePolicy({
      metadata: { version: 1 },
      rules: [
        { id: 'ids', match: { principal: { id: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] } }, action: 'deny' },
        { id: 'op', match: { principal: { operator: 'https://x.example' } }, action: 'deny' },
        { id: 'cats', match: { principal: { categories: ['search-engine'] } }, action: 'deny' },
      ],
      default: { action: 'allow' },
    });
    const { trace } = small.explain(context({ principal: { id: 'z', agent: 'https://y.example' } }));
    expect(trace.map((t) => t.why)).toEqual([
      'principal.id "z" is not a, b, c, d, e, … (7 in all)',
      'operator (agent "https://y.example", issuer (none)) is not https://x.example',
      'principal.categories [] include none of search-engine',
      'no list entry or rule decided: allow',
    ]);
  });
});
