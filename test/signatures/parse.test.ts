/**
 * Parsing Signature-Input / Signature (RFC 9421 §4.1, §4.2) and component identifiers (§2), mostly
 * on hostile input. Every case asserts the exact result, not just "is an error".
 */
import { parseDictionary, serializeInnerList } from 'structured-headers';
import type { InnerList } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { componentId, parseComponentId, parseSignatures, serializeSignatureParams } from '../../src/signatures/parse.js';
import type { ComponentId, ParsedSignature } from '../../src/signatures/types.js';

const SIG = ':AAAA:'; // three zero bytes
const BYTES = new Uint8Array([0, 0, 0]);
const EMPTY = new Uint8Array(0);

function component(name: string, params: [string, string | boolean][] = [], id = `"${name}"`): ComponentId {
  return { name, params: new Map(params), id };
}

/** The single ParsedSignature for `sig1=<input>` / `sig1=<signature>`, or the header-level result. */
function one(input: string, signature = SIG): ParsedSignature | string {
  const parsed = parseSignatures(`sig1=${input}`, `sig1=${signature}`);
  if (typeof parsed === 'string') return parsed;
  expect(parsed).toHaveLength(1);
  return parsed[0] as ParsedSignature;
}

function problemOf(input: string, signature = SIG): string | undefined {
  const parsed = one(input, signature);
  return typeof parsed === 'string' ? `header:${parsed}` : parsed.problem;
}

describe('parseSignatures: well-formed input', () => {
  it('parses RFC 9421 B.2.2 exactly', () => {
    const result = parseSignatures(
      'sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
      'sig-b22=:AAEC/w==:',
    );
    expect(result).toEqual([
      {
        label: 'sig-b22',
        components: [
          component('@authority'),
          component('content-digest'),
          component('@query-param', [['name', 'Pet']], '"@query-param";name="Pet"'),
        ],
        params: { created: 1618884473, keyid: 'test-key-rsa-pss', tag: 'header-example' },
        paramsValue: '("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
        signature: new Uint8Array([0, 1, 2, 255]),
      },
    ]);
  });

  it('paramsValue is re-serialized, never the raw text (extra spaces, ?1 flags, leading zeros)', () => {
    expect(one('(  "@method"   "date";sf=?1  );created=01;keyid="k";foo=bar')).toEqual({
      label: 'sig1',
      components: [component('@method'), component('date', [['sf', true]], '"date";sf')],
      params: { created: 1, keyid: 'k' },
      paramsValue: '("@method" "date";sf);created=1;keyid="k";foo=bar',
      signature: BYTES,
    });
  });

  it.each([
    '("@method" "@path" "signature-agent";key="sig1" "content-digest";sf;req);created=1;keyid="a\\"b\\\\c";x=1.25;y=:AQID:;z=tok;w=?0;v',
    '(  "@query-param";name="a\\"b"   "date";bs  "x";tr;req )',
    '()',
    '();a;b=?1;c=%"caf%c3%a9"',
  ])('paramsValue is byte-identical to structured-headers serializeInnerList for %s', (input) => {
    const member = parseDictionary(`sig1=${input}`).get('sig1') as InnerList;
    const expected = serializeInnerList(member);
    expect(one(input)).toMatchObject({ paramsValue: expected });
    expect((one(input) as ParsedSignature).problem).toBeUndefined();
  });

  it('keeps all registered parameters typed and unknown ones only in paramsValue', () => {
    expect(one('();created=1;expires=2;nonce="n";alg="ed25519";keyid="k";tag="web-bot-auth";x=?0;y=1.5')).toEqual({
      label: 'sig1',
      components: [],
      params: { created: 1, expires: 2, nonce: 'n', alg: 'ed25519', keyid: 'k', tag: 'web-bot-auth' },
      paramsValue: '();created=1;expires=2;nonce="n";alg="ed25519";keyid="k";tag="web-bot-auth";x=?0;y=1.5',
      signature: BYTES,
    });
  });

  it('keeps the order of Signature-Input; labels only in Signature come last', () => {
    const result = parseSignatures('b=("@path"), a=("@method")', 'c=:AQ==:, a=:Ag==:, b=:Aw==:');
    expect(result).toEqual([
      { label: 'b', components: [component('@path')], params: {}, paramsValue: '("@path")', signature: new Uint8Array([3]) },
      { label: 'a', components: [component('@method')], params: {}, paramsValue: '("@method")', signature: new Uint8Array([2]) },
      { label: 'c', components: [], params: {}, paramsValue: '', signature: new Uint8Array([1]), problem: 'malformed' },
    ]);
  });

  it('both headers empty: no signatures', () => {
    expect(parseSignatures('', '')).toEqual([]);
  });

  it('created at the largest sf-integer (15 digits) is accepted', () => {
    expect(one('();created=999999999999999')).toMatchObject({ params: { created: 999999999999999 }, paramsValue: '();created=999999999999999' });
    expect(problemOf('();created=999999999999999')).toBeUndefined();
  });

  it('an unpadded byte sequence is accepted (RFC 8941 §4.2.7), an empty one gives no bytes', () => {
    expect(one('()', ':AAA:')).toMatchObject({ signature: new Uint8Array([0, 0]) });
    expect(one('()', '::')).toEqual({ label: 'sig1', components: [], params: {}, paramsValue: '()', signature: EMPTY });
  });

  it('parameters on the Signature member are ignored', () => {
    expect(one('()', ':AAAA:;x=1')).toEqual({ label: 'sig1', components: [], params: {}, paramsValue: '()', signature: BYTES });
  });
});

describe('parseSignatures: header-level failures', () => {
  it.each([
    ['garbage in Signature-Input', '%%%', 'sig1=:AAAA:'],
    ['garbage in Signature', 'sig1=()', '%%%'],
    ['an unterminated inner list', 'sig1=("@method"', 'sig1=:AAAA:'],
    ['an unterminated string', 'sig1=("@method);created=1', 'sig1=:AAAA:'],
    ['an unterminated parameter string', 'sig1=();keyid="abc', 'sig1=:AAAA:'],
    ['an unterminated byte sequence', 'sig1=()', 'sig1=:AAAA'],
    ['invalid base64', 'sig1=()', 'sig1=:A:'],
    ['padding in the middle', 'sig1=()', 'sig1=:AA==AA:'],
    ['a trailing comma', 'sig1=(),', 'sig1=:AAAA:'],
    ['an upper-case label', 'Sig1=()', 'Sig1=:AAAA:'],
    ['a 16-digit integer (RFC 8941 caps sf-integers at 15)', 'sig1=();created=9999999999999999', 'sig1=:AAAA:'],
    ['a tab between inner-list items', 'sig1=("a"\t"b")', 'sig1=:AAAA:'],
    ['a leading tab', '\tsig1=()', 'sig1=:AAAA:'],
    ['a quote injection attempt', 'sig1=("a\\"b\\n\\"@method": GET")', 'sig1=:AAAA:'],
    ['a bare item instead of a dictionary', '"@method"', 'sig1=:AAAA:'],
  ])('%s → malformed', (_what, input, signature) => {
    expect(parseSignatures(input, signature)).toBe('malformed');
  });

  it.each([
    ['non-ASCII in a component name', 'sig1=("@méthod")', 'sig1=:AAAA:'],
    ['non-ASCII in a parameter', 'sig1=();keyid="clé"', 'sig1=:AAAA:'],
    ['non-ASCII in Signature', 'sig1=()', 'sig1=:AAAA:;x="é"'],
    ['non-ASCII outside any string', 'sig1=()é', 'sig1=:AAAA:'],
    ['a display string above U+00FF (structured-headers 2.1.0 truncates Ł to A)', 'sig1=();x=%"Ł"', 'sig1=:AAAA:'],
    ['a NUL', 'sig1=("a\u0000")', 'sig1=:AAAA:'],
    ['a line feed', 'sig1=("a"\n"b")', 'sig1=:AAAA:'],
  ])('%s → malformed', (_what, input, signature) => {
    expect(parseSignatures(input, signature)).toBe('malformed');
  });

  it('a header longer than maxHeaderBytes → too-large (default 8192)', () => {
    const long = `sig1=();nonce="${'a'.repeat(8192 - 16)}"`;
    expect(long.length).toBe(8192);
    expect(parseSignatures(long, 'sig1=:AAAA:')).toMatchObject([{ label: 'sig1' }]);
    expect(parseSignatures(`${long} `, 'sig1=:AAAA:')).toBe('too-large');
    expect(parseSignatures('sig1=()', `sig1=:${'A'.repeat(8192)}:`)).toBe('too-large');
    expect(parseSignatures('sig1=()', 'sig1=:AAAA:', { maxHeaderBytes: 10 })).toBe('too-large');
    expect(parseSignatures('sig1=()', 'sig1=:AA==:', { maxHeaderBytes: 11 })).toMatchObject([{ label: 'sig1' }]);
  });

  it('the size limit is checked before the content, so a long non-ASCII header is too-large', () => {
    expect(parseSignatures(`sig1=("é${'a'.repeat(9000)}")`, '')).toBe('too-large');
  });

  it('more members than maxMembers → too-large (default 16)', () => {
    const labels = (n: number): string[] => Array.from({ length: n }, (_, i) => `s${i}`);
    const input = (n: number): string => labels(n).map((l) => `${l}=()`).join(', ');
    const sigs = (n: number): string => labels(n).map((l) => `${l}=:AAAA:`).join(', ');
    expect(parseSignatures(input(16), sigs(16))).toHaveLength(16);
    expect(parseSignatures(input(17), sigs(16))).toBe('too-large');
    expect(parseSignatures(input(16), sigs(17))).toBe('too-large');
    expect(parseSignatures(input(3), sigs(3), { maxMembers: 2 })).toBe('too-large');
  });
});

describe('parseSignatures: per-label problems', () => {
  it('a label only in Signature-Input keeps its parsed input but is malformed, with no bytes', () => {
    expect(parseSignatures('sig1=("@method");created=5', '')).toEqual([
      { label: 'sig1', components: [component('@method')], params: { created: 5 }, paramsValue: '("@method");created=5', signature: EMPTY, problem: 'malformed' },
    ]);
  });

  it('a label only in Signature is malformed, with its bytes and nothing else', () => {
    expect(parseSignatures('', 'sig1=:AAAA:')).toEqual([
      { label: 'sig1', components: [], params: {}, paramsValue: '', signature: BYTES, problem: 'malformed' },
    ]);
  });

  it('a bare word parses as a dictionary with a boolean member, which is not an inner list: malformed', () => {
    expect(parseSignatures('garbage', '')).toEqual([
      { label: 'garbage', components: [], params: {}, paramsValue: '', signature: EMPTY, problem: 'malformed' },
    ]);
  });

  it('one bad label does not spoil the others', () => {
    const result = parseSignatures('bad="x", good=("@method")', 'bad=:AAAA:, good=:AAAA:');
    expect(result).toEqual([
      { label: 'bad', components: [], params: {}, paramsValue: '', signature: BYTES, problem: 'malformed' },
      { label: 'good', components: [component('@method')], params: {}, paramsValue: '("@method")', signature: BYTES },
    ]);
  });

  it.each([
    ['an sf-string item', '"@method"', SIG],
    ['a token item', 'method', SIG],
    ['an integer item', '1', SIG],
    ['an inner list of tokens', '(method path)', SIG],
    ['an inner list with an integer', '("@method" 1)', SIG],
    ['an inner list with a byte sequence', '(:AAAA:)', SIG],
    ['an inner list with a display string', '(%"@method")', SIG],
    ['a Signature member that is a string', '("@method")', '"AAAA"'],
    ['a Signature member that is a token', '("@method")', 'AAAA'],
    ['a Signature member that is an inner list', '("@method")', '(:AAAA:)'],
    ['a Signature member that is a boolean', '("@method")', '?1'],
    ['a Signature member that is an integer', '("@method")', '1'],
  ])('%s → malformed', (_what, input, signature) => {
    expect(problemOf(input, signature)).toBe('malformed');
  });

  it('a Signature member that is a string keeps the input but no bytes', () => {
    expect(one('("@method")', '"AAAA"')).toEqual({
      label: 'sig1',
      components: [component('@method')],
      params: {},
      paramsValue: '("@method")',
      signature: EMPTY,
      problem: 'malformed',
    });
  });

  it.each([
    ['the same component twice', '("@method" "date" "@method")'],
    ['the same field with the same parameters twice', '("date";sf "date";sf)'],
    ['an upper-case field name', '("Content-Type")'],
    ['an upper-case derived name', '("@Method")'],
    ['an empty name', '("")'],
    ['a name with a space', '("content type")'],
    ['a lone @', '("@")'],
    ['@signature-params covered', '("@signature-params")'],
    ['an unknown component parameter', '("date";foo)'],
    ['sf=?0 (flags must be true)', '("date";sf=?0)'],
    ['req=1', '("date";req=1)'],
    ['key as a token', '("signature-agent";key=a)'],
    ['key as an integer', '("signature-agent";key=1)'],
    ['name as a token', '("@query-param";name=a)'],
    ['name on a field', '("date";name="a")'],
    ['name on another derived component', '("@path";name="a")'],
    ['@query-param without name', '("@query-param")'],
    ['key on a derived component', '("@authority";key="a")'],
    ['sf on a derived component', '("@method";sf)'],
    ['bs on a derived component', '("@path";bs)'],
    ['tr on a derived component', '("@path";tr)'],
    ['bs with sf', '("date";bs;sf)'],
    ['bs with key', '("example-dict";bs;key="a")'],
  ])('%s → component-invalid', (_what, input) => {
    expect(one(`${input};created=1;keyid="k"`)).toEqual({
      label: 'sig1',
      components: [],
      params: { created: 1, keyid: 'k' },
      paramsValue: expect.any(String) as string,
      signature: BYTES,
      problem: 'component-invalid',
    });
  });

  it.each([
    ['"date";sf;key="a"', '("date";sf;key="a")'],
    ['"@authority";req', '("@authority";req)'],
    ['"date";req;tr', '("date";req;tr)'],
    ['"date" and "date";sf', '("date" "date";sf)'],
    ['"@query-param" twice with different names', '("@query-param";name="a" "@query-param";name="b")'],
    ['an unknown derived name (refused later, by the base)', '("@unknown")'],
  ])('%s is accepted by the parser', (_what, input) => {
    expect(problemOf(input)).toBeUndefined();
  });

  it('more than maxComponents covered → component-invalid (default 32)', () => {
    const list = (n: number): string => `(${Array.from({ length: n }, (_, i) => `"x-${i}"`).join(' ')})`;
    expect(problemOf(list(32))).toBeUndefined();
    expect(problemOf(list(33))).toBe('component-invalid');
    const limited = parseSignatures(`sig1=${list(3)}`, `sig1=${SIG}`, { maxComponents: 2 });
    expect(limited).toMatchObject([{ label: 'sig1', components: [], problem: 'component-invalid' }]);
  });

  it.each([
    ['a negative created', '();created=-1', { keyid: 'k' }],
    ['a decimal created', '();created=1.5', { keyid: 'k' }],
    ['created as a string', '();created="1618884473"', { keyid: 'k' }],
    ['created as a date', '();keyid="k";created=@1618884473', { keyid: 'k' }],
    ['a negative expires', '();expires=-5', { keyid: 'k' }],
    ['expires as a token', '();expires=never', { keyid: 'k' }],
    ['keyid as a token', '();keyid=k', {}],
    ['keyid as an integer', '();keyid=1', {}],
    ['nonce as a byte sequence', '();nonce=:AAAA:', { keyid: 'k' }],
    ['alg as a token', '();alg=ed25519', { keyid: 'k' }],
    ['tag as a boolean', '();tag', { keyid: 'k' }],
  ])('%s → param-invalid, keeping the well-typed parameters', (_what, input, expected) => {
    const withKeyid = input.includes('keyid') ? input : `${input};keyid="k"`;
    expect(one(withKeyid)).toEqual({
      label: 'sig1',
      components: [],
      params: expected,
      paramsValue: expect.any(String) as string,
      signature: BYTES,
      problem: 'param-invalid',
    });
  });

  it('structured-headers 2.1.0 only parses an sf-date at the very end of the input: anywhere else the header is malformed', () => {
    expect(parseSignatures('sig1=();created=@1618884473;keyid="k"', `sig1=${SIG}`)).toBe('malformed');
  });

  it('created after expires → param-invalid; equal is fine', () => {
    expect(problemOf('();created=10;expires=9')).toBe('param-invalid');
    expect(problemOf('();created=10;expires=10')).toBeUndefined();
  });

  it('a component problem wins over a parameter problem, a malformed member over both', () => {
    expect(problemOf('("@method" "@method");created=-1')).toBe('component-invalid');
    expect(problemOf('("@method" "@method");created=-1', '"x"')).toBe('malformed');
  });
});

describe('parseSignatures: duplicates inside the structured fields (RFC 8941 §4.2.2, §4.2.3.2)', () => {
  it('a duplicated label: the later member wins, at the position of the first', () => {
    const result = parseSignatures('sig1=("@method");created=1, sig2=("@path"), sig1=("@authority");created=2', 'sig1=:AAAA:, sig2=:AQ==:');
    expect(result).toEqual([
      { label: 'sig1', components: [component('@authority')], params: { created: 2 }, paramsValue: '("@authority");created=2', signature: BYTES },
      { label: 'sig2', components: [component('@path')], params: {}, paramsValue: '("@path")', signature: new Uint8Array([1]) },
    ]);
  });

  it('a duplicated Signature label: the later bytes win', () => {
    expect(parseSignatures('sig1=()', 'sig1=:AAAA:, sig1=:AQ==:')).toEqual([
      { label: 'sig1', components: [], params: {}, paramsValue: '()', signature: new Uint8Array([1]) },
    ]);
  });

  it('a duplicated signature parameter is not rejected by the parser: the later value wins and paramsValue shows only it', () => {
    expect(one('("@method");created=1;keyid="a";created=2')).toEqual({
      label: 'sig1',
      components: [component('@method')],
      params: { created: 2, keyid: 'a' },
      paramsValue: '("@method");created=2;keyid="a"',
      signature: BYTES,
    });
  });

  it('a duplicated component parameter collapses the same way', () => {
    expect(one('("signature-agent";key="a";key="b")')).toMatchObject({
      components: [component('signature-agent', [['key', 'b']], '"signature-agent";key="b"')],
      paramsValue: '("signature-agent";key="b")',
    });
  });
});

describe('parseComponentId', () => {
  it.each([
    ['@method', component('@method')],
    ['content-digest', component('content-digest')],
    ['"@query-param";name="Pet"', component('@query-param', [['name', 'Pet']], '"@query-param";name="Pet"')],
    ['"signature-agent";key="a"', component('signature-agent', [['key', 'a']], '"signature-agent";key="a"')],
    ['"content-digest";sf=?1', component('content-digest', [['sf', true]], '"content-digest";sf')],
    ['"@method";req', component('@method', [['req', true]], '"@method";req')],
    ['"@authority"', component('@authority')],
  ])('%s', (text, expected) => {
    expect(parseComponentId(text)).toEqual(expected);
  });

  it.each([
    '',
    'Content-Digest',
    '@Method',
    '@signature-params',
    '"@signature-params"',
    '@query-param',
    '"@query-param"',
    '"x";foo',
    '"x";sf=?0',
    '"x";bs;sf',
    '"@method";key="a"',
    '"x" ;sf',
    '"unterminated',
    '"x" "y"',
    'a b',
    ' @method',
    'x;sf',
    '"x";key=a',
    'é',
  ])('%j → undefined', (text) => {
    expect(parseComponentId(text)).toBeUndefined();
  });
});

describe('componentId', () => {
  it('builds identifiers with parameters in the order given', () => {
    expect(componentId('signature-agent', { key: 'agent2' })).toEqual(component('signature-agent', [['key', 'agent2']], '"signature-agent";key="agent2"'));
    expect(componentId('@query-param', { name: 'Pet', req: true })).toEqual(
      component('@query-param', [['name', 'Pet'], ['req', true]], '"@query-param";name="Pet";req'),
    );
    expect(componentId('content-digest', { req: true, sf: true }).id).toBe('"content-digest";req;sf');
    expect(componentId('date').id).toBe('"date"');
  });

  it('treats a false flag as absent', () => {
    expect(componentId('date', { sf: false, req: false })).toEqual(component('date'));
  });

  it.each([
    ['Date', undefined],
    ['@signature-params', undefined],
    ['@query-param', undefined],
    ['@method', { key: 'a' }],
    ['date', { foo: 'x' }],
    ['date', { bs: true, sf: true }],
    ['date', { name: 'x' }],
    ['date', { key: 'é' }],
    ['date', { key: 'a\tb' }],
    ['date', { sf: 'yes' }],
    ['', undefined],
  ] as const)('%s %j throws TypeError', (name, params) => {
    expect(() => componentId(name, params)).toThrow(TypeError);
  });
});

describe('serializeSignatureParams', () => {
  const b22 = [componentId('@authority'), componentId('content-digest'), componentId('@query-param', { name: 'Pet' })];

  it('reproduces RFC 9421 B.2.2 @signature-params', () => {
    expect(serializeSignatureParams(b22, { created: 1618884473, keyid: 'test-key-rsa-pss', tag: 'header-example' })).toBe(
      '("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
    );
  });

  it('keeps the given order, skips undefined, quotes strings and escapes quotes and backslashes', () => {
    expect(serializeSignatureParams([], { keyid: 'k"\\', created: 1, nonce: undefined, expires: 2, alg: 'ed25519' })).toBe(
      '();keyid="k\\"\\\\";created=1;expires=2;alg="ed25519"',
    );
  });

  it('round-trips through parseSignatures', () => {
    const value = serializeSignatureParams(b22, { created: 1, expires: 2, keyid: 'k', tag: 'web-bot-auth' });
    expect(one(value)).toMatchObject({ paramsValue: value, params: { created: 1, expires: 2, keyid: 'k', tag: 'web-bot-auth' } });
  });

  it.each([
    ['a negative created', { created: -1 }],
    ['a decimal expires', { expires: 1.5 }],
    ['created as a string', { created: '1' }],
    ['created beyond 15 digits', { created: 1e15 }],
    ['a non-ASCII nonce', { nonce: 'é' }],
    ['a control character', { keyid: 'a\nb' }],
    ['an invalid parameter name', { Keyid: 'k' }],
  ])('%s throws TypeError', (_what, params) => {
    expect(() => serializeSignatureParams([], params)).toThrow(TypeError);
  });

  it('refuses a component listed twice', () => {
    expect(() => serializeSignatureParams([componentId('date'), componentId('date')], {})).toThrow(TypeError);
  });
});
