import { serializeDictionary, type Dictionary, type InnerList, type Item } from 'structured-headers';
import { tryParseDictionary } from '../signatures/structured-fields.js';

/**
 * Adding one member to a structured-field dictionary a request may already carry (Signature,
 * Signature-Input, Signature-Agent): other signers' members stay byte for byte as they were, and
 * ours is serialized by `structured-headers`, never assembled by hand.
 */

/** The members of a dictionary field, empty when absent, or undefined when the value is not a dictionary (RFC 8941 §4.2.2). */
export function dictionaryOf(value: string | undefined): Dictionary | undefined {
  if (value === undefined) return new Map();
  return tryParseDictionary(value);
}

/**
 * `wanted` when no member uses it, else the next free key: `sig1` → `sig2`, `binding` → `binding2`
 * (trailing digits are counted up, otherwise `2` is appended).
 */
export function freeKey(wanted: string, taken: (key: string) => boolean): string {
  if (!taken(wanted)) return wanted;
  const digits = /\d+$/.exec(wanted);
  const stem = digits === null ? wanted : wanted.slice(0, digits.index);
  let n = digits === null ? 2 : Number(digits[0]) + 1;
  while (taken(`${stem}${n}`)) n++;
  return `${stem}${n}`;
}

/** The field value with one more member: `existing, key=member`, or just `key=member`. */
export function withMember(existing: string | undefined, key: string, member: Item | InnerList): string {
  const added = serializeDictionary(new Map([[key, member]]));
  return existing === undefined || existing === '' ? added : `${existing}, ${added}`;
}
