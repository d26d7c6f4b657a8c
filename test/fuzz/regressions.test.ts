import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { componentValue } from '../../src/signatures/components.js';
import { parseComponentId, parseSignatures } from '../../src/signatures/parse.js';
import { reserializeField, tryParseDictionary, tryParseItem, tryParseList } from '../../src/signatures/structured-fields.js';
import { ed25519Pair, sign } from '../helpers/http-sig.js';
import { settledRatio } from './timing.js';

/**
 * What the fuzz tests found, one focused case each, with the smallest input that shows it. Cases
 * marked `it.fails` document a bug that is still there (its fix is outside the files this work may
 * change, or in a dependency): the test asserts the right behaviour and is expected to fail; when
 * the bug is fixed it starts passing, vitest reports that, and `.fails` should be removed.
 */

const NOW = 1_800_000_000;
const message = (name: string, value: string) => ({ method: 'GET', url: 'https://a.example/', fieldLines: (n: string) => (n === name ? [value] : undefined) });
const sf = parseComponentId('"x-meta";sf')!;

describe('regressions: structured values the library cannot serialize back are refused', () => {
  // structured-headers 2.1.0 parses an sf-date of up to 15 digits (RFC 9651 §3.3.7) into a JavaScript
  // Date, which holds only ±8.64e12 seconds: beyond, an Invalid Date that serializes as `@NaN`.
  // Found by: parse → serialize → parse (signatures.test.ts), minimal input `@8640000000001`.
  it('a date beyond what a JavaScript Date holds (was: re-serialized as `@NaN`)', () => {
    for (const text of ['@8640000000001', '@-8640000000001', 'a=@999999999999999', '1;p=@9000000000000', '(1 @9000000000000)']) {
      expect(tryParseList(text)).toBeUndefined();
    }
    expect(tryParseItem('@8640000000001')).toBeUndefined();
    expect(tryParseDictionary('a=@8640000000001')).toBeUndefined();
    expect(reserializeField('example-dict', 'a=@9000000000000')).toBeUndefined();
    // Dates a Date can hold still parse and round-trip.
    expect(reserializeField('example-dict', 'a=@8640000000000')).toBe('a=@8640000000000');
    expect(reserializeField('example-dict', 'a=@-1')).toBe('a=@-1');
  });

  it('…so two different signed dates can no longer give the same signature base line', () => {
    // Before the fix both were `"x-meta";sf: a=@NaN`: a signature over one verified the other.
    expect(componentValue(message('x-meta', 'a=@9000000000000'), sf)).toBe('component-invalid');
    expect(componentValue(message('x-meta', 'a=@-9000000000000'), sf)).toBe('component-invalid');
  });

  it('…and a Signature-Input parameter holding one makes the header malformed (was: `;x=@NaN` in @signature-params)', () => {
    expect(parseSignatures('sig1=("@method");created=1;x=@99999999999999', 'sig1=:AAAA:')).toBe('malformed');
  });

  // The library writes a Display String byte below 0x10 with one hex digit: `%"%00"` → `%"%0"`
  // (unparseable) and `%"%009v"` → `%"%09v"`, which reads back as a TAB then `v`. Found by the same
  // property, minimal input `%"%02"`.
  it('a display string with a byte below 0x10 (was: re-serialized as another value)', () => {
    expect(tryParseItem('%"%02"')).toBeUndefined();
    expect(reserializeField('example-dict', 'a=%"%009v"')).toBeUndefined();
    expect(reserializeField('example-dict', 'a=%"%10"')).toBe('a=%"%10"');
  });

  // The library reads a character above U+00FF inside a Display String as its low byte: `%"ŧ"`
  // (U+0167) parses as `%"g"`. RFC 8941 §4.2 parses ASCII only; the wrappers now refuse other text.
  it('non-ASCII text (was: `%"ŧ"` parsed as `%"g"`)', () => {
    expect(tryParseItem('%"ŧ"')).toBeUndefined();
    expect(tryParseDictionary('a=%"ŧ"')).toBeUndefined();
    expect(tryParseList('"a", "é"')).toBeUndefined();
  });

  // Before the fix, a request signed over `x-meta: a=@9000000000000` (covered as `sf`) was still
  // allowed with `x-meta: a=@-9999999999999`: both put `a=@NaN` into the signature base.
  it('through the guard: a signature over such a field is refused, not verified', async () => {
    const agent = ed25519Pair();
    const guard = createGuard({ signatures: { keys: [agent.publicJwk], directory: false }, now: () => NOW * 1000 });
    const signed = (value: string) =>
      sign(
        { method: 'GET', url: 'https://api.example.com/', headers: { 'x-meta': value } },
        {
          key: agent.privateKey,
          algorithm: 'ed25519',
          keyid: agent.thumbprint,
          components: ['@authority', '"x-meta";sf', '"signature-agent";key="sig1"'],
          params: { created: NOW, expires: NOW + 60, keyid: agent.thumbprint, tag: 'web-bot-auth' },
          agent: { url: 'https://agent.example' },
        },
      );
    expect((await guard.check(signed('a=@1'))).reason).toBe('OK');
    // The test signer cannot even build a base for it now; a hand-made signature is refused the same way.
    expect(() => signed('a=@9000000000000')).toThrow(/could not build a base: component-invalid/);
    const forged = signed('a=@1');
    const d = await guard.check({ ...forged, headers: { ...forged.headers, 'x-meta': 'a=@9000000000000' } });
    expect({ outcome: d.outcome, reason: d.reason }).toEqual({ outcome: 'deny', reason: 'ERR_SIGNATURE_COMPONENT_INVALID' });
  });
});

describe('regressions: still open (dependency or files outside this change)', () => {
  // structured-headers 2.1.0 keeps decimals as JavaScript numbers, so a decimal with an integral
  // value serializes as an integer: `a=1.0` → `a=1` (RFC 8941 §4.1.5 wants `1.0`). A signer that
  // follows the RFC signs `a=1.0`; bonafide's `sf` base says `a=1`: such a signature never verifies,
  // and `1` / `1.0` (integer / decimal) cannot be told apart. Needs a parser that keeps the type.
  it.fails('a decimal keeps its type through re-serialization (RFC 8941 §4.1.5)', () => {
    expect(reserializeField('example-dict', 'a=1.0')).toBe('a=1.0');
  });

  // structured-headers 2.1.0 reads an sf-date's digits up to the end of the input and fails on
  // anything after them, so a date that is not the very last thing is refused: `a=@1, b=2`, `@1;p`.
  // Valid RFC 9651 fields; a request signing one `sf` is denied. Needs the parser fixed upstream.
  it.fails('a date followed by more members parses (RFC 9651 §4.2.9)', () => {
    expect(tryParseDictionary('a=@1, b=2')).toBeDefined();
  });

  // src/signatures/components.ts `unfold` (obs-fold in a covered header, RFC 9421 §2.1) used to append
  // one character at a time and trim the end of the whole output at every fold: n folds cost O(n²)
  // (64 KiB of `a\r\n ` ~12 ms against ~0.15 ms without folds, 256 KiB ~300 ms). Fixed: runs are
  // copied with slice. Only reachable through a hand-built GuardRequest (Node's HTTP parser and
  // `Headers` refuse or unfold CR LF first). Kept here as a fixed regression, though this block's
  // other tests are still open.
  it('unfolding obs-fold in a covered header is linear', () => {
    const component = parseComponentId('"x-long"')!;
    const size = 64 * 1024;
    const folded = message('x-long', 'a\r\n '.repeat(size / 4));
    const plain = message('x-long', 'a,  '.repeat(size / 4));
    // A linear unfold costs a few times a plain scan (it copies); the quadratic one ~100 times, on
    // every attempt (a busy moment spoils one measurement, hence up to three).
    const ratio = settledRatio(() => void componentValue(folded, component), () => void componentValue(plain, component), 30);
    expect(ratio).toBeLessThan(30);
  });
});
