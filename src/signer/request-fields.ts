import { SigningError } from './errors.js';

/** Request headers as a signer accepts them: a Web `Headers`, `[name, value]` pairs, or a record whose values may be arrays of lines. */
export type SignerHeaders = HeadersInit | Record<string, string | readonly string[]>;

/** RFC 9110 §5.1 field name (`token`). */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A field value must not hold CR, LF or NUL (RFC 9110 §5.5); they would forge header lines. */
function hasForbiddenChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0x00) return true;
  }
  return false;
}

/**
 * The field lines of a request being signed, by lower-case name, in order: what the signature base
 * reads (RFC 9421 §2.1) and what the signer adds to. A `Headers` object has already combined
 * repeated fields, so each of its fields is one line.
 */
export class RequestFields {
  readonly #lines = new Map<string, string[]>();

  constructor(headers: SignerHeaders | undefined) {
    if (headers === undefined || headers === null) return;
    if (typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function') {
      (headers as Headers).forEach((value, name) => this.#add(name, value));
    } else if (Array.isArray(headers)) {
      for (const pair of headers as unknown[]) {
        if (!Array.isArray(pair) || pair.length !== 2) throw new SigningError('ERR_SIGN_INVALID_REQUEST', 'headers given as pairs must be [name, value] arrays');
        this.#add(pair[0], pair[1]);
      }
    } else if (typeof headers === 'object') {
      for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) for (const line of value) this.#add(name, line);
        else this.#add(name, value);
      }
    } else {
      throw new SigningError('ERR_SIGN_INVALID_REQUEST', 'headers must be a Headers object, [name, value] pairs or a record');
    }
  }

  #add(name: unknown, value: unknown): void {
    if (typeof name !== 'string' || !FIELD_NAME.test(name)) throw new SigningError('ERR_SIGN_INVALID_REQUEST', 'a header name is not a valid HTTP field name');
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string' || hasForbiddenChar(text)) {
      throw new SigningError('ERR_SIGN_INVALID_REQUEST', `the ${name.toLowerCase()} header value must be a string without CR, LF or NUL`);
    }
    const key = name.toLowerCase();
    const lines = this.#lines.get(key);
    if (lines === undefined) this.#lines.set(key, [text]);
    else lines.push(text);
  }

  /** The field's lines as given, or undefined when absent. */
  lines(name: string): readonly string[] | undefined {
    return this.#lines.get(name);
  }

  /** The field's value as one line: each line trimmed, joined with `", "` (RFC 9110 §5.3), or undefined. */
  combined(name: string): string | undefined {
    const lines = this.#lines.get(name);
    return lines === undefined ? undefined : lines.map((line) => line.trim()).join(', ');
  }

  /** Replaces the field with one line (what the signer will send for it). */
  set(name: string, value: string): void {
    this.#lines.set(name, [value]);
  }
}
