import { createHash, createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createGuard, type Decision } from '../../src/index.js';
import { approovSecret, b64u, hmacWith, hs256, payHash, request } from '../helpers/jws.js';

const NOW = 1_800_000_000; // seconds
const secret = approovSecret();
const AUTH = 'Bearer user-session-123';

function guard(extra: Record<string, unknown> = {}, options: Record<string, unknown> = {}) {
  let now = NOW * 1000;
  const g = createGuard({
    attestation: { approov: { secret: secret.base64, ...extra } },
    now: () => now,
    ...options,
  });
  return { g, setNow: (s: number) => (now = s * 1000) };
}

const token = (payload: object, header?: object) => hs256(payload, secret.bytes, header);
const check = (g: ReturnType<typeof guard>['g'], headers: Record<string, string | string[]>) => g.check(request(headers));

function expectDeny(d: Decision, reason: string, status = 401, claim?: string) {
  expect(d.outcome).toBe('deny');
  expect(d.reason).toBe(reason);
  expect(d.status).toBe(status);
  expect(d.principal.id).toBe('anonymous');
  if (claim !== undefined) expect(d.checks[0]?.claim).toBe(claim);
}

describe('Approov profile: genuine tokens', () => {
  it('allows a valid HS256 token and exposes did and ipk on the principal', async () => {
    const { g } = guard();
    const d = await check(g, { 'approov-token': token({ exp: NOW + 60, did: 'device-1', ipk: 'MFkw' }) });
    expect(d).toMatchObject({ outcome: 'allow', status: 200, reason: 'OK', monitor: false, failedOpen: false });
    expect(d.principal).toMatchObject({ id: 'app:approov', kind: 'app', verified: true, via: 'approov', deviceId: 'device-1', installPublicKey: 'MFkw' });
    expect(d.checks).toEqual([{ check: 'attestation', verifier: 'approov', outcome: 'verified', reason: 'OK', cached: false }]);
  });

  it('accepts a float exp, as Approov issues them', async () => {
    const { g } = guard();
    expect((await check(g, { 'approov-token': token({ exp: NOW + 0.5 }) })).reason).toBe('OK');
  });

  it('accepts the secret as base64url and as raw bytes', async () => {
    for (const s of [secret.bytes.toString('base64url'), new Uint8Array(secret.bytes)]) {
      const g = createGuard({ attestation: { approov: { secret: s } }, now: () => NOW * 1000 });
      expect((await check(g, { 'approov-token': token({ exp: NOW + 60 }) })).reason).toBe('OK');
    }
  });

  it('reads a configured header name, case-insensitively, and trims whitespace', async () => {
    const { g } = guard({ header: 'X-App-Token' });
    expect((await check(g, { 'X-APP-TOKEN': `  ${token({ exp: NOW + 60 })} ` })).reason).toBe('OK');
    expect((await check(g, { 'approov-token': token({ exp: NOW + 60 }) })).reason).toBe('ERR_TOKEN_MISSING');
  });

  it('remembers a verified token but still checks time on every request', async () => {
    const { g, setNow } = guard();
    const t = token({ exp: NOW + 10 });
    expect((await check(g, { 'approov-token': t })).checks[0]?.cached).toBe(false);
    expect((await check(g, { 'approov-token': t })).checks[0]?.cached).toBe(true);
    setNow(NOW + 10);
    expectDeny(await check(g, { 'approov-token': t }), 'ERR_TOKEN_EXPIRED', 401, 'exp');
  });
});

describe('Approov profile: adversarial tokens', () => {
  const { g } = guard();
  const valid = { exp: NOW + 60 };

  it.each(['none', 'None', 'NONE', 'nOnE'])('refuses alg %s', async (alg) => {
    const t = `${b64u({ alg, typ: 'JWT' })}.${b64u(valid)}.`;
    expectDeny(await check(g, { 'approov-token': t }), 'ERR_TOKEN_ALG_NOT_ALLOWED');
  });

  it.each(['HS384', 'HS512'] as const)('refuses %s when only HS256 is allowed', async (alg) => {
    expectDeny(await check(g, { 'approov-token': hmacWith(alg, valid, secret.bytes) }), 'ERR_TOKEN_ALG_NOT_ALLOWED');
  });

  it('refuses RS256 and a missing alg', async () => {
    expectDeny(await check(g, { 'approov-token': `${b64u({ alg: 'RS256' })}.${b64u(valid)}.c2ln` }), 'ERR_TOKEN_ALG_NOT_ALLOWED');
    expectDeny(await check(g, { 'approov-token': `${b64u({ typ: 'JWT' })}.${b64u(valid)}.c2ln` }), 'ERR_TOKEN_MALFORMED');
  });

  it('refuses an HS256 token signed with the RSA public key (PEM and JWK text) as the secret', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const jwk = JSON.stringify(publicKey.export({ format: 'jwk' }));
    for (const fakeSecret of [pem, jwk]) {
      expectDeny(await check(g, { 'approov-token': hs256(valid, fakeSecret) }), 'ERR_TOKEN_SIGNATURE_INVALID');
    }
  });

  it('refuses a token with an unknown crit header, in any form', async () => {
    for (const extra of [{ crit: ['exp-ext'], 'exp-ext': 1 }, { crit: [] }, { crit: ['b64'], b64: false }]) {
      expectDeny(await check(g, { 'approov-token': hmacWith('HS256', valid, secret.bytes, extra) }), 'ERR_TOKEN_CRIT_UNSUPPORTED');
    }
  });

  it('never follows jku, x5u, jwk or x5c: a token carrying its own key is checked with ours', async () => {
    const headers = { jku: 'https://attacker.example/jwks', x5u: 'https://attacker.example/cert', jwk: { kty: 'oct', k: 'AAAA' }, x5c: ['MIIB'] };
    const attackerSecret = Buffer.alloc(32, 7);
    expectDeny(await check(g, { 'approov-token': hmacWith('HS256', valid, attackerSecret, headers) }), 'ERR_TOKEN_SIGNATURE_INVALID');
    // The same headers on a token signed with the real secret do not matter either way.
    expect((await check(g, { 'approov-token': hmacWith('HS256', valid, secret.bytes, headers) })).reason).toBe('OK');
  });

  it('caps the token size before decoding (64 KiB)', async () => {
    const big = token({ exp: NOW + 60, pad: 'x'.repeat(64 * 1024) });
    expectDeny(await check(g, { 'approov-token': big }), 'ERR_TOKEN_TOO_LARGE');
    const { g: small } = guard({ maxTokenBytes: 64 });
    expectDeny(await check(small, { 'approov-token': token(valid) }), 'ERR_TOKEN_TOO_LARGE');
  });

  it.each([
    ['two segments', () => token(valid).split('.').slice(0, 2).join('.')],
    ['four segments', () => `${token(valid)}.AAAA`],
    ['five segments (JWE)', () => 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.AAAA.AAAA'],
    ['a trailing dot', () => `${token(valid)}.`],
    ['standard base64 characters', () => token(valid).replace(/^(.)/, '+')],
    ['padding', () => { const [h, p, s] = token(valid).split('.'); return `${h}=.${p}.${s}`; }],
    ['a line break', () => token(valid).replace('.', '\n.')],
    ['header that is not JSON', () => `${b64u('not json')}.${b64u(valid)}.c2ln`],
    ['payload that is not JSON', () => `${b64u({ alg: 'HS256' })}.${b64u('{"exp":')}.c2ln`],
    ['header that is a JSON array', () => `${b64u('["HS256"]')}.${b64u(valid)}.c2ln`],
    ['payload that is null', () => `${b64u({ alg: 'HS256' })}.${b64u('null')}.c2ln`],
    ['payload that is a string', () => `${b64u({ alg: 'HS256' })}.${b64u('"exp"')}.c2ln`],
    ['a numeric kid', () => hmacWith('HS256', valid, secret.bytes, { kid: 7 })],
    ['an object kid', () => hmacWith('HS256', valid, secret.bytes, { kid: { path: '../../dev/null' } })],
    ['a 300-character kid', () => hmacWith('HS256', valid, secret.bytes, { kid: 'k'.repeat(300) })],
    ['a Bearer prefix on the bare token header', () => `Bearer ${token(valid)}`],
    ['duplicate header lines (joined by Node with ", ")', () => `${token(valid)}, ${token(valid)}`],
  ])('refuses a token with %s as malformed', async (_name, make) => {
    expectDeny(await check(g, { 'approov-token': make() }), 'ERR_TOKEN_MALFORMED');
  });

  it('refuses an empty signature and a signature of the wrong length', async () => {
    const [h, p] = token(valid).split('.');
    expectDeny(await check(g, { 'approov-token': `${h}.${p}.` }), 'ERR_TOKEN_SIGNATURE_INVALID');
    expectDeny(await check(g, { 'approov-token': `${h}.${p}.AAAA` }), 'ERR_TOKEN_SIGNATURE_INVALID');
  });

  it('decides duplicate JSON keys by the last one, like every JSON parser here (alg none wins → refused)', async () => {
    const header = Buffer.from('{"alg":"HS256","alg":"none"}').toString('base64url');
    expectDeny(await check(g, { 'approov-token': `${header}.${b64u(valid)}.` }), 'ERR_TOKEN_ALG_NOT_ALLOWED');
  });

  it('keeps __proto__ in claims as data, without polluting prototypes', async () => {
    const payload = `{"exp":${NOW + 60},"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}`;
    const signingInput = `${b64u({ alg: 'HS256' })}.${Buffer.from(payload).toString('base64url')}`;
    const signed = `${signingInput}.${createHmac('sha256', secret.bytes).update(signingInput).digest('base64url')}`;
    const d = await check(g, { 'approov-token': signed });
    expect(d.reason).toBe('OK');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('requires exp and checks its type', async () => {
    expectDeny(await check(g, { 'approov-token': token({ did: 'x' }) }), 'ERR_TOKEN_CLAIM_MISSING', 401, 'exp');
    expectDeny(await check(g, { 'approov-token': token({ exp: String(NOW + 60) }) }), 'ERR_TOKEN_CLAIM_INVALID', 401, 'exp');
    expectDeny(await check(g, { 'approov-token': token({ exp: null }) }), 'ERR_TOKEN_CLAIM_INVALID', 401, 'exp');
    expectDeny(await check(g, { 'approov-token': token({ exp: -1 }) }), 'ERR_TOKEN_EXPIRED', 401, 'exp');
    expect((await check(g, { 'approov-token': token({ exp: 1e300 }) })).reason).toBe('OK');
  });

  it('refuses a past exp, exactly at the boundary, and honours clockTolerance', async () => {
    expectDeny(await check(g, { 'approov-token': token({ exp: NOW - 1 }) }), 'ERR_TOKEN_EXPIRED', 401, 'exp');
    expectDeny(await check(g, { 'approov-token': token({ exp: NOW }) }), 'ERR_TOKEN_EXPIRED', 401, 'exp');
    expect((await check(g, { 'approov-token': token({ exp: NOW + 0.001 }) })).reason).toBe('OK');
    const { g: lenient } = guard({ clockTolerance: '5s' });
    expect((await check(lenient, { 'approov-token': token({ exp: NOW - 4 }) })).reason).toBe('OK');
    expectDeny(await check(lenient, { 'approov-token': token({ exp: NOW - 5 }) }), 'ERR_TOKEN_EXPIRED');
  });

  it('refuses a future nbf or iat', async () => {
    expectDeny(await check(g, { 'approov-token': token({ exp: NOW + 60, nbf: NOW + 30 }) }), 'ERR_TOKEN_NOT_YET_VALID', 401, 'nbf');
    expectDeny(await check(g, { 'approov-token': token({ exp: NOW + 60, iat: NOW + 30 }) }), 'ERR_TOKEN_NOT_YET_VALID', 401, 'iat');
    expect((await check(g, { 'approov-token': token({ exp: NOW + 60, nbf: NOW }) })).reason).toBe('OK');
  });

  it('refuses a token signed with another secret', async () => {
    expectDeny(await check(g, { 'approov-token': hs256(valid, approovSecret().bytes) }), 'ERR_TOKEN_SIGNATURE_INVALID');
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [h, , s] = token({ exp: NOW + 60, did: 'a' }).split('.');
    expectDeny(await check(g, { 'approov-token': `${h}.${b64u({ exp: NOW + 60, did: 'b' })}.${s}` }), 'ERR_TOKEN_SIGNATURE_INVALID');
  });
});

describe('Approov token binding', () => {
  it('allows a token bound to the Authorization header', async () => {
    const { g } = guard({ binding: 'Authorization' });
    const t = token({ exp: NOW + 60, pay: payHash(AUTH) });
    expect((await check(g, { 'approov-token': t, authorization: AUTH })).reason).toBe('OK');
    // The bound value is trimmed, as the SDKs do.
    expect((await check(g, { 'approov-token': t, authorization: `  ${AUTH} ` })).reason).toBe('OK');
  });

  it('matches the documented example: "Bearer abc"', async () => {
    expect(payHash('Bearer abc')).toBe('w1Xc6WwWEogNEZQP/dkBTThsJT4MNlKmzQanIm970rY=');
  });

  it('denies a token bound to another header value, on first sight and from the cache', async () => {
    const { g } = guard({ binding: 'Authorization' });
    const t = token({ exp: NOW + 60, pay: payHash(AUTH) });
    expectDeny(await check(g, { 'approov-token': t, authorization: 'Bearer someone-else' }), 'ERR_BINDING_MISMATCH');
    expect((await check(g, { 'approov-token': t, authorization: AUTH })).reason).toBe('OK');
    const cached = await check(g, { 'approov-token': t, authorization: 'Bearer someone-else' });
    expectDeny(cached, 'ERR_BINDING_MISMATCH');
    expect(cached.checks[0]?.cached).toBe(true);
  });

  it('denies a missing or empty bound header with its own code', async () => {
    const { g } = guard({ binding: 'Authorization' });
    const t = token({ exp: NOW + 60, pay: payHash(AUTH) });
    expectDeny(await check(g, { 'approov-token': t }), 'ERR_BINDING_HEADER_MISSING');
    expectDeny(await check(g, { 'approov-token': t, authorization: '   ' }), 'ERR_BINDING_HEADER_MISSING');
  });

  it('denies a missing or empty pay claim (fails closed, unlike some quickstarts)', async () => {
    const { g } = guard({ binding: 'Authorization' });
    expectDeny(await check(g, { 'approov-token': token({ exp: NOW + 60 }), authorization: AUTH }), 'ERR_BINDING_CLAIM_MISSING');
    expectDeny(await check(g, { 'approov-token': token({ exp: NOW + 60, pay: '' }), authorization: AUTH }), 'ERR_BINDING_CLAIM_MISSING');
    expectDeny(await check(g, { 'approov-token': token({ exp: NOW + 60, pay: 42 }), authorization: AUTH }), 'ERR_BINDING_CLAIM_MISSING');
  });

  it('does not accept a base64url pay for a base64 hash', async () => {
    const { g } = guard({ binding: 'Authorization' });
    const url = createHash('sha256').update('Bearer ?>?>').digest('base64url');
    const std = createHash('sha256').update('Bearer ?>?>').digest('base64');
    expect(url).not.toBe(std);
    expectDeny(await check(g, { 'approov-token': token({ exp: NOW + 60, pay: url }), authorization: 'Bearer ?>?>' }), 'ERR_BINDING_MISMATCH');
    expect((await check(g, { 'approov-token': token({ exp: NOW + 60, pay: std }), authorization: 'Bearer ?>?>' })).reason).toBe('OK');
  });

  it('concatenates several bound headers in the configured order', async () => {
    const { g } = guard({ binding: ['Authorization', 'X-Device-Id'] });
    const inOrder = token({ exp: NOW + 60, pay: payHash(AUTH, 'dev-7') });
    const reversed = token({ exp: NOW + 60, pay: payHash('dev-7', AUTH) });
    const headers = { authorization: AUTH, 'x-device-id': 'dev-7' };
    expect((await check(g, { 'approov-token': inOrder, ...headers })).reason).toBe('OK');
    expectDeny(await check(g, { 'approov-token': reversed, ...headers }), 'ERR_BINDING_MISMATCH');
    expectDeny(await check(g, { 'approov-token': inOrder, authorization: AUTH }), 'ERR_BINDING_HEADER_MISSING');
  });
});
