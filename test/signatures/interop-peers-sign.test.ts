import { generateKeyPairSync } from 'node:crypto';
import { createSigner as peerSigner, httpbis } from 'http-message-signatures';
import { signatureHeaders } from 'web-bot-auth';
import { signerFromJWK } from 'web-bot-auth/crypto';
import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { jwkThumbprint } from '../../src/keys/thumbprint.js';
import type { Jwk } from '../../src/keys/key.js';

/** Interop, their side signs: requests signed by the peer packages verify with bonafide. */

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const publicJwk = publicKey.export({ format: 'jwk' }) as Jwk;
const keyid = jwkThumbprint(publicJwk);
const now = new Date();
const created = new Date(Math.floor(now.getTime() / 1000) * 1000);
const expires = new Date(created.getTime() + 300_000);

function headersOf(request: Request, added: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { host: new URL(request.url).host };
  request.headers.forEach((value, name) => (headers[name] = value));
  for (const [name, value] of Object.entries(added)) headers[name.toLowerCase()] = value;
  return headers;
}

describe('requests signed by web-bot-auth 0.1.3 verify with bonafide', () => {
  const guard = createGuard({ signatures: { keys: [publicJwk], directory: false } });

  it.each([
    ['the legacy string Signature-Agent', '"https://agent.example"'],
    ['a dictionary Signature-Agent covered whole', 'sig1="https://agent.example"'],
  ])('with %s', async (_name, agent) => {
    const request = new Request('https://api.example.com/v1/items?page=2', { headers: { 'signature-agent': agent } });
    const signer = await signerFromJWK(privateKey.export({ format: 'jwk' }) as JsonWebKey);
    const added = await signatureHeaders(request, signer, { created, expires });
    const d = await guard.check({ method: 'GET', url: request.url, headers: headersOf(request, added as unknown as Record<string, string>) });
    expect(d).toMatchObject({ outcome: 'allow', reason: 'OK' });
    expect(d.principal).toMatchObject({ kind: 'agent', keyid, verified: true });
  });

  it('and a tampered authority is refused', async () => {
    const request = new Request('https://api.example.com/', { headers: { 'signature-agent': '"https://agent.example"' } });
    const signer = await signerFromJWK(privateKey.export({ format: 'jwk' }) as JsonWebKey);
    const added = await signatureHeaders(request, signer, { created, expires });
    const headers = { ...headersOf(request, added as unknown as Record<string, string>), host: 'evil.example' };
    const d = await guard.check({ method: 'GET', url: 'https://evil.example/', headers });
    expect(d).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_INVALID' });
  });
});

describe('requests signed by http-message-signatures 1.0.6 verify with bonafide (rfc9421 profile)', () => {
  const guard = createGuard({ signatures: { profile: 'rfc9421', keys: [{ keyid: 'partner-1', key: publicKey }] } });
  const message = {
    method: 'POST',
    url: 'https://api.example.com/v1/orders?id=7&Pet=dog',
    headers: { host: 'api.example.com', 'content-type': 'application/json', 'x-example': '  spaced   value  ' } as Record<string, string>,
  };

  it.each([
    [['@method', '@authority', '@path', '@query', '@target-uri', '@scheme', '@request-target']],
    [['@method', '@authority', '@query-param;name="Pet"', 'content-type', 'x-example']],
  ])('covering %j', async (fields) => {
    const signed = await httpbis.signMessage(
      { key: peerSigner(privateKey, 'ed25519', 'partner-1'), fields, params: ['created', 'expires', 'keyid', 'alg'], paramValues: { created, expires } },
      message,
    );
    const d = await guard.check({ method: message.method, url: message.url, headers: signed.headers as Record<string, string> });
    expect(d).toMatchObject({ outcome: 'allow', reason: 'OK' });
    expect(d.principal).toMatchObject({ id: 'service:partner-1', kind: 'service' });
  });
});

describe('every algorithm http-message-signatures signs verifies with bonafide', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const secret = Buffer.alloc(32, 7);
  const cases = [
    ['rsa-pss-sha512', rsa.privateKey, { keyid: 'k', key: rsa.publicKey, algorithm: 'rsa-pss-sha512' as const }],
    ['rsa-v1_5-sha256', rsa.privateKey, { keyid: 'k', key: rsa.publicKey, algorithm: 'rsa-v1_5-sha256' as const }],
    ['ecdsa-p256-sha256', p256.privateKey, { keyid: 'k', key: p256.publicKey }],
    ['ecdsa-p384-sha384', p384.privateKey, { keyid: 'k', key: p384.publicKey }],
    ['hmac-sha256', secret, { keyid: 'k', secret }],
  ] as const;

  it.each(cases)('%s', async (alg, signingKey, key) => {
    const guard = createGuard({ signatures: { profile: 'rfc9421', keys: [key] } });
    const message = { method: 'GET', url: 'https://api.example.com/r', headers: { host: 'api.example.com' } as Record<string, string> };
    const signed = await httpbis.signMessage(
      { key: peerSigner(signingKey as never, alg as never, 'k'), fields: ['@method', '@authority', '@path'], params: ['created', 'keyid', 'alg'], paramValues: { created } },
      message,
    );
    const d = await guard.check({ ...message, headers: signed.headers as Record<string, string> });
    expect(d).toMatchObject({ outcome: 'allow', reason: 'OK' });
  });
});
