/**
 * Sign with the signer, verify with the guard (`createGuard({ signatures })` from the package root):
 * every algorithm and key form, both profiles, and the tampering each covered component catches.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type GuardOptions, type GuardRequest } from '../../src/index.js';
import { createSigner, generateKeyPair, type KeyPairAlgorithm, type SignableRequest, type SignerOptions } from '../../src/signer/index.js';

const NOW_MS = 1_767_225_600_000;
const now = (): number => NOW_MS;
const AGENT = 'https://bot.example';
const ALGORITHMS: KeyPairAlgorithm[] = ['ed25519', 'ecdsa-p256-sha256', 'ecdsa-p384-sha384', 'rsa-pss-sha512', 'rsa-v1_5-sha256'];
const pairs = new Map(ALGORITHMS.map((algorithm) => [algorithm, generateKeyPair(algorithm)]));

/** The request as an adapter hands it to the guard: header record, Content-Length for a body, and its bytes. */
function guardRequest(request: SignableRequest & { headers?: Record<string, string> }, signed: Record<string, string>): GuardRequest {
  const body = request.body === undefined ? undefined : Buffer.from(request.body as string);
  const headers: Record<string, string> = { ...request.headers, ...signed };
  if (body !== undefined) headers['content-length'] = String(body.length);
  return { method: request.method, url: String(request.url), headers, ...(body !== undefined && { readBody: async () => body }) };
}

async function decide(options: GuardOptions, request: GuardRequest) {
  const guard = createGuard({ now, ...options });
  try {
    return await guard.check(request);
  } finally {
    await guard.close();
  }
}

const wbaGuard = (keys: object[]): GuardOptions => ({ signatures: { profile: 'web-bot-auth', keys: keys as never, directory: false } });
const POST: SignableRequest & { headers: Record<string, string> } = {
  method: 'POST',
  url: 'https://api.example.com/v1/items?q=1',
  headers: { 'content-type': 'application/json' },
  body: '{"name":"widget"}',
};

describe.each(ALGORITHMS)('%s: signed by the signer, allowed by the guard', (algorithm) => {
  const pair = pairs.get(algorithm)!;

  it.each([
    ['private JWK', pair.privateJwk],
    ['KeyObject', pair.privateKey],
    ['PEM', pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string],
  ])('web-bot-auth, key as %s', async (_form, key) => {
    const options: SignerOptions = { key, agent: AGENT, now, components: ['@method', '@path', '@query', 'content-type'] };
    if (algorithm.startsWith('rsa')) options.algorithm = algorithm;
    const signer = createSigner(options);
    expect(signer.keyid).toBe(pair.keyid);
    const decision = await decide(wbaGuard([signer.publicJwk]), guardRequest(POST, signer.headers(POST)));
    expect(decision).toMatchObject({ outcome: 'allow', reason: 'OK' });
    expect(decision.checks[0]).toMatchObject({ check: 'signature', outcome: 'verified', keyid: pair.keyid, label: 'sig1' });
  });

  it('rfc9421, with its own keyid', async () => {
    const signer = createSigner({ key: pair.privateJwk, profile: 'rfc9421', keyid: 'service-1', now });
    const decision = await decide(
      { signatures: { profile: 'rfc9421', keys: [signer.publicJwk as never] } },
      guardRequest(POST, signer.headers(POST)),
    );
    expect(decision).toMatchObject({ outcome: 'allow', reason: 'OK', principal: { id: 'service:service-1', kind: 'service' } });
  });
});

describe('what the guard refuses', () => {
  const pair = pairs.get('ed25519')!;
  const signer = createSigner({ key: pair.privateJwk, agent: AGENT, now, components: ['@method', '@path', '@query'] });
  const signed = signer.headers(POST);

  it.each<[string, Partial<GuardRequest>, Record<string, string>, string]>([
    ['another method', { method: 'PUT' }, {}, 'ERR_SIGNATURE_INVALID'],
    ['another path', { url: 'https://api.example.com/v1/admin?q=1' }, {}, 'ERR_SIGNATURE_INVALID'],
    ['another query', { url: 'https://api.example.com/v1/items?q=2' }, {}, 'ERR_SIGNATURE_INVALID'],
    ['another host', { url: 'https://evil.example.com/v1/items?q=1' }, {}, 'ERR_SIGNATURE_INVALID'],
    ['another agent', {}, { 'signature-agent': 'sig1="https://impostor.example"' }, 'ERR_SIGNATURE_INVALID'],
    ['another body', { readBody: async () => Buffer.from('{"name":"gadget"}') }, {}, 'ERR_DIGEST_MISMATCH'],
  ])('%s → %s', async (_name, change, headers, reason) => {
    const request = { ...guardRequest(POST, signed), ...change };
    request.headers = { ...(request.headers as Record<string, string>), ...headers };
    expect(await decide(wbaGuard([signer.publicJwk]), request)).toMatchObject({ outcome: 'deny', reason });
  });

  it('refuses a signature once it has expired, and accepts it before', async () => {
    const request = guardRequest(POST, signed);
    const at = (ms: number) => decide({ ...wbaGuard([signer.publicJwk]), now: () => ms }, request);
    expect(await at(NOW_MS + 299_000)).toMatchObject({ outcome: 'allow' });
    expect(await at(NOW_MS + 300_000 + 61_000)).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_EXPIRED' });
  });

  it('refuses a key it does not know', async () => {
    const other = generateKeyPair();
    expect(await decide(wbaGuard([other.publicJwk]), guardRequest(POST, signed))).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_KEY_UNKNOWN' });
  });
});

describe('two signers on one request', () => {
  it('both signatures verify independently', async () => {
    const first = createSigner({ key: pairs.get('ed25519')!.privateJwk, agent: AGENT, now });
    const second = createSigner({ key: pairs.get('ecdsa-p256-sha256')!.privateJwk, agent: 'https://relay.example', now });
    const get = { method: 'GET', url: 'https://api.example.com/data' };
    const once = first.headers(get);
    const twice = second.headers({ ...get, headers: once });
    const decision = await decide(wbaGuard([first.publicJwk, second.publicJwk]), { ...get, headers: { ...once, ...twice } });
    expect(decision).toMatchObject({ outcome: 'allow', reason: 'OK' });
    expect(decision.checks.map((c) => [c.label, c.outcome])).toEqual([
      ['sig1', 'verified'],
      ['sig2', 'verified'],
    ]);
  });
});
