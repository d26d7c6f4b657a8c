import { describe, expect, it } from 'vitest';
import { canonicalJson, compilePolicy, PolicyError } from '../../src/policy/compile.js';
import type { PolicyContext } from '../../src/policy/types.js';

const doc = {
  metadata: { version: 3, name: 'prod' },
  lists: { bad: { principals: ['id:x'], networks: ['10.0.0.0/8'] } },
  rules: [{ id: 'r1', action: 'deny', match: { route: { path: '/admin/**', methods: ['GET'] } } }],
  default: { action: 'allow', rateLimit: { limit: 10, period: '1m' } },
};

/** The same content with every object's keys in reverse order. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reversed(v)]),
    );
  }
  return value;
}

describe('compilePolicy', () => {
  it('exposes version, hash and the document', () => {
    const compiled = compilePolicy(doc);
    expect(compiled.version).toBe(3);
    expect(compiled.hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(compiled.document).toEqual(doc);
  });

  it('hash: stable under key reordering', () => {
    const again = reversed(doc);
    expect(JSON.stringify(again)).not.toBe(JSON.stringify(doc));
    expect(compilePolicy(again).hash).toBe(compilePolicy(doc).hash);
  });

  it('hash: different for different content, array order included', () => {
    const base = compilePolicy(doc).hash;
    expect(compilePolicy({ ...doc, metadata: { version: 4, name: 'prod' } }).hash).not.toBe(base);
    expect(compilePolicy({ ...doc, lists: { bad: { principals: ['id:y'], networks: ['10.0.0.0/8'] } } }).hash).not.toBe(base);
    const two = { ...doc, rules: [doc.rules[0], { id: 'r2', action: 'allow' }] };
    const swapped = { ...doc, rules: [{ id: 'r2', action: 'allow' }, doc.rules[0]] };
    expect(compilePolicy(two).hash).not.toBe(compilePolicy(swapped).hash);
  });

  it('hash: undefined members do not count', () => {
    expect(compilePolicy({ ...doc, categories: undefined }).hash).toBe(compilePolicy(doc).hash);
  });

  it('canonicalJson sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}');
  });

  it('throws PolicyError with the problems when invalid', () => {
    let error: unknown;
    try {
      compilePolicy({ metadata: { version: 1 }, rules: [{ id: 'r', action: 'block' }] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyError);
    const policyError = error as PolicyError;
    expect(policyError.code).toBe('ERR_POLICY_INVALID');
    expect(policyError.name).toBe('PolicyError');
    expect(policyError.problems).toEqual([
      { path: '', message: expect.stringContaining('`default`') },
      { path: '/rules/0/action', message: expect.stringContaining('must be one of') },
    ]);
    expect(policyError.message).toMatch(/^invalid policy document: \/: missing required property `default`.*\/rules\/0\/action: must be one of/);
    expect(policyError.message).toContain('ERR_POLICY_INVALID');
  });

  it('PolicyError can say stale', () => {
    const stale = new PolicyError('ERR_POLICY_STALE', [{ path: '/metadata/version', message: 'version 1 is lower than 2' }]);
    expect(stale.code).toBe('ERR_POLICY_STALE');
    expect(stale.message).toContain('stale policy document: /metadata/version: version 1 is lower than 2');
    expect(Object.isFrozen(stale.problems)).toBe(true);
  });

  it('is immutable and detached from the input', () => {
    const input = structuredClone(doc);
    const compiled = compilePolicy(input);
    input.rules[0]!.action = 'allow';
    input.lists.bad.principals.push('id:y');
    expect(compiled.document.rules?.[0]?.action).toBe('deny');
    expect(Object.isFrozen(compiled)).toBe(true);
    expect(Object.isFrozen(compiled.document.rules?.[0])).toBe(true);
    const ctx: PolicyContext = {
      principal: { id: 'y', kind: 'unknown', verified: false },
      proven: { attestation: false, signature: false },
      method: 'GET',
      path: '/admin/x',
      ip: undefined,
      userAgent: null,
      hasHeader: () => false,
      now: 0,
    };
    expect(compiled.evaluate(ctx)).toMatchObject({ action: 'deny', source: 'rule', match: 'r1' });
  });

  it('evaluate and explain work unbound', () => {
    const { evaluate, explain } = compilePolicy(doc);
    const ctx: PolicyContext = {
      principal: { id: 'x', kind: 'unknown', verified: false },
      proven: { attestation: false, signature: false },
      method: 'GET',
      path: '/',
      ip: undefined,
      userAgent: null,
      hasHeader: () => false,
      now: 0,
    };
    expect(evaluate(ctx).source).toBe('list:bad');
    expect(explain(ctx).result.source).toBe('list:bad');
  });

  it('compiles a large document', () => {
    const big = {
      metadata: { version: 1 },
      lists: {
        bad: {
          principals: Array.from({ length: 20_000 }, (_, i) => `id:bot-${i}`),
          networks: Array.from({ length: 5_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
          userAgents: Array.from({ length: 2_000 }, (_, i) => `*scraper-${i}/*`),
        },
      },
      rules: Array.from({ length: 1_000 }, (_, i) => ({ id: `r${i}`, action: 'deny', match: { principal: { id: `p${i}` } } })),
      default: { action: 'allow' },
    };
    const compiled = compilePolicy(big);
    const ctx: PolicyContext = {
      principal: { id: 'p999', kind: 'bot', verified: false },
      proven: { attestation: false, signature: false },
      method: 'GET',
      path: '/',
      ip: '11.0.0.1',
      userAgent: 'Mozilla/5.0 (compatible; scraper-1999/1.0)',
      hasHeader: () => false,
      now: 0,
    };
    expect(compiled.evaluate(ctx)).toMatchObject({ source: 'list:bad', match: '*scraper-1999/*' });
    expect(compiled.evaluate({ ...ctx, userAgent: null })).toMatchObject({ source: 'rule', match: 'r999' });
  });
});
