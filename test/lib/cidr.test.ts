import { describe, expect, it } from 'vitest';
import { CidrSet, formatCidr, IpAddress, parseCidr } from '../../src/lib/cidr.js';

describe('IpAddress.parse', () => {
  it.each([
    ['192.0.2.1', 4],
    ['0.0.0.0', 4],
    ['255.255.255.255', 4],
    ['::', 6],
    ['::1', 6],
    ['2001:db8::1', 6],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', 6],
    ['[2001:db8::1]', 6],
    ['fe80::1%eth0', 6],
    ['64:ff9b::192.0.2.1', 6],
    ['::ffff:192.0.2.1', 4],
    ['::ffff:c000:0201', 4],
    ['[::ffff:192.0.2.1]', 4],
  ])('reads %s as IPv%i', (text, version) => {
    const address = new IpAddress();
    expect(address.parse(text)).toBe(true);
    expect(address.version).toBe(version);
  });

  it('maps IPv4-mapped IPv6 to the IPv4 address', () => {
    const a = new IpAddress();
    a.parse('::ffff:192.0.2.1');
    expect(a.v4).toBe(0xc0000201);
  });

  it.each([
    '',
    'x',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.4 ',
    '1..2.3',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2::3',
    '12345::',
    ':1::',
    '1::2:',
    'g::1',
    '::1.2.3',
    '1:2:3:4:5:6:7:1.2.3.4',
    '[::1',
  ])('refuses %j', (text) => {
    const address = new IpAddress();
    expect(address.parse(text)).toBe(false);
    expect(address.version).toBe(0);
  });

  it('agrees with node:net on what is an address', async () => {
    const { isIP } = await import('node:net');
    const samples = ['1.2.3.4', '::', '::1:2', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6::', '::2:3:4:5:6:7:8', '1::8', 'a:b:c:d:e:f:0:1', '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7::'];
    for (const text of samples) expect(new IpAddress().parse(text), text).toBe(isIP(text) !== 0);
  });
});

describe('parseCidr', () => {
  it('accepts blocks and bare addresses', () => {
    expect(parseCidr('10.0.0.0/8')).toMatchObject({ ok: true, cidr: { version: 4, bits: 8 } });
    expect(parseCidr('192.0.2.7')).toMatchObject({ ok: true, cidr: { version: 4, bits: 32 } });
    expect(parseCidr('2001:db8::/32')).toMatchObject({ ok: true, cidr: { version: 6, bits: 32 } });
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ ok: true, cidr: { bits: 0 } });
  });

  it('stores an IPv4-mapped block as the IPv4 block it means', () => {
    const parsed = parseCidr('::ffff:192.0.2.0/120');
    expect(parsed.ok && formatCidr(parsed.cidr)).toBe('192.0.2.0/24');
  });

  it('refuses host bits, bad lengths and junk, saying why', () => {
    const hostBits = parseCidr('10.0.0.1/8');
    expect(hostBits.ok).toBe(false);
    expect(!hostBits.ok && hostBits.reason).toContain('did you mean 10.0.0.0/8');
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '2001:db8::/129', 'example.com', '10.0.0.0/8/8', '[::1]/128', '']) {
      expect(parseCidr(bad).ok, bad).toBe(false);
    }
  });
});

describe('CidrSet', () => {
  const set = new CidrSet<string>();
  set.add('10.0.0.0/8', 'ten');
  set.add('10.1.0.0/16', 'ten-one');
  set.add('192.0.2.7', 'host');
  set.add('2001:db8::/32', 'doc6');
  set.add('2001:db8:1::/48', 'doc6-1');
  set.add('::ffff:198.51.100.0/120', 'mapped-block');
  const find = (ip: string, now?: number): string | undefined => {
    const a = new IpAddress();
    return a.parse(ip) ? set.find(a, now) : undefined;
  };

  it('finds the most specific block', () => {
    expect(find('10.2.3.4')).toBe('ten');
    expect(find('10.1.3.4')).toBe('ten-one');
    expect(find('192.0.2.7')).toBe('host');
    expect(find('192.0.2.8')).toBeUndefined();
    expect(find('11.0.0.0')).toBeUndefined();
  });

  it('matches IPv6', () => {
    expect(find('2001:db8:ffff::1')).toBe('doc6');
    expect(find('2001:db8:1:2::3')).toBe('doc6-1');
    expect(find('2001:db9::1')).toBeUndefined();
    expect(find('::1')).toBeUndefined();
  });

  it('matches IPv4-mapped addresses as IPv4, both ways', () => {
    expect(find('::ffff:10.9.9.9')).toBe('ten');
    expect(find('[::ffff:192.0.2.7]')).toBe('host');
    expect(find('198.51.100.20')).toBe('mapped-block');
    expect(find('::ffff:198.51.100.20')).toBe('mapped-block');
  });

  it('covers everything with /0, per family', () => {
    const all = new CidrSet<number>();
    all.add('0.0.0.0/0', 4);
    all.add('::/0', 6);
    expect(all.has('203.0.113.1')).toBe(true);
    expect(all.has('2001:db8::1')).toBe(true);
    const a = new IpAddress();
    a.parse('::ffff:1.2.3.4');
    expect(all.find(a)).toBe(4);
  });

  it('ignores expired entries and falls back to a live, less specific one', () => {
    const timed = new CidrSet<string>();
    timed.add('10.0.0.0/8', 'wide', 2000);
    timed.add('10.1.0.0/16', 'narrow', 1000);
    expect(timed.has('10.1.2.3', 500)).toBe(true);
    const a = new IpAddress();
    a.parse('10.1.2.3');
    expect(timed.find(a, 500)).toBe('narrow');
    expect(timed.find(a, 1000)).toBe('wide');
    expect(timed.find(a, 2000)).toBeUndefined();
    expect(timed.findBlock(a, 1500)).toEqual({ block: '10.0.0.0/8', value: 'wide', expiresAt: 2000 });
  });

  it('collects every entry on the path, least specific first', () => {
    const a = new IpAddress();
    a.parse('10.1.2.3');
    const out: string[] = [];
    expect(set.collect(a, out, 0)).toBe(2);
    expect(out).toEqual(['ten', 'ten-one']);
  });

  it('scales to many blocks', () => {
    const big = new CidrSet<number>();
    for (let i = 0; i < 20_000; i++) big.add(`${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`, i);
    expect(big.size).toBe(20_000);
    expect(big.has('10.78.31.9')).toBe(true);
    expect(big.has('10.78.32.9')).toBe(false);
    expect(big.has('9.0.0.1')).toBe(false);
  });

  it('throws on a malformed block', () => {
    expect(() => new CidrSet().add('nope', 1)).toThrow(TypeError);
  });
});
