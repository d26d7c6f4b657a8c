import fc from 'fast-check';
import { DisplayString, parseDictionary, serializeDictionary, serializeInnerList, serializeItem, serializeParameters, Token, type BareItem, type Dictionary, type InnerList, type Item } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { parseCanonicalDictionary, serializeSimpleMember, serializeSimpleParameters } from '../../src/signatures/canonical-dictionary.js';
import { anyString, damaged, separators, sfLike, sfText } from './arbitraries.js';
import { fuzz, TIMEOUT } from './settings.js';

/**
 * The canonical-form fast path (src/signatures/canonical-dictionary.ts) against `structured-headers`:
 * whatever it accepts, it reads exactly as the library does (same members, order, types and values),
 * and it accepts every canonical serialization of the values it supports.
 */

/** A Dictionary as comparable plain data: byte sequences as byte arrays, types kept apart. */
function plain(dictionary: Dictionary): unknown {
  const bare = (v: BareItem): unknown =>
    v instanceof ArrayBuffer ? { bytes: [...new Uint8Array(v)] } : typeof v === 'object' ? { other: String(v), type: v.constructor.name } : { [typeof v]: v };
  const params = (p: Map<string, BareItem>) => [...p].map(([k, v]) => [k, bare(v)]);
  const item = (i: Item) => ({ item: bare(i[0]), params: params(i[1]) });
  const member = (m: Item | InnerList) => (Array.isArray(m[0]) ? { inner: (m[0] as Item[]).map(item), params: params(m[1]) } : item(m as Item));
  return [...dictionary].map(([k, m]) => [k, member(m)]);
}

function library(text: string): Dictionary | undefined {
  try {
    return parseDictionary(text);
  } catch {
    return undefined;
  }
}

/** The fast path's answer is undefined or the library's. */
function agrees(text: string): void {
  const fast = parseCanonicalDictionary(text);
  if (fast === undefined) return;
  const reference = library(text);
  expect(reference).toBeDefined();
  expect(plain(fast)).toEqual(plain(reference!));
  // And the text is the library's own serialization of it: canonical, byte for byte.
  expect(serializeDictionary(fast)).toBe(text);
}

// Values in the fast path's subset: strings, integers, byte sequences, parameters that are true or one of those.
const key = fc.stringMatching(/^[a-z*][a-z0-9_\-.*]{0,7}$/);
const bareItem: fc.Arbitrary<BareItem> = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 24 }),
  fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }),
  fc.uint8Array({ maxLength: 80 }).map((b) => new Uint8Array(b).buffer as ArrayBuffer),
);
const params = fc.uniqueArray(fc.tuple(key, fc.oneof(bareItem, fc.constant(true as BareItem))), { maxLength: 4, selector: ([k]) => k }).map((ps) => new Map(ps));
const item: fc.Arbitrary<Item> = fc.tuple(bareItem, params);
const member: fc.Arbitrary<Item | InnerList> = fc.oneof(item, fc.tuple(fc.array(item, { maxLength: 6 }), params));
const dictionary = fc.uniqueArray(fc.tuple(key, member), { minLength: 1, maxLength: 5, selector: ([k]) => k }).map((ms) => new Map(ms) as Dictionary);

describe('fuzz: the canonical Dictionary fast path agrees with structured-headers', () => {
  it(
    'reads every canonical serialization in its subset, exactly as the library does',
    () => {
      fc.assert(
        fc.property(dictionary, (value) => {
          const text = serializeDictionary(value);
          const fast = parseCanonicalDictionary(text);
          expect(fast).toBeDefined();
          expect(plain(fast!)).toEqual(plain(parseDictionary(text)));
        }),
        fuzz(2),
      );
    },
    TIMEOUT,
  );

  it(
    'on any other text answers undefined or the library’s result',
    () => {
      const canonical = dictionary.map((d) => serializeDictionary(d));
      fc.assert(fc.property(fc.oneof(sfLike, sfText, damaged(canonical), damaged(damaged(canonical)), separators(40), anyString(60)), agrees), fuzz(4));
    },
    TIMEOUT,
  );

  it('declines what it does not cover, and what is not canonical', () => {
    const declined = [
      '',
      ' sig1=:AA==:',
      'sig1=:AA==: ',
      'sig1=:AA==:,sig2=:AA==:', // separator without SP
      'sig1=:AA==:,  sig2=:AA==:',
      'sig1=:AA==:, ',
      'sig1', // a boolean member
      'a=?1',
      'a=1;b=?1', // true written out
      'a=1.5',
      'a=007',
      'a=-0',
      'a=1234567890123456', // 16 digits
      'a=tok',
      'a=@1700000000',
      'a=%"x"',
      'a=( "x")',
      'a=("x" )',
      'a=("x"  "y")',
      'a=:AB==:', // stray bits after the last byte
      'a=:AA:', // unpadded
      'a=:A===:',
      'a=1, a=2', // a repeated key
      'a=1;b;b',
      'A=1',
      'a="\\x"',
      'a="é"',
    ];
    for (const text of declined) expect([text, parseCanonicalDictionary(text)]).toEqual([text, undefined]);
  });

  it('reads a Web Bot Auth Signature-Input and Signature as the library does', () => {
    const input =
      'sig1=("@authority" "@method" "@path" "signature-agent";key="sig1");created=1735689600;expires=1735693200;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";nonce="ZO3/XMEZjrvSnLtAP9M7jK0WGQf3J+pbmQRUpKDhF9/jsNCWqUh2sq+TH4WTX3/GpNoSZUa8eNWMKqxWp2/c2g==";tag="web-bot-auth"';
    const signature = 'sig1=:uz2SAv+VIemw+Oo890bhYh6Xf5qZdLUgv6/PbiQfCFXcX/vt1A8Pf7OcgL2yUDUYXFtffNpkEr5W6dldqFrkDg==:';
    for (const text of [input, signature, `${input}, sig2=("@authority");created=1;keyid="k\\"\\\\"`]) {
      expect(parseCanonicalDictionary(text)).toBeDefined();
      agrees(text);
    }
  });
});

describe('fuzz: the simple parameters serializer agrees with structured-headers', () => {
  it(
    'writes what serializeParameters writes, or declines',
    () => {
      const anyKey = fc.oneof(key, fc.string({ maxLength: 6 }));
      const anyValue: fc.Arbitrary<BareItem> = fc.oneof(
        bareItem,
        fc.string({ maxLength: 12 }),
        fc.constantFrom<BareItem>(true, false, -0, 1.5, 1e16, Number.NaN, new Token('tok'), new DisplayString('é'), new Date(0)),
        fc.double(),
      );
      fc.assert(
        fc.property(fc.array(fc.tuple(anyKey, anyValue), { maxLength: 5 }), (entries) => {
          const parameters = new Map(entries);
          const fast = serializeSimpleParameters(parameters);
          if (fast === undefined) return;
          expect(fast).toBe(serializeParameters(parameters));
        }),
        fuzz(3),
      );
    },
    TIMEOUT,
  );

  it('writes the parameters of a Web Bot Auth signature, escapes included', () => {
    const parameters = new Map<string, BareItem>([
      ['created', 1735689600],
      ['keyid', 'k"\\'],
      ['nonce', 'ZO3/XMEZ+=='],
      ['tag', 'web-bot-auth'],
      ['sf', true],
      ['n', -5],
      ['b', new Uint8Array([1, 2, 3]).buffer as ArrayBuffer],
    ]);
    expect(serializeSimpleParameters(parameters)).toBe(serializeParameters(parameters));
    expect(serializeSimpleParameters(new Map([['a', 1.5]]))).toBeUndefined();
    expect(serializeSimpleParameters(new Map([['a', false]]))).toBeUndefined();
    expect(serializeSimpleParameters(new Map([['A', 1]]))).toBeUndefined();
  });
});

describe('fuzz: the simple member serializer agrees with structured-headers', () => {
  it(
    'writes what serializeItem / serializeInnerList write, or declines',
    () => {
      const odd = fc.constantFrom<BareItem>(false, 1.5, new Token('tok'), new DisplayString('x'), 'é');
      const anyItem: fc.Arbitrary<Item> = fc.tuple(fc.oneof(bareItem, odd), params);
      fc.assert(
        fc.property(fc.oneof(anyItem, fc.tuple(fc.array(anyItem, { maxLength: 4 }), params)), (member: Item | InnerList) => {
          const fast = serializeSimpleMember(member);
          if (fast === undefined) return;
          expect(fast).toBe(Array.isArray(member[0]) ? serializeInnerList(member as InnerList) : serializeItem(member as Item));
        }),
        fuzz(3),
      );
    },
    TIMEOUT,
  );
});
