import { describe, expect, it } from 'vitest';
import { MAX_PROBLEMS, parseIsoTime, parseSelector, validatePolicy, type PolicyProblem } from '../../src/policy/validate.js';

const minimal = { metadata: { version: 1 }, default: { action: 'allow' } };

/** The problems for `doc` (failing the test if it validates). */
function problems(doc: unknown): PolicyProblem[] {
  const result = validatePolicy(doc);
  if (result.ok) throw new Error('expected the document to be invalid');
  return result.problems;
}

function withRules(...rules: unknown[]): Record<string, unknown> {
  return { ...minimal, rules };
}

describe('validatePolicy: valid documents', () => {
  it('accepts the minimal document and returns a JSON copy', () => {
    const input = { ...minimal, metadata: { version: 1, comment: undefined } };
    const result = validatePolicy(input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.document).toEqual(minimal);
    expect(result.document).not.toBe(input);
  });

  it('accepts a full document', () => {
    const result = validatePolicy({
      $schema: 'https://example.com/policy.schema.json',
      metadata: { version: 42, name: 'prod', updatedAt: '2026-09-30T12:00:00Z', updatedBy: 'alice@example.com', comment: 'INC-123' },
      lists: {
        bad: {
          principals: ['id:wba:https://scraper.example', { value: 'operator:https://bad.example', expiresAt: '2026-10-07T00:00:00Z', comment: 'temp' }],
          networks: ['203.0.113.0/24', '2001:db8::/32', '::ffff:198.51.100.0/120', '192.0.2.1'],
          userAgents: ['*BadBot/*', 'curl/*'],
        },
        good: { principals: ['category:search-engine', 'thumbprint:abc', 'app:com.example.ios'] },
      },
      categories: { 'https://agent.example.net': { categories: ['ai-assistant'], trust: 'bad' } },
      rules: [
        {
          id: 'mobile-app-attested',
          match: {
            route: { path: '/v1/**', methods: ['GET', 'POST'] },
            principal: { via: 'approov', claims: { appId: ['com.example.ios', 'com.example.android'], level: 3, ok: true } },
            network: ['10.0.0.0/8'],
            headers: { 'x-api-key': true, cookie: false },
          },
          action: 'allow',
          rateLimit: { algorithm: 'sliding-window', limit: 120, period: '1m', key: 'ip', ipv6Prefix: 56 },
          require: 'attestation',
          mode: 'dry-run',
          notBefore: '2026-01-01',
          expiresAt: '2026-12-31T23:59:59.999+02:00',
          comment: 'x',
        },
        { id: 'limit', action: 'rate-limit', rateLimit: { limit: 10, period: 60, burst: 20, key: 'header:x-api-key' } },
      ],
      default: { action: 'challenge', rateLimit: { limit: 1000, period: '1h' } },
    });
    expect(result).toMatchObject({ ok: true });
  });
});

describe('validatePolicy: schema problems, with their paths', () => {
  it('a wrong action → /rules/0/action, listing the allowed ones', () => {
    const found = problems(withRules({ id: 'r', action: 'block' }));
    expect(found).toEqual([{ path: '/rules/0/action', message: expect.stringContaining('must be one of "allow", "deny", "challenge", "rate-limit", "monitor", got "block"') }]);
  });

  it('a missing default → the root, saying what it is for', () => {
    const found = problems({ metadata: { version: 1 } });
    expect(found).toEqual([{ path: '', message: expect.stringMatching(/missing required property `default`: what happens to a request/) }]);
  });

  it('a missing version and a wrong type', () => {
    expect(problems({ metadata: {}, default: { action: 'allow' } })).toEqual([{ path: '/metadata', message: expect.stringContaining('`version`') }]);
    expect(problems({ metadata: { version: '1' }, default: { action: 'allow' } })).toEqual([
      { path: '/metadata/version', message: 'must be an integer, got a string ("1")' },
    ]);
  });

  it('an unknown property, with a suggestion', () => {
    const found = problems(withRules({ id: 'r', acton: 'deny' }));
    expect(found).toContainEqual({ path: '/rules/0/acton', message: 'unknown property `acton`; did you mean `action`?' });
    expect(found).toContainEqual({ path: '/rules/0', message: expect.stringContaining('missing required property `action`') });
  });

  it('a non-object document', () => {
    expect(problems(null)).toEqual([{ path: '', message: 'a policy document must be a JSON object, got null' }]);
    expect(problems([minimal])[0]!.path).toBe('');
    expect(problems('{}')[0]!.message).toContain('a string');
  });

  it('a document that is not JSON data', () => {
    const cyclic: Record<string, unknown> = { ...minimal };
    cyclic.self = cyclic;
    expect(problems(cyclic)[0]).toMatchObject({ path: '', message: expect.stringContaining('not plain JSON') });
    expect(problems({ ...minimal, metadata: { version: 10n } })[0]).toMatchObject({ path: '' });
  });

  it('bad rule ids, list entry shapes, header names and rate-limit numbers', () => {
    const found = problems({
      ...minimal,
      lists: { bad: { networks: [5, { value: '10.0.0.0/8', note: 'x' }] } },
      rules: [
        { id: 'has space', action: 'deny' },
        { id: 'h', action: 'deny', match: { headers: { 'X-Upper': true } } },
        { id: 'n', action: 'rate-limit', rateLimit: { limit: 0, period: '1m', burst: 1.5, key: 'cookie' } },
      ],
    });
    expect(found).toEqual(
      expect.arrayContaining([
        { path: '/lists/bad/networks/0', message: 'must be a string or an object, got a number (5)' },
        { path: '/lists/bad/networks/1/note', message: expect.stringContaining('unknown property `note`') },
        { path: '/rules/0/id', message: expect.stringContaining('is not valid: expected 1 to 128 letters') },
        { path: '/rules/1/match/headers/X-Upper', message: 'invalid name `X-Upper`: expected a lower-case header name' },
        { path: '/rules/2/rateLimit/limit', message: expect.stringContaining('must be >= 1') },
        { path: '/rules/2/rateLimit/burst', message: 'must be an integer, got a number (1.5)' },
        { path: '/rules/2/rateLimit/key', message: expect.stringContaining('expected principal, ip, token, or header:') },
      ]),
    );
  });

  it('escapes JSON pointer characters in property names', () => {
    const found = problems({ ...minimal, 'a/b~c': 1 });
    expect(found).toEqual([{ path: '/a~1b~0c', message: expect.stringContaining('unknown property') }]);
  });
});

describe('validatePolicy: checks beyond the schema', () => {
  it('duplicate rule ids, and the reserved id "default"', () => {
    const found = problems(withRules({ id: 'a', action: 'deny' }, { id: 'b', action: 'allow' }, { id: 'a', action: 'allow' }, { id: 'default', action: 'allow' }));
    expect(found).toEqual([
      { path: '/rules/2/id', message: 'duplicate rule id "a" (also at /rules/0); rule ids must be unique' },
      { path: '/rules/3/id', message: expect.stringContaining('reserved') },
    ]);
  });

  it('bad CIDR blocks, in rules and lists', () => {
    const found = problems({
      ...withRules({ id: 'r', action: 'deny', match: { network: ['10.0.0.0/8', '10.0.0.1/8', '300.1.1.1'] } }),
      lists: { good: { networks: [{ value: '2001:db8::/200' }] } },
    });
    expect(found).toEqual([
      { path: '/lists/good/networks/0/value', message: expect.stringContaining('bad prefix length') },
      { path: '/rules/0/match/network/1', message: expect.stringContaining('host bits set; did you mean 10.0.0.0/8?') },
      { path: '/rules/0/match/network/2', message: expect.stringContaining('is not an IPv4 or IPv6 address') },
    ]);
  });

  it('bad route path patterns (string or array)', () => {
    expect(problems(withRules({ id: 'r', action: 'deny', match: { route: { path: 'v1/**' } } }))).toEqual([
      { path: '/rules/0/match/route/path', message: expect.stringContaining('must start with "/"') },
    ]);
    expect(problems(withRules({ id: 'r', action: 'deny', match: { route: { path: ['/ok', '/a/**/b'] } } }))).toEqual([
      { path: '/rules/0/match/route/path/1', message: expect.stringContaining('"**" may only be the last segment') },
    ]);
  });

  it('a rate-limit rule without rateLimit → the rule', () => {
    expect(problems(withRules({ id: 'r', action: 'rate-limit' }))).toEqual([
      { path: '/rules/0', message: expect.stringContaining('needs a `rateLimit`') },
    ]);
  });

  it('bad durations', () => {
    const found = problems({
      ...withRules({ id: 'r', action: 'rate-limit', rateLimit: { limit: 1, period: '1 minute' } }, { id: 's', action: 'allow', rateLimit: { limit: 1, period: 0 } }),
      default: { action: 'allow', rateLimit: { limit: 1, period: '0s' } },
    });
    expect(found).toEqual([
      { path: '/rules/1/rateLimit/period', message: 'must be > 0, got 0' },
      { path: '/rules/0/rateLimit/period', message: expect.stringContaining('"1 minute" is not a positive duration') },
      { path: '/default/rateLimit/period', message: expect.stringContaining('"0s" is not a positive duration') },
    ]);
  });

  it('bad dates, and a window that never opens', () => {
    const found = problems({
      ...withRules(
        { id: 'a', action: 'deny', expiresAt: 'tomorrow' },
        { id: 'b', action: 'deny', notBefore: '2026-02-30' },
        { id: 'c', action: 'deny', expiresAt: '2026-01-01T00:00:00' },
        { id: 'd', action: 'deny', notBefore: '2026-02-01', expiresAt: '2026-01-01' },
      ),
      lists: { bad: { principals: [{ value: 'id:x', expiresAt: '2026-13-01' }] } },
      metadata: { version: 1, updatedAt: 'now' },
    });
    expect(found.map((p) => p.path)).toEqual([
      '/metadata/updatedAt',
      '/lists/bad/principals/0/expiresAt',
      '/rules/0/expiresAt',
      '/rules/1/notBefore',
      '/rules/2/expiresAt',
      '/rules/3/expiresAt',
    ]);
    expect(found[2]!.message).toContain('ISO 8601');
    expect(found[5]!.message).toContain('after notBefore');
  });

  it('bad principal selectors and User-Agent patterns', () => {
    const found = problems({ ...minimal, lists: { bad: { principals: ['bot-1', 'user:x', 'id:'], userAgents: ['ok*', 'caf\u00e9*'] } } });
    expect(found).toEqual([
      { path: '/lists/bad/principals/0', message: expect.stringContaining('not a principal selector: expected id:, operator:, category:, thumbprint:, app:') },
      { path: '/lists/bad/principals/1', message: expect.stringContaining('not a principal selector') },
      { path: '/lists/bad/principals/2', message: expect.stringContaining('not a principal selector') },
      { path: '/lists/bad/userAgents/1', message: expect.stringContaining('printable ASCII') },
    ]);
  });

  it('reports schema and semantic problems together, capped', () => {
    const found = problems({ metadata: { version: 1 }, rules: [{ id: 'a', action: 'rate-limit' }] });
    expect(found.map((p) => p.path)).toEqual(['', '/rules/0']);
    const many = problems({ ...minimal, lists: { bad: { networks: Array.from({ length: 500 }, (_, i) => `bad-${i}`) } } });
    expect(many).toHaveLength(MAX_PROBLEMS);
    expect(many[MAX_PROBLEMS - 1]!.message).toMatch(/…and 401 more problems/);
  });

  it('never throws', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('boom');
        },
      },
    );
    expect(validatePolicy(hostile)).toMatchObject({ ok: false });
    expect(validatePolicy(undefined)).toMatchObject({ ok: false });
  });
});

describe('helpers', () => {
  it('parseIsoTime: dates and zoned date-times only', () => {
    expect(parseIsoTime('2026-10-07')).toBe(Date.UTC(2026, 9, 7));
    expect(parseIsoTime('2026-10-07T12:30:00Z')).toBe(Date.UTC(2026, 9, 7, 12, 30));
    expect(parseIsoTime('2026-10-07T12:30Z')).toBe(Date.UTC(2026, 9, 7, 12, 30));
    expect(parseIsoTime('2026-10-07T12:30:00.5+02:00')).toBe(Date.UTC(2026, 9, 7, 10, 30, 0, 500));
    for (const bad of ['2026-10-07T12:30:00', '2026-02-29', '2026-10-07T24:00:00Z', '07/10/2026', '2026-10-07 12:30Z', '']) {
      expect(parseIsoTime(bad), bad).toBeUndefined();
    }
    expect(parseIsoTime('2028-02-29')).toBe(Date.UTC(2028, 1, 29));
  });

  it('parseSelector', () => {
    expect(parseSelector('id:wba:https://x#y')).toEqual({ kind: 'id', value: 'wba:https://x#y' });
    expect(parseSelector('operator:https://x')).toEqual({ kind: 'operator', value: 'https://x' });
    expect(parseSelector('nope:x')).toBeUndefined();
    expect(parseSelector(':x')).toBeUndefined();
  });
});
