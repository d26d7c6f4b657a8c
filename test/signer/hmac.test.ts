import { randomBytes } from 'node:crypto';
import { createSigner as peerSigner, createVerifier, httpbis } from 'http-message-signatures';
import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { createSigner } from '../../src/signer/index.js';

/** Plain RFC 9421 signing with a shared secret (hmac-sha256): the one algorithm Web Bot Auth forbids. */

const secret = randomBytes(32);
const url = 'https://api.example.com/v1/orders?id=7';

describe('hmac-sha256 signing (rfc9421)', () => {
  const signer = createSigner({ profile: 'rfc9421', key: { secret: secret.toString('base64'), encoding: 'base64' }, keyid: 'internal' });

  it('signs requests the guard verifies with the same secret', async () => {
    const headers: Record<string, string> = { host: 'api.example.com', ...signer.headers({ method: 'POST', url, body: '{"a":1}' }) };
    expect(headers['signature-input']).toMatch(/^sig1=\("@method" "@authority" "@path" "@query" "content-digest"\);created=\d+;keyid="internal";alg="hmac-sha256";expires=\d+;nonce="[^"]+"$/);
    const guard = createGuard({ signatures: { profile: 'rfc9421', keys: [{ keyid: 'internal', secret }] } });
    const d = await guard.check({ method: 'POST', url, headers, readBody: async () => Buffer.from('{"a":1}') });
    expect(d).toMatchObject({ outcome: 'allow', reason: 'OK', principal: { id: 'service:internal' } });
  });

  it('publishes no key material', () => {
    expect(signer.publicJwk).toEqual({ kty: 'oct', kid: 'internal', alg: 'HS256', use: 'sig' });
  });

  it('interoperates with http-message-signatures', async () => {
    const signed = signer.headers({ method: 'GET', url });
    const verified = await httpbis.verifyMessage(
      { keyLookup: async () => ({ id: 'internal', algs: ['hmac-sha256'], verify: createVerifier(secret, 'hmac-sha256') }) },
      { method: 'GET', url, headers: { host: 'api.example.com', ...signed } },
    );
    expect(verified).toBe(true);
    const theirs = await httpbis.signMessage(
      { key: peerSigner(secret, 'hmac-sha256', 'internal'), fields: ['@method', '@authority', '@path', '@query'], params: ['created', 'keyid', 'alg'], paramValues: { created: new Date() } },
      { method: 'GET', url, headers: { host: 'api.example.com' } },
    );
    const guard = createGuard({ signatures: { profile: 'rfc9421', keys: [{ keyid: 'internal', secret }] } });
    expect((await guard.check({ method: 'GET', url, headers: theirs.headers as Record<string, string> })).reason).toBe('OK');
  });

  it.each([
    ['Web Bot Auth', { key: { secret: secret.toString('base64'), encoding: 'base64' }, agent: 'https://agent.example' }, 'ERR_CONFIG_INVALID_KEY', 'key'],
    ['no keyid', { profile: 'rfc9421', key: { secret: secret.toString('base64'), encoding: 'base64' } }, 'ERR_CONFIG_MISSING_OPTION', 'key.keyid'],
    ['a short secret', { profile: 'rfc9421', keyid: 'k', key: { secret: 'short' } }, 'ERR_CONFIG_WEAK_SECRET', 'key.secret'],
    ['hmac-sha256 with an asymmetric key', { profile: 'rfc9421', algorithm: 'hmac-sha256', key: '-----BEGIN PRIVATE KEY-----' }, 'ERR_CONFIG_INVALID_VALUE', 'algorithm'],
  ])('refuses %s', (_name, options, code, path) => {
    expect(() => createSigner(options as never)).toThrow(expect.objectContaining({ code, path }));
  });
});
