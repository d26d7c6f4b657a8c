/**
 * Thin, never-throwing wrappers around the `structured-headers` parser (RFC 8941 / RFC 9651), plus the
 * table of field names whose structured type we know. RFC 9421 relies on strict structured field
 * parsing in several places (§2.1.1 `sf`, §2.1.2 `key`, §4 `Signature-Input` / `Signature`), and a
 * lax parser there lets an attacker inject lines into the signature base (RFC 9421 §7.5.3), so
 * every structured value goes through this one strict parser. The one exception is a Dictionary in
 * canonical form, which `parseCanonicalDictionary` reads first: it accepts only the exact text RFC
 * 8941 §4.1 writes for a narrow set of values, and its results are checked to be the library's
 * (test/fuzz/canonical-dictionary.test.ts); every other text is the library's to parse.
 */
import { DisplayString, isInnerList, parseDictionary, parseItem, parseList, serializeDictionary, serializeInnerList, serializeItem, serializeList } from 'structured-headers';
import type { BareItem, Dictionary, InnerList, Item, List, Parameters } from 'structured-headers';
import { parseCanonicalDictionary, serializeSimpleMember } from './canonical-dictionary.js';

/** The three top-level structured types (RFC 8941 §3). */
export type StructuredType = 'dictionary' | 'list' | 'item';

/**
 * Fields whose structured type is fixed by their specification. RFC 9421 §2.1.1 says the verifier
 * must know a field's type to re-serialize it; for any other field we fall back to trying each type.
 * `example-dict` is the field the RFC's own §2.1.1/§2.1.2 examples use.
 */
const KNOWN_FIELD_TYPES: ReadonlyMap<string, StructuredType> = new Map<string, StructuredType>([
  ['signature-input', 'dictionary'], // RFC 9421 §4.1
  ['signature', 'dictionary'], // RFC 9421 §4.2
  ['accept-signature', 'dictionary'], // RFC 9421 §5.1
  ['signature-agent', 'dictionary'], // draft-meunier-webbotauth-httpsig-protocol
  ['content-digest', 'dictionary'], // RFC 9530 §2
  ['repr-digest', 'dictionary'], // RFC 9530 §3
  ['want-content-digest', 'dictionary'], // RFC 9530 §4
  ['want-repr-digest', 'dictionary'], // RFC 9530 §4
  ['priority', 'dictionary'], // RFC 9218 §5
  ['example-dict', 'dictionary'], // RFC 9421 §2.1.1 examples
]);

/** The structured type of a (lower-case) field name, or `undefined` when we do not know it. */
export function structuredTypeOf(fieldName: string): StructuredType | undefined {
  return KNOWN_FIELD_TYPES.get(fieldName);
}

/**
 * Parses a Dictionary (RFC 8941 §4.2.2); `undefined` instead of throwing on bad input. Like the List
 * and Item parsers below, it refuses text that is not ASCII first (RFC 8941 §4.2 step 1): the library
 * does not, and reads a character above U+00FF in a Display String as its low byte (`%"ŧ"` as `%"g"`).
 */
export function tryParseDictionary(text: string): Dictionary | undefined {
  // Signers write canonical text; that is read by a strict scanner whose answers are the library's
  // (see canonical-dictionary.ts). Every other text goes through the library.
  const canonical = parseCanonicalDictionary(text);
  if (canonical !== undefined) return canonical;
  if (!isAsciiText(text)) return undefined;
  let dictionary: Dictionary;
  try {
    dictionary = parseDictionary(text);
  } catch {
    return undefined;
  }
  for (const member of dictionary.values()) if (!representableMember(member)) return undefined;
  return dictionary;
}

/** Short dictionaries parsed lately, by their text: a Signature-Agent value repeats across an agent's requests. */
interface SharedDictionary {
  readonly dictionary: Dictionary | undefined;
  /** Members serialized on their own (RFC 9421 §2.1.2), by key, as they are asked for. */
  members?: Map<string, string | undefined>;
}
const recentDictionaries = new Map<string, SharedDictionary>();
const MEMO_ENTRIES = 256;
const MEMO_TEXT_LENGTH = 512;

function sharedDictionary(text: string): SharedDictionary {
  let shared = recentDictionaries.get(text);
  if (shared === undefined) {
    shared = { dictionary: tryParseDictionary(text) };
    if (text.length <= MEMO_TEXT_LENGTH) {
      if (recentDictionaries.size >= MEMO_ENTRIES) recentDictionaries.clear();
      recentDictionaries.set(text, shared);
    }
  }
  return shared;
}

/**
 * `tryParseDictionary` through a small memo (at most 256 texts of at most 512 characters, forgotten
 * all at once when full). The result is shared: callers must only read it.
 */
export function parseDictionaryShared(text: string): Dictionary | undefined {
  return sharedDictionary(text).dictionary;
}

/**
 * The member `key` of the dictionary `text`, serialized on its own (`serializeMember`), through the
 * same memo: `'not-a-dictionary'`, `'missing'`, or the serialization (`undefined` if it has none).
 */
export function serializeMemberShared(text: string, key: string): string | undefined | 'not-a-dictionary' | 'missing' {
  const shared = sharedDictionary(text);
  const { dictionary } = shared;
  if (dictionary === undefined) return 'not-a-dictionary';
  const member = dictionary.get(key);
  if (member === undefined) return 'missing';
  const members = (shared.members ??= new Map());
  if (members.has(key)) return members.get(key);
  const serialized = serializeMember(member);
  if (members.size < MEMO_ENTRIES) members.set(key, serialized);
  return serialized;
}

/** Parses a List (RFC 8941 §4.2.1); `undefined` instead of throwing on bad input. */
export function tryParseList(text: string): List | undefined {
  if (!isAsciiText(text)) return undefined;
  let list: List;
  try {
    list = parseList(text);
  } catch {
    return undefined;
  }
  return list.every(representableMember) ? list : undefined;
}

/** Parses an Item (RFC 8941 §4.2.3); `undefined` instead of throwing on bad input. */
export function tryParseItem(text: string): Item | undefined {
  if (!isAsciiText(text)) return undefined;
  let item: Item;
  try {
    item = parseItem(text);
  } catch {
    return undefined;
  }
  return representableMember(item) ? item : undefined;
}

/**
 * False when a member holds a value the library parses but cannot serialize back faithfully, which is
 * then treated as unparseable: a re-serialized field (`sf`, `key`, `@signature-params`) must be what
 * the signer signed, and two different values must never serialize alike. A Date (RFC 9651 §3.3.7)
 * may have 15 digits of seconds but a JavaScript Date holds only ±8.64e12: the library yields an
 * Invalid Date, serialized as `@NaN`. A Display String (RFC 9651 §3.3.8) with a byte below 0x10
 * serializes as `%2` instead of `%02`, which then reads back as another string.
 */
function representableMember(member: Item | InnerList): boolean {
  if (isInnerList(member)) return member[0].every(representableMember) && representableParameters(member[1]);
  return representableBareItem(member[0]) && representableParameters(member[1]);
}

function representableParameters(parameters: Parameters): boolean {
  for (const value of parameters.values()) if (!representableBareItem(value)) return false;
  return true;
}

function representableBareItem(value: BareItem): boolean {
  if (value instanceof Date) return !Number.isNaN(value.getTime());
  if (value instanceof DisplayString) {
    // The library writes bytes below 0x10 with one hex digit (`%2`, not `%02`): refused, for the same reason.
    const text = value.toString();
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x10) return false;
  }
  return true;
}

/**
 * Serializes one Dictionary member value, an Item with its parameters or an Inner List, as RFC 9421
 * §2.1.2 requires for the `key` parameter. `undefined` if it cannot be serialized (never expected for
 * parsed input, but the serializer throws rather than returning a marker).
 */
export function serializeMember(member: Item | InnerList): string | undefined {
  const simple = serializeSimpleMember(member);
  if (simple !== undefined) return simple;
  try {
    return isInnerList(member) ? serializeInnerList(member) : serializeItem(member);
  } catch {
    return undefined;
  }
}

/**
 * The strict re-serialization of a field value (RFC 9421 §2.1.1, RFC 8941 §4.1): parsed as the
 * field's known type, or for an unknown field as a Dictionary, then a List, then an Item (the first
 * type that parses). `undefined` when the value is not a structured field of that type.
 */
export function reserializeField(fieldName: string, value: string): string | undefined {
  const type = structuredTypeOf(fieldName);
  if (type === 'dictionary') {
    const dictionary = tryParseDictionary(value);
    return dictionary === undefined ? undefined : serializeOrUndefined(() => serializeDictionary(dictionary));
  }
  if (type === 'list') {
    const list = tryParseList(value);
    return list === undefined ? undefined : serializeOrUndefined(() => serializeList(list));
  }
  if (type === 'item') {
    const item = tryParseItem(value);
    return item === undefined ? undefined : serializeOrUndefined(() => serializeItem(item));
  }
  return reserializeUntyped(value);
}

/** Tries each structured type in turn, for a field whose type we do not know. */
function reserializeUntyped(value: string): string | undefined {
  const dictionary = tryParseDictionary(value);
  if (dictionary !== undefined) return serializeOrUndefined(() => serializeDictionary(dictionary));
  const list = tryParseList(value);
  if (list !== undefined) return serializeOrUndefined(() => serializeList(list));
  const item = tryParseItem(value);
  if (item !== undefined) return serializeOrUndefined(() => serializeItem(item));
  return undefined;
}

function serializeOrUndefined(serialize: () => string): string | undefined {
  try {
    return serialize();
  } catch {
    return undefined;
  }
}

/**
 * True when every character is visible ASCII, SP or HTAB. Structured fields are ASCII-only (RFC 8941
 * §4.2), and a signature base must not carry anything else (RFC 9421 §2.5), so this is checked with a
 * charCode scan before any parsing.
 */
export function isAsciiText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) return false;
  }
  return true;
}
