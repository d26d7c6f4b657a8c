import { createPrivateKey, createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, createGuard } from '../../src/index.js';
import { createSigner, generateKeyPair, signedFetch, SigningError, type SignableRequest, type SignerOptions } from '../../src/signer/index.js';
import { parseSignatures } from '../../src/signatures/parse.js';
import vectors from '../vectors/rfc9421.json' with { type: 'json' };

const NOW_MS = 1_767_225_600_000;
const NOW = NOW_MS / 1000;
const AGENT = 'https://bot.example';
const URL_ = 'https://api.example.com/v1/items?q=1';
const agentKey = generateKeyPair();
const base: SignerOptions = { key: agentKey.privateJwk, agent: AGENT, now: () => NOW_MS };
const TEST_JWK = vectors.keys['test-key-ed25519'].privateJwk;
/** Deterministic: the RFC 9421 Ed25519 test key, no nonce, a fixed clock. */
const TEST_OPTIONS: SignerOptions = { key: TEST_JWK, agent: AGENT, now: () => NOW_MS, nonce: false };

/** The parameters of one Signature-Input member, as text after the inner list. */
function paramsOf(signatureInput: string, label = 'sig1'): string {
  const parsed = parseSignatures(signatureInput, `${label}=:AA==:`);
  if (typeof parsed === 'string') throw new Error(parsed);
  const entry = parsed.find((p) => p.label === label)!;
  return entry.paramsValue;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function signingError(fn: () => unknown): SigningError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SigningError);
    return error as SigningError;
  }
  throw new Error('expected a SigningError');
}

describe('createSigner options are checked at construction', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const smallRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const publicPem = agentKey.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const encrypted = agentKey.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;

  it.each<[string, Record<string, unknown>, string, string]>([
    ['web-bot-auth without an agent', { key: agentKey.privateJwk }, 'ERR_CONFIG_MISSING_OPTION', 'agent'],
    ['no key', { agent: AGENT }, 'ERR_CONFIG_MISSING_OPTION', 'key'],
    ['an http agent', { ...base, agent: 'http://bot.example' }, 'ERR_CONFIG_INVALID_VALUE', 'agent'],
    ['an agent with a path', { ...base, agent: 'https://bot.example/keys' }, 'ERR_CONFIG_INVALID_VALUE', 'agent'],
    ['hmac with web-bot-auth', { ...base, algorithm: 'hmac-sha256' }, 'ERR_CONFIG_INVALID_VALUE', 'algorithm'],
    ['hmac with rfc9421', { key: agentKey.privateJwk, profile: 'rfc9421', algorithm: 'hmac-sha256' }, 'ERR_CONFIG_INVALID_VALUE', 'algorithm'],
    ['an unknown algorithm', { ...base, algorithm: 'ed448' }, 'ERR_CONFIG_INVALID_VALUE', 'algorithm'],
    ['an algorithm the key cannot sign with', { ...base, algorithm: 'rsa-pss-sha512' }, 'ERR_CONFIG_INVALID_KEY', 'algorithm'],
    ['a public PEM', { ...base, key: publicPem }, 'ERR_CONFIG_INVALID_KEY', 'key'],
    ['a public JWK', { ...base, key: agentKey.publicJwk }, 'ERR_CONFIG_INVALID_KEY', 'key'],
    ['a public KeyObject', { ...base, key: agentKey.publicKey }, 'ERR_CONFIG_INVALID_KEY', 'key'],
    ['a secret KeyObject', { ...base, key: createSecretKey(randomBytes(32)) }, 'ERR_CONFIG_INVALID_KEY', 'key'],
    ['an oct JWK', { ...base, key: { kty: 'oct', k: randomBytes(32).toString('base64url') } }, 'ERR_CONFIG_INVALID_KEY', 'key'],
    ['an encrypted PEM', { ...base, key: encrypted }, 'ERR_CONFIG_INVALID_KEY', 'key'],
    ['a plain RSA key without an algorithm', { ...base, key: rsa.privateKey }, 'ERR_CONFIG_INVALID_KEY', 'key'],
    ['an RSA key under 2048 bits', { ...base, key: smallRsa.privateKey, algorithm: 'rsa-pss-sha512' }, 'ERR_CONFIG_INVALID_KEY', 'key'],
    ['a keyid other than the thumbprint (web-bot-auth)', { ...base, keyid: 'my-key' }, 'ERR_CONFIG_INVALID_VALUE', 'keyid'],
    ['another tag (web-bot-auth)', { ...base, tag: 'other' }, 'ERR_CONFIG_INVALID_VALUE', 'tag'],
    ['an agent with rfc9421', { key: agentKey.privateJwk, profile: 'rfc9421', agent: AGENT }, 'ERR_CONFIG_INVALID_VALUE', 'agent'],
    ['the legacy form with jwks_uri', { ...base, agent: `${AGENT}/jwks.json`, agentType: 'jwks_uri', legacyAgentHeader: true }, 'ERR_CONFIG_INVALID_VALUE', 'legacyAgentHeader'],
    ['an upper-case label', { ...base, label: 'Sig1' }, 'ERR_CONFIG_INVALID_VALUE', 'label'],
    ['a bad agentKey', { ...base, agentKey: '1agent' }, 'ERR_CONFIG_INVALID_VALUE', 'agentKey'],
    ['@status covered by a request', { ...base, components: ['@status'] }, 'ERR_CONFIG_INVALID_VALUE', 'components[0]'],
    ['signature-agent listed by hand', { ...base, components: ['@method', 'signature-agent'] }, 'ERR_CONFIG_INVALID_VALUE', 'components[1]'],
    ['an invalid component', { ...base, components: ['Content-Type'] }, 'ERR_CONFIG_INVALID_VALUE', 'components[0]'],
    ['a zero lifetime', { ...base, expiresIn: 0 }, 'ERR_CONFIG_INVALID_VALUE', 'expiresIn'],
    ['a bad nonce option', { ...base, nonce: 'fixed' }, 'ERR_CONFIG_INVALID_VALUE', 'nonce'],
    ['a bad digest algorithm', { ...base, contentDigest: 'md5' }, 'ERR_CONFIG_INVALID_VALUE', 'contentDigest'],
  ])('%s → %s at %s', (_name, options, code, path) => {
    const error = configError(() => createSigner(options as unknown as SignerOptions));
    expect(error.code).toBe(code);
    expect(error.path).toBe(path);
  });

  it('refuses options that are not an object', () => {
    expect(configError(() => createSigner(undefined as unknown as SignerOptions))).toMatchObject({ code: 'ERR_CONFIG_INVALID_VALUE', path: 'options' });
  });

  it('suggests the option meant by a typo', () => {
    const error = configError(() => createSigner({ ...base, agnet: AGENT } as unknown as SignerOptions));
    expect(error).toMatchObject({ code: 'ERR_CONFIG_UNKNOWN_OPTION', path: 'agnet' });
    expect(error.message).toContain('did you mean `agent`');
  });

  it('never quotes key material in an error', () => {
    const jwk = agentKey.privateJwk;
    for (const key of [{ ...jwk, kty: 'OKP', crv: 'X9' }, JSON.stringify(jwk).slice(0, -2), `-----BEGIN PRIVATE KEY-----\n${String(jwk.d)}\n-----END PRIVATE KEY-----`]) {
      const error = configError(() => createSigner({ ...base, key: key as SignerOptions['key'] }));
      expect(error.message).not.toContain(String(jwk.d));
    }
  });

  it('accepts a private JWK as JSON text, a PEM, and a KeyObject, with the same keyid', () => {
    const pem = agentKey.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const ids = [JSON.stringify(agentKey.privateJwk), pem, agentKey.privateKey, createPrivateKey(pem)].map(
      (key) => createSigner({ ...base, key }).keyid,
    );
    expect(new Set(ids)).toEqual(new Set([agentKey.keyid]));
  });

  it('exposes the public JWK, labelled with the keyid, without private members', () => {
    const signer = createSigner(base);
    expect(signer.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', kid: agentKey.keyid, x: agentKey.publicJwk.x, use: 'sig' });
    const rsa = createSigner({ ...base, key: generateKeyPair('rsa-pss-sha512').privateKey, algorithm: 'rsa-pss-sha512' });
    expect(Object.keys(rsa.publicJwk)).toEqual(['kty', 'kid', 'n', 'e', 'alg', 'use']);
    expect(rsa.publicJwk.alg).toBe('PS512');
  });
});

describe('Signer.headers (web-bot-auth)', () => {
  it('covers @authority and its own Signature-Agent member, with created;keyid;alg;expires;nonce;tag', () => {
    const headers = createSigner(base).headers({ method: 'GET', url: URL_ });
    expect(Object.keys(headers)).toEqual(['signature-agent', 'signature-input', 'signature']);
    expect(headers['signature-agent']).toBe('sig1="https://bot.example"');
    const params = paramsOf(headers['signature-input']!);
    const nonce = /;nonce="([^"]+)"/.exec(params)![1]!;
    expect(params).toBe(
      `("@authority" "signature-agent";key="sig1");created=${NOW};keyid="${agentKey.keyid}";alg="ed25519";expires=${NOW + 300};nonce="${nonce}";tag="web-bot-auth"`,
    );
    // 64 random bytes, base64url, fresh each time.
    expect(Buffer.from(nonce, 'base64url')).toHaveLength(64);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(createSigner(base).headers({ method: 'GET', url: URL_ })['signature-input']).not.toContain(nonce);
    expect(headers.signature).toMatch(/^sig1=:[A-Za-z0-9+/]{86}==:$/);
  });

  it('leaves out alg and nonce when asked, and takes the lifetime as a duration', () => {
    const headers = createSigner({ ...base, includeAlg: false, nonce: false, expiresIn: '1h' }).headers({ method: 'GET', url: URL_ });
    expect(paramsOf(headers['signature-input']!)).toBe(
      `("@authority" "signature-agent";key="sig1");created=${NOW};keyid="${agentKey.keyid}";expires=${NOW + 3600};tag="web-bot-auth"`,
    );
  });

  it('covers extra components between @authority and the agent member, once each', () => {
    const headers = createSigner({ ...base, components: ['@method', '@path', '@authority', '@method', '"@query-param";name="q"'] }).headers({
      method: 'GET',
      url: URL_,
    });
    expect(paramsOf(headers['signature-input']!)).toMatch(/^\("@authority" "@method" "@path" "@query-param";name="q" "signature-agent";key="sig1"\);/);
  });

  it('sends a jwks_uri agent with its type', () => {
    const headers = createSigner({ ...base, agent: 'https://bot.example/keys.json', agentType: 'jwks_uri', label: 'bot' }).headers({ method: 'GET', url: URL_ });
    expect(headers['signature-agent']).toBe('bot="https://bot.example/keys.json";type=jwks_uri');
    expect(headers['signature-input']).toMatch(/^bot=\("@authority" "signature-agent";key="bot"\)/);
  });

  it('normalizes the agent origin', () => {
    expect(createSigner({ ...base, agent: 'https://Bot.Example:443/' }).headers({ method: 'GET', url: URL_ })['signature-agent']).toBe(
      'sig1="https://bot.example"',
    );
  });

  it('adds a Content-Digest for a body and covers it last', () => {
    const headers = createSigner(base).headers({ method: 'POST', url: URL_, headers: { 'content-type': 'application/json' }, body: '{"hello": "world"}' });
    expect(Object.keys(headers)).toEqual(['signature-agent', 'content-digest', 'signature-input', 'signature']);
    expect(headers['content-digest']).toBe('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
    expect(paramsOf(headers['signature-input']!)).toMatch(/^\("@authority" "signature-agent";key="sig1" "content-digest"\);/);
    const sha512 = createSigner({ ...base, contentDigest: 'sha-512' }).headers({ method: 'POST', url: URL_, body: new TextEncoder().encode('{"hello": "world"}') });
    expect(sha512['content-digest']).toBe('sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:');
  });

  it('adds no digest for an empty body, or when turned off', () => {
    expect(createSigner(base).headers({ method: 'POST', url: URL_, body: '' })).not.toHaveProperty('content-digest');
    const off = createSigner({ ...base, contentDigest: false }).headers({ method: 'POST', url: URL_, body: 'x' });
    expect(off).not.toHaveProperty('content-digest');
    expect(off['signature-input']).not.toContain('content-digest');
  });

  it('covers a Content-Digest the request already has when it matches the body, and refuses one that does not', () => {
    const body = '{"hello": "world"}';
    const digest = 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:';
    const headers = createSigner(base).headers({ method: 'POST', url: URL_, headers: { 'Content-Digest': digest }, body });
    expect(headers).not.toHaveProperty('content-digest');
    expect(headers['signature-input']).toContain('"content-digest"');
    const error = signingError(() => createSigner(base).headers({ method: 'POST', url: URL_, headers: { 'content-digest': digest }, body: 'other' }));
    expect(error.code).toBe('ERR_SIGN_DIGEST_MISMATCH');
  });

  it('adds its member to signatures already present, under free labels, keeping the others byte for byte', () => {
    const first = createSigner(base).headers({ method: 'GET', url: URL_ });
    const other = generateKeyPair();
    const second = createSigner({ ...base, key: other.privateJwk, agent: 'https://other.example' }).headers({ method: 'GET', url: URL_, headers: first });
    expect(second['signature-agent']).toBe(`${first['signature-agent']}, sig2="https://other.example"`);
    expect(second['signature-input']!.startsWith(`${first['signature-input']}, sig2=("@authority" "signature-agent";key="sig2");`)).toBe(true);
    expect(second.signature!.startsWith(`${first.signature}, sig2=:`)).toBe(true);
  });

  it('reuses an identical Signature-Agent member', () => {
    const first = createSigner(base).headers({ method: 'GET', url: URL_ });
    const again = createSigner(base).headers({ method: 'GET', url: URL_, headers: { 'signature-agent': first['signature-agent']! } });
    expect(again).not.toHaveProperty('signature-agent');
    expect(again['signature-input']).toContain('"signature-agent";key="sig1"');
  });

  it('refuses to add to headers it cannot share', () => {
    const legacy = signingError(() => createSigner(base).headers({ method: 'GET', url: URL_, headers: { 'signature-agent': '"https://x.example"' } }));
    expect(legacy.code).toBe('ERR_SIGN_CONFLICT');
    const malformed = signingError(() => createSigner(base).headers({ method: 'GET', url: URL_, headers: { signature: 'not a dictionary!' } }));
    expect(malformed.code).toBe('ERR_SIGN_CONFLICT');
    const legacySigner = createSigner({ ...base, legacyAgentHeader: true });
    expect(signingError(() => legacySigner.headers({ method: 'GET', url: URL_, headers: { 'signature-agent': 'a="https://x.example"' } })).code).toBe('ERR_SIGN_CONFLICT');
    // The same legacy value is shared.
    expect(legacySigner.headers({ method: 'GET', url: URL_, headers: { 'signature-agent': '"https://bot.example"' } })).not.toHaveProperty('signature-agent');
  });

  it('names a covered component the request lacks, and refuses malformed requests without echoing values', () => {
    const missing = signingError(() => createSigner({ ...base, components: ['content-type'] }).headers({ method: 'GET', url: URL_ }));
    expect(missing.code).toBe('ERR_SIGN_COMPONENT_MISSING');
    expect(missing.message).toContain('"content-type"');
    const bad: SignableRequest[] = [
      { method: 'GET', url: '/relative' },
      { method: 'GET', url: 'ftp://example.com/' },
      { method: 'GET', url: 'https://user:pw@example.com/' },
      { method: 'GE T', url: URL_ },
      { method: 'GET', url: URL_, headers: { 'x-secret': 's3cr3t\r\nInjected: yes' } },
      { method: 'GET', url: URL_, headers: { 'bad name': 'x' } },
    ];
    for (const request of bad) {
      const error = signingError(() => createSigner(base).headers(request));
      expect(error.code).toBe('ERR_SIGN_INVALID_REQUEST');
      expect(error.message).not.toContain('s3cr3t');
      expect(error.message).not.toContain('pw');
    }
    const badNonce = signingError(() => createSigner({ ...base, nonce: () => 'café' }).headers({ method: 'GET', url: URL_ }));
    expect(badNonce.code).toBe('ERR_SIGN_INVALID_NONCE');
  });

  it('reads headers from a Headers object, [name, value] pairs, or a record of lines', () => {
    const signer = createSigner({ ...TEST_OPTIONS, components: ['accept'] });
    const fromRecord = signer.headers({ method: 'GET', url: URL_, headers: { Accept: ['application/json', '*/*'] } });
    const fromPairs = signer.headers({ method: 'GET', url: URL_, headers: [['accept', 'application/json'], ['Accept', '*/*']] });
    const fromHeaders = signer.headers({ method: 'GET', url: URL_, headers: new Headers([['accept', 'application/json'], ['accept', '*/*']]) });
    expect(fromPairs).toEqual(fromRecord);
    expect(fromHeaders).toEqual(fromRecord);
  });
});

describe('Signer.headers (rfc9421)', () => {
  it('covers @method @authority @path @query by default, with no tag and no Signature-Agent', () => {
    const headers = createSigner({ key: TEST_JWK, profile: 'rfc9421', keyid: 'test-key-ed25519', now: () => NOW_MS, nonce: false }).headers({
      method: 'GET',
      url: 'https://example.com/foo#fragment',
    });
    expect(Object.keys(headers)).toEqual(['signature-input', 'signature']);
    expect(headers['signature-input']).toBe(
      `sig1=("@method" "@authority" "@path" "@query");created=${NOW};keyid="test-key-ed25519";alg="ed25519";expires=${NOW + 300}`,
    );
  });

  it('replaces the default components with the configured ones, and takes a tag', () => {
    const headers = createSigner({ key: TEST_JWK, profile: 'rfc9421', components: ['@target-uri'], tag: 'app', nonce: false, now: () => NOW_MS }).headers({
      method: 'GET',
      url: URL_,
    });
    expect(paramsOf(headers['signature-input']!)).toMatch(/^\("@target-uri"\);.*;tag="app"$/);
  });
});

describe('Signer.sign and fetch', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  /**
   * A Web Request as the guard sees it through an adapter: with Content-Length, which a Web Request
   * does not carry in its headers (the guard decides "has a body" from Content-Length /
   * Transfer-Encoding only, so a bare Request with a body would be checked as bodiless).
   */
  const asGuardRequest = async (request: Request) => {
    const body = new Uint8Array(await request.clone().arrayBuffer());
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => (headers[name] = value));
    if (body.length > 0) headers['content-length'] = String(body.length);
    return { method: request.method, url: request.url, headers, readBody: async () => body };
  };

  const guardFor = (publicJwk: object) =>
    createGuard({ signatures: { profile: 'web-bot-auth', keys: [publicJwk as never], directory: false }, now: () => NOW_MS });

  it('returns a Request with the headers set and the body intact, which the guard allows', async () => {
    const signer = createSigner({ ...base, components: ['@method', '@path', '@query', 'content-type'] });
    const request = new Request(URL_, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    const signed = await signer.sign(request);
    expect(signed.method).toBe('POST');
    expect(signed.headers.get('content-type')).toBe('application/json');
    expect(signed.headers.get('content-digest')).toMatch(/^sha-256=:/);
    expect(signed.headers.get('signature-agent')).toBe('sig1="https://bot.example"');
    expect(await signed.clone().text()).toBe('{"a":1}');
    const guard = guardFor(signer.publicJwk);
    const decision = await guard.check(await asGuardRequest(signed));
    expect(decision).toMatchObject({ outcome: 'allow', reason: 'OK' });
    // The same request with another body is refused: the digest binds it.
    const tampered = new Request(signed, { body: '{"a":2}' });
    expect(await guardFor(signer.publicJwk).check(await asGuardRequest(tampered))).toMatchObject({ outcome: 'deny', reason: 'ERR_DIGEST_MISMATCH' });
    await guard.close();
  });

  it('signedFetch signs every request and sends it with the given fetch', async () => {
    const sent: Request[] = [];
    const fetchImpl = (async (input: Request) => {
      sent.push(input);
      return new Response('ok');
    }) as typeof fetch;
    const send = signedFetch({ ...base, components: ['@method', '@path'] }, fetchImpl);
    const response = await send(URL_, { method: 'PUT', body: 'payload', headers: { 'x-trace': '1' } });
    expect(await response.text()).toBe('ok');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers.get('x-trace')).toBe('1');
    const guard = guardFor(createSigner(base).publicJwk);
    expect(await guard.check(await asGuardRequest(sent[0]!))).toMatchObject({ outcome: 'allow', reason: 'OK' });
    await guard.close();
  });

  it('Signer.fetch uses the global fetch, looked up when called', async () => {
    const seen: Request[] = [];
    vi.stubGlobal('fetch', async (input: Request) => {
      seen.push(input);
      return new Response(null, { status: 204 });
    });
    const response = await createSigner(base).fetch(new Request(URL_));
    expect(response.status).toBe(204);
    expect(seen[0]!.headers.get('signature')).toMatch(/^sig1=:/);
  });

  it('refuses a fetch implementation that is not a function', () => {
    expect(configError(() => signedFetch(base, 'fetch' as unknown as typeof fetch)).path).toBe('fetchImpl');
  });
});
