import { describe, expect, it } from 'vitest';
import { compilePathPattern } from '../../src/lib/path-pattern.js';
import { compilePolicy, compileRoute } from '../../src/policy/compile.js';
import { matchRoute, splitPath } from '../../src/policy/evaluate.js';
import type { PolicyContext, PolicyDocument, PolicyRule } from '../../src/policy/types.js';

type Principal = PolicyContext['principal'];

const NOW = Date.parse('2026-06-01T00:00:00Z');

function context(
  options: { principal?: Partial<Principal>; method?: string; path?: string; ip?: string; userAgent?: string | null; headers?: string[]; now?: number } = {},
): PolicyContext {
  const headers = new Set(options.headers ?? []);
  return {
    principal: { id: 'anonymous', kind: 'unknown', verified: false, ...options.principal },
    proven: { attestation: false, signature: false },
    method: options.method ?? 'GET',
    path: options.path ?? '/',
    ip: 'ip' in options ? options.ip : '198.51.100.1',
    userAgent: options.userAgent === undefined ? 'Mozilla/5.0' : options.userAgent,
    hasHeader: (name) => headers.has(name),
    now: options.now ?? NOW,
  };
}

function policy(parts: Partial<PolicyDocument> = {}): ReturnType<typeof compilePolicy> {
  return compilePolicy({ metadata: { version: 1 }, default: { action: 'allow' }, ...parts });
}

function rules(...list: PolicyRule[]): ReturnType<typeof compilePolicy> {
  return policy({ rules: list });
}

describe('default', () => {
  it('decides when nothing else does, with its rate limit', () => {
    const result = policy({ default: { action: 'challenge', rateLimit: { limit: 100, period: '1m' } } }).evaluate(context());
    expect(result).toEqual({
      action: 'challenge',
      source: 'default',
      match: null,
      rateLimit: { id: 'default', algorithm: 'gcra', limit: 100, periodMs: 60_000, burst: 100, key: 'principal', ipv6Prefix: 64 },
      require: undefined,
      dryRun: [],
      categories: [],
    });
  });

  it('reuses one frozen empty dryRun array', () => {
    const compiled = policy();
    const a = compiled.evaluate(context());
    const b = compiled.evaluate(context());
    expect(a.dryRun).toBe(b.dryRun);
    expect(Object.isFrozen(a.dryRun)).toBe(true);
  });
});

describe('precedence', () => {
  const doc: Partial<PolicyDocument> = {
    lists: {
      bad: { principals: ['id:both', 'id:bad'] },
      good: { principals: ['id:both', 'id:good', 'id:flipped', 'id:flipped-good'] },
    },
    categories: {
      flipped: { trust: 'bad' },
      'flipped-good': { trust: 'good' },
      'bad-and-good-category': { trust: 'good' },
    },
    rules: [{ id: 'deny-all', action: 'deny' }],
    default: { action: 'challenge' },
  };
  const compiled = policy(doc);
  const decide = (id: string) => compiled.evaluate(context({ principal: { id } }));

  it('bad list beats good list', () => {
    expect(decide('both')).toMatchObject({ action: 'deny', source: 'list:bad', match: 'id:both' });
  });

  it('good list beats rules', () => {
    expect(decide('good')).toMatchObject({ action: 'allow', source: 'list:good', match: 'id:good', rateLimit: undefined, require: undefined });
  });

  it('rules beat default', () => {
    expect(decide('other')).toMatchObject({ action: 'deny', source: 'rule', match: 'deny-all' });
    expect(policy({ ...doc, rules: [] }).evaluate(context({ principal: { id: 'other' } }))).toMatchObject({ action: 'challenge', source: 'default' });
  });

  it('a bad category verdict beats a good list entry', () => {
    expect(decide('flipped')).toMatchObject({ action: 'deny', source: 'category', match: 'flipped' });
  });

  it('a good category verdict beats rules but not the bad list', () => {
    expect(decide('flipped-good')).toMatchObject({ action: 'allow', source: 'category', match: 'flipped-good' });
    const withBad = policy({ ...doc, lists: { bad: { principals: ['id:flipped-good'] } } });
    expect(withBad.evaluate(context({ principal: { id: 'flipped-good' } }))).toMatchObject({ action: 'deny', source: 'list:bad' });
  });
});

describe('categories', () => {
  const compiled = policy({
    categories: {
      'https://agent.example': { categories: ['ai-assistant'], trust: 'bad' },
      'wba:https://agent.example#good-key': { categories: ['ai-search'], trust: 'good' },
      'wba:https://agent.example#plain-key': { categories: ['monitor'] },
      'https://issuer.example': { categories: ['mobile'], trust: 'good' },
    },
    rules: [{ id: 'ai', match: { principal: { categories: ['ai-assistant', 'ai-crawler'] } }, action: 'challenge' }],
  });

  it('by operator: the agent origin', () => {
    const result = compiled.evaluate(context({ principal: { id: 'wba:https://agent.example#k', agent: 'https://agent.example' } }));
    expect(result).toMatchObject({ action: 'deny', source: 'category', match: 'https://agent.example', categories: ['ai-assistant'] });
  });

  it('an entry for the principal id overrides its operator, field by field', () => {
    const good = compiled.evaluate(context({ principal: { id: 'wba:https://agent.example#good-key', agent: 'https://agent.example' } }));
    expect(good).toMatchObject({ action: 'allow', source: 'category', match: 'wba:https://agent.example#good-key', categories: ['ai-search'] });
    // Categories from the id entry, trust (none there) from the operator entry.
    const plain = compiled.evaluate(context({ principal: { id: 'wba:https://agent.example#plain-key', agent: 'https://agent.example' } }));
    expect(plain).toMatchObject({ action: 'deny', source: 'category', match: 'https://agent.example', categories: ['monitor'] });
  });

  it('by issuer', () => {
    expect(compiled.evaluate(context({ principal: { id: 'app:1', issuer: 'https://issuer.example' } }))).toMatchObject({ action: 'allow', categories: ['mobile'] });
  });

  it('categories feed rules', () => {
    const ruled = policy({ categories: { x: { categories: ['ai-crawler'] } }, rules: [{ id: 'ai', match: { principal: { categories: 'ai-crawler' } }, action: 'challenge' }] });
    expect(ruled.evaluate(context({ principal: { id: 'x' } }))).toMatchObject({ action: 'challenge', match: 'ai', categories: ['ai-crawler'] });
    expect(ruled.evaluate(context({ principal: { id: 'y' } }))).toMatchObject({ source: 'default', categories: [] });
  });
});

describe('list selectors', () => {
  const compiled = policy({
    categories: { 'cat-member': { categories: ['scraper'] } },
    lists: {
      bad: {
        principals: ['id:the-id', 'operator:https://op.example', 'operator:https://iss.example', 'category:scraper', 'thumbprint:NzbLsXh8', 'app:com.bad.app'],
      },
    },
  });
  const deny = (principal: Partial<Principal>) => compiled.evaluate(context({ principal }));

  it.each([
    [{ id: 'the-id' }, 'id:the-id'],
    [{ agent: 'https://op.example' }, 'operator:https://op.example'],
    [{ issuer: 'https://iss.example' }, 'operator:https://iss.example'],
    [{ id: 'cat-member' }, 'category:scraper'],
    [{ keyid: 'NzbLsXh8' }, 'thumbprint:NzbLsXh8'],
    [{ appId: 'com.bad.app' }, 'app:com.bad.app'],
  ])('%j → %s', (principal, entry) => {
    expect(deny(principal)).toMatchObject({ action: 'deny', source: 'list:bad', match: entry });
  });

  it('does not confuse kinds', () => {
    expect(deny({ id: 'https://op.example' })).toMatchObject({ source: 'default' });
    expect(deny({ appId: 'the-id', keyid: 'com.bad.app' })).toMatchObject({ source: 'default' });
  });
});

describe('list networks and User-Agents', () => {
  const compiled = policy({
    lists: {
      bad: { networks: ['203.0.113.0/24', '2001:db8:bad::/48'], userAgents: ['*BadBot*', 'curl/*'] },
      good: { networks: ['192.0.2.0/24', '::ffff:198.18.0.0/111'], userAgents: ['*GoodBot/*'] },
    },
  });
  const decide = (ip: string | undefined, userAgent: string | null = 'Mozilla/5.0') => compiled.evaluate(context({ ip, userAgent }));

  it('IPv4, IPv6 and IPv4-mapped addresses', () => {
    expect(decide('203.0.113.9')).toMatchObject({ action: 'deny', match: '203.0.113.0/24' });
    expect(decide('::ffff:203.0.113.9')).toMatchObject({ action: 'deny', match: '203.0.113.0/24' });
    expect(decide('2001:db8:bad:1::7')).toMatchObject({ action: 'deny', match: '2001:db8:bad::/48' });
    expect(decide('2001:db8:bae::1')).toMatchObject({ source: 'default' });
    expect(decide('192.0.2.77')).toMatchObject({ action: 'allow', source: 'list:good', match: '192.0.2.0/24' });
    expect(decide('198.19.1.1')).toMatchObject({ action: 'allow', match: '::ffff:198.18.0.0/111' });
  });

  it('no or unparsable IP matches no network', () => {
    expect(decide(undefined)).toMatchObject({ source: 'default' });
    expect(decide('not-an-ip')).toMatchObject({ source: 'default' });
  });

  it('User-Agent patterns, case-insensitive; no User-Agent matches none', () => {
    expect(decide('198.51.100.1', 'Mozilla/5.0 (compatible; badbot/2.1)')).toMatchObject({ action: 'deny', match: '*BadBot*' });
    expect(decide('198.51.100.1', 'curl/8.6.0')).toMatchObject({ action: 'deny', match: 'curl/*' });
    expect(decide('198.51.100.1', 'GoodBot/1.0 (+https://good.example)')).toMatchObject({ action: 'allow', match: '*GoodBot/*' });
    expect(decide('198.51.100.1', null)).toMatchObject({ source: 'default' });
  });
});

describe('time windows', () => {
  const at = (iso: string) => Date.parse(iso);

  it('rules outside notBefore/expiresAt are skipped (boundaries included/excluded)', () => {
    const compiled = rules(
      { id: 'temporary', action: 'deny', notBefore: '2026-06-01T00:00:00Z', expiresAt: '2026-06-08T00:00:00Z' },
      { id: 'fallback', action: 'challenge' },
    );
    expect(compiled.evaluate(context({ now: at('2026-05-31T23:59:59.999Z') }))).toMatchObject({ match: 'fallback' });
    expect(compiled.evaluate(context({ now: at('2026-06-01T00:00:00Z') }))).toMatchObject({ match: 'temporary' });
    expect(compiled.evaluate(context({ now: at('2026-06-07T23:59:59.999Z') }))).toMatchObject({ match: 'temporary' });
    expect(compiled.evaluate(context({ now: at('2026-06-08T00:00:00Z') }))).toMatchObject({ match: 'fallback' });
  });

  it('list entries with a past expiresAt are ignored, for every kind of entry', () => {
    const compiled = policy({
      lists: {
        bad: {
          principals: [{ value: 'id:temp', expiresAt: '2026-06-02T00:00:00Z' }, 'id:perm', { value: 'id:perm', expiresAt: '2000-01-01' }],
          networks: [{ value: '203.0.113.0/24', expiresAt: '2026-06-02' }],
          userAgents: [{ value: '*scraper*', expiresAt: '2026-06-02' }],
        },
      },
    });
    const before = at('2026-06-01T12:00:00Z');
    const after = at('2026-06-02T00:00:00Z');
    expect(compiled.evaluate(context({ principal: { id: 'temp' }, now: before }))).toMatchObject({ action: 'deny' });
    expect(compiled.evaluate(context({ principal: { id: 'temp' }, now: after }))).toMatchObject({ source: 'default' });
    expect(compiled.evaluate(context({ principal: { id: 'perm' }, now: after }))).toMatchObject({ action: 'deny' });
    expect(compiled.evaluate(context({ ip: '203.0.113.1', now: before }))).toMatchObject({ action: 'deny' });
    expect(compiled.evaluate(context({ ip: '203.0.113.1', now: after }))).toMatchObject({ source: 'default' });
    expect(compiled.evaluate(context({ userAgent: 'a scraper', now: before }))).toMatchObject({ action: 'deny' });
    expect(compiled.evaluate(context({ userAgent: 'a scraper', now: after }))).toMatchObject({ source: 'default' });
  });
});

describe('dry-run', () => {
  it('records what a matching dry-run rule would do and goes on', () => {
    const compiled = rules(
      { id: 'new-block', action: 'deny', mode: 'dry-run', match: { route: { path: '/v1/**' } } },
      { id: 'new-limit', action: 'rate-limit', mode: 'dry-run', rateLimit: { limit: 1, period: 1 } },
      { id: 'not-matching', action: 'deny', mode: 'dry-run', match: { route: { path: '/admin/**' } } },
      { id: 'allow-v1', action: 'allow', match: { route: { path: '/v1/**' } } },
      { id: 'after', action: 'deny', mode: 'dry-run' },
    );
    const result = compiled.evaluate(context({ path: '/v1/items' }));
    expect(result).toMatchObject({ action: 'allow', source: 'rule', match: 'allow-v1', rateLimit: undefined });
    expect(result.dryRun).toEqual([
      { rule: 'new-block', wouldAction: 'deny' },
      { rule: 'new-limit', wouldAction: 'rate-limit' },
    ]);
  });

  it('is reported with the default when no enforce rule matches', () => {
    const result = rules({ id: 'watch', action: 'challenge', mode: 'dry-run' }).evaluate(context());
    expect(result).toMatchObject({ source: 'default', dryRun: [{ rule: 'watch', wouldAction: 'challenge' }] });
  });

  it('an expired dry-run rule is not recorded', () => {
    const result = rules({ id: 'watch', action: 'deny', mode: 'dry-run', expiresAt: '2026-01-01' }).evaluate(context());
    expect(result.dryRun).toEqual([]);
  });
});

describe('rule conditions', () => {
  it('principal fields', () => {
    const compiled = rules(
      { id: 'by-id', match: { principal: { id: ['a', 'b'] } }, action: 'deny' },
      { id: 'by-kind-unverified', match: { principal: { kind: ['bot', 'agent'], verified: false } }, action: 'challenge' },
      { id: 'by-via', match: { principal: { via: 'web-bot-auth', verified: true } }, action: 'allow', require: 'signature' },
      { id: 'by-operator', match: { principal: { operator: 'https://op.example' } }, action: 'monitor' },
      { id: 'by-claims', match: { principal: { claims: { appId: ['com.example.ios'], level: 3, beta: true } } }, action: 'allow' },
      { id: 'by-aud', match: { principal: { claims: { aud: 'api' } } }, action: 'allow' },
    );
    const match = (principal: Partial<Principal>) => compiled.evaluate(context({ principal })).match;
    expect(match({ id: 'b' })).toBe('by-id');
    expect(match({ kind: 'bot' })).toBe('by-kind-unverified');
    expect(match({ kind: 'bot', verified: true })).toBe(null);
    expect(match({ via: 'web-bot-auth', verified: true })).toBe('by-via');
    expect(compiled.evaluate(context({ principal: { via: 'web-bot-auth', verified: true } })).require).toBe('signature');
    expect(match({ via: 'web-bot-auth' })).toBe(null);
    expect(match({ agent: 'https://op.example' })).toBe('by-operator');
    expect(match({ issuer: 'https://op.example' })).toBe('by-operator');
    expect(compiled.evaluate(context({ principal: { issuer: 'https://op.example' } })).action).toBe('monitor');
    expect(match({ claims: { appId: 'com.example.ios', level: 3, beta: true } })).toBe('by-claims');
    expect(match({ claims: { appId: 'com.example.ios', level: '3', beta: true } })).toBe(null);
    expect(match({ claims: { appId: 'com.example.ios', level: 3 } })).toBe(null);
    expect(match({ claims: { aud: ['other', 'api'] } })).toBe('by-aud');
    expect(match({ claims: { aud: ['other'] } })).toBe(null);
    expect(match({ claims: Object.create({ aud: 'api' }) as Record<string, unknown> })).toBe(null);
  });

  it('routes: path patterns (case-insensitive, trailing slash) and methods', () => {
    const compiled = rules(
      { id: 'admin', match: { route: { path: ['/admin', '/admin/**'] } }, action: 'deny' },
      { id: 'items-write', match: { route: { path: '/v1/items/:id', methods: ['PUT', 'delete'] } }, action: 'challenge' },
      { id: 'any-health', match: { route: { path: '/*/health' } }, action: 'allow' },
      { id: 'v1', match: { route: { path: '/v1/**' } }, action: 'rate-limit', rateLimit: { limit: 10, period: '1s', key: 'ip', ipv6Prefix: 56 } },
    );
    const match = (path: string, method = 'GET') => compiled.evaluate(context({ path, method })).match;
    expect(match('/admin')).toBe('admin');
    expect(match('/ADMIN/users/')).toBe('admin');
    expect(match('/administrator')).toBe(null);
    expect(match('/v1/items/9', 'PUT')).toBe('items-write');
    expect(match('/v1/items/9', 'delete')).toBe('items-write');
    expect(match('/v1/items/9', 'Delete')).toBe('items-write');
    expect(match('/v1/items/9', 'GET')).toBe('v1');
    expect(match('/v2/health')).toBe('any-health');
    expect(match('/v1/health')).toBe('any-health');
    expect(match('/v1')).toBe('v1');
    expect(match('/')).toBe(null);
    expect(compiled.evaluate(context({ path: '/v1/x' })).rateLimit).toEqual({
      id: 'v1',
      algorithm: 'gcra',
      limit: 10,
      periodMs: 1000,
      burst: 10,
      key: 'ip',
      ipv6Prefix: 56,
    });
  });

  it('networks, IPv4, IPv6 and IPv4-mapped', () => {
    const compiled = rules(
      { id: 'office', match: { network: ['10.0.0.0/8', '2001:db8:1::/48'] }, action: 'allow' },
      { id: 'mapped', match: { network: ['::ffff:172.16.0.0/108'] }, action: 'monitor' },
    );
    const match = (ip: string | undefined) => compiled.evaluate(context({ ip })).match;
    expect(match('10.20.30.40')).toBe('office');
    expect(match('::ffff:10.20.30.40')).toBe('office');
    expect(match('2001:db8:1:ffff::1')).toBe('office');
    expect(match('2001:db8:2::1')).toBe(null);
    expect(match('172.31.255.255')).toBe('mapped');
    expect(match('172.32.0.0')).toBe(null);
    expect(match(undefined)).toBe(null);
  });

  it('headers present and absent', () => {
    const compiled = rules({ id: 'key-no-cookie', match: { headers: { 'x-api-key': true, cookie: false } }, action: 'allow' });
    expect(compiled.evaluate(context({ headers: ['x-api-key'] })).match).toBe('key-no-cookie');
    expect(compiled.evaluate(context({ headers: ['x-api-key', 'cookie'] })).match).toBe(null);
    expect(compiled.evaluate(context()).match).toBe(null);
  });

  it('every condition must hold (AND), each list is OR', () => {
    const compiled = rules({
      id: 'all',
      match: { principal: { kind: ['bot', 'agent'], verified: true }, route: { path: '/v1/**', methods: ['GET'] }, network: ['192.0.2.0/24'] },
      action: 'allow',
    });
    const base = { principal: { kind: 'agent', verified: true }, path: '/v1/x', ip: '192.0.2.1' } as const;
    expect(compiled.evaluate(context(base)).match).toBe('all');
    expect(compiled.evaluate(context({ ...base, principal: { kind: 'human', verified: true } })).match).toBe(null);
    expect(compiled.evaluate(context({ ...base, method: 'POST' })).match).toBe(null);
    expect(compiled.evaluate(context({ ...base, ip: '192.0.3.1' })).match).toBe(null);
    expect(compiled.evaluate(context({ ...base, path: '/v2/x' })).match).toBe(null);
  });

  it('the first matching enforce rule decides', () => {
    const compiled = rules({ id: 'first', action: 'challenge' }, { id: 'second', action: 'deny' });
    expect(compiled.evaluate(context())).toMatchObject({ action: 'challenge', match: 'first' });
  });

  it('rate limit defaults, burst and algorithms', () => {
    const compiled = rules({ id: 'sw', action: 'rate-limit', rateLimit: { algorithm: 'sliding-window', limit: 5, period: 1.5, burst: 9, key: 'header:x-api-key' } });
    expect(compiled.evaluate(context()).rateLimit).toEqual({
      id: 'sw',
      algorithm: 'sliding-window',
      limit: 5,
      periodMs: 1500,
      burst: 9,
      key: 'header:x-api-key',
      ipv6Prefix: 64,
    });
  });
});

describe('the rule index never changes an outcome', () => {
  /** Deterministic PRNG. */
  function random(seed: number): (n: number) => number {
    let state = seed >>> 0;
    return (n) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 8) % n;
    };
  }

  it('agrees with the linear walk of explain on random policies and requests', () => {
    const next = random(7);
    const pick = <T>(values: readonly T[]): T => values[next(values.length)]!;
    const ids = ['a', 'b', 'c', 'd'];
    const operators = ['https://o1.example', 'https://o2.example'];
    const paths = ['/v1/**', '/v1/items/:id', '/v2/*', '/*/x', '/**', '/v1', '/V1/Items/**'];
    const nets = ['10.0.0.0/8', '10.1.0.0/16', '192.0.2.0/24', '2001:db8::/32', '::ffff:10.2.0.0/112'];
    const actions = ['allow', 'deny', 'challenge', 'monitor'] as const;
    for (let round = 0; round < 150; round++) {
      const list: PolicyRule[] = [];
      for (let i = 0, n = 1 + next(25); i < n; i++) {
        const match: NonNullable<PolicyRule['match']> = {};
        const principal: NonNullable<NonNullable<PolicyRule['match']>['principal']> = {};
        if (next(4) === 0) principal.id = next(2) === 0 ? pick(ids) : [pick(ids), pick(ids)];
        if (next(4) === 0) principal.operator = pick(operators);
        if (next(5) === 0) principal.kind = pick(['bot', 'agent']);
        if (next(6) === 0) principal.via = 'web-bot-auth';
        if (next(6) === 0) principal.verified = next(2) === 0;
        if (Object.keys(principal).length > 0) match.principal = principal;
        if (next(3) === 0) match.route = { path: next(2) === 0 ? pick(paths) : [pick(paths), pick(paths)], ...(next(3) === 0 ? { methods: ['GET'] } : {}) };
        if (next(4) === 0) match.network = [pick(nets), ...(next(2) === 0 ? [pick(nets)] : [])];
        list.push({
          id: `r${i}`,
          match,
          action: pick(actions),
          ...(next(5) === 0 ? { mode: 'dry-run' as const } : {}),
          ...(next(8) === 0 ? { expiresAt: '2026-01-01' } : {}),
        });
      }
      const compiled = rules(...list);
      for (let q = 0; q < 20; q++) {
        const ctx = context({
          principal: { id: pick(ids), agent: next(2) === 0 ? pick(operators) : undefined, kind: pick(['bot', 'agent', 'human']), via: pick(['web-bot-auth', undefined]), verified: next(2) === 0 },
          path: pick(['/v1', '/v1/items/3', '/V1/items/3/', '/v2/q', '/v3/x', '/', '/v1/x']),
          method: pick(['GET', 'POST']),
          ip: pick(['10.1.2.3', '10.2.0.9', '::ffff:10.2.0.9', '192.0.2.200', '2001:db8::5', '203.0.113.1', undefined]),
        });
        const { result, trace } = compiled.explain(ctx);
        const deciding = trace.find((t) => t.source === 'rule' && t.why.startsWith('decides'));
        expect(result.match).toBe(deciding?.id ?? null);
        expect(result.dryRun.map((d) => d.rule)).toEqual(trace.filter((t) => t.source === 'rule' && t.why.startsWith('dry-run')).map((t) => t.id));
        expect(compiled.evaluate(ctx)).toEqual(result);
      }
    }
  });
});

describe('route patterns', () => {
  it('the pre-split matcher agrees with compilePathPattern (case-insensitive)', () => {
    let state = 99;
    const next = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 8) % n;
    };
    const patternParts = ['a', 'B', '*', ':id', '', 'ab'];
    const pathParts = ['a', 'A', 'b', 'ab', '', 'x'];
    let checked = 0;
    for (let round = 0; round < 20_000; round++) {
      let source = '';
      for (let i = 0, n = next(4); i < n; i++) source += `/${patternParts[next(patternParts.length)]}`;
      if (next(3) === 0) source += '/**';
      if (source === '' || next(5) === 0) source += '/';
      let path = '';
      for (let i = 0, n = next(5); i < n; i++) path += `/${pathParts[next(pathParts.length)]}`;
      if (path === '' || next(4) === 0) path += '/';
      const reference = compilePathPattern(source, false);
      if (reference === undefined) continue;
      checked++;
      expect(matchRoute(compileRoute(source), splitPath(path)), `${source} vs ${path}`).toBe(reference.match(path));
    }
    expect(checked).toBeGreaterThan(10_000);
  });
});
