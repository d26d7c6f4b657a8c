import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, createGuard } from '../../src/index.js';
import { b64u, ecKeys, hmacWith, hs256, request, rsaKeys, signAsymmetric } from '../helpers/jws.js';

const NOW = 1_800_000_000;
const clock = () => NOW * 1000;
const valid = { exp: NOW + 60, iss: 'https://attest.example.com', aud: 'api', sub: 'svc-1', iat: NOW - 5 };

describe('generic JWT profile', () => {
  it('reads a Bearer token from Authorization by default and names the principal by sub', async () => {
    const { publicKey, privateKey } = rsaKeys();
    const g = createGuard({ attestation: { jwt: { algorithms: ['RS256'], keys: publicKey.export({ type: 'spki', format: 'pem' }) as string } }, now: clock });
    const d = await g.check(request({ authorization: `Bearer ${signAsymmetric('RS256', valid, privateKey)}` }));
    expect(d).toMatchObject({ outcome: 'allow', reason: 'OK', principal: { id: 'service:svc-1', kind: 'service', via: 'jwt', issuer: valid.iss, subject: 'svc-1' } });
    const lower = await g.check(request({ authorization: `bearer   ${signAsymmetric('RS256', valid, privateKey)}` }));
    expect(lower.reason).toBe('OK');
    const wrongScheme = await g.check(request({ authorization: `Basic ${signAsymmetric('RS256', valid, privateKey)}` }));
    expect(wrongScheme.reason).toBe('ERR_TOKEN_MALFORMED');
  });

  it('verifies ES256 (raw r||s), PS256 and EdDSA with JWK keys, and refuses a DER ECDSA signature', async () => {
    const ec = ecKeys();
    const ed = generateKeyPairSync('ed25519');
    const { publicKey, privateKey } = rsaKeys();
    const g = createGuard({
      attestation: {
        jwt: {
          header: 'X-Attest',
          algorithms: ['ES256', 'PS256', 'EdDSA'],
          keys: [
            { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec' },
            { ...publicKey.export({ format: 'jwk' }), kid: 'rsa' },
            { ...ed.publicKey.export({ format: 'jwk' }), kid: 'ed' },
          ] as never,
        },
      },
      now: clock,
    });
    const ok = async (t: string) => (await g.check(request({ 'x-attest': t }))).reason;
    expect(await ok(signAsymmetric('ES256', valid, ec.privateKey, { kid: 'ec' }))).toBe('OK');
    expect(await ok(signAsymmetric('PS256', valid, privateKey, { kid: 'rsa' }))).toBe('OK');
    expect(await ok(signAsymmetric('EdDSA', valid, ed.privateKey, { kid: 'ed' }))).toBe('OK');
    // The same ES256 signature DER-encoded is refused.
    const si = `${b64u({ alg: 'ES256', kid: 'ec' })}.${b64u(valid)}`;
    const der = sign('sha256', Buffer.from(si), ec.privateKey).toString('base64url');
    expect(await ok(`${si}.${der}`)).toBe('ERR_TOKEN_SIGNATURE_INVALID');
    // A kid naming a key of another type cannot verify: there is no usable key for ES256 under 'rsa'.
    expect(await ok(signAsymmetric('ES256', valid, ec.privateKey, { kid: 'rsa' }))).toBe('ERR_TOKEN_KEY_UNKNOWN');
    // A psychic signature (r = s = 0) is refused.
    expect(await ok(`${si}.${Buffer.alloc(64).toString('base64url')}`)).toBe('ERR_TOKEN_SIGNATURE_INVALID');
  });

  it('checks issuer, audience, required claims and max token age', async () => {
    const secret = Buffer.alloc(32, 3);
    const g = createGuard({
      attestation: {
        jwt: {
          header: 'X-Token',
          algorithms: ['HS256'],
          keys: { secret },
          issuer: ['https://attest.example.com'],
          audience: 'api',
          requiredClaims: ['sub', 'scope'],
          maxTokenAge: '1m',
        },
      },
      now: clock,
    });
    const reason = async (claims: object) => (await g.check(request({ 'x-token': hs256({ ...valid, scope: 'read', ...claims }, secret) }))).reason;
    expect(await reason({})).toBe('OK');
    expect(await reason({ aud: ['other', 'api'] })).toBe('OK');
    expect(await reason({ iss: 'https://evil.example.com' })).toBe('ERR_TOKEN_ISSUER_INVALID');
    expect(await reason({ iss: undefined })).toBe('ERR_TOKEN_ISSUER_INVALID');
    expect(await reason({ aud: 'web' })).toBe('ERR_TOKEN_AUDIENCE_INVALID');
    expect(await reason({ aud: ['web'] })).toBe('ERR_TOKEN_AUDIENCE_INVALID');
    expect(await reason({ scope: undefined })).toBe('ERR_TOKEN_CLAIM_MISSING');
    expect(await reason({ iat: NOW - 61 })).toBe('ERR_TOKEN_TOO_OLD');
    expect(await reason({ iat: undefined })).toBe('ERR_TOKEN_CLAIM_MISSING');
  });

  it('makes HS/RS key confusion impossible: a public key is never an HMAC secret', async () => {
    const { publicKey } = rsaKeys();
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const g = createGuard({ attestation: { jwt: { algorithms: ['RS256'], keys: [pem] } }, now: clock });
    for (const fake of [pem, pkcs1, ` \n${pem}`, JSON.stringify(publicKey.export({ format: 'jwk' })), publicKey.export({ type: 'spki', format: 'der' })]) {
      const d = await g.check(request({ authorization: `Bearer ${hs256(valid, fake)}` }));
      expect(d.reason).toBe('ERR_TOKEN_ALG_NOT_ALLOWED');
    }
    // Even listing HS256 cannot make the PEM a secret: construction refuses it.
    expect(() => createGuard({ attestation: { jwt: { algorithms: ['RS256', 'HS256'], keys: [pem] } } })).toThrowError(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID_KEY', path: 'attestation.jwt.algorithms' }),
    );
  });

  it('ignores a token kid when the key has none, and refuses a key whose JWK alg disagrees', async () => {
    const secret = Buffer.alloc(32, 9);
    const g = createGuard({ attestation: { jwt: { header: 'X-T', algorithms: ['HS256', 'HS512'], keys: [{ kty: 'oct', k: secret.toString('base64url'), alg: 'HS256' }] } }, now: clock });
    expect((await g.check(request({ 'x-t': hmacWith('HS256', valid, secret, { kid: 'any' }) }))).reason).toBe('OK');
    expect((await g.check(request({ 'x-t': hmacWith('HS512', valid, secret) }))).reason).toBe('ERR_TOKEN_KEY_UNKNOWN');
  });

  it('throws ConfigError for a bad configuration, naming the option', () => {
    const cases: Array<[object, string, string]> = [
      [{ jwt: { keys: { secret: 'x'.repeat(32) } } }, 'ERR_CONFIG_MISSING_OPTION', 'attestation.jwt.algorithms'],
      [{ jwt: { algorithms: ['none'], keys: { secret: 'x'.repeat(32) } } }, 'ERR_CONFIG_INVALID_VALUE', 'attestation.jwt.algorithms'],
      [{ jwt: { algorithms: ['HS256'] } }, 'ERR_CONFIG_MISSING_OPTION', 'attestation.jwt.keys'],
      [{ jwt: { algorithms: ['HS256'], keys: { secret: 'short' } } }, 'ERR_CONFIG_INVALID_KEY', 'attestation.jwt.keys'],
      [{ jwt: { algorithms: ['RS256'], keys: 'not a pem' } }, 'ERR_CONFIG_INVALID_KEY', 'attestation.jwt.keys'],
      [{ jwt: { algorithms: ['HS256'], jwks: { url: 'https://x.example/jwks' } } }, 'ERR_CONFIG_INVALID_VALUE', 'attestation.jwt.algorithms'],
      [{ jwt: { algorithms: ['RS256'], jwks: { url: 'http://x.example/jwks' } } }, 'ERR_CONFIG_INVALID_VALUE', 'attestation.jwt.jwks.url'],
      [{ jwt: { algorithms: ['RS256'], jwks: { url: 'https://x.example/jwks', cooldown: 'soon' } } }, 'ERR_CONFIG_INVALID_VALUE', 'attestation.jwt.jwks.cooldown'],
      [{ jwt: { algorithms: ['RS256'], jwks: { url: 'https://x.example/jwks' }, audince: 'x' } }, 'ERR_CONFIG_UNKNOWN_OPTION', 'attestation.jwt.audince'],
      [{ jwt: { algorithms: ['RS256'], keys: { kty: 'RSA', n: 'AQAB', e: 'AQAB', d: 'AQAB' } } }, 'ERR_CONFIG_INVALID_KEY', 'attestation.jwt.keys'],
      [{ approov: { secret: Buffer.alloc(16).toString('base64') } }, 'ERR_CONFIG_WEAK_SECRET', 'attestation.approov.secret'],
      [{ approov: { secret: 'not*base64!' } }, 'ERR_CONFIG_INVALID_VALUE', 'attestation.approov.secret'],
      [{ approov: {} }, 'ERR_CONFIG_MISSING_OPTION', 'attestation.approov.secret'],
      [{ approov: { secret: Buffer.alloc(32).toString('base64'), binding: ['Authorization', 'bad header'] } }, 'ERR_CONFIG_INVALID_VALUE', 'attestation.approov.binding[1]'],
      [{ firebase: {} }, 'ERR_CONFIG_MISSING_OPTION', 'attestation.firebase.projectNumber'],
      [{ firebase: { projectNumber: 'my-project' } }, 'ERR_CONFIG_INVALID_VALUE', 'attestation.firebase.projectNumber'],
      [{ appCheck: {} }, 'ERR_CONFIG_UNKNOWN_OPTION', 'attestation.appCheck'],
    ];
    for (const [attestation, code, path] of cases) {
      let error: unknown;
      try {
        createGuard({ attestation } as never);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(attestation)).toBeInstanceOf(ConfigError);
      expect(error).toMatchObject({ code, path });
      expect((error as Error).message).toMatch(/\(ERR_CONFIG_/);
    }
  });

  it('never puts the secret into a ConfigError message', () => {
    const secret = Buffer.alloc(20, 65).toString('base64');
    try {
      createGuard({ attestation: { approov: { secret } } });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(secret);
      expect((error as Error).message).toMatch(/decodes to 20 bytes/);
    }
  });
});
