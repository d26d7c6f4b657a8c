/**
 * Parsing of the `Signature-Input` and `Signature` fields (RFC 9421 §4.1, §4.2) and of component
 * identifiers (RFC 9421 §2). Everything here runs on untrusted input before any key is fetched, so it
 * never throws, bounds its work, and rejects anything the RFC does not allow instead of guessing.
 *
 * Both fields are RFC 8941/9651 Dictionaries. The library path (`parseWithLibrary`) reads them with
 * `tryParseDictionary`: `structured-headers`, the parser of record, behind the generic canonical
 * Dictionary scanner of canonical-dictionary.ts. In front of both sits a fast path for the one form
 * signers write, the canonical serialization (RFC 9651 §4.1) of valid signatures, e.g.
 * `sig1=("@authority" "signature-agent";key="sig1");created=…;keyid="…";expires=…;nonce="…";tag="web-bot-auth"`
 * and `sig1=:…:`. It builds the entries directly (no Maps and Items in between, the components
 * remembered by their text, the signature bytes decoded into Buffer's pool): ~2 µs where the library
 * path takes ~5.5 µs. It answers only with what the library path would answer, and otherwise
 * declines, for the library path to answer (and to name the problem). Why its answer is the library's:
 *
 * - The covered components come from the library: an inner list's text is parsed by
 *   `structured-headers` (`tryParseList`) and checked by the same `readComponents` as the library
 *   path, then kept in a small memo keyed by that text (an agent covers the same components on every
 *   request).
 * - The signature parameters are scanned by hand (`;key=value` with non-negative Integer or String
 *   values, no regular expression), then type-checked by the same `readSignatureParam`.
 * - `@signature-params` is rebuilt from what was parsed (the components' identifiers and the
 *   parameters re-serialized, RFC 9421 §2.3), as on the library path, and the fast path answers only
 *   when that rebuilt text equals the member's text in the header, character for character. The
 *   header is then the canonical serialization of the parsed value, which a conforming parser — the
 *   library included — reads back as that value: a scanner mistake can only make the fast path
 *   decline, never produce another signature base.
 * - Byte sequences: padded standard base64 without stray bits only, the one encoding of its bytes,
 *   which every base64 decoder reads alike.
 *
 * test/fuzz/parse-fast-path.test.ts checks that whenever it answers, its entries are the library
 * path's and `structured-headers`' own reading of the same text (random Signature-Input and Signature
 * dictionaries serialized by `structured-headers`, damaged, re-spaced, and arbitrary text), and that
 * it does answer for what signers send.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9421.html#section-4
 */
import { isInnerList, isValidKeyStr, serializeInnerList, serializeInteger, serializeParameters, serializeString } from 'structured-headers';
import type { BareItem, InnerList, Item, Parameters } from 'structured-headers';
import type { ComponentId, ParsedSignature, SignatureParams, SignatureProblem } from './types.js';
import {
  BASE64_VALUES,
  canonicalBase64End,
  COLON,
  COMMA,
  DOT,
  DQUOTE,
  EQUALS,
  keyEnd,
  LPAREN,
  MAX_INTEGER_DIGITS,
  NINE,
  RPAREN,
  SEMICOLON,
  serializeSimpleParameter,
  serializeSimpleParameters,
  SP,
  ZERO,
} from './canonical-dictionary.js';
import { isAsciiText, tryParseDictionary, tryParseItem, tryParseList } from './structured-fields.js';

/** Bounds on what one request may make us parse. */
export interface ParseLimits {
  /** Longest accepted header value, per header (default 8192). */
  maxHeaderBytes?: number;
  /** Most labels accepted in each of the two headers (default 16). */
  maxMembers?: number;
  /** Most covered components accepted per signature (default 32). */
  maxComponents?: number;
}

const DEFAULT_MAX_HEADER_BYTES = 8192;
const DEFAULT_MAX_MEMBERS = 16;
const DEFAULT_MAX_COMPONENTS = 32;

const EMPTY_BYTES = new Uint8Array(0);
const NO_PARAMS: SignatureParams = Object.freeze({});

/**
 * Parses Signature-Input and Signature (RFC 9421 §4.1/4.2) strictly as RFC 8941/9651 dictionaries.
 * Never throws. A header that is not a dictionary (or holds non-ASCII) is `'malformed'`; one that is
 * too long or has too many labels is `'too-large'`. Otherwise each label yields one entry, in
 * `Signature-Input` order (labels only in `Signature` come last), with `problem` set when unusable.
 */
export function parseSignatures(
  signatureInput: string,
  signature: string,
  limits?: ParseLimits,
): readonly ParsedSignature[] | 'malformed' | 'too-large' {
  const maxHeaderBytes = limits?.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const maxMembers = limits?.maxMembers ?? DEFAULT_MAX_MEMBERS;
  const maxComponents = limits?.maxComponents ?? DEFAULT_MAX_COMPONENTS;
  // Length first: it is free, and it bounds the ASCII scan and the parse that follow.
  if (signatureInput.length > maxHeaderBytes || signature.length > maxHeaderBytes) return 'too-large';
  return parseCanonicalSignatures(signatureInput, signature, maxMembers, maxComponents) ?? parseWithLibrary(signatureInput, signature, maxMembers, maxComponents);
}

/** The library path: `structured-headers` parses both fields; every problem is named. */
export function parseWithLibrary(
  signatureInput: string,
  signature: string,
  maxMembers: number,
  maxComponents: number,
): readonly ParsedSignature[] | 'malformed' | 'too-large' {
  if (!isAsciiText(signatureInput) || !isAsciiText(signature)) return 'malformed';
  const inputs = tryParseDictionary(signatureInput);
  const signatures = tryParseDictionary(signature);
  if (inputs === undefined || signatures === undefined) return 'malformed';
  if (inputs.size > maxMembers || signatures.size > maxMembers) return 'too-large';

  const out: ParsedSignature[] = [];
  for (const [label, member] of inputs) {
    const input = readInputMember(member, maxComponents);
    const bytes = signatures.has(label) ? readSignatureMember(signatures.get(label)) : undefined;
    out.push(joinMembers(label, input, bytes));
  }
  for (const [label, member] of signatures) {
    if (inputs.has(label)) continue;
    const bytes = readSignatureMember(member);
    out.push({ label, components: [], params: NO_PARAMS, paramsValue: '', signature: bytes ?? EMPTY_BYTES, problem: 'malformed' });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The fast path: the canonical serialization signers write (see the module comment).

/** Covered-component lists seen lately, by their text: an agent covers the same components on every request. */
interface ComponentList {
  readonly components: readonly ComponentId[];
  /** `(` the identifiers joined by SP `)`: the rebuilt inner list, equal to the text it is keyed by. */
  readonly serialized: string;
}
const recentComponentLists = new Map<string, ComponentList>();
const COMPONENT_MEMO_ENTRIES = 256;
const COMPONENT_MEMO_TEXT_LENGTH = 512;

/**
 * Both fields in canonical form, every label valid and in both: the entries, as `parseWithLibrary`
 * gives them. Anything else: `undefined` (the library path then answers, and names the problem).
 */
export function parseCanonicalSignatures(signatureInput: string, signature: string, maxMembers: number, maxComponents: number): ParsedSignature[] | undefined {
  // Printable ASCII throughout (no HTAB, which no sf-string may hold): then so is every value read below.
  if (!isPrintable(signatureInput)) return undefined;
  const labels: string[] = [];
  const signatures: Uint8Array[] = [];
  if (!scanSignatureField(signature, maxMembers, labels, signatures)) return undefined;
  const out: ParsedSignature[] = [];
  const text = signatureInput;
  let pos = 0;
  for (;;) {
    // label=(
    const labelEnd = keyEnd(text, pos);
    if (labelEnd < 0 || text.charCodeAt(labelEnd) !== EQUALS || text.charCodeAt(labelEnd + 1) !== LPAREN) return undefined;
    const label = text.slice(pos, labelEnd);
    const memberStart = labelEnd + 1;
    const listEnd = innerListEnd(text, memberStart);
    if (listEnd < 0) return undefined;
    const list = componentList(text.slice(memberStart, listEnd));
    if (list === undefined || list.components.length > maxComponents) return undefined;
    // ;key=value parameters, type-checked and re-serialized as they are read
    const params: MutableParams = {};
    let keys: string[] | undefined;
    let serializedParams = '';
    pos = listEnd;
    while (text.charCodeAt(pos) === SEMICOLON) {
      const start = pos + 1;
      pos = keyEnd(text, start);
      if (pos < 0) return undefined;
      const key = text.slice(start, pos);
      // A repeated key: the library keeps the last value at the first place; not canonical, so declined.
      if (keys === undefined) keys = [key];
      else if (keys.includes(key)) return undefined;
      else keys.push(key);
      let value: string | number | true = true;
      if (text.charCodeAt(pos) === EQUALS) {
        pos = scanParamValue(text, pos + 1);
        if (pos < 0) return undefined;
        value = scannedValue;
      }
      // A String holding `"` or `\\` comes back escaped, so it fails the exact comparison below: declined.
      const serialized = serializeSimpleParameter(key, value);
      if (serialized === undefined || !readSignatureParam(params, key, value)) return undefined;
      serializedParams += serialized;
    }
    const paramsValue = list.serialized + serializedParams;
    // The structural check: the rebuilt @signature-params is this member's text, character for character.
    if (!createdNotAfterExpires(params) || paramsValue !== text.slice(memberStart, pos)) return undefined;
    const index = labels.indexOf(label);
    if (index < 0 || out.some((e) => e.label === label)) return undefined;
    out.push({ label, components: list.components, params, paramsValue, signature: signatures[index]! });
    if (pos === text.length) break;
    if (text.charCodeAt(pos) !== COMMA || text.charCodeAt(pos + 1) !== SP) return undefined;
    pos += 2;
  }
  // Every Signature label has its Signature-Input member (else the library path marks it malformed).
  return out.length === labels.length && out.length <= maxMembers ? out : undefined;
}

/**
 * The index after the `)` closing the inner list that starts at `pos`, skipping quoted strings; -1
 * when there is none, or a `(` first. What lies between is only delimited here: the library parses
 * it (`componentList`).
 */
function innerListEnd(text: string, pos: number): number {
  for (let i = pos + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === RPAREN) return i + 1;
    if (c === LPAREN) return -1;
    if (c === DQUOTE) {
      i = stringEnd(text, i);
      if (i < 0) return -1;
    }
  }
  return -1;
}

/** The index of the next `"` after `pos` (the end of the string opened there, when it holds no escape), or -1. */
function stringEnd(text: string, pos: number): number {
  return text.indexOf('"', pos + 1);
}

/** Printable ASCII: SP to `~`. */
function isPrintable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < SP || c > 0x7e) return false;
  }
  return true;
}

/**
 * The covered components of an inner list's text: parsed by `structured-headers` as a one-member
 * List and checked by `readComponents`, as on the library path; kept only when the identifiers
 * rebuild the text exactly. `undefined` when they do not, or when a component is invalid.
 */
function componentList(text: string): ComponentList | undefined {
  const known = recentComponentLists.get(text);
  if (known !== undefined) return known;
  const list = tryParseList(text);
  const member = list?.length === 1 ? list[0] : undefined;
  if (member === undefined || !isInnerList(member) || member[1].size !== 0) return undefined;
  const [items] = member;
  for (const item of items) if (typeof item[0] !== 'string') return undefined;
  const components = readComponents(items, DEFAULT_MAX_COMPONENTS);
  if (components === undefined) return undefined;
  const serialized = `(${components.map((c) => c.id).join(' ')})`;
  if (serialized !== text) return undefined;
  const entry: ComponentList = { components, serialized };
  if (text.length <= COMPONENT_MEMO_TEXT_LENGTH) {
    if (recentComponentLists.size >= COMPONENT_MEMO_ENTRIES) recentComponentLists.clear();
    recentComponentLists.set(text, entry);
  }
  return entry;
}

/** The value `scanParamValue` read last (the fast path is synchronous, so one slot serves every call). */
let scannedValue: string | number = 0;

/**
 * Reads a parameter value the fast path accepts at `pos` — a canonical non-negative Integer, or a
 * String without escapes — into `scannedValue`; returns the index after it, or -1.
 */
function scanParamValue(text: string, pos: number): number {
  const c = text.charCodeAt(pos);
  if (c === DQUOTE) {
    const end = stringEnd(text, pos);
    if (end < 0) return -1;
    scannedValue = text.slice(pos + 1, end);
    return end + 1;
  }
  if (c < ZERO || c > NINE) return -1;
  let end = pos;
  let value = 0;
  for (; end < text.length; end++) {
    const d = text.charCodeAt(end);
    if (d < ZERO || d > NINE) break;
    value = value * 10 + (d - ZERO);
  }
  // No leading zero, at most 15 digits; a `.` would make it a Decimal.
  if (end - pos > MAX_INTEGER_DIGITS || (c === ZERO && end - pos > 1) || text.charCodeAt(end) === DOT) return -1;
  scannedValue = value;
  return end;
}

/**
 * `Signature` in canonical form: `label=:base64:` members separated by `", "`, the base64 padded,
 * in the standard alphabet and without stray bits (RFC 4648 §3.5): the one encoding of its bytes.
 * Fills `labels` and `signatures`; false for anything else.
 */
function scanSignatureField(text: string, maxMembers: number, labels: string[], signatures: Uint8Array[]): boolean {
  let pos = 0;
  for (;;) {
    const labelEnd = keyEnd(text, pos);
    if (labelEnd < 0 || text.charCodeAt(labelEnd) !== EQUALS || text.charCodeAt(labelEnd + 1) !== COLON) return false;
    const label = text.slice(pos, labelEnd);
    if (labels.includes(label) || labels.length === maxMembers) return false;
    const start = labelEnd + 2;
    const close = canonicalBase64End(text, start);
    if (close < 0) return false;
    labels.push(label);
    signatures.push(decodeBase64(text, start, close));
    pos = close + 1;
    if (pos === text.length) return true;
    if (text.charCodeAt(pos) !== COMMA || text.charCodeAt(pos + 1) !== SP) return false;
    pos += 2;
  }
}

/**
 * Decodes `text[start, close)`, canonical base64 already checked (`canonicalBase64End`). The bytes go into Buffer's shared pool, as `Buffer.from(…, 'base64')` would
 * put them, not into a small Uint8Array of their own: V8 keeps such an array on its heap and must move
 * it out (an allocation and a copy, ~0.6 µs) the first time its buffer is handed to native code, as
 * `crypto.verify` does. Whoever keeps the bytes long copies them (SignatureVerifier#remember).
 */
function decodeBase64(text: string, start: number, close: number): Uint8Array {
  const padding = text.charCodeAt(close - 1) !== EQUALS ? 0 : text.charCodeAt(close - 2) === EQUALS ? 2 : 1;
  const end = close - padding;
  const length = ((close - start) / 4) * 3 - padding;
  const pooled = Buffer.allocUnsafe(length);
  const bytes = new Uint8Array(pooled.buffer, pooled.byteOffset, length);
  let out = 0;
  for (let i = start; i < end; i += 4) {
    const bits =
      (BASE64_VALUES[text.charCodeAt(i)]! << 18) |
      (BASE64_VALUES[text.charCodeAt(i + 1)]! << 12) |
      (i + 2 < end ? BASE64_VALUES[text.charCodeAt(i + 2)]! << 6 : 0) |
      (i + 3 < end ? BASE64_VALUES[text.charCodeAt(i + 3)]! : 0);
    bytes[out++] = bits >> 16;
    if (out < bytes.length) bytes[out++] = (bits >> 8) & 0xff;
    if (out < bytes.length) bytes[out++] = bits & 0xff;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// The library path's checks (shared by the fast path)

/** What one `Signature-Input` member holds once checked. */
interface InputMember {
  readonly components: readonly ComponentId[];
  readonly params: SignatureParams;
  readonly paramsValue: string;
  readonly problem?: SignatureProblem;
}

const MALFORMED_INPUT: InputMember = Object.freeze({ components: [], params: NO_PARAMS, paramsValue: '', problem: 'malformed' });

/** Joins a label's two members. A missing or non-byte `Signature` member makes the label malformed. */
function joinMembers(label: string, input: InputMember, bytes: Uint8Array | undefined): ParsedSignature {
  const base = { label, components: input.components, params: input.params, paramsValue: input.paramsValue, signature: bytes ?? EMPTY_BYTES };
  if (input.problem === 'malformed' || bytes === undefined) return { ...base, problem: 'malformed' };
  return input.problem === undefined ? base : { ...base, problem: input.problem };
}

/** The signature bytes of a `Signature` member (RFC 9421 §4.2), or `undefined` when it is not a byte sequence. */
function readSignatureMember(member: Item | InnerList | undefined): Uint8Array | undefined {
  if (member === undefined || isInnerList(member)) return undefined;
  const value = member[0];
  return value instanceof ArrayBuffer ? new Uint8Array(value) : undefined;
}

/**
 * Checks a `Signature-Input` member (RFC 9421 §4.1): an inner list of sf-strings, each a valid
 * component identifier, with typed signature parameters. `paramsValue` is the member re-serialized,
 * which is what the signer signed (RFC 9421 §2.3) regardless of the whitespace they sent.
 */
function readInputMember(member: Item | InnerList, maxComponents: number): InputMember {
  if (!isInnerList(member)) return MALFORMED_INPUT;
  const [items, rawParams] = member;
  for (const item of items) if (typeof item[0] !== 'string') return MALFORMED_INPUT;
  const { params, valid } = readSignatureParams(rawParams);
  const components = readComponents(items, maxComponents);
  const paramsValue = serializeParamsValue(member, components);
  if (paramsValue === undefined) return MALFORMED_INPUT;
  if (components === undefined) return { components: [], params, paramsValue, problem: 'component-invalid' };
  return valid ? { components, params, paramsValue } : { components, params, paramsValue, problem: 'param-invalid' };
}

/**
 * `serializeInnerList(member)`, reusing the component ids already serialized (the same bytes: an
 * inner list is its items' serializations joined by SP, in parentheses, then its parameters; RFC 8941
 * §4.1.1.1). Serializing is most of the cost of parsing, so it is done once per item.
 */
function serializeParamsValue(member: InnerList, components: readonly ComponentId[] | undefined): string | undefined {
  try {
    if (components === undefined) return serializeInnerList(member);
    return `(${components.map((c) => c.id).join(' ')})${serializeSimpleParameters(member[1]) ?? serializeParameters(member[1])}`;
  } catch {
    return undefined;
  }
}

/** The covered components, or `undefined` when any is invalid, repeated, or there are too many (RFC 9421 §2, §2.5). */
function readComponents(items: readonly Item[], maxComponents: number): ComponentId[] | undefined {
  if (items.length > maxComponents) return undefined;
  const components: ComponentId[] = [];
  for (const [name, params] of items) {
    const component = buildComponentId(name as string, params);
    if (component === undefined || components.some((c) => c.id === component.id)) return undefined;
    components.push(component);
  }
  return components;
}

type MutableParams = { -readonly [K in keyof SignatureParams]: SignatureParams[K] };

const INTEGER_PARAMS = new Set(['created', 'expires']);
/** The largest sf-integer (RFC 8941 §3.3.1: at most 15 digits). */
const MAX_SF_INTEGER = 999_999_999_999_999;

/**
 * Type-checks the registered signature parameters (RFC 9421 §2.3): `created`/`expires` are
 * non-negative sf-integers, `keyid`/`nonce`/`alg`/`tag` are sf-strings, and `created` is not after
 * `expires`. Unknown parameters are left alone (they are still signed, through `paramsValue`).
 */
function readSignatureParams(raw: ReadonlyMap<string, BareItem>): { params: SignatureParams; valid: boolean } {
  const params: MutableParams = {};
  let valid = true;
  for (const [key, value] of raw) if (!readSignatureParam(params, key, value)) valid = false;
  return { params, valid: valid && createdNotAfterExpires(params) };
}

/** Records one parameter in `params` if it is a registered one of the right type; false when it is registered and ill-typed. */
function readSignatureParam(params: MutableParams, key: string, value: BareItem): boolean {
  switch (key) {
    case 'created':
    case 'expires':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return false;
      if (key === 'created') params.created = value;
      else params.expires = value;
      return true;
    case 'keyid':
    case 'nonce':
    case 'alg':
    case 'tag':
      if (typeof value !== 'string') return false;
      if (key === 'keyid') params.keyid = value;
      else if (key === 'nonce') params.nonce = value;
      else if (key === 'alg') params.alg = value;
      else params.tag = value;
      return true;
    default:
      return true;
  }
}

function createdNotAfterExpires(params: SignatureParams): boolean {
  return params.created === undefined || params.expires === undefined || params.created <= params.expires;
}

/** Component parameters RFC 9421 defines (§2.1 `sf`/`key`/`bs`/`req`/`tr`, §2.2.8 `name`). */
const FLAG_PARAMS = new Set(['sf', 'bs', 'req', 'tr']);
const STRING_COMPONENT_PARAMS = new Set(['key', 'name']);

/** Characters of a field name (RFC 9110 §5.1 `token`), lower-case only as RFC 9421 §2.1 requires. */
const FIELD_NAME_CHARS = charTable("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz");
/** Characters after the `@` of a derived component name (RFC 9421 §2.2, §6.4 registry names). */
const DERIVED_NAME_CHARS = charTable('-0123456789abcdefghijklmnopqrstuvwxyz');

function charTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

/** True for a lower-case field name or `@` derived name; upper case is an error, not something to fold (RFC 9421 §2.1). */
function isComponentName(name: string): boolean {
  const derived = name.charCodeAt(0) === 0x40; /* @ */
  const table = derived ? DERIVED_NAME_CHARS : FIELD_NAME_CHARS;
  const start = derived ? 1 : 0;
  if (name.length <= start) return false;
  for (let i = start; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || table[c] === 0) return false;
  }
  return true;
}

/**
 * Validates a component name and its parameters and builds the identifier, or `undefined` when the
 * RFC forbids the combination: `@signature-params` covered (§2.3), parameters other than those of
 * §2.1/§2.2.8 or of the wrong type, `name` anywhere but on a required `@query-param` (§2.2.8),
 * `key`/`sf`/`bs`/`tr` on a derived component (§2.2), and `bs` with `sf` or `key` (§2.1.3).
 */
function buildComponentId(name: string, rawParams: ReadonlyMap<string, BareItem>): ComponentId | undefined {
  if (!isComponentName(name) || name === '@signature-params') return undefined;
  const params = new Map<string, string | boolean>();
  for (const [key, value] of rawParams) {
    const wellTyped = FLAG_PARAMS.has(key) ? value === true : STRING_COMPONENT_PARAMS.has(key) && typeof value === 'string';
    if (!wellTyped) return undefined;
    params.set(key, value as string | boolean);
  }
  if (!hasAllowedParams(name, params)) return undefined;
  const id = serializeComponentId(name, params);
  return id === undefined ? undefined : { name, params, id };
}

/**
 * The identifier as an sf-string with parameters (RFC 8941 §4.1.3). The name needs no escaping (it
 * was checked to hold only token characters, never a quote or a backslash), and the parameter keys come from a
 * fixed set; string values go through the library's serializer, which escapes and refuses non-ASCII.
 */
function serializeComponentId(name: string, params: ReadonlyMap<string, string | boolean>): string | undefined {
  if (params.size === 0) return `"${name}"`;
  const simple = serializeSimpleParameters(params as Parameters);
  if (simple !== undefined) return `"${name}"${simple}`;
  let id = `"${name}"`;
  try {
    for (const [key, value] of params) id += value === true ? `;${key}` : `;${key}=${serializeString(value as string)}`;
  } catch {
    return undefined;
  }
  return id;
}

function hasAllowedParams(name: string, params: ReadonlyMap<string, string | boolean>): boolean {
  if ((name === '@query-param') !== params.has('name')) return false;
  if (name.charCodeAt(0) === 0x40 && (params.has('key') || params.has('sf') || params.has('bs') || params.has('tr'))) return false;
  return !(params.has('bs') && (params.has('sf') || params.has('key')));
}

/**
 * Parses one component identifier as given in configuration: `@method`, `content-digest`, or the
 * serialized form `"@query-param";name="Pet"` / `"signature-agent";key="a"`. Returns undefined if
 * invalid (including upper-case names, which RFC 9421 §2.1 forbids rather than folds).
 */
export function parseComponentId(text: string): ComponentId | undefined {
  if (text.charCodeAt(0) !== 0x22 /* " */) return buildComponentId(text, new Map());
  const item = tryParseItem(text);
  if (item === undefined || typeof item[0] !== 'string') return undefined;
  return buildComponentId(item[0], item[1]);
}

/**
 * Builds a ComponentId from a name and parameters (signer side and policy configuration). A `false`
 * flag means "absent", so `{ req: isResponse }` reads naturally. Throws TypeError on invalid input:
 * this runs at configuration time, where failing loudly is the point.
 */
export function componentId(name: string, params?: Record<string, string | boolean>): ComponentId {
  const map = new Map<string, BareItem>();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value === false) continue;
    if (typeof value !== 'string' && value !== true) throw new TypeError(`Component parameter ${key} must be a string or true`);
    if (typeof value === 'string' && !isAsciiText(value)) throw new TypeError(`Component parameter ${key} must be printable ASCII`);
    map.set(key, value);
  }
  const component = buildComponentId(name, map);
  if (component === undefined) throw new TypeError(`Invalid component identifier: ${name} ${JSON.stringify(params ?? {})}`);
  return component;
}

/**
 * The `@signature-params` value (RFC 9421 §2.3) for signing: the component identifiers as an inner
 * list, then the parameters in the order given (undefined ones skipped); `created`/`expires` as
 * sf-integers, everything else as sf-strings. Throws TypeError on values a verifier would reject.
 */
export function serializeSignatureParams(
  components: readonly ComponentId[],
  params: Readonly<Record<string, string | number | undefined>>,
): string {
  const ids = components.map((c) => c.id);
  if (new Set(ids).size !== ids.length) throw new TypeError('A component is covered twice');
  let out = `(${ids.join(' ')})`;
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (!isValidKeyStr(key)) throw new TypeError(`Invalid signature parameter name: ${key}`);
    out += `;${key}=${serializeParamValue(key, value)}`;
  }
  return out;
}

function serializeParamValue(key: string, value: string | number): string {
  if (INTEGER_PARAMS.has(key)) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SF_INTEGER) {
      throw new TypeError(`${key} must be an integer from 0 to ${MAX_SF_INTEGER}`);
    }
    return serializeInteger(value);
  }
  const text = String(value);
  if (!isAsciiText(text) || text.includes('\t')) throw new TypeError(`${key} must be printable ASCII`);
  return serializeString(text);
}
