import { describe, expect, it } from 'vitest';
import { createGuard, type GuardOptions, type GuardRequest } from '../../src/index.js';
import vectors from '../vectors/rfc9421.json' with { type: 'json' };

/**
 * RFC 9421 Appendix B request vectors, end to end through createGuard with `profile: 'rfc9421'`:
 * the headers as printed, the example keys configured by keyid, the clock at `created`.
 */

interface Message {
  head: string[];
  body: string;
  scheme: string;
}

/** An HTTP/1.1 head as a GuardRequest: repeated header lines kept as arrays, in order. */
function requestOf(message: Message, extra: string[] = []): GuardRequest {
  const [requestLine, ...lines] = [...message.head, ...extra];
  const [method, target] = requestLine!.split(' ');
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    (headers[name] ??= []).push(line.slice(colon + 1).trim());
  }
  const body = Buffer.from(message.body);
  return { method: method!, url: `${message.scheme}://${headers.host![0]}${target}`, headers, readBody: async () => body };
}

const keys = vectors.keys;
const options: GuardOptions = {
  signatures: {
    profile: 'rfc9421',
    allowTestKeys: true,
    keys: [
      { keyid: 'test-key-rsa-pss', key: keys['test-key-rsa-pss'].publicKeyPem, algorithm: 'rsa-pss-sha512' },
      { keyid: 'test-key-ecc-p256', key: keys['test-key-ecc-p256'].publicKeyPem },
      { keyid: 'test-key-ed25519', key: keys['test-key-ed25519'].publicKeyPem },
      { keyid: 'test-shared-secret', secret: keys['test-shared-secret'].secretBase64, encoding: 'base64' },
    ],
  },
  now: () => 1_618_884_473_000,
};

const requestVectors = vectors.vectors.filter((v) => v.message !== 'test-response');

describe('RFC 9421 Appendix B request vectors through the guard', () => {
  it.each(requestVectors.map((v) => [`${v.section} ${v.title}`, v] as const))('%s verifies', async (_title, vector) => {
    const guard = createGuard({ ...options, signatures: { ...options.signatures, label: vector.label } });
    const message = vectors.messages[vector.message as keyof typeof vectors.messages] as Message;
    const d = await guard.check(requestOf(message, [`Signature-Input: ${vector.signatureInput}`, `Signature: ${vector.signature}`]));
    expect(d.checks).toEqual([
      expect.objectContaining({ check: 'signature', verifier: 'rfc9421', outcome: 'verified', reason: 'OK', label: vector.label, keyid: vector.key }),
    ]);
    expect(d.principal).toMatchObject({ id: `service:${vector.key}`, kind: 'service', verified: true });
  });

  it.each(vectors.transformations.map((t) => [t.title, t] as const))('B.4 transformation: %s', async (_title, t) => {
    const guard = createGuard(options);
    const d = await guard.check(requestOf({ head: t.head, body: '', scheme: t.scheme }));
    expect(d.reason).toBe(t.valid ? 'OK' : 'ERR_SIGNATURE_INVALID');
  });

  it('denies every vector with the test keys refused (the default)', async () => {
    const guard = createGuard({ ...options, signatures: { ...options.signatures, allowTestKeys: false, label: 'sig-b26' } });
    const vector = requestVectors.find((v) => v.label === 'sig-b26')!;
    const d = await guard.check(requestOf(vectors.messages['test-request'] as Message, [`Signature-Input: ${vector.signatureInput}`, `Signature: ${vector.signature}`]));
    expect(d).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_TEST_KEY', status: 401 });
  });

  it('checks the covered Content-Digest against the body (B.2.3 with a changed body)', async () => {
    const guard = createGuard({ ...options, signatures: { ...options.signatures, label: 'sig-b23' } });
    const vector = requestVectors.find((v) => v.label === 'sig-b23')!;
    const message = { ...(vectors.messages['test-request'] as Message), body: '{"hello": "there"}' };
    const d = await guard.check(requestOf(message, [`Signature-Input: ${vector.signatureInput}`, `Signature: ${vector.signature}`]));
    expect(d).toMatchObject({ outcome: 'deny', reason: 'ERR_DIGEST_MISMATCH', status: 401 });
  });

  it('refuses an alg parameter that disagrees with the HMAC key', async () => {
    const guard = createGuard({ ...options, signatures: { ...options.signatures, label: 'sig-b25' } });
    const vector = requestVectors.find((v) => v.label === 'sig-b25')!;
    const input = vector.signatureInput.replace('keyid="test-shared-secret"', 'keyid="test-shared-secret";alg="ed25519"');
    const d = await guard.check(requestOf(vectors.messages['test-request'] as Message, [`Signature-Input: ${input}`, `Signature: ${vector.signature}`]));
    expect(d.reason).toBe('ERR_SIGNATURE_ALG_MISMATCH');
  });

  it('answers a request without a body reader with 503 ERR_BODY_UNAVAILABLE when the digest is covered', async () => {
    const guard = createGuard({ ...options, signatures: { ...options.signatures, label: 'sig-b23' } });
    const vector = requestVectors.find((v) => v.label === 'sig-b23')!;
    const { readBody: _readBody, ...request } = requestOf(vectors.messages['test-request'] as Message, [`Signature-Input: ${vector.signatureInput}`, `Signature: ${vector.signature}`]);
    expect(await guard.check(request)).toMatchObject({ outcome: 'deny', status: 503, reason: 'ERR_BODY_UNAVAILABLE' });
  });
});

describe('bodies of in-process Web Requests', () => {
  it('checks a covered Content-Digest of a Request that has no Content-Length', async () => {
    const guard = createGuard({ ...options, signatures: { ...options.signatures, label: 'sig-b22' } });
    const vector = requestVectors.find((v) => v.label === 'sig-b22')!;
    const message = vectors.messages['test-request'] as Message;
    const { headers } = requestOf(message, [`Signature-Input: ${vector.signatureInput}`, `Signature: ${vector.signature}`]);
    const { bonafide } = await import('../../adapters/fetch.js');
    const check = bonafide(guard).decide;
    const build = (body: string) => {
      const h = new Headers();
      for (const [name, lines] of Object.entries(headers as Record<string, string[]>)) if (name !== 'content-length') for (const l of lines) h.append(name, l);
      return new Request('https://example.com/foo?param=Value&Pet=dog', { method: 'POST', headers: h, body });
    };
    expect((await check(build(message.body))).decision.reason).toBe('OK');
    expect((await check(build('{"hello": "there"}'))).decision.reason).toBe('ERR_DIGEST_MISMATCH');
  });
});
