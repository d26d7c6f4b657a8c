/**
 * Requests signed by our signer, verified by other implementations: dhensby's
 * `http-message-signatures` 1.0.6 (generic RFC 9421, all asymmetric algorithms) and Cloudflare's
 * `web-bot-auth` 0.1.3 (Ed25519 and RSA-PSS-SHA512 via `verifierFromJWK`). Both check time against the
 * real clock, so these signatures are made now.
 *
 * `web-bot-auth` 0.1.3 (on http-message-sig 0.2.0) only verifies the legacy Signature-Agent form: for
 * a covered `"signature-agent";key="…"` it puts the whole header in the base instead of the member
 * (web-bot-auth.md §3.2), so the dictionary form the current draft requires is not tested against it.
 */
import { createPublicKey } from 'node:crypto';
import { createVerifier, httpbis } from 'http-message-signatures';
import { verify as wbaVerify } from 'web-bot-auth';
import { verifierFromJWK } from 'web-bot-auth/crypto';
import { describe, expect, it } from 'vitest';
import { createSigner, generateKeyPair, type KeyPairAlgorithm, type SignerOptions } from '../../src/signer/index.js';

const AGENT = 'https://bot.example';
const URL_ = 'https://api.example.com/v1/items?q=1&lang=en';
const BODY = '{"name":"widget"}';
const ALGORITHMS: KeyPairAlgorithm[] = ['ed25519', 'ecdsa-p256-sha256', 'ecdsa-p384-sha384', 'rsa-pss-sha512', 'rsa-v1_5-sha256'];

/** One key pair per algorithm for the whole file (3072-bit RSA keys take a while to make). */
const pairs = new Map<KeyPairAlgorithm, ReturnType<typeof generateKeyPair>>();
function pairFor(algorithm: KeyPairAlgorithm) {
  let pair = pairs.get(algorithm);
  if (pair === undefined) pairs.set(algorithm, (pair = generateKeyPair(algorithm)));
  return pair;
}

function signerFor(algorithm: KeyPairAlgorithm, extra: Partial<SignerOptions> = {}) {
  const pair = pairFor(algorithm);
  return { pair, signer: createSigner({ key: pair.privateJwk, agent: AGENT, ...extra }) };
}

describe('verified by http-message-signatures 1.0.6 (httpbis.verifyMessage)', () => {
  async function dhensbyVerifies(algorithm: KeyPairAlgorithm, headers: Record<string, string>, method: string, publicJwk: object): Promise<boolean | null> {
    const key = createPublicKey({ key: publicJwk as never, format: 'jwk' });
    return httpbis.verifyMessage(
      {
        keyLookup: async () => ({ id: 'k', algs: [algorithm], verify: createVerifier(key, algorithm) }),
        requiredFields: ['@authority'],
      },
      { method, url: URL_, headers },
    );
  }

  it.each(ALGORITHMS)('%s, web-bot-auth profile with a body, @method @path @query covered', async (algorithm) => {
    const { signer } = signerFor(algorithm, { components: ['@method', '@path', '@query', 'content-type'] });
    const request = { method: 'POST', url: URL_, headers: { 'content-type': 'application/json' }, body: BODY };
    const headers: Record<string, string> = { ...request.headers, ...signer.headers(request) };
    expect(headers['signature-input']).toContain('"signature-agent";key="sig1"');
    expect(await dhensbyVerifies(algorithm, headers, 'POST', signer.publicJwk)).toBe(true);
    // And it is a real check: a changed agent member fails.
    expect(await dhensbyVerifies(algorithm, { ...headers, 'signature-agent': 'sig1="https://evil.example"' }, 'POST', signer.publicJwk)).toBe(false);
  });

  it.each(ALGORITHMS)('%s, rfc9421 profile defaults', async (algorithm) => {
    const signer = createSigner({ key: pairFor(algorithm).privateJwk, profile: 'rfc9421' });
    const headers = signer.headers({ method: 'GET', url: URL_ });
    expect(await dhensbyVerifies(algorithm, headers, 'GET', signer.publicJwk)).toBe(true);
    expect(await dhensbyVerifies(algorithm, headers, 'DELETE', signer.publicJwk)).toBe(false);
  });
});

describe('verified by web-bot-auth 0.1.3 (verify + verifierFromJWK)', () => {
  it.each<KeyPairAlgorithm>(['ed25519', 'rsa-pss-sha512'])('%s, legacy Signature-Agent form', async (algorithm) => {
    const { signer } = signerFor(algorithm, { legacyAgentHeader: true, components: ['@method', '@path'] });
    const headers = signer.headers({ method: 'GET', url: URL_ });
    const verifier = await verifierFromJWK(signer.publicJwk as JsonWebKey);
    const seen: string[] = [];
    await wbaVerify(new Request(URL_, { headers }), async (data, signature, params) => {
      seen.push(params.keyid);
      await verifier(data, signature, params);
    });
    expect(seen).toEqual([signer.keyid]);
    // A changed path must fail.
    await expect(wbaVerify(new Request(URL_.replace('/items', '/other'), { headers }), verifier)).rejects.toThrow();
  });
});
