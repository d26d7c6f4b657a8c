import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGuard, type Jwk } from '../../src/index.js';
import { fakeJwks } from '../helpers/jwks-server.js';
import { hs256, request } from '../helpers/jws.js';

const NOW = 1_800_000_000;
const PROJECT = '123456789012';
const APP = '1:123456789012:android:abc123';
let privateKey: KeyObject;
let jwks: { keys: Jwk[] };
let pem: string;

beforeAll(() => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  privateKey = pair.privateKey;
  jwks = { keys: [{ ...pair.publicKey.export({ format: 'jwk' }), kty: 'RSA', kid: 'k1', alg: 'RS256', use: 'sig' }] };
  pem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
});

function appCheckToken(claims: Record<string, unknown> = {}, kid = 'k1'): Promise<string> {
  return new SignJWT({
    iss: `https://firebaseappcheck.googleapis.com/${PROJECT}`,
    sub: APP,
    aud: [`projects/${PROJECT}`, 'projects/my-project'],
    iat: NOW - 10,
    exp: NOW + 3600,
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
    .sign(privateKey);
}

function guard(extra: Record<string, unknown> = {}) {
  return createGuard({ attestation: { firebase: { projectNumber: PROJECT, keys: jwks, ...extra } }, now: () => NOW * 1000 });
}

const check = async (g: ReturnType<typeof guard>, token: string) => g.check(request({ 'x-firebase-appcheck': token }));

describe('Firebase App Check profile', () => {
  it('allows a genuine token and names the app', async () => {
    const d = await check(guard(), await appCheckToken());
    expect(d).toMatchObject({ outcome: 'allow', reason: 'OK' });
    expect(d.principal).toMatchObject({ id: `app:${APP}`, kind: 'app', via: 'firebase', appId: APP, verified: true });
  });

  it('requires the exact issuer for the project number, not just the prefix', async () => {
    const d = await check(guard(), await appCheckToken({ iss: 'https://firebaseappcheck.googleapis.com/999999999999' }));
    expect(d).toMatchObject({ outcome: 'deny', status: 401, reason: 'ERR_TOKEN_ISSUER_INVALID' });
    const suffix = await check(guard(), await appCheckToken({ iss: `https://firebaseappcheck.googleapis.com/${PROJECT}0` }));
    expect(suffix.reason).toBe('ERR_TOKEN_ISSUER_INVALID');
  });

  it('requires aud to be an array containing projects/<number>', async () => {
    expect((await check(guard(), await appCheckToken({ aud: ['projects/other'] }))).reason).toBe('ERR_TOKEN_AUDIENCE_INVALID');
    expect((await check(guard(), await appCheckToken({ aud: `projects/${PROJECT}` }))).reason).toBe('ERR_TOKEN_AUDIENCE_INVALID');
  });

  it('requires a non-empty sub', async () => {
    const d = await check(guard(), await appCheckToken({ sub: '' }));
    expect(d).toMatchObject({ reason: 'ERR_TOKEN_CLAIM_INVALID', checks: [{ claim: 'sub' }] });
  });

  it('answers 403 for a genuine token from an app that is not on the allowlist', async () => {
    const g = guard({ appIds: ['1:123456789012:ios:other'] });
    expect(await check(g, await appCheckToken())).toMatchObject({ outcome: 'deny', status: 403, reason: 'ERR_TOKEN_APP_NOT_ALLOWED' });
    expect((await check(guard({ appIds: [APP] }), await appCheckToken())).reason).toBe('OK');
  });

  it('refuses HS256 signed with the RSA public key, whatever its form', async () => {
    const g = guard();
    const jwkText = JSON.stringify(jwks.keys[0]);
    for (const fake of [pem, jwkText]) {
      const t = hs256({ iss: `https://firebaseappcheck.googleapis.com/${PROJECT}`, aud: [`projects/${PROJECT}`], sub: APP, exp: NOW + 60 }, fake, { alg: 'HS256', kid: 'k1' });
      expect((await check(g, t)).reason).toBe('ERR_TOKEN_ALG_NOT_ALLOWED');
    }
  });

  it('refuses an unknown kid', async () => {
    expect((await check(guard(), await appCheckToken({}, 'k2'))).reason).toBe('ERR_TOKEN_KEY_UNKNOWN');
  });

  it('fetches Google’s JWKS by default', async () => {
    const fake = fakeJwks(jwks);
    const g = createGuard({ attestation: { firebase: { projectNumber: Number(PROJECT) } }, fetch: fake.fetch, now: () => NOW * 1000 });
    expect((await check(g, await appCheckToken())).reason).toBe('OK');
    expect(fake.calls).toEqual(['https://firebaseappcheck.googleapis.com/v1/jwks']);
  });
});
