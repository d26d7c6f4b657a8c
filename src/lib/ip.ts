import { isIP } from 'node:net';

/**
 * What an IP address is for. Only `public` addresses may be fetched on behalf of a caller: every
 * other class reaches this host, its private network, a cloud metadata service, or nothing at all.
 */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'unique-local'
  | 'multicast'
  | 'unspecified'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'metadata'
  | 'invalid';

interface V4Range {
  readonly base: number;
  readonly mask: number;
  readonly class: AddressClass;
}

interface V6Range {
  readonly bytes: Uint8Array;
  readonly bits: number;
  readonly class: AddressClass;
}

/**
 * Special-purpose IPv4 blocks (IANA IPv4 Special-Purpose Address Registry, RFC 6890 and successors),
 * most specific first: the first match wins. Blocks the registry marks globally reachable but that
 * no key directory lives in (192.0.0.0/24 as a whole, the retired 6to4 relay anycast) are refused too.
 */
const V4_RANGES: readonly V4Range[] = [
  // Cloud instance metadata services: the classic SSRF prize. Named apart so logs say what was hit.
  v4('169.254.169.254/32', 'metadata'), // AWS, GCP, Azure, OpenStack, DigitalOcean…
  v4('169.254.170.2/32', 'metadata'), // AWS ECS task metadata
  v4('100.100.100.200/32', 'metadata'), // Alibaba Cloud
  v4('192.0.0.192/32', 'metadata'), // Oracle Cloud
  v4('168.63.129.16/32', 'metadata'), // Azure WireServer: a public-looking address only reachable from inside Azure
  v4('0.0.0.0/32', 'unspecified'),
  v4('0.0.0.0/8', 'reserved'), // "this network": Linux connects 0.x to the local host
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'cgnat'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'), // IETF protocol assignments
  v4('192.0.2.0/24', 'documentation'),
  v4('192.88.99.0/24', 'reserved'), // retired 6to4 relay anycast
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'benchmarking'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('224.0.0.0/4', 'multicast'),
  v4('255.255.255.255/32', 'reserved'), // limited broadcast
  v4('240.0.0.0/4', 'reserved'),
];

/**
 * Special-purpose IPv6 blocks (IANA IPv6 Special-Purpose Address Registry), most specific first.
 * Prefixes that embed an IPv4 address are handled before this table; anything that falls through it
 * and is outside global unicast 2000::/3 is `reserved`.
 */
const V6_RANGES: readonly V6Range[] = [
  v6('fd00:ec2::254/128', 'metadata'), // AWS instance metadata over IPv6
  v6('64:ff9b:1::/48', 'reserved'), // local-use NAT64 (RFC 8215): where the IPv4 sits depends on the operator
  v6('100::/64', 'reserved'), // discard-only
  v6('2001:db8::/32', 'documentation'),
  v6('2001:2::/48', 'benchmarking'),
  v6('2001::/23', 'reserved'), // IETF protocol assignments: Teredo (tunnels to arbitrary IPv4), ORCHID, …
  v6('3fff::/20', 'documentation'), // RFC 9637
  v6('fc00::/7', 'unique-local'),
  v6('fe80::/10', 'link-local'),
  v6('fec0::/10', 'private'), // deprecated site-local, still routed inside some networks
  v6('ff00::/8', 'multicast'),
];

/**
 * Classifies an IPv4 or IPv6 literal. A bracketed IPv6 literal (`[::1]`) and a zone (`fe80::1%eth0`)
 * are accepted. IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:0:0/96`, IPv4-compatible
 * `::/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that IPv4 address, because that is
 * where a connection to them can end up. Anything that is not an IP literal is `invalid`.
 */
export function classifyAddress(ip: string): AddressClass {
  let text = ip;
  if (text.length > 2 && text.charCodeAt(0) === 91 /* [ */ && text.charCodeAt(text.length - 1) === 93 /* ] */) {
    text = text.slice(1, -1);
    if (isIP(text) !== 6) return 'invalid';
  }
  switch (isIP(text)) {
    case 4:
      return classifyV4(parseV4(text));
    case 6: {
      const zone = text.indexOf('%');
      const bytes = parseV6(zone === -1 ? text : text.slice(0, zone));
      return bytes === undefined ? 'invalid' : classifyV6(bytes);
    }
    default:
      return 'invalid';
  }
}

/** True only for a globally reachable unicast address: one that may be fetched on a caller's behalf. */
export function isPublicAddress(ip: string): boolean {
  return classifyAddress(ip) === 'public';
}

function classifyV4(address: number): AddressClass {
  for (const range of V4_RANGES) {
    if (((address & range.mask) >>> 0) === range.base) return range.class;
  }
  return 'public';
}

function classifyV6(bytes: Uint8Array): AddressClass {
  if (isZero(bytes, 0, 15)) {
    if (bytes[15] === 0) return 'unspecified';
    if (bytes[15] === 1) return 'loopback';
  }
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible): the socket talks IPv4 to a.b.c.d.
  if (isZero(bytes, 0, 10) && ((bytes[10] === 0xff && bytes[11] === 0xff) || (bytes[10] === 0 && bytes[11] === 0))) {
    return classifyV4(readV4(bytes, 12));
  }
  // 64:ff9b::a.b.c.d: a NAT64 gateway forwards to a.b.c.d.
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && isZero(bytes, 4, 12)) {
    return classifyV4(readV4(bytes, 12));
  }
  // 2002:aabb:ccdd::/48: a 6to4 relay forwards to a.b.c.d.
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return classifyV4(readV4(bytes, 2));
  for (const range of V6_RANGES) {
    if (matchesPrefix(bytes, range.bytes, range.bits)) return range.class;
  }
  // Global unicast is 2000::/3; everything else is unassigned or special.
  return ((bytes[0] ?? 0) & 0xe0) === 0x20 ? 'public' : 'reserved';
}

/** A dotted quad already validated by `isIP`, as an unsigned 32-bit number. */
function parseV4(text: string): number {
  let value = 0;
  for (const part of text.split('.')) value = value * 256 + Number(part);
  return value;
}

function readV4(bytes: Uint8Array, at: number): number {
  return (((bytes[at] ?? 0) << 24) | ((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0)) >>> 0;
}

/**
 * An IPv6 literal (validated by `isIP`, zone removed) as 16 bytes: the groups before and after `::`
 * are read separately and the gap between them is zero. A trailing dotted quad counts as two groups.
 */
function parseV6(text: string): Uint8Array | undefined {
  const gap = text.indexOf('::');
  const head = groups(gap === -1 ? text : text.slice(0, gap));
  const tail = gap === -1 ? [] : groups(text.slice(gap + 2));
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (gap === -1 && missing !== 0)) return undefined;
  const words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[i * 2] = word >>> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytes;
}

/** The 16-bit groups of one side of `::` (empty text → none). */
function groups(text: string): number[] | undefined {
  if (text === '') return [];
  const words: number[] = [];
  for (const part of text.split(':')) {
    if (part.includes('.')) {
      if (isIP(part) !== 4) return undefined;
      const v4 = parseV4(part);
      words.push(v4 >>> 16, v4 & 0xffff);
    } else {
      if (part.length === 0 || part.length > 4) return undefined;
      const word = Number.parseInt(part, 16);
      if (!Number.isInteger(word)) return undefined;
      words.push(word);
    }
  }
  return words;
}

function isZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

function matchesPrefix(bytes: Uint8Array, prefix: Uint8Array, bits: number): boolean {
  const whole = bits >>> 3;
  for (let i = 0; i < whole; i++) if (bytes[i] !== prefix[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((bytes[whole] ?? 0) & mask) === ((prefix[whole] ?? 0) & mask);
}

function v4(cidr: string, cls: AddressClass): V4Range {
  const [address = '', length = ''] = cidr.split('/');
  const bits = Number(length);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (parseV4(address) & mask) >>> 0, mask, class: cls };
}

function v6(cidr: string, cls: AddressClass): V6Range {
  const [address = '', length = ''] = cidr.split('/');
  const bytes = parseV6(address);
  if (bytes === undefined) throw new Error(`bad built-in prefix ${cidr}`);
  return { bytes, bits: Number(length), class: cls };
}
