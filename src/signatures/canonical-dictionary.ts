/**
 * A fast path in front of `structured-headers` for Dictionaries written in canonical form — exactly
 * as RFC 8941 §4.1 serializes them, which is how signers write `Signature-Input` and `Signature`.
 *
 * It is a strict scanner for a narrow subset, not a second parser of the whole grammar: members
 * `key=value`, separated by exactly `", "`; values are an Inner List (items separated by exactly one
 * SP, no other whitespace) or an Item; bare items are sf-strings, sf-integers written canonically (no
 * leading zero, no `-0`, at most 15 digits, not decimals) and byte sequences in canonical base64
 * (padded, no stray bits); parameters are `;key=value` or `;key` (true). Anything else — tokens,
 * decimals, booleans written out, dates, display strings, other whitespace, a repeated key, a
 * non-canonical number or base64 — makes it answer `undefined`, and the caller parses the text with
 * `structured-headers` as before.
 *
 * Why the result is the library's: a text this accepts is the canonical serialization of the value it
 * returns (every accepted form is the form RFC 8941 §4.1 writes, and nothing else is accepted), and a
 * conforming parser reads a serialization back as the value serialized. test/fuzz/canonical-dictionary
 * checks both directions against `structured-headers` (random values serialized by the library, and
 * random and mutated texts: the result is the library's or `undefined`).
 */
import type { BareItem, Dictionary, InnerList, Item, Parameters } from 'structured-headers';

/** Key characters (RFC 8941 §3.1.2 `key`: `lcalpha / DIGIT / "_" / "-" / "." / "*"`), and which may start one. */
const KEY_START = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyz*') KEY_START[c.charCodeAt(0)] = 1;
const KEY_CHARS = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789_-.*') KEY_CHARS[c.charCodeAt(0)] = 1;
/** The 6-bit value of each standard base64 character (RFC 4648 §4), -1 for any other. */
export const BASE64_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64_VALUES['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/** The end of the key starting at `start` (RFC 8941 §4.2.3.3), or -1 when none starts there. */
export function keyEnd(text: string, start: number): number {
  const c = text.charCodeAt(start);
  if (!(c < 128 && KEY_START[c] === 1)) return -1;
  let end = start + 1;
  for (; end < text.length; end++) {
    const d = text.charCodeAt(end);
    if (!(d < 128 && KEY_CHARS[d] === 1)) break;
  }
  return end;
}

/** True when `key` is a whole RFC 8941 key. */
export function isKey(key: string): boolean {
  return key.length > 0 && keyEnd(key, 0) === key.length;
}

/** Character codes of the structured-field syntax (shared with parse.ts's signature scanner). */
export const SP = 0x20;
export const DQUOTE = 0x22;
export const LPAREN = 0x28;
export const RPAREN = 0x29;
export const COMMA = 0x2c;
const MINUS = 0x2d;
export const DOT = 0x2e;
export const ZERO = 0x30;
export const NINE = 0x39;
export const COLON = 0x3a;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
const BACKSLASH = 0x5c;
/** RFC 9651 §3.3.1: an Integer has at most 15 digits. */
export const MAX_INTEGER_DIGITS = 15;

/**
 * The index of the `:` closing a byte sequence whose base64 starts at `start` (just after the opening
 * `:`), when it is in canonical form: standard alphabet, padded to a multiple of four, at most two
 * `=` at the end, and no stray bits (the bits after the last byte are zero, RFC 4648 §3.5), so the
 * bytes encode back to the same text. -1 for anything else.
 */
export function canonicalBase64End(text: string, start: number): number {
  let end = start;
  let last = 0;
  for (; end < text.length; end++) {
    const c = text.charCodeAt(end);
    const value = c < 128 ? BASE64_VALUES[c]! : -1;
    if (value < 0) break;
    last = value;
  }
  let padding = 0;
  while (padding < 2 && text.charCodeAt(end + padding) === EQUALS) padding++;
  const close = end + padding;
  if (text.charCodeAt(close) !== COLON || (close - start) % 4 !== 0) return -1;
  // 4 of the last character's 6 bits before "==", 2 before "=".
  if ((padding === 1 && (last & 0x03) !== 0) || (padding === 2 && (last & 0x0f) !== 0)) return -1;
  return close;
}

/** Where the scan is; every helper below reads and advances it. The module is synchronous, so one suffices. */
let pos = 0;

/**
 * The Dictionary `text` holds when it is written in canonical form, else `undefined` (then parse it
 * with `structured-headers`). Never throws.
 */
export function parseCanonicalDictionary(text: string): Dictionary | undefined {
  const end = text.length;
  if (end === 0) return undefined;
  const dictionary: Dictionary = new Map();
  pos = 0;
  for (;;) {
    const key = scanKey(text);
    if (key === undefined || dictionary.has(key) || text.charCodeAt(pos) !== EQUALS) return undefined;
    pos++;
    const member = text.charCodeAt(pos) === LPAREN ? scanInnerList(text) : scanItem(text);
    if (member === undefined) return undefined;
    dictionary.set(key, member);
    if (pos === end) return dictionary;
    if (text.charCodeAt(pos) !== COMMA || text.charCodeAt(pos + 1) !== SP || pos + 2 === end) return undefined;
    pos += 2;
  }
}

function scanKey(text: string): string | undefined {
  const start = pos;
  const end = keyEnd(text, start);
  if (end < 0) return undefined;
  pos = end;
  return text.slice(start, end);
}

function scanInnerList(text: string): InnerList | undefined {
  pos++; // "("
  const items: Item[] = [];
  if (text.charCodeAt(pos) !== RPAREN) {
    for (;;) {
      const item = scanItem(text);
      if (item === undefined) return undefined;
      items.push(item);
      const c = text.charCodeAt(pos);
      if (c === RPAREN) break;
      if (c !== SP) return undefined;
      pos++;
    }
  }
  pos++; // ")"
  const parameters = scanParameters(text);
  return parameters === undefined ? undefined : [items, parameters];
}

function scanItem(text: string): Item | undefined {
  const value = scanBareItem(text);
  if (value === undefined) return undefined;
  const parameters = scanParameters(text);
  return parameters === undefined ? undefined : [value, parameters];
}

function scanParameters(text: string): Parameters | undefined {
  const parameters: Parameters = new Map();
  while (text.charCodeAt(pos) === SEMICOLON) {
    pos++;
    const key = scanKey(text);
    if (key === undefined || parameters.has(key)) return undefined;
    let value: BareItem = true;
    if (text.charCodeAt(pos) === EQUALS) {
      pos++;
      const bare = scanBareItem(text);
      if (bare === undefined) return undefined;
      value = bare;
    }
    parameters.set(key, value);
  }
  return parameters;
}

function scanBareItem(text: string): BareItem | undefined {
  const c = text.charCodeAt(pos);
  if (c === DQUOTE) return scanString(text);
  if (c === COLON) return scanByteSequence(text);
  if (c === MINUS || (c >= ZERO && c <= NINE)) return scanInteger(text);
  return undefined;
}

function scanString(text: string): string | undefined {
  const start = ++pos;
  let escaped = false;
  for (;;) {
    const c = text.charCodeAt(pos);
    if (c === DQUOTE) break;
    if (c === BACKSLASH) {
      const next = text.charCodeAt(pos + 1);
      if (next !== DQUOTE && next !== BACKSLASH) return undefined;
      escaped = true;
      pos += 2;
      continue;
    }
    // Visible ASCII and SP only (also false at the end of the text, where c is NaN).
    if (!(c >= 0x20 && c <= 0x7e)) return undefined;
    pos++;
  }
  const raw = text.slice(start, pos);
  pos++; // closing DQUOTE
  return escaped ? raw.replace(/\\(["\\])/g, '$1') : raw;
}

function scanInteger(text: string): number | undefined {
  const start = pos;
  if (text.charCodeAt(pos) === MINUS) pos++;
  const digitsStart = pos;
  while (pos < text.length) {
    const c = text.charCodeAt(pos);
    if (c < ZERO || c > NINE) break;
    pos++;
  }
  const digits = pos - digitsStart;
  if (digits === 0 || digits > MAX_INTEGER_DIGITS) return undefined;
  // Canonical: no leading zero, and zero is never negative; a "." would make it a decimal.
  if (text.charCodeAt(digitsStart) === ZERO && (digits > 1 || digitsStart !== start)) return undefined;
  if (text.charCodeAt(pos) === DOT) return undefined;
  return Number(text.slice(start, pos));
}

function scanByteSequence(text: string): ArrayBuffer | undefined {
  const start = ++pos;
  const close = canonicalBase64End(text, start);
  if (close < 0) return undefined;
  const base64 = text.slice(start, close);
  const bytes = new ArrayBuffer(Buffer.byteLength(base64, 'base64'));
  Buffer.from(bytes).write(base64, 'base64');
  pos = close + 1;
  return bytes;
}

/**
 * RFC 8941 §4.1.1.2 serialization of parameters whose values are in the subset above (strings,
 * integers, byte sequences, true), as `structured-headers`' `serializeParameters` writes them;
 * `undefined` for anything else (then use the library's). The library checks every key and string
 * with a regular expression and builds the text piece by piece; rebuilding `@signature-params` on
 * every request is most of what it costs, and these values are already known to be well-formed
 * except where checked here.
 */
export function serializeSimpleParameters(parameters: Parameters): string | undefined {
  let out = '';
  for (const [key, value] of parameters) {
    const parameter = serializeSimpleParameter(key, value);
    if (parameter === undefined) return undefined;
    out += parameter;
  }
  return out;
}

/** One parameter, `;key` or `;key=value`, as `serializeParameters` writes it; `undefined` outside the subset. */
export function serializeSimpleParameter(key: string, value: BareItem): string | undefined {
  if (!isKey(key)) return undefined;
  if (value === true) return ';' + key;
  const bare = serializeSimpleBareItem(value);
  return bare === undefined ? undefined : ';' + key + '=' + bare;
}

function serializeSimpleBareItem(value: BareItem): string | undefined {
  if (typeof value === 'string') {
    let escaped = false;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) return undefined;
      if (c === DQUOTE || c === BACKSLASH) escaped = true;
    }
    return escaped ? `"${value.replace(/["\\]/g, '\\$&')}"` : `"${value}"`;
  }
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && Math.abs(value) <= 999_999_999_999_999 && !Object.is(value, -0) ? String(value) : undefined;
  }
  if (value instanceof ArrayBuffer) return `:${Buffer.from(value).toString('base64')}:`;
  return undefined;
}


/**
 * RFC 8941 §4.1.1 / §4.1.3 serialization of a Dictionary member (an Item or an Inner List) whose
 * values are all in the subset above, as the library writes it; `undefined` for anything else.
 */
export function serializeSimpleMember(member: Item | InnerList): string | undefined {
  const [value, parameters] = member;
  const params = serializeSimpleParameters(parameters);
  if (params === undefined) return undefined;
  if (!Array.isArray(value)) {
    const bare = serializeSimpleBareItem(value);
    return bare === undefined ? undefined : bare + params;
  }
  let out = '(';
  for (let i = 0; i < value.length; i++) {
    const [itemValue, itemParameters] = value[i]!;
    const bare = serializeSimpleBareItem(itemValue);
    const itemParams = serializeSimpleParameters(itemParameters);
    if (bare === undefined || itemParams === undefined) return undefined;
    out += (i === 0 ? '' : ' ') + bare + itemParams;
  }
  return out + ')' + params;
}
