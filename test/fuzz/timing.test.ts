import { describe, expect, it } from 'vitest';
import { createGuard, type Decision, type GuardRequest } from '../../src/index.js';
import { parseJws } from '../../src/attestation/jws.js';
import { UaPatternSet } from '../../src/lib/ua-pattern.js';
import { normalizePath, normalizeRequest } from '../../src/request.js';
import { agentOf } from '../../src/signatures/signature-agent.js';
import { checkContentDigest } from '../../src/signatures/content-digest.js';
import { componentValue } from '../../src/signatures/components.js';
import { parseComponentId, parseSignatures } from '../../src/signatures/parse.js';
import { reserializeField, tryParseDictionary } from '../../src/signatures/structured-fields.js';
import { ed25519Pair, sign } from '../helpers/http-sig.js';
import { b64u } from './arbitraries.js';
import { settledGrowth } from './timing.js';

/**
 * Property (d): no crafted input makes a check take more than a small multiple of the normal time.
 * For a handful of adversarial shapes (8 KiB – 64 KiB of repeated separators, nested parentheses,
 * many parameters, long strings and escapes), the time at size 4n is compared with the time at n:
 * linear work gives about 4, quadratic work about 16. The bound is a generous 16 because machines are
 * noisy (medians of several alternating samples keep it stable); a quadratic on these sizes lands
 * well above. Only crafted inputs, never random ones: a random string exercises nothing long.
 */

const N = 16 * 1024;
const BOUND = 16;

interface Shape<T> {
  readonly name: string;
  make(size: number): T;
  run(input: T): unknown;
  /** Sizes compared (default N and 4N). */
  readonly sizes?: readonly [number, number];
}

const fill = (unit: string, size: number): string => unit.repeat(Math.max(1, Math.floor(size / unit.length)));
/** The guard refuses these headers above 8 KiB; the parser must be linear beyond that anyway. Other limits as in production. */
const NO_LIMITS = { maxHeaderBytes: 1 << 30 };

const structuredShapes: Shape<string>[] = [
  { name: 'a run of spaces before a member', make: (n) => `${' '.repeat(n)}a=1`, run: tryParseDictionary },
  { name: 'a run of OWS after a member', make: (n) => `a=1${' \t'.repeat(n / 2)}`, run: tryParseDictionary },
  { name: 'repeated separators', make: (n) => fill(', ', n), run: tryParseDictionary },
  { name: 'repeated members (duplicate keys)', make: (n) => `a=1${fill(', a=1', n)}`, run: tryParseDictionary },
  { name: 'many distinct members', make: (n) => Array.from({ length: n / 8 }, (_, i) => `k${i}=?1`).join(', '), run: tryParseDictionary },
  { name: 'nested parentheses', make: (n) => `a=${'('.repeat(n)}`, run: tryParseDictionary },
  { name: 'an inner list of many items', make: (n) => `a=(${fill('"x" ', n)})`, run: tryParseDictionary },
  { name: 'many parameters', make: (n) => `a${fill(';p', n)}`, run: tryParseDictionary },
  { name: 'many distinct parameters', make: (n) => `a${Array.from({ length: n / 8 }, (_, i) => `;p${i}=1`).join('')}`, run: tryParseDictionary },
  { name: 'a long string', make: (n) => `a="${'x'.repeat(n)}"`, run: tryParseDictionary },
  { name: 'a string of escapes', make: (n) => `a="${fill('\\"', n)}"`, run: tryParseDictionary },
  { name: 'a long token', make: (n) => `a=${'t'.repeat(n)}`, run: tryParseDictionary },
  { name: 'a long byte sequence', make: (n) => `a=:${'A'.repeat(n - (n % 4))}:`, run: tryParseDictionary },
  { name: 'many byte sequences', make: (n) => fill('a=:AAAA:, ', n), run: tryParseDictionary },
  { name: 'an unterminated byte sequence', make: (n) => `a=:${'A'.repeat(n)}`, run: tryParseDictionary },
  { name: 'a long display string of escapes', make: (n) => `a=%"${fill('%41', n)}"`, run: tryParseDictionary },
  { name: 'an unknown field re-serialized (three parses)', make: (n) => `${fill('"x";a=1, ', n)}(`, run: (v) => reserializeField('x-unknown', v) },
  { name: 'a list re-serialized', make: (n) => fill('"x";a=1, ', n).slice(0, -2), run: (v) => reserializeField('x-unknown', v) },
];

const signatureShapes: Shape<[string, string]>[] = [
  { name: 'Signature-Input: many labels', make: (n) => [Array.from({ length: n / 24 }, (_, i) => `s${i}=("@method");created=1`).join(', '), 'sig1=:AAAA:'], run: ([i, s]) => parseSignatures(i, s, NO_LIMITS) },
  { name: 'Signature-Input: many components', make: (n) => [`sig1=(${Array.from({ length: n / 8 }, (_, i) => `"h${i}"`).join(' ')});created=1`, 'sig1=:AAAA:'], run: ([i, s]) => parseSignatures(i, s, NO_LIMITS) },
  { name: 'Signature-Input: one component many times', make: (n) => [`sig1=(${fill('"@method" ', n)})`, 'sig1=:AAAA:'], run: ([i, s]) => parseSignatures(i, s, NO_LIMITS) },
  { name: 'Signature-Input: many parameters', make: (n) => [`sig1=()${fill(';created=1', n)}`, 'sig1=:AAAA:'], run: ([i, s]) => parseSignatures(i, s, NO_LIMITS) },
  { name: 'Signature-Input: a component with many parameters', make: (n) => [`sig1=("a"${fill(';sf', n)})`, 'sig1=:AAAA:'], run: ([i, s]) => parseSignatures(i, s, NO_LIMITS) },
  { name: 'Signature: many labels', make: (n) => ['sig1=()', Array.from({ length: n / 16 }, (_, i) => `s${i}=:AAAA:`).join(', ')], run: ([i, s]) => parseSignatures(i, s, NO_LIMITS) },
  { name: 'Signature: a long byte sequence', make: (n) => ['sig1=()', `sig1=:${'A'.repeat(n - (n % 4))}:`], run: ([i, s]) => parseSignatures(i, s, NO_LIMITS) },
];

const otherShapes: Shape<unknown>[] = [
  {
    name: 'Content-Digest: many members, a few supported',
    make: (n) => `sha-256=:${'A'.repeat(43)}=:, ${Array.from({ length: n / 16 }, (_, i) => `x${i}=:AAAA:`).join(', ')}`,
    run: (v) => checkContentDigest(v as string, new Uint8Array(64)),
  },
  {
    name: 'Signature-Agent: a long dictionary (no memo: longer than 512)',
    make: (n) => `${fill('a="https://x.example", ', n)}sig1="https://agent.example"`,
    run: (v) => agentOf(v as string, { label: 'sig1', components: [parseComponentId('"signature-agent";key="sig1"')!] }),
    sizes: [1536, 6144], // the header is refused above 8 KiB
  },
  { name: 'normalizePath: dot segments', make: (n) => fill('/./a/..', n), run: (p) => normalizePath(p as string) },
  { name: 'normalizePath: parent segments', make: (n) => fill('/..', n), run: (p) => normalizePath(p as string) },
  { name: 'normalizePath: escapes', make: (n) => fill('/%2e%2E%41%zz%', n), run: (p) => normalizePath(p as string) },
  {
    name: 'normalizeRequest: a long URL',
    make: (n) => ({ method: 'GET', url: `https://api.example.com${fill('/%2e./a', n)}?${fill('a&', n / 2)}`, headers: {} }),
    run: (r) => normalizeRequest(r as GuardRequest),
    sizes: [2048, 8192], // URLs are refused above 16 KiB
  },
  {
    name: 'parseJws: a huge header and payload',
    make: (n) => `${b64u({ alg: 'HS256', x: 'a'.repeat(n / 2) })}.${b64u({ exp: 1, y: [fill('[', n / 4)] })}.AAAA`,
    run: (t) => parseJws(t as string, new Set(['HS256'])),
  },
  { name: 'parseJws: no dot at all', make: (n) => 'a'.repeat(n), run: (t) => parseJws(t as string, new Set(['HS256'])) },
  { name: 'parseJws: a long signature segment', make: (n) => `${b64u({ alg: 'HS256' })}.${b64u({ exp: 1 })}.${'A'.repeat(n)}`, run: (t) => parseJws(t as string, new Set(['HS256'])) },
  {
    name: 'parseJws: deep JSON nesting',
    make: (n) => `${b64u({ alg: 'HS256' })}.${Buffer.from(`${'['.repeat(n / 2)}${']'.repeat(n / 2)}`).toString('base64url')}.AAAA`,
    run: (t) => parseJws(t as string, new Set(['HS256'])),
  },
];

/** Compiled once: the automaton must stay linear in the User-Agent whatever the patterns. */
const uaSet = new UaPatternSet(['a*a*a*a*a*a*a*c', '*aaaaaaaaaaaaaaac', 'aaaa*aaac*', '*a*b*a*b*c*', 'ab*ba*ab*ba*c', '*abababababac', ...Array.from({ length: 200 }, (_, i) => `*${'a'.repeat(i % 20)}b${i}*`)]);
const uaShapes: Shape<string>[] = [
  { name: 'UA: one repeated letter', make: (n) => 'a'.repeat(n), run: (ua) => uaSet.match(ua) },
  { name: 'UA: an alternating pattern', make: (n) => fill('ab', n), run: (ua) => uaSet.match(ua) },
  { name: 'UA: near misses of every pattern', make: (n) => fill('aaaaaaaaaaaaaaab', n), run: (ua) => uaSet.match(ua) },
];

const componentShapes: Shape<string>[] = [
  { name: 'a covered header: long value', id: '"x-long"', unit: 'a, b' },
  { name: 'a covered header: runs of inner whitespace', id: '"x-long"', unit: 'a \t ' },
  { name: 'a covered header as sf: many members', id: '"x-long";sf', unit: 'a=1, ' },
  { name: 'a covered header as sf: escapes', id: '"x-long";sf', unit: '"\\"", ' },
  { name: 'a covered dictionary member (key)', id: '"x-long";key="z"', unit: 'a=(1 2), ' },
  { name: 'a covered header as bs', id: '"x-long";bs', unit: 'a, b' },
  { name: '@query-param: many pairs without =', id: '"@query-param";name="z"', unit: 'a&' },
  { name: '@query-param: many escapes', id: '"@query-param";name="z"', unit: '%41+%zz' },
].map(({ name, id, unit }) => {
  const component = parseComponentId(id)!;
  const query = component.name === '@query-param';
  return {
    name: `componentValue, ${name}`,
    make: (n: number) => fill(unit, n),
    run: (value: string) =>
      componentValue(
        { method: 'GET', url: query ? `https://a.example/?${value}&z=1` : 'https://a.example/', fieldLines: (header: string) => (header === 'x-long' ? [value] : undefined) },
        component,
      ),
  };
});

describe('fuzz: parsing time grows linearly with adversarial input', () => {
  const shapes = [...structuredShapes, ...signatureShapes, ...otherShapes, ...uaShapes, ...componentShapes] as Shape<unknown>[];

  it.each(shapes.map((s) => [s.name, s] as const))('%s', (_name, shape) => {
    const [small, large] = shape.sizes ?? [N, 4 * N];
    const { ratio, small: ts, large: tl } = settledGrowth(shape.make, shape.run, small, large, BOUND);
    // The times go into the message, so a failure shows how far from linear it was.
    expect(ratio, `${ts.toFixed(3)} ms at ${small}, ${tl.toFixed(3)} ms at ${large}`).toBeLessThan(BOUND);
  });
});

describe('fuzz: guard.check on long adversarial headers stays linear', () => {
  const NOW = 1_800_000_000;
  const agent = ed25519Pair();
  const guard = createGuard({
    signatures: { keys: [agent.publicJwk], directory: false, replay: false },
    policy: { metadata: { version: 1 }, lists: { bad: { userAgents: ['*evil*bot*', 'a*a*a*b', ...Array.from({ length: 100 }, (_, i) => `*crawler-${i}*`)] } }, default: { action: 'allow' } },
    now: () => NOW * 1000,
  });
  const decide = (request: GuardRequest): Decision => {
    const decision = guard.decide!(request);
    if (decision instanceof Promise) throw new Error('expected a synchronous decision');
    return decision;
  };
  /** A request signed over a long covered header: the signature verifies, so all of it is parsed and hashed. */
  const signedWith = (value: string): GuardRequest =>
    sign(
      { method: 'GET', url: 'https://api.example.com/x', headers: { 'x-long': value, 'user-agent': value } },
      {
        key: agent.privateKey,
        algorithm: 'ed25519',
        keyid: agent.thumbprint,
        components: ['@authority', '"x-long";sf', '"signature-agent";key="sig1"'],
        params: { created: NOW, expires: NOW + 60, keyid: agent.thumbprint, tag: 'web-bot-auth' },
        agent: { url: 'https://agent.example' },
      },
    );

  it.each([
    ['a long User-Agent against the bad list', (n: number) => ({ method: 'GET', url: 'https://api.example.com/', headers: { 'user-agent': 'a'.repeat(n), 'signature-input': 'sig1=()', signature: 'sig1=:AA==:' } })],
    ['oversized signature headers (refused before parsing)', (n: number) => ({ method: 'GET', url: 'https://api.example.com/', headers: { 'signature-input': fill('sig1=(, ', n), signature: fill(':', n) } })],
    ['a verified signature over a long sf header', (n: number) => signedWith(fill('a=1, ', n).slice(0, -2))],
  ])('%s', (_name, make) => {
    const { ratio, small, large } = settledGrowth(make, decide, N, 4 * N, BOUND);
    expect(ratio, `${small.toFixed(3)} ms at ${N}, ${large.toFixed(3)} ms at ${4 * N}`).toBeLessThan(BOUND);
  });

  it('the fixture verifies (so the long header really is parsed and hashed)', () => {
    expect(decide(signedWith('a=1, b=2')).reason).toBe('OK');
  });
});
