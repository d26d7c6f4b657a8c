import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { compilePolicy, PolicyError } from '../../src/policy/compile.js';
import { validatePolicy } from '../../src/policy/validate.js';
import type { PolicyContext } from '../../src/policy/types.js';
import { anyString, ipLike, printable } from './arbitraries.js';
import { fuzz, TIMEOUT } from './settings.js';

/**
 * Policy documents (src/policy/validate.ts, compile.ts): any value at all either compiles or is
 * refused with a PolicyError (`ERR_POLICY_INVALID`, with problems that each name a JSON pointer and
 * say what is wrong) — never another exception. Whatever compiles evaluates any request context
 * without throwing, to one of the documented actions.
 */

const ACTIONS = ['allow', 'deny', 'challenge', 'rate-limit', 'monitor'];

/** Values close to what the schema allows, with a share of near misses, so that runs reach compile. */
const text = fc.oneof({ weight: 12, arbitrary: printable(12).filter((t) => t.length > 0) }, { weight: 1, arbitrary: anyString(12) }, { weight: 1, arbitrary: fc.constantFrom('', '__proto__', 'constructor', 'x'.repeat(3000)) });
const maybeWrong = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 40, arbitrary: arb as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 1 }), text) });
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(maybeWrong(arb), { nil: undefined, freq: 3 });
const oneOrMany = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 8, arbitrary: fc.oneof(arb, fc.array(arb, { minLength: 1, maxLength: 3 })) }, { weight: 1, arbitrary: fc.constant([]) });
/** Mostly one of the valid values, sometimes one of the invalid ones. */
const mostly = <T>(valid: readonly T[], invalid: readonly T[]) => fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: fc.constantFrom(...invalid) });

const time = fc.oneof(
  { weight: 3, arbitrary: fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()) },
  fc.constantFrom('2026-10-07', '2026-10-07T12:00:00Z', '2026-10-07T12:00:00+02:00', '2026-02-30', '2026-10-07T12:00:00', '2026-13-01', '1999-01-01T00:00:00.123456789Z', '9999-12-31'),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  text,
);
const duration = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(fc.constantFrom('1s', '500ms', '1m', '1h', '1d', '1.5m'), fc.integer({ min: 1, max: 86_400 })) },
  fc.constantFrom('0s', '0.0001ms', ' 1m', '1 m', '1e3s', '999999999999999999999d', 1e308, 5e-324),
  fc.double(),
  fc.integer(),
);
const network = fc.oneof({ weight: 3, arbitrary: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('10.0.0.0/8', '2001:db8::/32')) }, ipLike, fc.tuple(ipLike, fc.integer({ min: -1, max: 130 })).map(([ip, bits]) => `${ip}/${bits}`), fc.constantFrom('10.0.0.0/8', '::/0', '0.0.0.0/0', '10.0.0.1/8', '::ffff:10.0.0.0/104', '1.2.3.4/033'));
const pathPattern = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('/', '/v1/**', '/feeds/:id', '/a/*/b') }, fc.constantFrom('/', '/v1/**', '/feeds/:id', '/a/*/b', '/**', '/**/x', 'v1', '/a/**/**', '//', '/A/B/'), text.map((t) => `/${t}`));
const selector = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('id', 'operator', 'category', 'thumbprint', 'app'), text).map(([k, v]) => `${k}:${v}`) },
  fc.tuple(fc.constantFrom('ID', 'nope', ''), text).map(([k, v]) => `${k}:${v}`),
  text,
);
const userAgent = fc.oneof(fc.constantFrom('*', '**', 'curl/*', '*bot*', 'a*b*c', '*(compatible;*'), text);
const listEntry = <T>(value: fc.Arbitrary<T>) => fc.oneof(maybeWrong(value), fc.record({ value: maybeWrong(value), expiresAt: optional(time), comment: optional(text) }, { requiredKeys: ['value'] }));
const lists = fc.record(
  { principals: optional(fc.array(listEntry(selector), { maxLength: 4 })), networks: optional(fc.array(listEntry(network), { maxLength: 4 })), userAgents: optional(fc.array(listEntry(userAgent), { maxLength: 4 })) },
  { requiredKeys: [] },
);
const rateLimit = fc.record(
  {
    algorithm: optional(fc.constantFrom('gcra', 'sliding-window')),
    limit: maybeWrong(fc.integer({ min: 1, max: 1_000_000_000 })),
    period: maybeWrong(duration),
    burst: optional(fc.integer({ min: 1, max: 1_000_000_000 })),
    key: optional(mostly(['principal', 'ip', 'token', 'header:x-api-key'], ['header:X', 'header:'])),
    ipv6Prefix: optional(fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 128 }) }, fc.constantFrom(0, 129))),
  },
  { requiredKeys: ['limit', 'period'] },
);
const rule = fc.record(
  {
    id: maybeWrong(fc.oneof({ weight: 12, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,8}$/) }, fc.constantFrom('default', 'r1'))),
    action: maybeWrong(fc.constantFrom(...ACTIONS)),
    match: optional(
      fc.record(
        {
          principal: optional(
            fc.record(
              {
                id: optional(oneOrMany(text)),
                kind: optional(oneOrMany(fc.constantFrom('app', 'agent', 'service', 'anonymous'))),
                verified: optional(fc.boolean()),
                via: optional(oneOrMany(text)),
                operator: optional(oneOrMany(text)),
                categories: optional(oneOrMany(text)),
                claims: optional(fc.dictionary(text, fc.oneof(text, fc.double(), fc.boolean(), fc.array(fc.oneof(text, fc.integer(), fc.boolean()), { maxLength: 3 })), { maxKeys: 3 })),
              },
              { requiredKeys: [] },
            ),
          ),
          route: optional(fc.record({ path: optional(oneOrMany(pathPattern)), methods: optional(fc.array(mostly(['GET', 'post', 'M-SEARCH'], ['G ET', '']), { minLength: 1, maxLength: 3 })) }, { requiredKeys: [] })),
          network: optional(fc.array(network, { minLength: 1, maxLength: 3 })),
          headers: optional(fc.dictionary(mostly(['x-api-key', 'user-agent', '__proto__'], ['X-Upper', 'a b']), fc.boolean(), { maxKeys: 3 })),
        },
        { requiredKeys: [] },
      ),
    ),
    rateLimit: optional(rateLimit),
    require: optional(fc.constantFrom('attestation', 'signature', 'either', 'none')),
    mode: optional(fc.constantFrom('enforce', 'dry-run')),
    notBefore: optional(time),
    expiresAt: optional(time),
    comment: optional(text),
  },
  { requiredKeys: ['id', 'action'] },
);

const document = fc.record(
  {
    $schema: optional(text),
    metadata: maybeWrong(fc.record({ version: maybeWrong(fc.oneof({ weight: 20, arbitrary: fc.nat() }, fc.constant(Number.MAX_SAFE_INTEGER + 2))), name: optional(text), updatedAt: optional(time) }, { requiredKeys: ['version'] })),
    lists: optional(fc.record({ bad: optional(lists), good: optional(lists) }, { requiredKeys: [] })),
    categories: optional(fc.dictionary(text, fc.record({ categories: optional(fc.array(text, { maxLength: 3 })), trust: optional(mostly(['good', 'bad'], ['meh'])) }, { requiredKeys: [] }), { maxKeys: 3 })),
    rules: optional(fc.array(rule, { maxLength: 5 })),
    default: maybeWrong(fc.record({ action: maybeWrong(fc.constantFrom('allow', 'deny', 'challenge')), rateLimit: optional(rateLimit) }, { requiredKeys: ['action'] })),
  },
  { requiredKeys: ['metadata', 'default'] },
);

/** Values that are not plain JSON at all, or that fight back. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true, withNullPrototype: true, withObjectString: true }),
  fc.constant(
    new Proxy({}, {
      ownKeys: () => {
        throw new Error('ownKeys');
      },
    }),
  ),
  fc.constant({ metadata: { version: 1 }, default: { action: 'allow' }, toJSON: () => { throw new Error('toJSON'); } }),
  fc.constant(Object.defineProperty({ metadata: { version: 1 } }, 'default', { enumerable: true, get: () => { throw new Error('getter'); } })),
  fc.constant((() => {
    const cyclic: Record<string, unknown> = { metadata: { version: 1 }, default: { action: 'allow' } };
    cyclic.self = cyclic;
    return cyclic;
  })()),
  fc.constant(JSON.parse('{"metadata":{"version":1},"default":{"action":"allow"},"__proto__":{"rules":[]}}')),
  fc.constant(JSON.parse('{"metadata":{"version":1},"default":{"action":"allow"},"categories":{"__proto__":{"trust":"bad"}}}')),
  fc.constant(JSON.parse(`${'['.repeat(5000)}${']'.repeat(5000)}`)),
);

/** compilePolicy's contract: a CompiledPolicy, or a PolicyError with problems. Anything else fails the test. */
function compileOrRefuse(doc: unknown): ReturnType<typeof compilePolicy> | PolicyError {
  try {
    return compilePolicy(doc);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw new Error(`compilePolicy threw ${String(error)} instead of a PolicyError`);
    expect(error.code).toBe('ERR_POLICY_INVALID');
    expect(error.problems.length).toBeGreaterThan(0);
    for (const problem of error.problems) {
      expect(typeof problem.path).toBe('string');
      expect(problem.path === '' || problem.path.startsWith('/')).toBe(true);
      expect(typeof problem.message).toBe('string');
      expect(problem.message.length).toBeGreaterThan(0);
    }
    return error;
  }
}

const context: fc.Arbitrary<PolicyContext> = fc.record({
  principal: fc.record({
    id: fc.oneof(fc.constantFrom('anonymous', 'app:approov', 'agent:x'), text),
    kind: fc.constantFrom('app', 'agent', 'service', 'anonymous'),
    verified: fc.boolean(),
    via: fc.option(text, { nil: undefined }),
    agent: fc.option(text, { nil: undefined }),
    issuer: fc.option(text, { nil: undefined }),
    keyid: fc.option(text, { nil: undefined }),
    claims: fc.option(fc.dictionary(text, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }), { nil: undefined }),
  }) as fc.Arbitrary<PolicyContext['principal']>,
  proven: fc.record({ attestation: fc.boolean(), signature: fc.boolean() }) as fc.Arbitrary<PolicyContext['proven']>,
  method: fc.constantFrom('GET', 'POST', 'M-SEARCH'),
  path: fc.oneof(fc.constantFrom('/', '/v1/x', '/feeds/1/2'), text.map((t) => `/${t}`)),
  ip: fc.option(ipLike, { nil: undefined }),
  userAgent: fc.option(anyString(40), { nil: null }),
  hasHeader: fc.func(fc.boolean()),
  now: fc.integer({ min: 0, max: 4_102_444_800_000 }),
});

describe('fuzz: policy documents', () => {
  it(
    'arbitrary JSON: compiles, or is refused with a PolicyError — never another exception',
    () => {
      fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (doc) => void compileOrRefuse(doc)), fuzz(2));
    },
    TIMEOUT,
  );

  it(
    'values that are not JSON or that throw: refused with a PolicyError',
    () => {
      fc.assert(fc.property(hostile, (doc) => void compileOrRefuse(doc)), fuzz(0.5));
    },
    TIMEOUT,
  );

  it(
    'schema-shaped documents: validate and compile agree, and what compiles evaluates any context',
    () => {
      fc.assert(
        fc.property(document, fc.array(context, { minLength: 1, maxLength: 3 }), (doc, contexts) => {
          const valid = validatePolicy(doc).ok;
          const compiled = compileOrRefuse(doc);
          expect(compiled instanceof PolicyError).toBe(!valid);
          if (compiled instanceof PolicyError) return;
          for (const c of contexts) {
            const result = compiled.evaluate(c);
            expect(ACTIONS).toContain(result.action);
            const explained = compiled.explain(c);
            expect(explained.result.action).toBe(result.action);
          }
        }),
        fuzz(2),
      );
    },
    TIMEOUT,
  );

  it(
    'guard.policy.update never throws: it applies or refuses with a code',
    () => {
      const guard = createGuard({ attestation: { approov: { secret: 'a'.repeat(44) } }, policy: { metadata: { version: 0 }, default: { action: 'allow' } }, now: () => 0 });
      fc.assert(
        fc.property(fc.oneof(document, fc.jsonValue({ maxDepth: 3 }), hostile), (doc) => {
          const result = guard.policy!.update(doc as never);
          if (!result.ok) expect(['ERR_POLICY_INVALID', 'ERR_POLICY_STALE']).toContain(result.code);
        }),
        fuzz(1),
      );
    },
    TIMEOUT,
  );
});
