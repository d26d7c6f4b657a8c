import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createGuard, type GuardOptions } from '../../src/index.js';
import { approovSecret, hs256 } from '../helpers/jws.js';
import { sign, type TestRequest } from '../helpers/http-sig.js';

/** Installation message signing: the request signed with the per-install key the Approov token carries. */

const NOW = 1_800_000_000;
const secret = approovSecret();
const install = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ipk = install.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const otherInstall = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const options = (extra: Partial<GuardOptions> = {}): GuardOptions => ({
  attestation: { approov: { secret: secret.base64 } },
  installSignature: true,
  now: () => NOW * 1000,
  ...extra,
});

function request(claims: object = { exp: NOW + 60, ipk }, key = install.privateKey, params: Record<string, string | number> = { created: NOW }): TestRequest {
  const base: TestRequest = {
    method: 'POST',
    url: 'https://api.example.com/v1/orders?id=7',
    headers: { host: 'api.example.com', 'approov-token': hs256(claims, secret.bytes) },
  };
  return sign(base, { key, algorithm: 'ecdsa-p256-sha256', keyid: 'unused', label: 'install', components: ['@method', '@target-uri', 'approov-token'], params });
}

describe('installation message signing', () => {
  it('allows a request signed with the key in the token', async () => {
    const d = await createGuard(options()).check(request());
    expect(d).toMatchObject({ outcome: 'allow', reason: 'OK' });
    expect(d.principal).toMatchObject({ id: 'app:approov', verified: true });
    expect(d.checks.map((c) => [c.verifier, c.outcome, c.reason])).toEqual([
      ['approov', 'verified', 'OK'],
      ['install', 'verified', 'OK'],
    ]);
  });

  it('denies a request signed with another installation key', async () => {
    const d = await createGuard(options()).check(request(undefined, otherInstall.privateKey));
    expect(d).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_INVALID', status: 401 });
  });

  it('denies a request without an installation signature', async () => {
    const { signature: _s, 'signature-input': _i, ...headers } = request().headers;
    const d = await createGuard(options()).check({ ...request(), headers });
    expect(d).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_MISSING' });
    expect(d.checks[1]).toMatchObject({ verifier: 'install', outcome: 'unverified' });
  });

  it('denies a token without ipk, or with an ipk that is not a P-256 key', async () => {
    const missing = await createGuard(options()).check(request({ exp: NOW + 60 }));
    expect(missing).toMatchObject({ outcome: 'deny', reason: 'ERR_INSTALL_KEY_MISSING' });
    const rsa = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const wrong = await createGuard(options()).check(request({ exp: NOW + 60, ipk: rsa }));
    expect(wrong).toMatchObject({ outcome: 'deny', reason: 'ERR_INSTALL_KEY_INVALID' });
    const garbage = await createGuard(options()).check(request({ exp: NOW + 60, ipk: '%%%' }));
    expect(garbage).toMatchObject({ outcome: 'deny', reason: 'ERR_INSTALL_KEY_INVALID' });
  });

  it('reports the attestation failure first when the token is bad', async () => {
    const d = await createGuard(options()).check(request({ exp: NOW - 600, ipk }));
    expect(d).toMatchObject({ outcome: 'deny', reason: 'ERR_TOKEN_EXPIRED' });
  });

  it('refuses an old installation signature and a replayed nonce', async () => {
    const old = await createGuard(options()).check(request(undefined, undefined, { created: NOW - 400 }));
    expect(old).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_TOO_OLD' });
    const guard = createGuard(options());
    const once = request(undefined, undefined, { created: NOW, nonce: randomBytes(16).toString('base64url') });
    expect((await guard.check(once)).reason).toBe('OK');
    expect(await guard.check(once)).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_REPLAYED', status: 429 });
  });

  it('requires the configured components', async () => {
    const guard = createGuard(options({ installSignature: { components: ['@method', '@target-uri', 'content-type'] } }));
    const d = await guard.check(request());
    expect(d).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_COVERAGE_INSUFFICIENT' });
    expect(d.checks[1]!.claim).toBe('content-type');
  });

  it('needs attestation to be configured', () => {
    expect(() => createGuard({ signatures: {}, installSignature: true })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_MISSING_OPTION', path: 'installSignature' }));
  });
});

describe('installation signing without a verified token', () => {
  it('fails closed when attestation is optional and no token is sent', async () => {
    const guard = createGuard(options({ require: { attestation: 'optional' } }));
    const { 'approov-token': _t, ...headers } = request().headers;
    const d = await guard.check({ ...request(), headers });
    expect(d).toMatchObject({ outcome: 'deny', reason: 'ERR_INSTALL_KEY_MISSING', status: 401 });
    expect(d.checks.at(-1)).toMatchObject({ verifier: 'install', outcome: 'unverified' });
  });
});
