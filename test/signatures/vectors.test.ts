/**
 * RFC 9421 Appendix B, end to end: each vector's message is parsed from its HTTP/1.1 head, its
 * Signature-Input/Signature are parsed, the signature base is rebuilt and compared byte for byte with
 * the RFC's, and the RFC's signature is checked with raw `node:crypto` (so a wrong base cannot pass
 * by agreeing with a wrong verifier). Deterministic algorithms are re-signed and compared.
 */
import { constants, createHash, createHmac, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signatureBase } from '../../src/signatures/base.js';
import { parseSignatures } from '../../src/signatures/parse.js';
import type { ParsedSignature, SignedMessage } from '../../src/signatures/types.js';
import vectors from '../vectors/rfc9421.json' with { type: 'json' };

type KeyName = keyof typeof vectors.keys;
type MessageName = keyof typeof vectors.messages;

/** A SignedMessage from an HTTP/1.1 head as printed in the RFC (request line or status line, then field lines). */
function messageFromHead(head: readonly string[], scheme = 'https'): SignedMessage {
  const [startLine = '', ...fieldLines] = head;
  const fields = new Map<string, string[]>();
  for (const line of fieldLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    // Keep the raw value after the colon, leading space included: trimming is the code under test.
    fields.set(name, [...(fields.get(name) ?? []), line.slice(colon + 1)]);
  }
  const fieldLinesOf = (name: string): readonly string[] | undefined => fields.get(name);
  const parts = startLine.split(' ');
  if (startLine.startsWith('HTTP/')) return { status: Number(parts[1]), fieldLines: fieldLinesOf };
  const host = (fields.get('host')?.[0] ?? '').trim();
  return { method: parts[0], url: `${scheme}://${host}${parts[1]}`, fieldLines: fieldLinesOf };
}

/** The vector's message with its Signature-Input and Signature lines added, as the signer sent it. */
function signedMessage(vector: (typeof vectors.vectors)[number]): SignedMessage {
  const message = vectors.messages[vector.message as MessageName];
  const head = [...message.head, `Signature-Input: ${vector.signatureInput}`, `Signature: ${vector.signature}`];
  return messageFromHead(head, 'scheme' in message ? message.scheme : undefined);
}

/** Parses the message's own Signature-Input/Signature and returns the one labelled signature. */
function signatureOf(message: SignedMessage, label: string): ParsedSignature {
  const joined = (name: string): string => (message.fieldLines(name) ?? []).map((l) => l.trim()).join(', ');
  const parsed = parseSignatures(joined('signature-input'), joined('signature'));
  if (typeof parsed === 'string') throw new Error(`headers did not parse: ${parsed}`);
  const found = parsed.find((s) => s.label === label);
  if (found === undefined) throw new Error(`no signature labelled ${label}`);
  return found;
}

function publicKey(name: KeyName, form: 'pem' | 'jwk'): KeyObject {
  const key = vectors.keys[name];
  if (!('publicKeyPem' in key)) throw new Error(`${name} is a shared secret`);
  return form === 'pem' ? createPublicKey(key.publicKeyPem) : createPublicKey({ key: key.publicJwk, format: 'jwk' });
}

function secret(): Buffer {
  return Buffer.from(vectors.keys['test-shared-secret'].secretBase64, 'base64');
}

/** Verifies with `node:crypto` directly, with the parameters RFC 9421 §3.3 fixes for each algorithm. */
function verifies(alg: string, keyName: KeyName, form: 'pem' | 'jwk', base: string, signature: Uint8Array): boolean {
  const data = Buffer.from(base, 'ascii');
  switch (alg) {
    case 'rsa-pss-sha512': // §3.3.1: RSASSA-PSS, SHA-512, MGF1-SHA-512, salt length 64
      return verify('sha512', data, { key: publicKey(keyName, form), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 }, signature);
    case 'ecdsa-p256-sha256': // §3.3.4: r‖s, 32 bytes each (not DER)
      return verify('sha256', data, { key: publicKey(keyName, form), dsaEncoding: 'ieee-p1363' }, signature);
    case 'ed25519': // §3.3.6
      return verify(null, data, publicKey(keyName, form), signature);
    case 'hmac-sha256': // §3.3.3
      return createHmac('sha256', secret()).update(data).digest().equals(Buffer.from(signature));
    default:
      throw new Error(`unexpected algorithm ${alg}`);
  }
}

describe.each(vectors.vectors)('RFC 9421 $section $title', (vector) => {
  const message = signedMessage(vector);
  const parsed = signatureOf(message, vector.label);

  it('parses the Signature-Input member cleanly and re-serializes it exactly', () => {
    expect(parsed.problem).toBeUndefined();
    expect(`${vector.label}=${parsed.paramsValue}`).toBe(vector.signatureInput);
    expect(`${vector.label}=:${Buffer.from(parsed.signature).toString('base64')}:`).toBe(vector.signature);
  });

  it('builds the signature base byte for byte', () => {
    expect(signatureBase(message, parsed)).toBe(vector.base);
  });

  it.each(vector.alg === 'hmac-sha256' ? (['secret'] as const) : (['pem', 'jwk'] as const))(
    'the RFC signature verifies over our base (key as %s)',
    (form) => {
      const base = signatureBase(message, parsed) as string;
      expect(verifies(vector.alg, vector.key as KeyName, form === 'secret' ? 'pem' : form, base, parsed.signature)).toBe(true);
    },
  );

  it('the RFC signature fails over a base with one byte changed', () => {
    const base = signatureBase(message, parsed) as string;
    const tampered = `${base.slice(0, -2)}${base.at(-2) === '1' ? '2' : '1'}${base.slice(-1)}`;
    expect(tampered).not.toBe(base);
    expect(verifies(vector.alg, vector.key as KeyName, 'pem', tampered, parsed.signature)).toBe(false);
  });
});

describe.each(vectors.vectors.filter((v) => v.deterministic))('RFC 9421 $section $title (deterministic $alg)', (vector) => {
  const message = signedMessage(vector);
  const parsed = signatureOf(message, vector.label);

  it('re-signing the base gives the RFC signature bytes', () => {
    const base = Buffer.from(signatureBase(message, parsed) as string, 'ascii');
    const expected = Buffer.from(parsed.signature).toString('base64');
    if (vector.alg === 'ed25519') {
      expect(sign(null, base, createPrivateKey(vectors.keys['test-key-ed25519'].privateKeyPem)).toString('base64')).toBe(expected);
      const fromJwk = createPrivateKey({ key: vectors.keys['test-key-ed25519'].privateJwk, format: 'jwk' });
      expect(sign(null, base, fromJwk).toString('base64')).toBe(expected);
    } else {
      expect(vector.alg).toBe('hmac-sha256');
      expect(createHmac('sha256', secret()).update(base).digest('base64')).toBe(expected);
    }
  });
});

describe('RFC 9421 B.1 example keys', () => {
  it.each(['test-key-rsa-pss', 'test-key-ecc-p256', 'test-key-ed25519'] as const)('%s: the PEM and the JWK are the same public key', (name) => {
    const pem = publicKey(name, 'pem').export({ format: 'jwk' });
    const jwk = publicKey(name, 'jwk').export({ format: 'jwk' });
    expect(jwk).toEqual(pem);
  });

  it('B.1.5 test-shared-secret is 64 bytes', () => {
    expect(secret().length).toBe(64);
  });
});

describe('RFC 9421 B.4 transformations', () => {
  const original = vectors.vectors.find((v) => v.section === 'B.4');
  if (original === undefined) throw new Error('no B.4 vector');

  it.each(vectors.transformations)('B.4 $title → valid: $valid', (transformation) => {
    const message = messageFromHead(transformation.head, transformation.scheme);
    const parsed = signatureOf(message, transformation.label);
    const base = signatureBase(message, parsed);
    expect(typeof base).toBe('string');
    if (transformation.valid) expect(base).toBe(original.base);
    else expect(base).not.toBe(original.base);
    expect(verifies('ed25519', 'test-key-ed25519', 'pem', base as string, parsed.signature)).toBe(transformation.valid);
  });

  it.each(['test-request', 'test-response'] as const)('B.2 %s: Content-Digest is the SHA-512 of the body (test-response corrected to mEWXIS7…)', (name) => {
    const message = vectors.messages[name];
    const digest = createHash('sha512').update(message.body).digest('base64');
    expect(message.head).toContain(`Content-Digest: sha-512=:${digest}:`);
  });
});
