/**
 * Parsing of the `Signature-Input` and `Signature` fields (RFC 9421 §4.1, §4.2) and of component
 * identifiers (RFC 9421 §2). Everything here runs on untrusted input before any key is fetched, so it
 * never throws, bounds its work, and rejects anything the RFC does not allow instead of guessing.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9421.html#section-4
 */
import { isInnerList, isValidKeyStr, serializeInnerList, serializeInteger, serializeParameters, serializeString } from 'structured-headers';
import type { BareItem, InnerList, Item, Parameters } from 'structured-headers';
import type { ComponentId, ParsedSignature, SignatureParams, SignatureProblem } from './types.js';
import { serializeSimpleParameters } from './canonical-dictionary.js';
import { isAsciiText, tryParseDictionary, tryParseItem } from './structured-fields.js';

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
const STRING_PARAMS = new Set(['keyid', 'nonce', 'alg', 'tag']);

/**
 * Type-checks the registered signature parameters (RFC 9421 §2.3): `created`/`expires` are
 * non-negative sf-integers, `keyid`/`nonce`/`alg`/`tag` are sf-strings, and `created` is not after
 * `expires`. Unknown parameters are left alone (they are still signed, through `paramsValue`).
 */
function readSignatureParams(raw: ReadonlyMap<string, BareItem>): { params: SignatureParams; valid: boolean } {
  const params: MutableParams = {};
  let valid = true;
  for (const [key, value] of raw) {
    if (INTEGER_PARAMS.has(key)) {
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) params[key as 'created' | 'expires'] = value;
      else valid = false;
    } else if (STRING_PARAMS.has(key)) {
      if (typeof value === 'string') params[key as 'keyid' | 'nonce' | 'alg' | 'tag'] = value;
      else valid = false;
    }
  }
  if (params.created !== undefined && params.expires !== undefined && params.created > params.expires) valid = false;
  return { params, valid };
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
