import { describe, expect, it } from 'vitest';
import { checkContentDigest, contentDigest, type DigestAlgorithm } from '../../src/signatures/content-digest.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

// RFC 9530 §2 / RFC 9421 test-request body.
const HELLO = utf8('{"hello": "world"}');
const HELLO_SHA256 = 'X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=';
const HELLO_SHA512 = 'WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==';
// Web Bot Auth protocol-02 signed directory body (web-bot-auth.md §1.6), no trailing newline.
const DIRECTORY = utf8(
  '{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U","x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs","use":"sig"}]}',
);
const EMPTY_SHA256 = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';
const EMPTY_SHA512 = 'z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==';

describe('contentDigest', () => {
  it('defaults to sha-256 (RFC 9530 example)', () => {
    expect(contentDigest(HELLO)).toBe(`sha-256=:${HELLO_SHA256}:`);
  });

  it('sha-512 of the RFC 9421 test-request body', () => {
    expect(contentDigest(HELLO, ['sha-512'])).toBe(`sha-512=:${HELLO_SHA512}:`);
  });

  it('several algorithms, in the order given, each once', () => {
    expect(contentDigest(HELLO, ['sha-256', 'sha-512'])).toBe(`sha-256=:${HELLO_SHA256}:, sha-512=:${HELLO_SHA512}:`);
    expect(contentDigest(HELLO, ['sha-512', 'sha-256', 'sha-512'])).toBe(`sha-512=:${HELLO_SHA512}:, sha-256=:${HELLO_SHA256}:`);
  });

  it('the Web Bot Auth signed directory body', () => {
    expect(contentDigest(DIRECTORY)).toBe('sha-256=:CADMT2aBdV/rqQr/NIru64ERQkCobVvllA4V0fLFDu0=:');
  });

  it('an empty body', () => {
    expect(contentDigest(new Uint8Array(0), ['sha-256', 'sha-512'])).toBe(`sha-256=:${EMPTY_SHA256}:, sha-512=:${EMPTY_SHA512}:`);
  });

  it('accepts a Buffer as well as a Uint8Array', () => {
    expect(contentDigest(Buffer.from('{"hello": "world"}'))).toBe(`sha-256=:${HELLO_SHA256}:`);
  });

  it('throws TypeError for no algorithm or an unknown one (signer-side mistakes)', () => {
    expect(() => contentDigest(HELLO, [])).toThrow(TypeError);
    expect(() => contentDigest(HELLO, ['md5' as DigestAlgorithm])).toThrow(TypeError);
  });
});

describe('checkContentDigest', () => {
  it('ok for a matching sha-256 or sha-512, and for its own output', () => {
    expect(checkContentDigest(`sha-256=:${HELLO_SHA256}:`, HELLO)).toBe('ok');
    expect(checkContentDigest(`sha-512=:${HELLO_SHA512}:`, HELLO)).toBe('ok');
    expect(checkContentDigest('sha-256=:CADMT2aBdV/rqQr/NIru64ERQkCobVvllA4V0fLFDu0=:', DIRECTORY)).toBe('ok');
    expect(checkContentDigest(contentDigest(DIRECTORY, ['sha-256', 'sha-512']), DIRECTORY)).toBe('ok');
  });

  it('mismatch when the body differs by one byte, or the digest is of another body', () => {
    expect(checkContentDigest(`sha-256=:${HELLO_SHA256}:`, utf8('{"hello": "World"}'))).toBe('mismatch');
    expect(checkContentDigest(`sha-512=:${HELLO_SHA512}:`, utf8('{"hello": "world"} '))).toBe('mismatch');
    expect(checkContentDigest(`sha-256=:${HELLO_SHA256}:`, new Uint8Array(0))).toBe('mismatch');
    // The B.2.4 pitfall: the draft's test-response digest is not the digest of its body.
    expect(
      checkContentDigest(
        'sha-512=:JlEy2bfUz7WrWIjc1qV6KVLpdr/7L5/L4h7Sxvh6sNHpDQWDCL+GauFQWcZBvVDhiyOnAQsxzZFYwi0wDH+1pw==:',
        utf8('{"message": "good dog"}'),
      ),
    ).toBe('mismatch');
    expect(
      checkContentDigest(
        'sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:',
        utf8('{"message": "good dog"}'),
      ),
    ).toBe('ok');
  });

  it('mismatch when a digest has the wrong length for its algorithm', () => {
    expect(checkContentDigest(`sha-256=:${HELLO_SHA512}:`, HELLO)).toBe('mismatch');
    expect(checkContentDigest(`sha-512=:${HELLO_SHA256}:`, HELLO)).toBe('mismatch');
    expect(checkContentDigest('sha-256=::', HELLO)).toBe('mismatch');
    // A prefix of the right digest is still wrong.
    const prefix = Buffer.from(HELLO_SHA256, 'base64').subarray(0, 16).toString('base64');
    expect(checkContentDigest(`sha-256=:${prefix}:`, HELLO)).toBe('mismatch');
  });

  it('checks every supported algorithm present: one mismatching makes the whole field a mismatch', () => {
    const wrong256 = Buffer.alloc(32, 7).toString('base64');
    const wrong512 = Buffer.alloc(64, 7).toString('base64');
    expect(checkContentDigest(`sha-256=:${HELLO_SHA256}:, sha-512=:${HELLO_SHA512}:`, HELLO)).toBe('ok');
    expect(checkContentDigest(`sha-256=:${HELLO_SHA256}:, sha-512=:${wrong512}:`, HELLO)).toBe('mismatch');
    expect(checkContentDigest(`sha-256=:${wrong256}:, sha-512=:${HELLO_SHA512}:`, HELLO)).toBe('mismatch');
    expect(checkContentDigest(`sha-512=:${HELLO_SHA512}:, sha-256=:${wrong256}:`, HELLO)).toBe('mismatch');
  });

  it('ignores unknown algorithms next to a supported one', () => {
    const junk = Buffer.alloc(16, 1).toString('base64');
    expect(checkContentDigest(`md5=:${junk}:, sha-256=:${HELLO_SHA256}:`, HELLO)).toBe('ok');
    expect(checkContentDigest(`sha-256=:${HELLO_SHA256}:, sha-3-512=:${junk}:`, HELLO)).toBe('ok');
    expect(checkContentDigest(`md5=:${junk}:, sha-256=:${Buffer.alloc(32).toString('base64')}:`, HELLO)).toBe('mismatch');
  });

  it('unsupported when only unknown or deprecated algorithms are present', () => {
    const junk = Buffer.alloc(16, 1).toString('base64');
    expect(checkContentDigest(`md5=:${junk}:`, HELLO)).toBe('unsupported');
    expect(checkContentDigest(`md5=:${junk}:, sha=:${Buffer.alloc(20).toString('base64')}:`, HELLO)).toBe('unsupported');
    expect(checkContentDigest(`sha-384=:${Buffer.alloc(48).toString('base64')}:`, HELLO)).toBe('unsupported');
    expect(checkContentDigest(`id-sha-256=:${HELLO_SHA256}:`, HELLO)).toBe('unsupported');
  });

  it('malformed when it is not a non-empty dictionary of byte sequences', () => {
    const cases = [
      '',
      '   ',
      `sha-256=${HELLO_SHA256}`, // no colons: not a byte sequence (and not a valid token either)
      'sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="', // a string
      'sha-256=abc', // a token
      'sha-256=42', // an integer
      'sha-256', // a bare key is boolean true
      `sha-256=(:${HELLO_SHA256}:)`, // an inner list
      `SHA-256=:${HELLO_SHA256}:`, // keys are lower-case
      `sha-256=:${HELLO_SHA256}:,`, // trailing comma
      `sha-256=:${HELLO_SHA256}: sha-512=:${HELLO_SHA512}:`, // missing comma
      'sha-256=:not base64!:',
      `sha-256=:${HELLO_SHA256.replace(/=$/, '')}`, // unterminated
      `sha-256=:${HELLO_SHA256}:, md5=1`, // one non-byte-sequence member spoils the field
      `sha-256=:${HELLO_SHA256}:\u00e9`,
      `sha-256 = :${HELLO_SHA256}:`,
    ];
    for (const value of cases) expect(checkContentDigest(value, HELLO), value).toBe('malformed');
  });

  it('accepts surrounding whitespace and member parameters, as RFC 8941 does', () => {
    expect(checkContentDigest(`  sha-256=:${HELLO_SHA256}:  `, HELLO)).toBe('ok');
    expect(checkContentDigest(`sha-256=:${HELLO_SHA256}:;note=1`, HELLO)).toBe('ok');
    expect(checkContentDigest(`sha-256=:${HELLO_SHA256}:,sha-512=:${HELLO_SHA512}:`, HELLO)).toBe('ok');
  });

  it('a repeated key keeps its last value (RFC 8941 §4.2.2), and that value is what is checked', () => {
    const wrong = Buffer.alloc(32, 9).toString('base64');
    expect(checkContentDigest(`sha-256=:${wrong}:, sha-256=:${HELLO_SHA256}:`, HELLO)).toBe('ok');
    expect(checkContentDigest(`sha-256=:${HELLO_SHA256}:, sha-256=:${wrong}:`, HELLO)).toBe('mismatch');
  });

  it('empty bodies: both algorithms', () => {
    const empty = new Uint8Array(0);
    expect(checkContentDigest(`sha-256=:${EMPTY_SHA256}:`, empty)).toBe('ok');
    expect(checkContentDigest(`sha-512=:${EMPTY_SHA512}:`, empty)).toBe('ok');
    expect(checkContentDigest(`sha-256=:${EMPTY_SHA256}:, sha-512=:${EMPTY_SHA512}:`, empty)).toBe('ok');
    expect(checkContentDigest(`sha-256=:${EMPTY_SHA256}:`, HELLO)).toBe('mismatch');
  });

  it('never throws, even on values a typed caller cannot pass', () => {
    const values: unknown[] = [undefined, null, 42, {}, ['sha-256=:AA==:'], 'x'.repeat(100_000), '\u0000'];
    for (const value of values) {
      expect(() => checkContentDigest(value as string, HELLO)).not.toThrow();
      expect(checkContentDigest(value as string, HELLO)).toBe('malformed');
    }
    expect(() => checkContentDigest(`sha-256=:${HELLO_SHA256}:`, null as unknown as Uint8Array)).not.toThrow();
  });
});
