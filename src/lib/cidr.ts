/**
 * Sets of IPv4 and IPv6 CIDR blocks, looked up in one walk down a binary trie (at most 33 or 129
 * steps, whatever the number of blocks), so a deny list of tens of thousands of networks costs the
 * same per request as one of ten. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack
 * socket reports for an IPv4 client) is looked up as the IPv4 address it carries, and a block written
 * in that form (`::ffff:192.0.2.0/120`) is stored as the IPv4 block it means, so one entry covers a
 * client whichever way its socket reports it.
 */

/**
 * A parsed IP address, meant to be reused: `parse` overwrites it in place so the hot path allocates
 * nothing. IPv4-mapped IPv6 addresses come out as version 4.
 */
export class IpAddress {
  /** 4, 6, or 0 after a failed parse. */
  version: 0 | 4 | 6 = 0;
  /** The IPv4 address as an unsigned 32-bit number (version 4). */
  v4 = 0;
  /** The IPv6 address as four unsigned 32-bit words, most significant first (version 6). */
  readonly v6 = new Uint32Array(4);

  /**
   * Reads an IPv4 dotted quad or an IPv6 literal (brackets and a `%zone` are accepted and dropped).
   * Returns false, and sets `version` to 0, for anything else.
   */
  parse(text: string): boolean {
    let from = 0;
    let to = text.length;
    if (to > 2 && text.charCodeAt(0) === 91 /* [ */ && text.charCodeAt(to - 1) === 93 /* ] */) {
      from = 1;
      to -= 1;
    }
    const zone = text.indexOf('%', from);
    if (zone !== -1 && zone < to) to = zone;
    if (readAddress(text, from, to, this)) {
      if (this.version === 6 && isMapped(this.v6)) {
        this.version = 4;
        this.v4 = this.v6[3]!;
      }
      return true;
    }
    this.version = 0;
    return false;
  }
}

/** A block: the address with its host bits cleared, and the prefix length. */
export interface Cidr {
  readonly version: 4 | 6;
  /** Prefix length: 0–32 for IPv4, 0–128 for IPv6. */
  readonly bits: number;
  /** IPv4 network address (version 4). */
  readonly v4: number;
  /** IPv6 network address as four 32-bit words (version 6). */
  readonly v6: Uint32Array;
}

/**
 * Parses `address` or `address/bits`. An address with host bits set below the prefix (`10.0.0.1/8`) is
 * refused rather than silently widened: it is usually a typo for a narrower block. Returns the block or
 * a reason (for policy validation messages).
 */
export function parseCidr(text: string): { ok: true; cidr: Cidr } | { ok: false; reason: string } {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const scratch = { version: 0 as 0 | 4 | 6, v4: 0, v6: new Uint32Array(4) };
  if (!readAddress(addressText, 0, addressText.length, scratch)) {
    return { ok: false, reason: `${JSON.stringify(text)} is not an IPv4 or IPv6 address or CIDR block` };
  }
  const max = scratch.version === 4 ? 32 : 128;
  let bits = max;
  if (slash !== -1) {
    const digits = text.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(digits) || Number(digits) > max) {
      return { ok: false, reason: `${JSON.stringify(text)} has a bad prefix length (expected 0 to ${max})` };
    }
    bits = Number(digits);
  }
  let cidr: Cidr;
  if (scratch.version === 6 && isMapped(scratch.v6) && bits >= 96) {
    cidr = { version: 4, bits: bits - 96, v4: scratch.v6[3]!, v6: EMPTY_WORDS };
  } else if (scratch.version === 4) {
    cidr = { version: 4, bits, v4: scratch.v4, v6: EMPTY_WORDS };
  } else {
    cidr = { version: 6, bits, v4: 0, v6: scratch.v6 };
  }
  const masked = maskCidr(cidr);
  if (!sameCidr(masked, cidr)) {
    return { ok: false, reason: `${JSON.stringify(text)} has host bits set; did you mean ${formatCidr(masked)}?` };
  }
  return { ok: true, cidr };
}

/** The canonical text of a block (`192.0.2.0/24`, `2001:db8:0:0:0:0:0:0/32`): a stable key for deduplication. */
export function formatCidr(cidr: Cidr): string {
  if (cidr.version === 4) return `${formatV4(cidr.v4)}/${cidr.bits}`;
  const groups: string[] = [];
  for (const word of cidr.v6) groups.push((word >>> 16).toString(16), (word & 0xffff).toString(16));
  return `${groups.join(':')}/${cidr.bits}`;
}

/**
 * A set of CIDR blocks, each carrying a value and an optional expiry (milliseconds since the epoch).
 * Several entries may share a block. `find` answers the most specific unexpired entry containing an
 * address; `collect` answers every entry containing it (for indexes).
 */
export class CidrSet<T> {
  readonly #v4 = new BitTrie();
  readonly #v6 = new BitTrie();
  readonly #values: T[] = [];
  readonly #expires: number[] = [];
  readonly #labels: string[] = [];

  /** Number of entries added. */
  get size(): number {
    return this.#values.length;
  }

  /** Adds a block (text, already validated, or parsed). Throws on a malformed block. */
  add(block: string | Cidr, value: T, expiresAt = Number.POSITIVE_INFINITY): void {
    let cidr: Cidr;
    if (typeof block === 'string') {
      const parsed = parseCidr(block);
      if (!parsed.ok) throw new TypeError(parsed.reason);
      cidr = parsed.cidr;
    } else {
      cidr = block;
    }
    const entry = this.#values.length;
    this.#values.push(value);
    this.#expires.push(expiresAt);
    this.#labels.push(typeof block === 'string' ? block : formatCidr(cidr));
    if (cidr.version === 4) this.#v4.insert(entry, cidr.bits, (depth) => (cidr.v4 >>> (31 - depth)) & 1);
    else this.#v6.insert(entry, cidr.bits, (depth) => (cidr.v6[depth >>> 5]! >>> (31 - (depth & 31))) & 1);
  }

  /** The value of the most specific entry containing `address` whose expiry is after `now`. */
  find(address: IpAddress, now = Number.NEGATIVE_INFINITY): T | undefined {
    const entry = this.#findEntry(address, now);
    return entry === -1 ? undefined : this.#values[entry];
  }

  /** Like `find`, but answers the block as it was added (for explanations). */
  findBlock(address: IpAddress, now = Number.NEGATIVE_INFINITY): { block: string; value: T; expiresAt: number } | undefined {
    const entry = this.#findEntry(address, now);
    if (entry === -1) return undefined;
    return { block: this.#labels[entry]!, value: this.#values[entry]!, expiresAt: this.#expires[entry]! };
  }

  /** True when some entry contains the textual `ip` (convenience for tests and cold paths). */
  has(ip: string, now = Number.NEGATIVE_INFINITY): boolean {
    const address = new IpAddress();
    return address.parse(ip) && this.#findEntry(address, now) !== -1;
  }

  /**
   * Writes the values of all entries containing `address` (expiry ignored) into `out` from `count`
   * on, least specific first, and answers the new count. `out` grows as needed; nothing else allocates.
   */
  collect(address: IpAddress, out: T[], count: number): number {
    let n = count;
    const values = this.#values;
    if (address.version === 4) {
      const trie = this.#v4;
      const a = address.v4;
      let node = 0;
      for (let depth = 0; ; depth++) {
        for (let e = trie.head(node); e !== -1; e = trie.next(e)) out[n++] = values[e]!;
        if (depth === 32) break;
        node = trie.child(node, (a >>> (31 - depth)) & 1);
        if (node === 0) break;
      }
    } else if (address.version === 6) {
      const trie = this.#v6;
      const w = address.v6;
      let node = 0;
      for (let depth = 0; ; depth++) {
        for (let e = trie.head(node); e !== -1; e = trie.next(e)) out[n++] = values[e]!;
        if (depth === 128) break;
        node = trie.child(node, (w[depth >>> 5]! >>> (31 - (depth & 31))) & 1);
        if (node === 0) break;
      }
    }
    return n;
  }

  #findEntry(address: IpAddress, now: number): number {
    if (address.version === 4) return this.#v4.deepest4(address.v4, this.#expires, now);
    if (address.version === 6) return this.#v6.deepest6(address.v6, this.#expires, now);
    return -1;
  }
}

const EMPTY_WORDS = new Uint32Array(4);

/**
 * A binary trie in typed arrays: node 0 is the root, and child index 0 means "none" (the root is
 * nobody's child). Each node heads a linked list of the entries whose block ends there.
 */
class BitTrie {
  #zero = new Int32Array(64);
  #one = new Int32Array(64);
  #head = new Int32Array(64).fill(-1);
  #next = new Int32Array(64).fill(-1);
  #nodes = 1;

  insert(entry: number, bits: number, bitAt: (depth: number) => number): void {
    let node = 0;
    for (let depth = 0; depth < bits; depth++) {
      const side = bitAt(depth) === 1 ? this.#one : this.#zero;
      let child = side[node]!;
      if (child === 0) {
        child = this.#newNode();
        // #newNode may have replaced the arrays: write through the current ones.
        (bitAt(depth) === 1 ? this.#one : this.#zero)[node] = child;
      }
      node = child;
    }
    if (entry >= this.#next.length) this.#next = grow(this.#next, entry + 1, -1);
    this.#next[entry] = this.#head[node]!;
    this.#head[node] = entry;
  }

  /** The entry of the deepest node on the path of `address` with an unexpired entry, or -1. */
  deepest4(address: number, expires: readonly number[], now: number): number {
    const zero = this.#zero;
    const one = this.#one;
    let node = 0;
    let best = -1;
    for (let depth = 0; ; depth++) {
      const found = this.#live(node, expires, now);
      if (found !== -1) best = found;
      if (depth === 32) break;
      node = ((address >>> (31 - depth)) & 1) === 1 ? one[node]! : zero[node]!;
      if (node === 0) break;
    }
    return best;
  }

  deepest6(words: Uint32Array, expires: readonly number[], now: number): number {
    const zero = this.#zero;
    const one = this.#one;
    let node = 0;
    let best = -1;
    for (let depth = 0; ; depth++) {
      const found = this.#live(node, expires, now);
      if (found !== -1) best = found;
      if (depth === 128) break;
      node = ((words[depth >>> 5]! >>> (31 - (depth & 31))) & 1) === 1 ? one[node]! : zero[node]!;
      if (node === 0) break;
    }
    return best;
  }

  /** The child of `node` on side `bit`, or 0 for none. */
  child(node: number, bit: number): number {
    return bit === 1 ? this.#one[node]! : this.#zero[node]!;
  }

  /** The first entry ending at `node`, or -1. */
  head(node: number): number {
    return this.#head[node]!;
  }

  /** The entry after `entry` at the same node, or -1. */
  next(entry: number): number {
    return this.#next[entry]!;
  }

  #live(node: number, expires: readonly number[], now: number): number {
    for (let e = this.#head[node]!; e !== -1; e = this.#next[e]!) if (expires[e]! > now) return e;
    return -1;
  }

  #newNode(): number {
    const node = this.#nodes++;
    if (node >= this.#zero.length) {
      const size = this.#zero.length * 2;
      this.#zero = grow(this.#zero, size, 0);
      this.#one = grow(this.#one, size, 0);
      this.#head = grow(this.#head, size, -1);
    }
    return node;
  }
}

function grow(array: Int32Array<ArrayBuffer>, atLeast: number, fill: number): Int32Array<ArrayBuffer> {
  let size = array.length;
  while (size < atLeast) size *= 2;
  const bigger = new Int32Array(size).fill(fill);
  bigger.set(array);
  return bigger;
}

function isMapped(words: Uint32Array): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
}

function maskCidr(cidr: Cidr): Cidr {
  if (cidr.version === 4) {
    const mask = cidr.bits === 0 ? 0 : (0xffffffff << (32 - cidr.bits)) >>> 0;
    return { ...cidr, v4: (cidr.v4 & mask) >>> 0 };
  }
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const keep = Math.min(32, Math.max(0, cidr.bits - i * 32));
    const mask = keep === 0 ? 0 : (0xffffffff << (32 - keep)) >>> 0;
    words[i] = (cidr.v6[i]! & mask) >>> 0;
  }
  return { ...cidr, v6: words };
}

function sameCidr(a: Cidr, b: Cidr): boolean {
  if (a.version === 4) return a.v4 === b.v4;
  for (let i = 0; i < 4; i++) if (a.v6[i] !== b.v6[i]) return false;
  return true;
}

function formatV4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

interface AddressOut {
  version: 0 | 4 | 6;
  v4: number;
  readonly v6: Uint32Array;
}

/** Scratch for the eight 16-bit groups of an IPv6 address (parsing is synchronous, so one suffices). */
const GROUPS = new Uint16Array(8);

/** Reads `text[from, to)` as an IPv4 or IPv6 address into `out` without allocating. */
function readAddress(text: string, from: number, to: number, out: AddressOut): boolean {
  if (to - from < 2 || to - from > 45) return false;
  if (text.indexOf(':', from) === -1 || text.indexOf(':', from) >= to) {
    const v4 = readV4(text, from, to);
    if (v4 < 0) return false;
    out.version = 4;
    out.v4 = v4;
    return true;
  }
  if (!readV6(text, from, to)) return false;
  out.version = 6;
  for (let i = 0; i < 4; i++) out.v6[i] = ((GROUPS[i * 2]! << 16) | GROUPS[i * 2 + 1]!) >>> 0;
  return true;
}

/** A strict dotted quad (no leading zeros, each part 0–255), or -1. */
function readV4(text: string, from: number, to: number): number {
  let value = 0;
  let parts = 0;
  let i = from;
  while (parts < 4) {
    let part = 0;
    let digits = 0;
    const first = i;
    while (i < to) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      part = part * 10 + (c - 48);
      digits++;
      i++;
    }
    if (digits === 0 || digits > 3 || part > 255 || (digits > 1 && text.charCodeAt(first) === 48)) return -1;
    value = value * 256 + part;
    parts++;
    if (parts < 4) {
      if (i >= to || text.charCodeAt(i) !== 46 /* . */) return -1;
      i++;
    }
  }
  return i === to ? value : -1;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** IPv6 text into GROUPS: hex groups, at most one `::`, optionally a dotted quad in the last 32 bits. */
function readV6(text: string, from: number, to: number): boolean {
  let count = 0;
  let gap = -1;
  let i = from;
  if (text.charCodeAt(i) === 58 /* : */) {
    if (text.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < to) {
    const start = i;
    let value = 0;
    let digits = 0;
    while (i < to) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
      i++;
    }
    if (i < to && text.charCodeAt(i) === 46 /* . */) {
      // A trailing dotted quad: two more groups, and nothing after it.
      if (count > 6) return false;
      const v4 = readV4(text, start, to);
      if (v4 < 0) return false;
      GROUPS[count++] = v4 >>> 16;
      GROUPS[count++] = v4 & 0xffff;
      i = to;
      break;
    }
    if (digits === 0 || digits > 4 || count === 8) return false;
    GROUPS[count++] = value;
    if (i === to) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < to && text.charCodeAt(i) === 58) {
      if (gap !== -1) return false;
      gap = count;
      i++;
    } else if (i === to) {
      return false; // a single trailing colon
    }
  }
  if (gap === -1) return count === 8;
  if (count > 7) return false;
  // Move the groups after `::` to the end and zero the gap.
  const after = count - gap;
  for (let k = 0; k < after; k++) GROUPS[7 - k] = GROUPS[count - 1 - k]!;
  for (let k = gap; k < 8 - after; k++) GROUPS[k] = 0;
  return true;
}
