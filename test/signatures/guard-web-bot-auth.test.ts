import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createGuard, type Decision, type GuardOptions } from '../../src/index.js';
import { ed25519Pair, sign, type TestRequest, type TestSignOptions } from '../helpers/http-sig.js';
import { jwkThumbprint } from '../../src/keys/thumbprint.js';
import type { Jwk } from '../../src/keys/key.js';

const NOW = 1_800_000_000;
const agent = ed25519Pair();
const other = ed25519Pair();

const request: TestRequest = {
  method: 'GET',
  url: 'https://api.example.com/v1/items?x=1',
  headers: { host: 'api.example.com', accept: 'application/json' },
};

function options(extra: Partial<NonNullable<GuardOptions['signatures']>> = {}, top: Partial<GuardOptions> = {}): GuardOptions {
  return { signatures: { keys: [agent.publicJwk], directory: false, ...extra }, now: () => NOW * 1000, ...top };
}

function signed(o: Partial<TestSignOptions> = {}, req: TestRequest = request): TestRequest {
  return sign(req, {
    key: agent.privateKey,
    algorithm: 'ed25519',
    keyid: agent.thumbprint,
    label: 'sig1',
    components: ['@authority', '"signature-agent";key="sig1"', '@method', '@path', '@query', 'accept'],
    params: { created: NOW - 10, expires: NOW + 290, keyid: agent.thumbprint, nonce: randomBytes(32).toString('base64url'), tag: 'web-bot-auth' },
    agent: { url: 'https://agent.example' },
    ...o,
  });
}

async function check(req: TestRequest, opts: GuardOptions = options()): Promise<Decision> {
  return createGuard(opts).check(req);
}

function expectDeny(d: Decision, reason: string, status: number): void {
  expect({ outcome: d.outcome, reason: d.reason, status: d.status }).toEqual({ outcome: 'deny', reason, status });
}

describe('Web Bot Auth through the guard', () => {
  it('allows a valid signature and names the key as the principal', async () => {
    const d = await check(signed());
    expect(d.outcome).toBe('allow');
    expect(d.reason).toBe('OK');
    expect(d.principal).toEqual({ id: `agent:${agent.thumbprint}`, kind: 'agent', verified: true, via: 'web-bot-auth', keyid: agent.thumbprint, label: 'sig1' });
    expect(d.checks).toEqual([
      { check: 'signature', verifier: 'web-bot-auth', outcome: 'verified', reason: 'OK', label: 'sig1', keyid: agent.thumbprint, cached: false, replay: 'checked' },
    ]);
  });

  it('uses a configured name for the key', async () => {
    const d = await check(signed(), options({ agents: { [agent.thumbprint]: 'partner-crawler' } }));
    expect(d.principal.id).toBe('partner-crawler');
  });

  it.each([
    ['authority', { ...request, headers: { ...request.headers, host: 'evil.example' }, url: 'https://evil.example/v1/items?x=1' }],
    ['path', { ...request, url: 'https://api.example.com/v1/other?x=1' }],
    ['method', { ...request, method: 'POST' }],
    ['query', { ...request, url: 'https://api.example.com/v1/items?x=2' }],
    ['header', { ...request, headers: { ...request.headers, accept: 'text/html' } }],
  ])('denies a tampered %s with ERR_SIGNATURE_INVALID', async (_name, tampered) => {
    const good = signed();
    const d = await check({ ...tampered, headers: { ...tampered.headers, 'signature-input': good.headers['signature-input']!, signature: good.headers.signature!, 'signature-agent': good.headers['signature-agent']! } });
    expectDeny(d, 'ERR_SIGNATURE_INVALID', 401);
  });

  it('denies a signature made with another key under our keyid', async () => {
    expectDeny(await check(signed({ key: other.privateKey })), 'ERR_SIGNATURE_INVALID', 401);
  });

  it('reports an unknown keyid as unverified ERR_SIGNATURE_KEY_UNKNOWN', async () => {
    const d = await check(signed({ key: other.privateKey, keyid: other.thumbprint, params: { created: NOW, expires: NOW + 60, keyid: other.thumbprint, tag: 'web-bot-auth' } }));
    expectDeny(d, 'ERR_SIGNATURE_KEY_UNKNOWN', 401);
    expect(d.checks[0]!.outcome).toBe('unverified');
  });

  it.each([
    ['expired', { created: NOW - 600, expires: NOW - 61 }, 'ERR_SIGNATURE_EXPIRED'],
    ['created in the future', { created: NOW + 61, expires: NOW + 300 }, 'ERR_SIGNATURE_NOT_YET_VALID'],
    ['created after expires', { created: NOW, expires: NOW - 1 }, 'ERR_SIGNATURE_PARAM_INVALID'],
  ])('denies a signature %s', async (_name, times, reason) => {
    const d = await check(signed({ params: { ...times, keyid: agent.thumbprint, tag: 'web-bot-auth' } }));
    expectDeny(d, reason, 401);
  });

  it('accepts times within the clock skew', async () => {
    const d = await check(signed({ params: { created: NOW + 59, expires: NOW + 300, keyid: agent.thumbprint, tag: 'web-bot-auth' } }));
    expect(d.reason).toBe('OK');
    const late = await check(signed({ params: { created: NOW - 100, expires: NOW - 59, keyid: agent.thumbprint, tag: 'web-bot-auth' } }));
    expect(late.reason).toBe('OK');
  });

  it('enforces maxAge', async () => {
    const d = await check(signed({ params: { created: NOW - 400, expires: NOW + 300, keyid: agent.thumbprint, tag: 'web-bot-auth' } }), options({ maxAge: '5m' }));
    expectDeny(d, 'ERR_SIGNATURE_TOO_OLD', 401);
  });

  it.each([
    ['missing', { created: NOW, expires: NOW + 60, keyid: agent.thumbprint }],
    ['wrong', { created: NOW, expires: NOW + 60, keyid: agent.thumbprint, tag: 'other' }],
  ])('denies a %s tag with ERR_SIGNATURE_TAG_INVALID', async (_name, params) => {
    const d = await check(signed({ params }));
    expectDeny(d, 'ERR_SIGNATURE_TAG_INVALID', 401);
    expect(d.checks[0]!.claim).toBe('tag');
  });

  it.each(['created', 'expires', 'keyid'])('denies a signature without %s', async (param) => {
    const params: Record<string, string | number> = { created: NOW, expires: NOW + 60, keyid: agent.thumbprint, tag: 'web-bot-auth' };
    delete params[param];
    const d = await check(signed({ params }));
    expectDeny(d, 'ERR_SIGNATURE_PARAM_MISSING', 401);
    expect(d.checks[0]!.claim).toBe(param);
  });

  it('requires a nonce when configured', async () => {
    const d = await check(signed({ params: { created: NOW, expires: NOW + 60, keyid: agent.thumbprint, tag: 'web-bot-auth' } }), options({ requireNonce: true }));
    expectDeny(d, 'ERR_SIGNATURE_PARAM_MISSING', 401);
    expect(d.checks[0]!.claim).toBe('nonce');
  });

  it('denies a label present in one header only', async () => {
    const good = signed();
    const d = await check({ ...good, headers: { ...good.headers, signature: good.headers.signature!.replace('sig1=', 'sig9=') } });
    expectDeny(d, 'ERR_SIGNATURE_MALFORMED', 400);
  });

  it.each([
    ['garbage Signature-Input', { 'signature-input': 'sig1=(@authority', signature: 'sig1=:AAAA:' }],
    ['Signature that is a string', { 'signature-input': 'sig1=("@authority");created=1;keyid="k";tag="web-bot-auth"', signature: 'sig1="abc"' }],
    ['a huge integer', { 'signature-input': 'sig1=("@authority");created=99999999999999999;keyid="k";tag="web-bot-auth"', signature: 'sig1=:AAAA:' }],
    ['Signature without Signature-Input', { signature: 'sig1=:AAAA:' }],
    ['non-ASCII', { 'signature-input': 'sig1=("@authority");created=1;keyid="ké";tag="web-bot-auth"', signature: 'sig1=:AAAA:' }],
  ])('answers %s with 400 ERR_SIGNATURE_MALFORMED', async (_name, headers) => {
    const d = await check({ ...request, headers: { ...request.headers, ...headers } });
    expectDeny(d, 'ERR_SIGNATURE_MALFORMED', 400);
  });

  it('answers oversized signature headers with ERR_SIGNATURE_TOO_LARGE', async () => {
    const d = await check({ ...request, headers: { ...request.headers, 'signature-input': `sig1=("@authority");keyid="${'a'.repeat(9000)}"`, signature: 'sig1=:AAAA:' } });
    expectDeny(d, 'ERR_SIGNATURE_TOO_LARGE', 400);
  });

  it('denies an alg parameter that disagrees with the key', async () => {
    const d = await check(signed({ params: { created: NOW, expires: NOW + 60, keyid: agent.thumbprint, alg: 'rsa-pss-sha512', tag: 'web-bot-auth' } }));
    expectDeny(d, 'ERR_SIGNATURE_ALG_MISMATCH', 401);
  });

  it('refuses an HMAC made with the Ed25519 public key as the secret (key confusion)', async () => {
    const secret = Buffer.from(agent.publicJwk.x as string, 'base64url');
    const { createSecretKey } = await import('node:crypto');
    const asHmac = signed({ key: createSecretKey(secret), algorithm: 'hmac-sha256', params: { created: NOW, expires: NOW + 60, keyid: agent.thumbprint, alg: 'hmac-sha256', tag: 'web-bot-auth' } });
    expectDeny(await check(asHmac), 'ERR_SIGNATURE_ALG_MISMATCH', 401);
    const noAlg = signed({ key: createSecretKey(secret), algorithm: 'hmac-sha256' });
    expectDeny(await check(noAlg), 'ERR_SIGNATURE_INVALID', 401);
  });

  it('requires @authority or @target-uri', async () => {
    const d = await check(signed({ components: ['"signature-agent";key="sig1"', '@method', '@path'] }));
    expectDeny(d, 'ERR_SIGNATURE_COVERAGE_INSUFFICIENT', 401);
    expect(d.checks[0]!.claim).toBe('@authority');
    const target = await check(signed({ components: ['@target-uri', '"signature-agent";key="sig1"'] }));
    expect(target.reason).toBe('OK');
  });

  it('requires the Signature-Agent to be covered when present', async () => {
    const d = await check(signed({ components: ['@authority'] }));
    expectDeny(d, 'ERR_SIGNATURE_COVERAGE_INSUFFICIENT', 401);
    expect(d.checks[0]!.claim).toBe('signature-agent');
  });

  it('accepts the legacy string Signature-Agent covered without a key', async () => {
    const d = await check(signed({ components: ['@authority', 'signature-agent'], agent: { url: 'https://agent.example', legacy: true } }));
    expect(d.reason).toBe('OK');
  });

  it('refuses a Signature-Agent member of an unknown type', async () => {
    const d = await check(signed({ agent: { url: 'https://agent.example', type: 'cimd' } }));
    expectDeny(d, 'ERR_SIGNATURE_AGENT_INVALID', 401);
  });

  it('denies a replayed nonce with 429 and Accept-Signature', async () => {
    const guard = createGuard(options());
    const req = signed();
    expect((await guard.check(req)).reason).toBe('OK');
    const again = await guard.check(req);
    expectDeny(again, 'ERR_SIGNATURE_REPLAYED', 429);
    expect(again.checks[0]).toMatchObject({ outcome: 'invalid', claim: 'nonce', replay: 'checked', cached: true });
    expect(guard.respond(again).headers['accept-signature']).toContain('tag="web-bot-auth"');
  });

  it('verifies a repeated signature without a nonce from the cache', async () => {
    const guard = createGuard(options());
    const req = signed({ params: { created: NOW, expires: NOW + 60, keyid: agent.thumbprint, tag: 'web-bot-auth' } });
    const first = await guard.check(req);
    const second = await guard.check(req);
    expect(first.checks[0]).toMatchObject({ outcome: 'verified', cached: false, replay: 'not-checked' });
    expect(second.checks[0]).toMatchObject({ outcome: 'verified', cached: true, replay: 'not-checked' });
  });

  it('still checks the time of a cached signature', async () => {
    let now = NOW;
    const guard = createGuard({ ...options(), now: () => now * 1000 });
    const req = signed({ params: { created: NOW, expires: NOW + 60, keyid: agent.thumbprint, tag: 'web-bot-auth' } });
    expect((await guard.check(req)).reason).toBe('OK');
    now = NOW + 200;
    expectDeny(await guard.check(req), 'ERR_SIGNATURE_EXPIRED', 401);
  });

  it('answers a missing signature with 401 and Accept-Signature', async () => {
    const guard = createGuard(options());
    const d = await guard.check(request);
    expectDeny(d, 'ERR_SIGNATURE_MISSING', 401);
    expect(d.checks).toEqual([{ check: 'signature', verifier: 'web-bot-auth', outcome: 'unverified', reason: 'ERR_SIGNATURE_MISSING' }]);
    const response = guard.respond(d);
    expect(response.headers['www-authenticate']).toBeUndefined();
    expect(response.headers['accept-signature']).toBe(
      'sig1=("@authority" "signature-agent";key="sig1");created;expires;tag="web-bot-auth";alg="ed25519", ' +
        'sig2=("@authority" "signature-agent";key="sig2");created;expires;tag="web-bot-auth";alg="ecdsa-p256-sha256", ' +
        'sig3=("@authority" "signature-agent";key="sig3");created;expires;tag="web-bot-auth";alg="ecdsa-p384-sha384", ' +
        'sig4=("@authority" "signature-agent";key="sig4");created;expires;tag="web-bot-auth";alg="rsa-pss-sha512", ' +
        'sig5=("@authority" "signature-agent";key="sig5");created;expires;tag="web-bot-auth";alg="rsa-v1_5-sha256"',
    );
  });

  it('describes route requirements in Accept-Signature', async () => {
    const guard = createGuard(
      options({ algorithms: ['ed25519'], requireNonce: true }, { routes: [{ path: '/v1/**', signature: { components: ['@method', '@path'], contentDigest: true } }] }),
    );
    const d = await guard.check(request);
    expect(guard.respond(d).headers['accept-signature']).toBe(
      'sig1=("@authority" "signature-agent";key="sig1" "@method" "@path" "content-digest");created;expires;nonce;tag="web-bot-auth";alg="ed25519"',
    );
  });

  it('enforces components a route requires', async () => {
    const opts = options({}, { routes: [{ path: '/v1/**', signature: { components: ['@method', '"@query-param";name="x"'] } }] });
    const d = await check(signed(), opts);
    expectDeny(d, 'ERR_SIGNATURE_COVERAGE_INSUFFICIENT', 401);
    expect(d.checks[0]!.claim).toBe('"@query-param";name="x"');
    const ok = await check(signed({ components: ['@authority', '"signature-agent";key="sig1"', '@method', '"@query-param";name="x"'] }), opts);
    expect(ok.reason).toBe('OK');
  });

  it('verifies each of several signatures and reports every one', async () => {
    const first = signed();
    const both = sign(first, {
      key: other.privateKey,
      algorithm: 'ed25519',
      keyid: other.thumbprint,
      label: 'sig2',
      components: ['@authority'],
      params: { created: NOW, expires: NOW + 60, keyid: other.thumbprint, tag: 'web-bot-auth' },
    });
    const d = await check(both, options({ keys: [agent.publicJwk, other.publicJwk] }));
    expect(d.reason).toBe('OK');
    expect(d.checks.map((c) => [c.label, c.outcome, c.reason])).toEqual([
      ['sig1', 'verified', 'OK'],
      ['sig2', 'invalid', 'ERR_SIGNATURE_COVERAGE_INSUFFICIENT'],
    ]);
  });

  it('ignores signatures with other tags and caps how many are tried', async () => {
    let req = request;
    for (let i = 0; i < 6; i++) {
      req = sign(req, { key: other.privateKey, algorithm: 'ed25519', keyid: 'x', label: `junk${i}`, params: { created: NOW, expires: NOW + 60, keyid: 'x', tag: 'web-bot-auth' } });
    }
    req = sign(req, { key: agent.privateKey, algorithm: 'ed25519', keyid: agent.thumbprint, label: 'other', params: { created: NOW, keyid: agent.thumbprint, tag: 'not-wba' } });
    const d = await check(req, options({ maxSignatures: 3 }));
    expect(d.checks.map((c) => c.label)).toEqual(['junk0', 'junk1', 'junk2']);
  });

  it('refuses the RFC 9421 example keys unless allowed', async () => {
    const jwk: Jwk = { kty: 'OKP', crv: 'Ed25519', x: 'JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs' };
    const vector: TestRequest = {
      method: 'GET',
      url: 'https://example.com/',
      headers: {
        host: 'example.com',
        'signature-agent': 'agent2="https://signature-agent.test"',
        'signature-input':
          'sig2=("@authority" "signature-agent";key="agent2");created=1735689600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=4889289600;nonce="n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==";tag="web-bot-auth"',
        signature: 'sig2=:RdNFx5Bj6au3YgAMQL/RzmUlZE8QZLIaXGRpw985hWnwPfMxT228NMk6ehRS1PSl4e8PhbNZACSanGdhEwYCCg==:',
      },
    };
    const at = { now: () => 1_735_689_600_000 };
    expect(jwkThumbprint(jwk)).toBe('poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U');
    expectDeny(await check(vector, { signatures: { keys: [jwk], directory: false }, ...at }), 'ERR_SIGNATURE_TEST_KEY', 401);
    const d = await check(vector, { signatures: { keys: [jwk], directory: false, allowTestKeys: true }, ...at });
    expect(d.reason).toBe('OK');
  });

  it('refuses HMAC keys and algorithms for Web Bot Auth at construction', () => {
    expect(() => createGuard({ signatures: { keys: [{ keyid: 'k', secret: randomBytes(32) }], directory: false } })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID_KEY', path: 'signatures.keys' }),
    );
    expect(() => createGuard({ signatures: { algorithms: ['hmac-sha256'] } })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID_VALUE' }));
  });

  it('verifies ECDSA P-256 signatures', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' }) as Jwk;
    const keyid = jwkThumbprint(jwk);
    const d = await check(signed({ key: privateKey, algorithm: 'ecdsa-p256-sha256', keyid, params: { created: NOW, expires: NOW + 60, keyid, tag: 'web-bot-auth' } }), options({ keys: [jwk] }));
    expect(d.reason).toBe('OK');
  });

  it('lets a request through in monitor mode and with an optional requirement', async () => {
    const monitor = await check(request, options({}, { mode: 'monitor' }));
    expect(monitor).toMatchObject({ outcome: 'allow', reason: 'ERR_SIGNATURE_MISSING', monitor: true });
    const optional = await check(request, options({}, { require: { signature: 'optional' } }));
    expect(optional).toMatchObject({ outcome: 'allow', reason: 'OK', monitor: false });
  });
});

describe('Signature-Agent edge cases', () => {
  it('refuses an oversized Signature-Agent without parsing it', async () => {
    const req = signed();
    const d = await check({ ...req, headers: { ...req.headers, 'signature-agent': `sig1="https://agent.example", x="${'a'.repeat(9000)}"` } });
    expectDeny(d, 'ERR_SIGNATURE_MALFORMED', 400);
    expect(d.checks[0]!.claim).toBe('signature-agent');
  });

  it('does not attribute a signature to a member it does not cover', async () => {
    // Covers member sig1, but the header has the attacker's URL under sig1 after signing: the base changes.
    const req = signed();
    const d = await check({ ...req, headers: { ...req.headers, 'signature-agent': 'sig1="https://evil.example"' } });
    expectDeny(d, 'ERR_SIGNATURE_INVALID', 401);
  });

  it('refuses a covered member that is missing from the header', async () => {
    const req = signed();
    const d = await check({ ...req, headers: { ...req.headers, 'signature-agent': 'other="https://agent.example"' } });
    expectDeny(d, 'ERR_SIGNATURE_COMPONENT_MISSING', 401);
    expect(d.checks[0]!.claim).toBe('signature-agent');
  });
});
