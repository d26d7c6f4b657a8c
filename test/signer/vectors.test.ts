/**
 * The Web Bot Auth test vectors (draft-meunier-webbotauth-httpsig-protocol-02, web-bot-auth.md §1.6)
 * re-created with the signer: Ed25519 is deterministic, so Signature-Agent, Signature-Input and
 * Signature must come out byte for byte. RSA-PSS is randomized: Signature-Input must match exactly
 * and the vector's own signature must verify over the base the signer built.
 */
import { constants, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDirectory, createSigner, type SignerOptions } from '../../src/signer/index.js';
import { signatureBase } from '../../src/signatures/base.js';
import { parseSignatures } from '../../src/signatures/parse.js';
import type { ParsedSignature } from '../../src/signatures/types.js';
import vectors from '../vectors/rfc9421.json' with { type: 'json' };

const ED25519_JWK = vectors.keys['test-key-ed25519'].privateJwk;
const ED25519_PEM = vectors.keys['test-key-ed25519'].privateKeyPem;
const ED25519_THUMBPRINT = 'poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U';
const RSA_PSS_THUMBPRINT = 'oD0HwocPBSfpNy5W3bpJeyFGY_IQ_YpqxSjQ3Yd-CLA';

/** RFC 9421 B.1.2 `test-key-rsa-pss` (PKCS#8, OID id-RSASSA-PSS). A published test key: tests only. */
const RSA_PSS_PEM = `-----BEGIN PRIVATE KEY-----
MIIEvgIBADALBgkqhkiG9w0BAQoEggSqMIIEpgIBAAKCAQEAr4tmm3r20Wd/Pbqv
P1s2+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry5
3mm+oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7Oyr
FAHqgDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUA
AN5WUtzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw
9lq4aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oy
c6XI2wIDAQABAoIBAQCUB8ip+kJiiZVKF8AqfB/aUP0jTAqOQewK1kKJ/iQCXBCq
pbo360gvdt05H5VZ/RDVkEgO2k73VSsbulqezKs8RFs2tEmU+JgTI9MeQJPWcP6X
aKy6LIYs0E2cWgp8GADgoBs8llBq0UhX0KffglIeek3n7Z6Gt4YFge2TAcW2WbN4
XfK7lupFyo6HHyWRiYHMMARQXLJeOSdTn5aMBP0PO4bQyk5ORxTUSeOciPJUFktQ
HkvGbym7KryEfwH8Tks0L7WhzyP60PL3xS9FNOJi9m+zztwYIXGDQuKM2GDsITeD
2mI2oHoPMyAD0wdI7BwSVW18p1h+jgfc4dlexKYRAoGBAOVfuiEiOchGghV5vn5N
RDNscAFnpHj1QgMr6/UG05RTgmcLfVsI1I4bSkbrIuVKviGGf7atlkROALOG/xRx
DLadgBEeNyHL5lz6ihQaFJLVQ0u3U4SB67J0YtVO3R6lXcIjBDHuY8SjYJ7Ci6Z6
vuDcoaEujnlrtUhaMxvSfcUJAoGBAMPsCHXte1uWNAqYad2WdLjPDlKtQJK1diCm
rqmB2g8QE99hDOHItjDBEdpyFBKOIP+NpVtM2KLhRajjcL9Ph8jrID6XUqikQuVi
4J9FV2m42jXMuioTT13idAILanYg8D3idvy/3isDVkON0X3UAVKrgMEne0hJpkPL
FYqgetvDAoGBAKLQ6JZMbSe0pPIJkSamQhsehgL5Rs51iX4m1z7+sYFAJfhvN3Q/
OGIHDRp6HjMUcxHpHw7U+S1TETxePwKLnLKj6hw8jnX2/nZRgWHzgVcY+sPsReRx
NJVf+Cfh6yOtznfX00p+JWOXdSY8glSSHJwRAMog+hFGW1AYdt7w80XBAoGBAImR
NUugqapgaEA8TrFxkJmngXYaAqpA0iYRA7kv3S4QavPBUGtFJHBNULzitydkNtVZ
3w6hgce0h9YThTo/nKc+OZDZbgfN9s7cQ75x0PQCAO4fx2P91Q+mDzDUVTeG30mE
t2m3S0dGe47JiJxifV9P3wNBNrZGSIF3mrORBVNDAoGBAI0QKn2Iv7Sgo4T/XjND
dl2kZTXqGAk8dOhpUiw/HdM3OGWbhHj2NdCzBliOmPyQtAr770GITWvbAI+IRYyF
S7Fnk6ZVVVHsxjtaHy1uJGFlaZzKR4AGNaUTOJMs6NadzCmGPAxNQQOCqoUjn4XR
rOjr9w349JooGXhOxbu8nOxX
-----END PRIVATE KEY-----`;

const CREATED_MS = 1_735_689_600_000;
const CREATED = 1_735_689_600;
const AGENT = 'https://signature-agent.test';
/** The `test-request` authority; the vectors cover nothing else of the request. */
const REQUEST = { method: 'GET', url: 'https://example.com/' };

/** The one signature in a Signature-Input / Signature pair. */
function onlySignature(headers: Record<string, string>): ParsedSignature {
  const parsed = parseSignatures(headers['signature-input']!, headers.signature!);
  if (typeof parsed === 'string' || parsed.length !== 1) throw new Error('expected exactly one signature');
  return parsed[0]!;
}

/** Signer options shared by every request vector: label sig2, the vector's clock, nonce and lifetime. */
function vectorOptions(key: string | object, nonce: string, expires: number, extra: Partial<SignerOptions> = {}): SignerOptions {
  return {
    key: key as SignerOptions['key'],
    agent: AGENT,
    label: 'sig2',
    now: () => CREATED_MS,
    expiresIn: expires - CREATED,
    nonce: () => nonce,
    ...extra,
  };
}

describe('Web Bot Auth protocol-02 vectors, re-signed byte for byte (Ed25519)', () => {
  it('dictionary Signature-Agent (agent2)', () => {
    const nonce = 'n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==';
    const signer = createSigner(vectorOptions(ED25519_JWK, nonce, 4_889_289_600, { agentKey: 'agent2' }));
    expect(signer.keyid).toBe(ED25519_THUMBPRINT);
    expect(signer.headers(REQUEST)).toEqual({
      'signature-agent': 'agent2="https://signature-agent.test"',
      'signature-input':
        'sig2=("@authority" "signature-agent";key="agent2");created=1735689600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=4889289600;nonce="n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==";tag="web-bot-auth"',
      signature: 'sig2=:RdNFx5Bj6au3YgAMQL/RzmUlZE8QZLIaXGRpw985hWnwPfMxT228NMk6ehRS1PSl4e8PhbNZACSanGdhEwYCCg==:',
    });
  });

  it('legacy string Signature-Agent, from the PEM key', () => {
    const nonce = 'e8N7S2MFd/qrd6T2R3tdfAuuANngKI7LFtKYI/vowzk4lAZYadIX6wW25MwG7DCT9RUKAJ0qVkU0mEeLElW1qg==';
    const signer = createSigner(vectorOptions(ED25519_PEM, nonce, 1_735_693_200, { legacyAgentHeader: true }));
    expect(signer.headers(REQUEST)).toEqual({
      'signature-agent': '"https://signature-agent.test"',
      'signature-input':
        'sig2=("@authority" "signature-agent");created=1735689600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=1735693200;nonce="e8N7S2MFd/qrd6T2R3tdfAuuANngKI7LFtKYI/vowzk4lAZYadIX6wW25MwG7DCT9RUKAJ0qVkU0mEeLElW1qg==";tag="web-bot-auth"',
      signature: 'sig2=:jdq0SqOwHdyHr9+r5jw3iYZH6aNGKijYp/EstF4RQTQdi5N5YYKrD+mCT1HA1nZDsi6nJKuHxUi/5Syp3rLWBA==:',
    });
  });

  it('builds the printed signature base', () => {
    const nonce = 'n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==';
    const headers = createSigner(vectorOptions(ED25519_JWK, nonce, 4_889_289_600, { agentKey: 'agent2' })).headers(REQUEST);
    const message = { ...REQUEST, fieldLines: (name: string) => (name === 'signature-agent' ? [headers['signature-agent']!] : undefined) };
    expect(signatureBase(message, onlySignature(headers))).toBe(
      [
        '"@authority": example.com',
        '"signature-agent";key="agent2": "https://signature-agent.test"',
        `"@signature-params": ${headers['signature-input']!.slice('sig2='.length)}`,
      ].join('\n'),
    );
  });
});

describe('Web Bot Auth protocol-02 vectors (RSA-PSS-SHA512, randomized)', () => {
  const cases = [
    {
      name: 'dictionary Signature-Agent (agent2)',
      nonce: 'wcfPQPh7SzkvrIVvhD00vNk9PkxJNY2NVbYl2PVBB4zmUoluSwE7W6bPtF60QA3k8g06FU7PPCD+J58YofY1zg==',
      expires: 4_889_289_600,
      extra: { agentKey: 'agent2' },
      agentHeader: 'agent2="https://signature-agent.test"',
      input:
        'sig2=("@authority" "signature-agent";key="agent2");created=1735689600;keyid="oD0HwocPBSfpNy5W3bpJeyFGY_IQ_YpqxSjQ3Yd-CLA";alg="rsa-pss-sha512";expires=4889289600;nonce="wcfPQPh7SzkvrIVvhD00vNk9PkxJNY2NVbYl2PVBB4zmUoluSwE7W6bPtF60QA3k8g06FU7PPCD+J58YofY1zg==";tag="web-bot-auth"',
      signature:
        'gHzpLNeHaHIO19NaJH9YMW5dcVSi2s0wOMBr6p18vcofS106sfC4KBIS0/szPlBBd1vIcyQ88B6CTEWIhRAiVrb9zfX0mx1aG12CSGWcYkSirHeyTxhbuJvXd27ed6skWoy4PjXItq38936ivUQjfdIwXh1aX6HxkAC3vRnEdSNfntkLWeEuIQ5BLIOBGE39fSwg27Qjq6OVWYas/9/aFUr3HA34MXWYdp+//cvlEKDp3kRoLOw9ro0AOr6srHrTeEtxon2afcws1aZVSlPdd2fZSEIGmw9HAHLDCEkFTERu1gH2k/zIEqgy7CAYXI9E5slog0cLg/Vc6+f8gih33g==',
    },
    {
      name: 'legacy string Signature-Agent',
      nonce: 'XSHtZVCThSIAksXsH9WBs6AtxtXC0eQGiIcUGSoJstFs8lAWakjhrfwzLhyjtme5iXMZvmFWqDEs6cT3Jf+BbQ==',
      expires: 1_735_693_200,
      extra: { legacyAgentHeader: true },
      agentHeader: '"https://signature-agent.test"',
      input:
        'sig2=("@authority" "signature-agent");created=1735689600;keyid="oD0HwocPBSfpNy5W3bpJeyFGY_IQ_YpqxSjQ3Yd-CLA";alg="rsa-pss-sha512";expires=1735693200;nonce="XSHtZVCThSIAksXsH9WBs6AtxtXC0eQGiIcUGSoJstFs8lAWakjhrfwzLhyjtme5iXMZvmFWqDEs6cT3Jf+BbQ==";tag="web-bot-auth"',
      signature:
        'I1QWNzGXdP1a4dSvOHLCVOOanEYHDk+ZsVxM9MLX/p4ko69ghKwR5EOtAD96g7g4GWP7lmpM/jFAf9q8EFRDTPLjUXySwMv4YPgabv2LQihTJG2y8a2m6IGltyruwQNiqSJVUuRaG9+b17CGmAMFZh30X6GXLdQJrCARpeTqPwp2DC+a8haDE/VE5EruqzjA5/2mKwvrkzkSqeW5tOVtFwWRRHIOidquf/8Je6kM9mhgkg4arudLA5SL4wyyYE1jURIgcOl8agrfdJ5Def23DIRtiOLRa8jT9cpTLFAuFHN+mrZA/LH9h0gSIg1cPb+0cMASee5uku1KjWcFer7jWA==',
    },
  ];

  it.each(cases)('$name: same Signature-Input, and the vector signature verifies over our base', ({ nonce, expires, extra, agentHeader, input, signature }) => {
    const signer = createSigner(vectorOptions(RSA_PSS_PEM, nonce, expires, extra));
    expect(signer.keyid).toBe(RSA_PSS_THUMBPRINT);
    const headers = signer.headers(REQUEST);
    expect(headers['signature-agent']).toBe(agentHeader);
    expect(headers['signature-input']).toBe(input);
    const base = signatureBase({ ...REQUEST, fieldLines: (name) => (name === 'signature-agent' ? [agentHeader] : undefined) }, onlySignature(headers));
    const publicKey = vectors.keys['test-key-rsa-pss'].publicKeyPem;
    const pss = { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 };
    expect(verify('sha512', Buffer.from(base), pss, Buffer.from(signature, 'base64'))).toBe(true);
    // Our own (randomized) signature verifies too.
    const ours = Buffer.from(/^sig2=:(.*):$/.exec(headers.signature!)![1]!, 'base64');
    expect(verify('sha512', Buffer.from(base), pss, ours)).toBe(true);
  });
});

describe('signed directory response vector (protocol-02, Ed25519)', () => {
  const BODY =
    '{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U","x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs","use":"sig"}]}';

  it('serves the vector body, Content-Digest, Signature-Input and Signature byte for byte', () => {
    const directory = createDirectory({ keys: [ED25519_JWK], now: () => CREATED_MS, expiresIn: 4_889_289_600 - CREATED });
    const response = directory.respond({ url: 'https://signature-agent.test/.well-known/http-message-signatures-directory' });
    expect(response.status).toBe(200);
    expect(response.body).toBe(BODY);
    expect(JSON.stringify(directory.jwks)).toBe(BODY);
    expect(response.headers).toMatchObject({
      'content-type': 'application/http-message-signatures-directory+json',
      'content-digest': 'sha-256=:CADMT2aBdV/rqQr/NIru64ERQkCobVvllA4V0fLFDu0=:',
      'signature-input':
        'binding=("@authority";req "content-digest");created=1735689600;expires=4889289600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";tag="http-message-signatures-directory"',
      signature: 'binding=:l6P8R67tm3kujAxbHWio7ll01qrEZ0dKD/WWlGhNYEmTnFZM8Wt0VQ9zqGfvo7T/UMkBxsigzChM1Gpz7gOVBg==:',
    });
  });
});
