import fc from 'fast-check';
import { DisplayString, parseDictionary, serializeDictionary, serializeInnerList, serializeItem, Token, type BareItem, type Dictionary, type InnerList, type Item, type Parameters } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { createSigner } from '../../src/signer/index.js';
import { parseCanonicalSignatures, parseSignatures, parseWithLibrary } from '../../src/signatures/parse.js';
import type { ParsedSignature } from '../../src/signatures/types.js';
import { ed25519Pair, sign } from '../helpers/http-sig.js';
import vectors from '../vectors/rfc9421.json' with { type: 'json' };
import { anyString, damaged, separators, sfLike } from './arbitraries.js';
import { fuzz, TIMEOUT } from './settings.js';

/**
 * The fast path for canonical Signature-Input / Signature (src/signatures/parse.ts,
 * `parseCanonicalSignatures`) against the library path (`parseWithLibrary`) and `structured-headers`
 * itself: whenever it answers, its answer is the library path's, entry for entry (labels, components,
 * parameters, `@signature-params`, signature bytes), and agrees with `parseDictionary` of the same
 * text; otherwise it declines. Inputs: random
 * dictionaries built as values and serialized by `structured-headers` itself (every bare item type,
 * odd strings, repeated and missing labels), those texts damaged by one edit or re-spaced, and
 * structured-field-shaped and arbitrary text. And it does answer for what signers send.
 */

const MAX_MEMBERS = 16;
const MAX_COMPONENTS = 32;

/** Entries as plain data: components by name, id and parameters; bytes as an array; the object's own keys in order. */
function plain(entries: readonly ParsedSignature[] | string): unknown {
  if (typeof entries === 'string') return entries;
  return entries.map((e) => ({
    keys: Object.keys(e),
    label: e.label,
    components: e.components.map((c) => ({ name: c.name, id: c.id, params: [...c.params] })),
    params: Object.entries(e.params),
    paramsValue: e.paramsValue,
    signature: [...e.signature],
    problem: e.problem,
  }));
}

/** The fast path's answer is `undefined` or exactly the library path's; returns whether it answered. */
function agrees(input: string, signature: string): boolean {
  const fast = parseCanonicalSignatures(input, signature, MAX_MEMBERS, MAX_COMPONENTS);
  if (fast === undefined) return false;
  const library = parseWithLibrary(input, signature, MAX_MEMBERS, MAX_COMPONENTS);
  expect(plain(fast)).toEqual(plain(library));
  // And against structured-headers alone (the library path reads canonical text with its own
  // scanner first): the same labels, each @signature-params the library's serialization of the member
  // as it parses it (and that member's text in the header), the same component identifiers and
  // registered parameters, the same bytes.
  const members = parseDictionary(input);
  const byteMembers = parseDictionary(signature);
  expect(fast.map((e) => e.label)).toEqual([...members.keys()]);
  expect(new Set(byteMembers.keys())).toEqual(new Set(members.keys()));
  for (const entry of fast) {
    const [items, params] = members.get(entry.label) as InnerList;
    expect(entry.paramsValue).toBe(serializeInnerList([items, params]));
    expect(input).toContain(`${entry.label}=${entry.paramsValue}`);
    expect(entry.components.map((c) => c.id)).toEqual(items.map((item) => serializeItem(item)));
    for (const [name, value] of Object.entries(entry.params)) expect(params.get(name)).toBe(value);
    for (const name of ['created', 'expires', 'keyid', 'nonce', 'alg', 'tag']) if (params.has(name)) expect(entry.params).toHaveProperty(name);
    expect([...entry.signature]).toEqual([...new Uint8Array((byteMembers.get(entry.label) as Item)[0] as ArrayBuffer)]);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Values, serialized by structured-headers

const key: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('sig1', 'sig2', 'a', '*', 'created', 'expires', 'keyid', 'nonce', 'alg', 'tag', 'key', 'name', 'sf', 'bs', 'req', 'tr', 'x'),
  fc.stringMatching(/^[a-z*][a-z0-9_\-.*]{0,5}$/),
);

const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
const text: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('@authority', '@method', '@path', '@query', '@target-uri', '@query-param', '@signature-params', '@status', 'signature-agent', 'content-digest', 'web-bot-auth', 'ed25519', 'Accept', '', 'a"b', 'a\\b', 'a)b', 'a b'),
  fc.string({ unit: fc.constantFrom(...PRINTABLE), maxLength: 16 }),
);

const bareItem: fc.Arbitrary<BareItem> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 2_000_000_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }) },
  { weight: 1, arbitrary: fc.integer({ min: -99_999, max: 99_999 }).map((n) => n / 1000) },
  { weight: 3, arbitrary: text },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]{0,8}$/).map((t) => new Token(t)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 70 }).map((b) => b.slice().buffer) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.integer({ min: -1e9, max: 4e9 }).map((s) => new Date(s * 1000)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }).map((s) => new DisplayString(s)) },
);

const params = (values: fc.Arbitrary<BareItem>): fc.Arbitrary<Parameters> =>
  fc.array(fc.tuple(key, values), { maxLength: 4 }).map((pairs) => new Map(pairs));

/** Parameters of a component: mostly the RFC 9421 ones, sometimes anything. */
const componentParams: fc.Arbitrary<Parameters> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(new Map()) },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom<[string, BareItem]>(['sf', true], ['bs', true], ['req', true], ['tr', true], ['key', 'sig1'], ['name', 'Pet'], ['key', 'a"b'])), { maxLength: 2 })
      .map((pairs) => new Map(pairs)),
  },
  { weight: 1, arbitrary: params(bareItem) },
);

const component: fc.Arbitrary<Item> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(text, componentParams) },
  { weight: 1, arbitrary: fc.tuple(bareItem, componentParams) },
);

/** Components RFC 9421 allows (so that a good share of the random signatures is valid). */
const VALID_COMPONENTS: Item[] = [
  ['@authority', new Map()],
  ['@method', new Map()],
  ['@path', new Map()],
  ['@target-uri', new Map()],
  ['@query-param', new Map([['name', 'Pet']])],
  ['signature-agent', new Map([['key', 'sig1']])],
  ['signature-agent', new Map()],
  ['content-digest', new Map()],
  ['accept', new Map([['sf', true]])],
  ['x-b', new Map([['bs', true]])],
  ['@status', new Map([['req', true]])],
];

const components: fc.Arbitrary<Item[]> = fc.oneof(
  { weight: 3, arbitrary: fc.shuffledSubarray(VALID_COMPONENTS) },
  { weight: 1, arbitrary: fc.tuple(fc.shuffledSubarray(VALID_COMPONENTS), component, fc.nat()).map(([list, extra, at]) => [...list.slice(0, at % (list.length + 1)), extra, ...list.slice(at % (list.length + 1))]) },
  { weight: 1, arbitrary: fc.array(component, { maxLength: 6 }) },
);

/** Signature parameters: the registered ones with the right types, mixed with anything. */
const signatureParams: fc.Arbitrary<Parameters> = fc
  .tuple(
    fc.record(
      {
        created: fc.integer({ min: 0, max: 2_000_000_000 }),
        keyid: fc.oneof(fc.constant('poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U'), text),
        expires: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 2_000_000_000, max: 4_000_000_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 4_000_000_000 }) }),
        nonce: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
        alg: fc.constantFrom('ed25519', 'rsa-pss-sha512'),
        tag: fc.constantFrom('web-bot-auth', 'other'),
      },
      { requiredKeys: [] },
    ),
    fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(key, bareItem), { maxLength: 2 }) }),
    fc.boolean(),
  )
  .map(([registered, extra, extraFirst]) => {
    const pairs: [string, BareItem][] = Object.entries(registered);
    return new Map(extraFirst ? [...extra, ...pairs] : [...pairs, ...extra]);
  });

const inputMember: fc.Arbitrary<Item | InnerList> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(components, signatureParams) },
  { weight: 1, arbitrary: fc.tuple(bareItem, params(bareItem)) },
);

const LABELS = ['sig1', 'sig2', 'sig-b21', 'a'];
const labels = fc.uniqueArray(fc.constantFrom(...LABELS), { minLength: 1, maxLength: 3 });

const signatureMember: fc.Arbitrary<Item | InnerList> = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 80 }).map((b): Item => [b.slice().buffer, new Map()]) },
  { weight: 1, arbitrary: fc.tuple(bareItem, params(bareItem)) },
);

/** Serialized by the library; `undefined` when it refuses the value. */
function serialized(dictionary: Dictionary): string | undefined {
  try {
    return serializeDictionary(dictionary);
  } catch {
    return undefined;
  }
}

/** A Signature-Input and a Signature, as structured-headers writes them, labels mostly shared. */
const headerPair: fc.Arbitrary<[string, string]> = fc
  .tuple(labels, labels, fc.array(inputMember, { minLength: 3, maxLength: 3 }), fc.array(signatureMember, { minLength: 3, maxLength: 3 }), fc.boolean())
  .map(([inputLabels, otherLabels, inputs, signatures, same]) => {
    const signatureLabels = same ? inputLabels : otherLabels;
    const input = serialized(new Map(inputLabels.map((l, i) => [l, inputs[i]!])));
    const signature = serialized(new Map(signatureLabels.map((l, i) => [l, signatures[i]!])));
    return [input ?? '', signature ?? ''];
  });

/** One edit, or different spacing around the separators. */
function respaced(textArb: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(textArb, fc.constantFrom(', ', ',', ',  ', ' , ', ',\t'), fc.constantFrom(' ', '  ', '\t'), fc.constantFrom(';', '; ', ' ;'))
    .map(([t, comma, space, semi]) => t.replaceAll(', ', comma).replaceAll('" "', `"${space}"`).replaceAll(';', semi));
}

const inputLike: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: headerPair.map(([i]) => i) },
  { weight: 2, arbitrary: damaged(headerPair.map(([i]) => i)) },
  { weight: 1, arbitrary: respaced(headerPair.map(([i]) => i)) },
  { weight: 1, arbitrary: sfLike },
  { weight: 1, arbitrary: anyString(60) },
  { weight: 1, arbitrary: separators(40) },
);

// ---------------------------------------------------------------------------------------------
// What signers send

/** A valid Web Bot Auth request pair, canonical, with random values: what the fast path is for. */
const canonicalPair: fc.Arbitrary<[string, string]> = fc
  .tuple(
    fc.uniqueArray(fc.constantFrom('sig1', 'sig2', 'agent-b', 'x'), { minLength: 1, maxLength: 3 }),
    fc.subarray(['"@authority"', '"@method"', '"@path"', '"@target-uri"', '"signature-agent";key="sig1"', '"signature-agent"', '"content-digest"', '"@query-param";name="Pet"', '"accept";sf', '"x-b";bs'], { minLength: 0 }),
    fc.integer({ min: 0, max: 2_000_000_000 }),
    fc.integer({ min: 0, max: 2_000_000_000 }),
    fc.uint8Array({ minLength: 1, maxLength: 64 }),
    fc.array(fc.uint8Array({ maxLength: 72 }), { minLength: 3, maxLength: 3 }),
  )
  .map(([names, components, a, b, nonce, bytes]) => {
    const [created, expires] = a <= b ? [a, b] : [b, a];
    const member = `(${components.join(' ')});created=${created};keyid="k-1";expires=${expires};nonce="${Buffer.from(nonce).toString('base64url')}";tag="web-bot-auth"`;
    return [names.map((n) => `${n}=${member}`).join(', '), names.map((n, i) => `${n}=:${Buffer.from(bytes[i]!).toString('base64')}:`).join(', ')];
  });

describe('fuzz: the canonical fast path answers as structured-headers does, or declines', () => {
  it(
    'dictionaries serialized by structured-headers, damaged, re-spaced, or arbitrary text',
    () => {
      fc.assert(
        fc.property(inputLike, fc.oneof(headerPair.map(([, s]) => s), damaged(headerPair.map(([, s]) => s)), sfLike, anyString(40)), (input, signature) => {
          agrees(input, signature);
        }),
        fuzz(4),
      );
    },
    TIMEOUT,
  );

  it(
    'pairs written by structured-headers, labels shared',
    () => {
      fc.assert(
        fc.property(headerPair, ([input, signature]) => {
          agrees(input, signature);
        }),
        fuzz(4),
      );
    },
    TIMEOUT,
  );

  it(
    'every canonical Web Bot Auth pair is answered by the fast path, and one edit never changes its answer',
    () => {
      fc.assert(
        fc.property(canonicalPair, fc.nat(), fc.constantFrom(...PRINTABLE, '\t', 'é'), fc.boolean(), ([input, signature], at, c, inInput) => {
          expect(agrees(input, signature)).toBe(true);
          const target = inInput ? input : signature;
          const i = at % (target.length + 1);
          for (const edited of [target.slice(0, i) + c + target.slice(i), target.slice(0, i) + target.slice(i + 1), target.slice(0, i) + c + target.slice(i + 1)]) {
            if (inInput) agrees(edited, signature);
            else agrees(input, edited);
          }
        }),
        fuzz(4),
      );
    },
    TIMEOUT,
  );
});

describe('the canonical fast path: cases', () => {
  const valid = 'sig1=("@authority" "signature-agent";key="sig1");created=1735689600;keyid="k";expires=1735693200;nonce="bm9uY2U=";tag="web-bot-auth"';
  const bytes = 'sig1=:RdNFx5Bj6au3YgAMQL/RzmUlZE8QZLIaXGRpw985hWnwPfMxT228NMk6ehRS1PSl4e8PhbNZACSanGdhEwYCCg==:';

  it('answers for the canonical form', () => {
    expect(agrees(valid, bytes)).toBe(true);
    expect(agrees(`${valid}, ${valid.replace('sig1=', 'sig2=')}`, `${bytes}, ${bytes.replace('sig1=', 'sig2=')}`)).toBe(true);
    expect(agrees('sig1=();created=1', 'sig1=::')).toBe(true);
  });

  it.each([
    ['a leading zero', valid.replace('created=1735689600', 'created=01735689600')],
    ['a negative integer', valid.replace('created=1735689600', 'created=-1')],
    ['16 digits', valid.replace('created=1735689600', 'created=1000000000000000')],
    ['a decimal', valid.replace('created=1735689600', 'created=1735689600.5')],
    ['a bare registered parameter', valid.replace('created=1735689600', 'created')],
    ['a repeated parameter', `${valid};created=1`],
    ['a token where a string belongs', valid.replace('keyid="k"', 'keyid=k')],
    ['an escaped quote', valid.replace('keyid="k"', 'keyid="k\\"x"')],
    ['a tab in a string', valid.replace('keyid="k"', 'keyid="k\tx"')],
    ['non-ASCII', valid.replace('keyid="k"', 'keyid="ké"')],
    ['a space inside the list', valid.replace('("@authority"', '( "@authority"')],
    ['two spaces between items', valid.replace('" "', '"  "')],
    ['a space after a semicolon', valid.replace(';created', '; created')],
    ['a comma without space', `${valid},${valid.replace('sig1=', 'sig2=')}`],
    ['a trailing space', `${valid} `],
    ['a repeated label', `${valid}, ${valid}`],
    ['created after expires', valid.replace('expires=1735693200', 'expires=1')],
    ['an invalid component', valid.replace('"@authority"', '"@Authority"')],
    ['a parenthesis in a component', valid.replace('"@authority"', '"a)b"')],
    ['an item instead of a list', 'sig1="@authority";created=1'],
  ])('declines %s (the library path answers)', (_name, input) => {
    expect(parseCanonicalSignatures(input, bytes, MAX_MEMBERS, MAX_COMPONENTS)).toBeUndefined();
    expect(plain(parseSignatures(input, bytes))).toEqual(plain(parseWithLibrary(input, bytes, MAX_MEMBERS, MAX_COMPONENTS)));
  });

  it.each([
    ['missing padding', 'sig1=:dGVzdA:'],
    ['stray bits', 'sig1=:dGVzdB==:'],
    ['base64url characters', 'sig1=:-_-_:'],
    ['too much padding', 'sig1=:dGVzdA===:'],
    ['a label only in Signature', `${bytes}, sig2=:dGVzdA==:`],
    ['a label only in Signature-Input', 'sig2=:dGVzdA==:'],
    ['parameters on the bytes', `${bytes};x=1`],
  ])('declines a Signature with %s', (_name, signature) => {
    expect(parseCanonicalSignatures(valid, signature, MAX_MEMBERS, MAX_COMPONENTS)).toBeUndefined();
    expect(plain(parseSignatures(valid, signature))).toEqual(plain(parseWithLibrary(valid, signature, MAX_MEMBERS, MAX_COMPONENTS)));
  });

  it('declines past the limits (the library path reports them)', () => {
    expect(parseCanonicalSignatures(valid, bytes, 16, 1)).toBeUndefined();
    expect(parseCanonicalSignatures(`${valid}, ${valid.replace('sig1=', 'sig2=')}`, `${bytes}, ${bytes.replace('sig1=', 'sig2=')}`, 1, 32)).toBeUndefined();
  });

  it('answers for what bonafide’s signer and the test signer send, and for the canonical RFC 9421 vectors', () => {
    const pair = ed25519Pair();
    const signer = createSigner({ key: pair.privateKey, agent: 'https://agent.example', components: ['@method', '@path'] });
    const request = { method: 'GET', url: 'https://api.example.com/v1?x=1', headers: { host: 'api.example.com' } };
    const added = signer.headers(request);
    expect(agrees(added['signature-input']!, added.signature!)).toBe(true);
    const signed = sign(request, {
      key: pair.privateKey,
      algorithm: 'ed25519',
      keyid: pair.thumbprint,
      components: ['@authority', '"signature-agent";key="sig1"'],
      params: { created: 1, expires: 2, keyid: pair.thumbprint, nonce: 'n', tag: 'web-bot-auth' },
      agent: { url: 'https://agent.example' },
    });
    expect(agrees(signed.headers['signature-input']!, signed.headers.signature!)).toBe(true);
    // RFC 9421 Appendix B: every vector is canonical except those whose signature the RFC wraps.
    let answered = 0;
    for (const vector of vectors.vectors) if (agrees(vector.signatureInput, vector.signature)) answered++;
    expect(answered).toBeGreaterThanOrEqual(vectors.vectors.length - 2);
  });
});
