import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CidrSet, formatCidr, IpAddress, parseCidr } from '../../src/lib/cidr.js';
import { UaPatternSet, uaPatternProblem } from '../../src/lib/ua-pattern.js';
import { anyString, ipLike } from './arbitraries.js';
import { fuzz, TIMEOUT } from './settings.js';

/**
 * User-Agent patterns (src/lib/ua-pattern.ts) and CIDR sets (src/lib/cidr.ts) against small
 * reference implementations that are obviously right and too slow for production: a dynamic
 * programming glob matcher, BigInt prefix arithmetic, and Node's own IP address parser.
 */

// ---------------------------------------------------------------------------------------------
// User-Agent patterns
// ---------------------------------------------------------------------------------------------

const foldAscii = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Reference glob: `*` is any run of characters, the rest literal, ASCII letters case-insensitive. */
function globMatches(pattern: string, text: string): boolean {
  const p = foldAscii(pattern);
  const s = foldAscii(text);
  let row = new Array<boolean>(s.length + 1).fill(false);
  row[0] = true;
  for (const c of p) {
    const next = new Array<boolean>(s.length + 1).fill(false);
    if (c === '*') {
      next[0] = row[0]!;
      for (let j = 1; j <= s.length; j++) next[j] = row[j]! || next[j - 1]!;
    } else {
      for (let j = 1; j <= s.length; j++) next[j] = row[j - 1]! && s[j - 1] === c;
    }
    row = next;
  }
  return row[s.length]!;
}

/** A tiny alphabet makes overlaps, repeats and shared pieces (the automaton's hard cases) common. */
const uaChar = fc.constantFrom('a', 'b', 'A', 'B', '/', ' ', '.', '*');
const pattern = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: uaChar, minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom('*', '**', 'a*', '*a', '*a*', 'a*a', 'ab*ab', '*aba*aba', 'curl/*', '*bot*') },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'abcXYZ*-/;()'.split('')), minLength: 1, maxLength: 12 }) },
);
const userAgent = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', 'A', 'B', '/', ' ', '.', '*', 'é', '\u0000'), maxLength: 24 }) },
  { weight: 1, arbitrary: anyString(24) },
);
const entries = fc.array(fc.record({ pattern, expiresAt: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }) }), { minLength: 0, maxLength: 8 });

describe('fuzz: UaPatternSet agrees with a reference glob matcher', () => {
  it.each([
    ['dense automaton', undefined],
    ['sparse automaton (hash edges, failure links)', 1],
    ['partly dense', 24],
  ])(
    '%s',
    (_name, denseBudget) => {
      fc.assert(
        fc.property(entries, fc.array(userAgent, { minLength: 1, maxLength: 6 }), fc.integer({ min: -1, max: 11 }), (inputs, agents, now) => {
          const set = new UaPatternSet(inputs, denseBudget === undefined ? {} : { denseBudget });
          for (const ua of agents) {
            const live = inputs.map((e, i) => ({ ...e, i })).filter((e) => (e.expiresAt ?? Infinity) > now);
            const expected = live.some((e) => globMatches(e.pattern, ua));
            const found = set.match(ua, now);
            expect({ ua, found: found !== -1 }).toEqual({ ua, found: expected });
            if (found !== -1) {
              // The index names an input whose pattern matches and that is live (a duplicate pattern
              // answers with the copy that lasts longest).
              expect(globMatches(inputs[found]!.pattern, ua)).toBe(true);
              expect(inputs[found]!.expiresAt ?? Infinity).toBeGreaterThan(now);
            }
          }
        }),
        fuzz(3),
      );
    },
    TIMEOUT,
  );

  it(
    'refuses exactly the patterns uaPatternProblem names, with a TypeError',
    () => {
      fc.assert(
        fc.property(fc.array(fc.oneof(pattern, anyString(10), fc.constant('')), { maxLength: 4 }), (patterns) => {
          const bad = patterns.find((p) => uaPatternProblem(p) !== undefined);
          if (bad === undefined) expect(() => new UaPatternSet(patterns)).not.toThrow();
          else expect(() => new UaPatternSet(patterns)).toThrow(TypeError);
        }),
        fuzz(2),
      );
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------
// CIDR
// ---------------------------------------------------------------------------------------------

/** An address as a BigInt (IPv4-mapped IPv6 as its IPv4), with its version; undefined for text Node does not accept. */
function addressOf(text: string): { version: 4 | 6; value: bigint } | undefined {
  const version = isIP(text);
  if (version === 4) return { version: 4, value: text.split('.').reduce((n, part) => (n << 8n) | BigInt(part), 0n) };
  if (version !== 6) return undefined;
  const url = new URL(`http://[${text}]/`).hostname.slice(1, -1); // canonical form: hex groups, one ::
  const [head, tail] = url.includes('::') ? url.split('::') : [url, undefined];
  const groups = (s: string | undefined) => (s === undefined || s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const value = all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (value >> 32n === 0xffffn) return { version: 4, value: value & 0xffffffffn };
  return { version: 6, value };
}

const v4Block = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })).map(([n, bits]) => {
  const value = bits === 0 ? 0n : (BigInt(n) >> BigInt(32 - bits)) << BigInt(32 - bits);
  return { text: `${[24n, 16n, 8n, 0n].map((s) => (value >> s) & 255n).join('.')}/${bits}`, version: 4 as const, value, bits };
});
const v6Block = fc.tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 128 }), fc.boolean()).map(([n, bits, short]) => {
  const value = bits === 0 ? 0n : (n >> BigInt(128 - bits)) << BigInt(128 - bits);
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  const text = short ? new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1) : groups.join(':');
  return { text: `${text}/${bits}`, version: 6 as const, value, bits };
});
/** A block in the IPv4-mapped IPv6 form: the IPv4 block it means. */
const mappedBlock = v4Block.map((b) => ({ ...b, text: `::ffff:${b.text.split('/')[0]}/${b.bits + 96}` }));

const addressNear = (blocks: readonly { version: 4 | 6; value: bigint; bits: number }[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.ipV4().map((ip) => `::ffff:${ip}`),
    ...(blocks.length === 0
      ? []
      : [
          fc.tuple(fc.constantFrom(...blocks), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n })).map(([b, noise]) => {
            const width = b.version === 4 ? 32 : 128;
            const host = b.bits === width ? 0n : noise & ((1n << BigInt(width - b.bits)) - 1n);
            const value = b.value | host;
            if (b.version === 4) return [24n, 16n, 8n, 0n].map((s) => (value >> s) & 255n).join('.');
            return Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
          }),
        ]),
  );

describe('fuzz: CIDR sets agree with prefix arithmetic', () => {
  it(
    'CidrSet.has and find answer like a linear scan over the blocks',
    () => {
      const blocks = fc.array(fc.oneof(v4Block, v6Block, mappedBlock), { maxLength: 6 });
      fc.assert(
        fc.property(blocks.chain((bs) => fc.tuple(fc.constant(bs), fc.array(addressNear(bs), { minLength: 1, maxLength: 6 }))), ([bs, addresses]) => {
          const set = new CidrSet<number>();
          bs.forEach((b, i) => set.add(b.text, i));
          const ip = new IpAddress();
          for (const text of addresses) {
            const address = addressOf(text);
            expect(address).toBeDefined();
            const containing = bs
              .map((b, i) => ({ ...b, i }))
              .filter((b) => b.version === address!.version && (address!.value >> BigInt((b.version === 4 ? 32 : 128) - b.bits)) === (b.value >> BigInt((b.version === 4 ? 32 : 128) - b.bits)));
            expect(set.has(text)).toBe(containing.length > 0);
            expect(ip.parse(text)).toBe(true);
            const found = set.find(ip);
            if (containing.length === 0) {
              expect(found).toBeUndefined();
            } else {
              // The most specific block wins.
              const deepest = Math.max(...containing.map((b) => b.bits));
              expect(containing.filter((b) => b.bits === deepest).map((b) => b.i)).toContain(found);
            }
          }
        }),
        fuzz(2),
      );
    },
    TIMEOUT,
  );

  it(
    'parseCidr never throws; what it accepts formats and parses back to the same block',
    () => {
      const text = fc.oneof(
        fc.oneof(v4Block, v6Block, mappedBlock).map((b) => b.text),
        fc.tuple(ipLike, fc.oneof(fc.constant(''), fc.integer({ min: -1, max: 200 }).map((n) => `/${n}`), fc.constantFrom('/', '/08', '/ 8', '/8/8', '/+8'))).map(([a, b]) => a + b),
        anyString(20),
      );
      fc.assert(
        fc.property(text, (t) => {
          const parsed = parseCidr(t);
          if (!parsed.ok) {
            expect(typeof parsed.reason).toBe('string');
            return;
          }
          const again = parseCidr(formatCidr(parsed.cidr));
          expect(again.ok).toBe(true);
          expect(formatCidr((again as { ok: true; cidr: Parameters<typeof formatCidr>[0] }).cidr)).toBe(formatCidr(parsed.cidr));
        }),
        fuzz(3),
      );
    },
    TIMEOUT,
  );

  it(
    'IpAddress.parse accepts exactly what Node accepts as an IP address (no zone, no brackets)',
    () => {
      const ipText = fc.oneof(
        ipLike.filter((s) => !s.includes('%') && !s.startsWith('[')),
        fc.string({ unit: fc.constantFrom('0', '1', '9', 'f', 'F', 'g', ':', '.', '2', '5'), maxLength: 24 }),
        fc.ipV6().map((s) => s.replace(/:/, ':0')),
        fc.ipV4().map((s) => s.replace(/\./, '.0')),
      );
      fc.assert(
        fc.property(ipText, (t) => {
          const ip = new IpAddress();
          expect({ t, accepted: ip.parse(t) }).toEqual({ t, accepted: isIP(t) !== 0 });
          if (isIP(t) !== 0) expect(ip.version).toBe(addressOf(t)!.version);
        }),
        fuzz(3),
      );
    },
    TIMEOUT,
  );
});
