/**
 * Thin, never-throwing wrappers around the `structured-headers` parser (RFC 8941 / RFC 9651), plus the
 * table of field names whose structured type we know. RFC 9421 relies on strict structured field
 * parsing in several places (§2.1.1 `sf`, §2.1.2 `key`, §4 `Signature-Input` / `Signature`), and a
 * lax parser there lets an attacker inject lines into the signature base (RFC 9421 §7.5.3), so
 * every structured value goes through this one strict parser and nothing is parsed by hand.
 */
import { isInnerList, parseDictionary, parseItem, parseList, serializeDictionary, serializeInnerList, serializeItem, serializeList } from 'structured-headers';
import type { Dictionary, InnerList, Item, List } from 'structured-headers';

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

/** Parses a Dictionary (RFC 8941 §4.2.2); `undefined` instead of throwing on bad input. */
export function tryParseDictionary(text: string): Dictionary | undefined {
  try {
    return parseDictionary(text);
  } catch {
    return undefined;
  }
}

/** Short dictionaries parsed lately, by their text: a Signature-Agent value repeats across an agent's requests. */
const recentDictionaries = new Map<string, Dictionary | undefined>();
const MEMO_ENTRIES = 256;
const MEMO_TEXT_LENGTH = 512;

/**
 * `tryParseDictionary` through a small memo (at most 256 texts of at most 512 characters, forgotten
 * all at once when full). The result is shared: callers must only read it.
 */
export function parseDictionaryShared(text: string): Dictionary | undefined {
  if (text.length > MEMO_TEXT_LENGTH) return tryParseDictionary(text);
  if (recentDictionaries.has(text)) return recentDictionaries.get(text);
  const dictionary = tryParseDictionary(text);
  if (recentDictionaries.size >= MEMO_ENTRIES) recentDictionaries.clear();
  recentDictionaries.set(text, dictionary);
  return dictionary;
}

/** Parses a List (RFC 8941 §4.2.1); `undefined` instead of throwing on bad input. */
export function tryParseList(text: string): List | undefined {
  try {
    return parseList(text);
  } catch {
    return undefined;
  }
}

/** Parses an Item (RFC 8941 §4.2.3); `undefined` instead of throwing on bad input. */
export function tryParseItem(text: string): Item | undefined {
  try {
    return parseItem(text);
  } catch {
    return undefined;
  }
}

/**
 * Serializes one Dictionary member value, an Item with its parameters or an Inner List, as RFC 9421
 * §2.1.2 requires for the `key` parameter. `undefined` if it cannot be serialized (never expected for
 * parsed input, but the serializer throws rather than returning a marker).
 */
export function serializeMember(member: Item | InnerList): string | undefined {
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
  try {
    if (type === 'dictionary') return serializeDictionary(parseDictionary(value));
    if (type === 'list') return serializeList(parseList(value));
    if (type === 'item') return serializeItem(parseItem(value));
  } catch {
    return undefined;
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
