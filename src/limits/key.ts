import { isIP } from 'node:net';

/**
 * The part of a client address that a rate limit counts: IPv4 (and IPv4-mapped IPv6,
 * `::ffff:a.b.c.d`, which is an IPv4 client on a dual-stack socket) as the address, IPv6 as its
 * `prefix`-bit network in canonical text (RFC 5952) followed by `/<prefix>`, e.g.
 * `2001:db8:1:2::/64`. Why aggregate: one IPv6 subscriber is routinely given a /64 (often a /56 or
 * /48), so keying on the full address lets a caller rotate through 2^64 keys and never be limited.
 * Canonical text so that every spelling of one network (`2001:DB8:0:0:1::`, `2001:db8::1:0:0:0`)
 * is one key. Brackets (`[::1]`) and a zone (`fe80::1%eth0`) are accepted and dropped.
 * `ipv6Prefix` is clamped to 0–128 (a non-number means 64). Undefined for anything that is not an
 * IP address literal.
 */
export function ipKey(ip: string, ipv6Prefix = 64): string | undefined {
  let text = ip;
  if (text.length > 2 && text.charCodeAt(0) === 91 /* [ */ && text.charCodeAt(text.length - 1) === 93 /* ] */) {
    text = text.slice(1, -1);
    if (isIP(text) !== 6) return undefined;
  }
  const version = isIP(text);
  if (version === 4) return text; // isIP accepts only the canonical dotted quad (no leading zeros)
  if (version !== 6) return undefined;
  const zone = text.indexOf('%');
  const words = parseV6(zone === -1 ? text : text.slice(0, zone));
  if (words === undefined) return undefined;
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    const high = words[6] ?? 0;
    const low = words[7] ?? 0;
    return `${high >>> 8}.${high & 0xff}.${low >>> 8}.${low & 0xff}`;
  }
  const prefix = Number.isNaN(ipv6Prefix) ? 64 : Math.min(128, Math.max(0, Math.floor(ipv6Prefix)));
  for (let i = 0; i < 8; i++) {
    const keep = Math.min(16, Math.max(0, prefix - i * 16));
    words[i] = (words[i] ?? 0) & ((0xffff << (16 - keep)) & 0xffff);
  }
  return `${formatV6(words)}/${prefix}`;
}

/** Groups as read, before the `::` gap is expanded, and the eight words: reused (every call is synchronous). */
const GROUPS = new Array<number>(8).fill(0);
const WORDS = new Array<number>(8).fill(0);

/**
 * An IPv6 literal already validated by `isIP` (zone removed) as eight 16-bit words: one pass over
 * the characters (a split-and-map parse costs several times more, on every request keyed by IP).
 * A trailing dotted quad is two words.
 */
function parseV6(text: string): number[] | undefined {
  let count = 0;
  let gap = -1;
  let value = 0;
  let digits = 0;
  let groupStart = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 58 /* : */) {
      if (digits > 0) {
        if (count === 8) return undefined;
        GROUPS[count++] = value;
        value = 0;
        digits = 0;
      }
      if (i + 1 < length && text.charCodeAt(i + 1) === 58) {
        if (gap !== -1) return undefined;
        gap = count;
        i++;
      }
      groupStart = i + 1;
    } else if (c === 46 /* . */) {
      const v4 = parseV4(text, groupStart);
      if (v4 === undefined || count > 6) return undefined;
      GROUPS[count++] = v4 >>> 16;
      GROUPS[count++] = v4 & 0xffff;
      digits = 0;
      break;
    } else {
      const nibble = c <= 57 ? c - 48 : (c | 0x20) - 87; // 0-9, a-f / A-F (isIP has vouched for the characters)
      if (nibble < 0 || nibble > 15 || ++digits > 4) return undefined;
      value = value * 16 + nibble;
    }
  }
  if (digits > 0) {
    if (count === 8) return undefined;
    GROUPS[count++] = value;
  }
  if (gap === -1 ? count !== 8 : count > 7) return undefined;
  const words = WORDS.fill(0);
  if (gap === -1) {
    for (let i = 0; i < 8; i++) words[i] = GROUPS[i] ?? 0;
  } else {
    for (let i = 0; i < gap; i++) words[i] = GROUPS[i] ?? 0;
    const tail = count - gap;
    for (let i = 0; i < tail; i++) words[8 - tail + i] = GROUPS[gap + i] ?? 0;
  }
  return words;
}

/** The dotted quad from `from` to the end of `text` as an unsigned 32-bit number. */
function parseV4(text: string, from: number): number | undefined {
  let result = 0;
  let octet = 0;
  let parts = 0;
  let digits = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0) return undefined;
      result = result * 256 + octet;
      parts++;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (digits === 0 || parts !== 3) return undefined;
  return result * 256 + octet;
}

/** RFC 5952 §4: lower-case hex, no leading zeros, the longest run of two or more zero words (the first on a tie) as `::`. */
function formatV6(words: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  let out = '';
  let separator = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      separator = '';
      i += bestLength - 1;
      continue;
    }
    out += separator + (words[i] ?? 0).toString(16);
    separator = ':';
  }
  return out;
}
