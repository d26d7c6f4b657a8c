import { describe, expect, it } from 'vitest';
import { ipKey } from '../../src/limits/key.js';

describe('ipKey', () => {
  it('keys IPv4 on the address', () => {
    expect(ipKey('203.0.113.7', 64)).toBe('203.0.113.7');
    expect(ipKey('10.0.0.1', 0)).toBe('10.0.0.1');
  });

  it('aggregates IPv6 to a /64 by default, and to other prefixes', () => {
    const ip = '2001:db8:1234:5678:9abc:def0:1234:5678';
    expect(ipKey(ip)).toBe('2001:db8:1234:5678::/64');
    expect(ipKey(ip, 64)).toBe('2001:db8:1234:5678::/64');
    expect(ipKey(ip, 56)).toBe('2001:db8:1234:5600::/56');
    expect(ipKey(ip, 60)).toBe('2001:db8:1234:5670::/60');
    expect(ipKey(ip, 48)).toBe('2001:db8:1234::/48');
    expect(ipKey(ip, 128)).toBe('2001:db8:1234:5678:9abc:def0:1234:5678/128');
    expect(ipKey(ip, 0)).toBe('::/0');
  });

  it('gives every address of one /64 the same key and the next /64 another', () => {
    expect(ipKey('2001:db8:0:1::1', 64)).toBe(ipKey('2001:db8:0:1:ffff:ffff:ffff:ffff', 64));
    expect(ipKey('2001:db8:0:1::1', 64)).not.toBe(ipKey('2001:db8:0:2::1', 64));
    // A /56 spans 256 /64s.
    expect(ipKey('2001:db8:0:100::1', 56)).toBe(ipKey('2001:db8:0:1ff::1', 56));
    expect(ipKey('2001:db8:0:100::1', 56)).not.toBe(ipKey('2001:db8:0:200::1', 56));
  });

  it('writes one canonical text (RFC 5952) for every spelling', () => {
    expect(ipKey('2001:DB8:0:0:1:0:0:0', 128)).toBe('2001:db8:0:0:1::/128');
    expect(ipKey('2001:db8::1:0:0:0', 128)).toBe('2001:db8:0:0:1::/128');
    expect(ipKey('2001:0db8:0000:0000:0001:0000:0000:0001', 128)).toBe('2001:db8::1:0:0:1/128');
    expect(ipKey('2001:db8:0:1:1:1:1:1', 128)).toBe('2001:db8:0:1:1:1:1:1/128');
    expect(ipKey('::1', 128)).toBe('::1/128');
    expect(ipKey('::1', 64)).toBe('::/64');
    expect(ipKey('[2001:db8::1]', 64)).toBe('2001:db8::/64');
    expect(ipKey('fe80::1%eth0', 64)).toBe('fe80::/64');
  });

  it('keys IPv4-mapped IPv6 as the IPv4 address, in either spelling', () => {
    expect(ipKey('::ffff:192.0.2.1', 64)).toBe('192.0.2.1');
    expect(ipKey('::FFFF:c000:0201', 56)).toBe('192.0.2.1');
    expect(ipKey('[::ffff:192.0.2.1]', 64)).toBe('192.0.2.1');
    expect(ipKey('0:0:0:0:0:ffff:c000:201', 64)).toBe('192.0.2.1');
    // IPv4-compatible (deprecated) and NAT64 are IPv6 sources.
    expect(ipKey('::1.2.3.4', 128)).toBe('::102:304/128');
    expect(ipKey('64:ff9b::192.0.2.1', 96)).toBe('64:ff9b::/96');
  });

  it('clamps the prefix to 0–128 and reads a non-number as 64', () => {
    expect(ipKey('2001:db8::1', 200)).toBe('2001:db8::1/128');
    expect(ipKey('2001:db8::1', -5)).toBe('::/0');
    expect(ipKey('2001:db8:0:1:2::1', Number.NaN)).toBe('2001:db8:0:1::/64');
    expect(ipKey('2001:db8:0:1:2::1', 64.9)).toBe('2001:db8:0:1::/64');
  });

  it.each(['', 'not-an-ip', '1.2.3.256', '01.2.3.4', ' 1.2.3.4', '1.2.3.4/24', '[1.2.3.4]', '2001:db8::g', '1:2:3:4:5:6:7:8:9', '::ffff:1.2.3', '[::1', 'localhost'])(
    'refuses %j',
    (ip) => {
      expect(ipKey(ip, 64)).toBeUndefined();
    },
  );
});
