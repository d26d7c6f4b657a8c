/**
 * Component values (RFC 9421 §2.1 HTTP fields, §2.2 derived components): the exact text a signer
 * put after `"name": ` in the signature base. This is where most implementations disagree with each
 * other, so every rule below cites the section it comes from, and every input a lax implementation
 * would "fix up" (upper case, control characters, non-ASCII, repeated query names) is refused.
 *
 * Runs on every signed request: the target URI is parsed with string indexes (no `new URL`, no
 * regular expressions), once per distinct URL text.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9421.html#section-2
 */
import { isAuthority } from '../lib/authority.js';
import type { ComponentId, SignatureProblem, SignedMessage } from './types.js';
import { reserializeField, serializeMember, serializeMemberShared, structuredTypeOf, tryParseDictionary } from './structured-fields.js';

/** Why a component value could not be produced, kept apart from a value (a header may well say `malformed`). */
export interface ComponentFailure {
  readonly problem: SignatureProblem;
}

const MISSING: ComponentFailure = Object.freeze({ problem: 'component-missing' });
const INVALID: ComponentFailure = Object.freeze({ problem: 'component-invalid' });

/**
 * The component value for the signature base (RFC 9421 §2.1, §2.2), or why it cannot be produced.
 * Never throws. Note that a field whose value is literally `component-missing` is indistinguishable
 * from the problem here; {@link resolveComponent} (used by the signature base) keeps them apart.
 */
export function componentValue(message: SignedMessage, component: ComponentId): string | SignatureProblem {
  const value = resolveComponent(message, component);
  return typeof value === 'string' ? value : value.problem;
}

/**
 * Like {@link componentValue}, but a failure is an object, so it can never be confused with a value.
 * Applies `req` (RFC 9421 §2.4): on a response it reads from the request; on a request it is an error.
 */
export function resolveComponent(message: SignedMessage, component: ComponentId): string | ComponentFailure {
  const { params } = component;
  if (params.has('tr')) return INVALID; // trailers (RFC 9421 §2.1 `tr`) are not supported
  let target = message;
  if (params.has('req')) {
    if (!isResponse(message)) return INVALID;
    if (message.request === undefined) return MISSING;
    target = message.request;
  }
  return component.name.charCodeAt(0) === 0x40 /* @ */ ? derivedValue(target, component) : fieldValue(target, component);
}

function isResponse(message: SignedMessage): boolean {
  return message.status !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Derived components (RFC 9421 §2.2)
// ---------------------------------------------------------------------------------------------

/** Derived components that only exist on a request (RFC 9421 §2.2.1–§2.2.8). */
const REQUEST_COMPONENTS = new Set(['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query', '@query-param']);

/**
 * A derived component's value. Derived values are computed from the message itself and never read
 * from a header of the same name (RFC 9421 §7.5.1); only `req` (and `name` on `@query-param`) may
 * qualify them (§2.2).
 */
function derivedValue(message: SignedMessage, component: ComponentId): string | ComponentFailure {
  const { name, params } = component;
  for (const key of params.keys()) if (key !== 'req' && !(key === 'name' && name === '@query-param')) return INVALID;
  if (name === '@status') return statusValue(message);
  if (!REQUEST_COMPONENTS.has(name) || isResponse(message)) return INVALID;
  if (name === '@method') return methodValue(message);
  const url = targetOf(message);
  if ('problem' in url) return url;
  switch (name) {
    case '@target-uri':
      return url.uri; // §2.2.2: the target URI as received
    case '@authority':
      return url.authority; // §2.2.3
    case '@scheme':
      return url.scheme; // §2.2.4
    case '@request-target':
      return url.query === undefined ? url.path : `${url.path}?${url.query}`; // §2.2.5, origin-form
    case '@path':
      return url.path; // §2.2.6
    case '@query':
      return `?${url.query ?? ''}`; // §2.2.7
    default:
      return queryParamValue(url, params.get('name'));
  }
}

/** `@status` (RFC 9421 §2.2.9): the three-digit status code, on responses only. */
function statusValue(message: SignedMessage): string | ComponentFailure {
  const { status } = message;
  if (status === undefined || !Number.isInteger(status) || status < 100 || status > 999) return INVALID;
  return String(status);
}

/** `@method` (RFC 9421 §2.2.1): as received, case preserved (methods are case-sensitive). */
function methodValue(message: SignedMessage): string | ComponentFailure {
  const { method } = message;
  if (method === undefined || method === '') return MISSING;
  return isVisibleAscii(method) ? method : INVALID;
}

/** The parts of the target URI the derived components need, taken from the raw text. */
interface TargetUri {
  readonly uri: string;
  /** Lower-case scheme. */
  readonly scheme: string;
  /** Lower-case host, then `:port` unless it is the scheme's default. */
  readonly authority: string;
  /** The raw path, not decoded; `/` when empty. */
  readonly path: string;
  /** The raw query without `?`, or `undefined` when the URI has no `?`. */
  readonly query: string | undefined;
  /** Decoded query name/value pairs, computed on first use by `@query-param`. */
  pairs?: readonly (readonly [string, string])[];
}

/**
 * The last target URI parsed, by its text: several derived components of one message need it, and
 * requests to one endpoint repeat it. Keyed by the string alone, so it holds no message.
 */
let lastUri: string | undefined;
let lastTarget: TargetUri | undefined;

/**
 * The message's target URI, parsed once per distinct URL text. `MISSING` when the message has no
 * URL, `INVALID` when it is not a usable absolute URI.
 */
function targetOf(message: SignedMessage): TargetUri | ComponentFailure {
  const { url } = message;
  if (url === undefined) return MISSING;
  if (url !== lastUri) {
    lastTarget = parseTargetUri(url);
    lastUri = url;
  }
  return lastTarget ?? INVALID;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/**
 * Splits an absolute `scheme://authority/path?query` URI with string indexes. `undefined` for
 * anything else: a relative URI, userinfo, a malformed authority, or any character outside visible
 * ASCII (which a signature base cannot carry, RFC 9421 §2.5).
 */
function parseTargetUri(uri: string): TargetUri | undefined {
  if (!isVisibleAscii(uri)) return undefined;
  const colon = uri.indexOf(':');
  if (colon <= 0 || !isScheme(uri, colon) || !uri.startsWith('//', colon + 1)) return undefined;
  const scheme = uri.slice(0, colon).toLowerCase();
  const hostStart = colon + 3;
  let end = uri.indexOf('#', hostStart);
  if (end < 0) end = uri.length;
  let pathStart = hostStart;
  while (pathStart < end) {
    const c = uri.charCodeAt(pathStart);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */) break;
    pathStart++;
  }
  if (!isAuthority(uri, hostStart, pathStart)) return undefined;
  const authority = normalizeAuthority(uri.slice(hostStart, pathStart), scheme);
  const queryStart = uri.indexOf('?', pathStart);
  const hasQuery = queryStart >= 0 && queryStart < end;
  const path = uri.slice(pathStart, hasQuery ? queryStart : end);
  return { uri, scheme, authority, path: path === '' ? '/' : path, query: hasQuery ? uri.slice(queryStart + 1, end) : undefined };
}

/** RFC 3986 §3.1: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`. */
function isScheme(uri: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = uri.charCodeAt(i);
    if (i === 0 ? !isAlpha(c) : !isAlpha(c) && !isDigit(c) && c !== 0x2b && c !== 0x2d && c !== 0x2e) return false;
  }
  return true;
}

function isAlpha(c: number): boolean {
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x7a;
}

/** `@authority` (RFC 9421 §2.2.3, RFC 9110 §4.2.3): lower-case host, default or empty port dropped, IPv6 brackets kept. */
function normalizeAuthority(authority: string, scheme: string): string {
  const portColon = authority.indexOf(':', authority.charCodeAt(0) === 0x5b /* [ */ ? authority.indexOf(']') : 0);
  if (portColon < 0) return authority.toLowerCase();
  const host = authority.slice(0, portColon).toLowerCase();
  const port = authority.slice(portColon + 1);
  if (port === '' || port === DEFAULT_PORTS[scheme]) return host;
  return `${host}:${port}`;
}

// ---------------------------------------------------------------------------------------------
// @query-param (RFC 9421 §2.2.8)
// ---------------------------------------------------------------------------------------------

/**
 * `@query-param`: the query is parsed as `application/x-www-form-urlencoded` (WHATWG URL §5.1, so `+`
 * is a space), the one parameter whose decoded name equals the decoded `name` is selected, and its
 * value is re-encoded with space as `%20`. A name present more than once is refused (§2.2.8: it MUST
 * NOT be signed that way) rather than picking one occurrence.
 */
function queryParamValue(url: TargetUri, nameParam: string | boolean | undefined): string | ComponentFailure {
  if (typeof nameParam !== 'string') return INVALID;
  const wanted = formDecode(nameParam);
  let found: string | undefined;
  for (const [name, value] of queryPairs(url)) {
    if (name !== wanted) continue;
    if (found !== undefined) return MISSING;
    found = value;
  }
  return found === undefined ? MISSING : formEncode(found);
}

function queryPairs(url: TargetUri): readonly (readonly [string, string])[] {
  if (url.pairs !== undefined) return url.pairs;
  const pairs: [string, string][] = [];
  const query = url.query ?? '';
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    if (end > start) {
      // The first '=' of this pair only: a search past `end` would make a long query quadratic.
      let split = start;
      while (split < end && query.charCodeAt(split) !== 0x3d) split++;
      pairs.push([formDecode(query.slice(start, split)), formDecode(query.slice(Math.min(split + 1, end), end))]);
    }
    start = end + 1;
  }
  url.pairs = pairs;
  return pairs;
}

/** WHATWG `application/x-www-form-urlencoded` decoding of one name or value: `+` → space, `%XX` → byte, then UTF-8. */
function formDecode(text: string): string {
  if (!text.includes('%') && !text.includes('+')) return text;
  const input = Buffer.from(text.replaceAll('+', ' '), 'utf8');
  const bytes = Buffer.allocUnsafe(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const b = input[i] as number;
    const hi = b === 0x25 /* % */ && i + 2 < input.length ? hexValue(input[i + 1] as number) : -1;
    const lo = hi >= 0 ? hexValue(input[i + 2] as number) : -1;
    if (lo >= 0) {
      bytes[n++] = (hi << 4) | lo;
      i += 2;
    } else {
      bytes[n++] = b;
    }
  }
  return bytes.toString('utf8', 0, n);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** Bytes left as-is by the `application/x-www-form-urlencoded` percent-encode set (WHATWG URL §1.3): `*-._`, digits, letters. */
const FORM_SAFE = new Uint8Array(128);
for (const c of '*-._0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz') FORM_SAFE[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';

/** Percent-encode-after-encoding (UTF-8) with that set, space as `%20` rather than `+` (RFC 9421 §2.2.8). */
function formEncode(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out += b < 128 && FORM_SAFE[b] === 1 ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// HTTP fields (RFC 9421 §2.1)
// ---------------------------------------------------------------------------------------------

/** A field's value: combined (§2.1), strictly re-serialized (`sf`, §2.1.1), one member (`key`, §2.1.2), or byte-wrapped (`bs`, §2.1.3). */
function fieldValue(message: SignedMessage, component: ComponentId): string | ComponentFailure {
  const { name, params } = component;
  if (params.has('name')) return INVALID;
  const lines = message.fieldLines(name);
  if (lines === undefined || lines.length === 0) return MISSING;
  if (params.has('bs')) return byteSequences(lines);
  const combined = combineLines(lines);
  if (combined === undefined) return INVALID;
  const key = params.get('key');
  if (typeof key === 'string') return dictionaryMember(name, combined, key);
  if (params.has('sf')) return reserializeField(name, combined) ?? INVALID;
  return combined;
}

/** §2.1 steps 1–4: each line canonicalized, then joined with `", "` in order. `undefined` if any line is unusable. */
function combineLines(lines: readonly string[]): string | undefined {
  if (lines.length === 1) return canonicalLine(lines[0] as string);
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const line = canonicalLine(lines[i] as string);
    if (line === undefined) return undefined;
    out += i === 0 ? line : `, ${line}`;
  }
  return out;
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * One field line: leading and trailing SP/HTAB removed, obsolete line folding (RFC 9112 §5.2) replaced
 * by one SP, internal whitespace kept as is. `undefined` for non-ASCII or any other control character,
 * which could otherwise smuggle a line break into the signature base.
 */
function canonicalLine(line: string): string | undefined {
  let start = 0;
  let end = line.length;
  while (start < end && isWhitespace(line.charCodeAt(start))) start++;
  while (end > start && isWhitespace(line.charCodeAt(end - 1))) end--;
  let folded = false;
  for (let i = start; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) folded = true;
    else if ((c < 0x20 && c !== 0x09) || c > 0x7e) return undefined;
  }
  const trimmed = start === 0 && end === line.length ? line : line.slice(start, end);
  return folded ? unfold(trimmed) : trimmed;
}

/** Replaces each `OWS CRLF RWS` (or a bare LF for CRLF) with one SP; any other CR or LF is refused. */
function unfold(text: string): string | undefined {
  // Linear: whole runs are copied with slice, and only the run before each fold is trimmed (trimming
  // the whole output at every fold was quadratic in the number of folds).
  let out = '';
  let from = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x0d && c !== 0x0a) {
      i++;
      continue;
    }
    let next = c === 0x0d ? i + 1 : i;
    if (text.charCodeAt(next) !== 0x0a || !isWhitespace(text.charCodeAt(next + 1))) return undefined;
    next++;
    while (next < text.length && isWhitespace(text.charCodeAt(next))) next++;
    let end = i;
    while (end > from && isWhitespace(text.charCodeAt(end - 1))) end--;
    if (end > from) out += `${text.slice(from, end)} `;
    else if (out.length === 0) out = ' ';
    from = next;
    i = next;
  }
  return out + text.slice(from);
}

/**
 * `key` (§2.1.2): the combined value parsed as a Dictionary, and the named member re-serialized on its
 * own (an Item with its parameters, or an Inner List). A field known not to be a Dictionary, or one
 * that does not parse as one, is invalid; a missing member is missing.
 */
function dictionaryMember(name: string, combined: string, key: string): string | ComponentFailure {
  const type = structuredTypeOf(name);
  if (type !== undefined && type !== 'dictionary') return INVALID;
  // Signature-Agent repeats across an agent's requests and the profile parses it again: one shared parse.
  if (name === 'signature-agent') {
    const serialized = serializeMemberShared(combined, key);
    if (serialized === 'missing') return MISSING;
    return serialized === 'not-a-dictionary' || serialized === undefined ? INVALID : serialized;
  }
  const dictionary = tryParseDictionary(combined);
  if (dictionary === undefined) return INVALID;
  const member = dictionary.get(key);
  if (member === undefined) return MISSING;
  return serializeMember(member) ?? INVALID;
}

/**
 * `bs` (§2.1.3): each line, trimmed, wrapped as an sf-binary of its bytes, joined with `", "`. The
 * bytes are the line's octets as received (latin1), so a character above U+00FF cannot be one.
 */
function byteSequences(lines: readonly string[]): string | ComponentFailure {
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const line = trimWhitespace(lines[i] as string);
    for (let j = 0; j < line.length; j++) if (line.charCodeAt(j) > 0xff) return INVALID;
    out += `${i === 0 ? '' : ', '}:${Buffer.from(line, 'latin1').toString('base64')}:`;
  }
  return out;
}

function trimWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isWhitespace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

// ---------------------------------------------------------------------------------------------

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Visible ASCII only (no SP, no controls): what a method or a request URI may contain. */
function isVisibleAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c > 0x7e) return false;
  }
  return true;
}
