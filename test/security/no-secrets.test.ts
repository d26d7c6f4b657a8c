import { createSecretKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, MemoryStore, type Decision, type Guard, type GuardOptions, type GuardRequest, type Jwk } from '../../src/index.js';
import { contentDigest } from '../../src/signatures/content-digest.js';
import { resolveLocalhost, startDirectoryServer, TEST_CA, type DirectoryServer } from '../helpers/directory-server.js';
import { ed25519Pair, sign, type TestRequest } from '../helpers/http-sig.js';
import { fakeJwks } from '../helpers/jwks-server.js';
import { approovSecret, b64u, ecKeys, hmacWith, hs256, payHash, rsaKeys, signAsymmetric } from '../helpers/jws.js';
import { capture, recordingStore, Secrets, type Capture } from './capture.js';

/**
 * "No token, signature, secret or key in a log line, an event or an error message" (DESIGN, Security
 * defaults), checked end to end: each group runs a guard built with a capturing logger, onDecision
 * hook, metrics hook (and, with a policy, the policy handle's events) through valid and adversarial
 * requests, records every decision, explain() answer and respond() answer, and searches all of it for
 * every secret involved, in every encoding it could be printed in (see capture.ts).
 */

const NOW = 1_800_000_000;
const now = (): number => NOW * 1000;
const rand = (bytes = 24): string => randomBytes(bytes).toString('base64url');

/** Secrets every request carries besides its proof: they must never be echoed either. */
const cookie = `session=${rand()}`;
const apiKey = rand();
const queryToken = rand();
const URL_WITH_QUERY = `https://api.example.com/v1/items?access_token=${queryToken}`;

function ambient(secrets: Secrets): Secrets {
  return secrets.text('cookie header', cookie).text('x-api-key header', apiKey).text('query access_token', queryToken);
}

function req(headers: Record<string, string>, method = 'GET', url = URL_WITH_QUERY): GuardRequest & { headers: Record<string, string> } {
  return { method, url, headers: { host: 'api.example.com', cookie, 'x-api-key': apiKey, ...headers } };
}

function observed(cap: Capture, extra: Partial<GuardOptions> = {}): Partial<GuardOptions> {
  return { logger: cap.logger, onDecision: cap.onDecision, metrics: cap.metrics, logDecisions: 'all', now, ...extra };
}

/** Checks one request and records everything the guard answers about it. */
async function run(guard: Guard, cap: Capture, label: string, request: GuardRequest): Promise<Decision> {
  const decision = await guard.check(request);
  cap.record(`${label}: decision`, decision);
  cap.record(`${label}: respond()`, guard.respond(decision));
  cap.record(`${label}: explain()`, await guard.explain!(request));
  return decision;
}

/** Runs the cases in order and returns each decision's reason, for one exact assertion per group. */
async function reasons(guard: Guard, cap: Capture, cases: ReadonlyArray<readonly [string, GuardRequest]>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [label, request] of cases) out[label] = (await run(guard, cap, label, request)).reason;
  return out;
}

describe('the leak scanner', () => {
  it('finds a secret in each encoding it searches for', () => {
    const secret = randomBytes(32);
    const token = hs256({ exp: NOW }, secret);
    const key = ed25519Pair().privateKey;
    const secrets = new Secrets().bytes('secret', secret).token('token', token).privateKey('key', key).text('header', `Bearer ${rand()}`);
    const jwk = key.export({ format: 'jwk' }) as { d: string };
    const planted = [
      secret.toString('base64'),
      secret.toString('base64url'),
      secret.toString('hex'),
      JSON.stringify({ buffer: secret }),
      JSON.stringify({ bytes: new Uint8Array(secret) }),
      token,
      token.split('.')[2]!,
      Buffer.from(token.split('.')[2]!, 'base64url').toString('base64'),
      jwk.d,
      key.export({ format: 'pem', type: 'pkcs8' }).toString(),
      JSON.stringify({ pem: key.export({ format: 'pem', type: 'pkcs8' }).toString() }),
      secrets.needles.find((n) => n.name === 'header')!.value,
    ];
    for (const text of planted) expect(secrets.leaks([{ where: 'planted', text }])).not.toEqual([]);
    expect(secrets.leaks([{ where: 'clean', text: JSON.stringify({ reason: 'ERR_TOKEN_SIGNATURE_INVALID', claim: 'exp' }) }])).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Approov: HS256 with the account secret, token binding to Authorization
// ---------------------------------------------------------------------------------------------

describe('no secrets in output: Approov tokens and token binding', () => {
  const secret = approovSecret();
  const attacker = randomBytes(32);
  const session = `Bearer ${rand(32)}`;
  const otherSession = `Bearer ${rand(32)}`;
  const claims = { exp: NOW + 60, did: 'device-1', pay: payHash(session) };
  const good = hs256(claims, secret.bytes);
  const [goodHeader, , goodSignature] = good.split('.');
  const tokens = {
    good,
    unbound: hs256({ exp: NOW + 60 }, secret.bytes),
    forged: hs256(claims, attacker),
    tampered: `${goodHeader}.${b64u({ ...claims, exp: NOW + 86_400 })}.${goodSignature}`,
    expired: hs256({ ...claims, exp: NOW - 10 }, secret.bytes),
    hs512: hmacWith('HS512', claims, secret.bytes),
    none: `${b64u({ alg: 'none', typ: 'JWT' })}.${b64u(claims)}.`,
    base64TextAsKey: hs256(claims, secret.base64),
    junkSignature: `${good}!!`,
    embeddedJwk: hs256(claims, attacker, { alg: 'HS256', jwk: { kty: 'oct', k: attacker.toString('base64url') } }),
    tooLarge: hs256({ ...claims, padding: rand(7000) }, secret.bytes),
    fourSegments: `${good}.${rand()}`,
  };

  const secrets = ambient(new Secrets())
    .bytes('Approov secret', secret.bytes)
    .text('Approov secret as configured', secret.base64)
    .bytes('attacker secret', attacker)
    .text('bound Authorization', session)
    .text('other Authorization', otherSession);
  for (const [name, token] of Object.entries(tokens)) secrets.token(`token ${name}`, token);

  it('denies each forgery with its code and leaks nothing (secret as base64)', async () => {
    const cap = capture();
    const guard = createGuard({ attestation: { approov: { secret: secret.base64, binding: 'Authorization' } }, ...observed(cap) });
    const withToken = (token: string, authorization: string | null = session) =>
      req({ 'approov-token': token, ...(authorization === null ? {} : { authorization }) });
    const got = await reasons(guard, cap, [
      ['good', withToken(tokens.good)],
      ['good again (cached)', withToken(tokens.good)],
      ['wrong binding', withToken(tokens.good, otherSession)],
      ['binding header missing', withToken(tokens.good, null)],
      ['cached token, wrong binding', withToken(tokens.good, otherSession)],
      ['no pay claim', withToken(tokens.unbound)],
      ['forged', withToken(tokens.forged)],
      ['tampered payload', withToken(tokens.tampered)],
      ['expired', withToken(tokens.expired)],
      ['HS512', withToken(tokens.hs512)],
      ['alg none', withToken(tokens.none)],
      ['base64 text as key', withToken(tokens.base64TextAsKey)],
      ['junk signature', withToken(tokens.junkSignature)],
      ['embedded jwk header', withToken(tokens.embeddedJwk)],
      ['too large', withToken(tokens.tooLarge)],
      ['four segments', withToken(tokens.fourSegments)],
      ['missing', req({ authorization: session })],
    ]);
    expect(got).toEqual({
      good: 'OK',
      'good again (cached)': 'OK',
      'wrong binding': 'ERR_BINDING_MISMATCH',
      'binding header missing': 'ERR_BINDING_HEADER_MISSING',
      'cached token, wrong binding': 'ERR_BINDING_MISMATCH',
      'no pay claim': 'ERR_BINDING_CLAIM_MISSING',
      forged: 'ERR_TOKEN_SIGNATURE_INVALID',
      'tampered payload': 'ERR_TOKEN_SIGNATURE_INVALID',
      expired: 'ERR_TOKEN_EXPIRED',
      HS512: 'ERR_TOKEN_ALG_NOT_ALLOWED',
      'alg none': 'ERR_TOKEN_ALG_NOT_ALLOWED',
      'base64 text as key': 'ERR_TOKEN_SIGNATURE_INVALID',
      'junk signature': 'ERR_TOKEN_MALFORMED',
      'embedded jwk header': 'ERR_TOKEN_SIGNATURE_INVALID',
      'too large': 'ERR_TOKEN_TOO_LARGE',
      'four segments': 'ERR_TOKEN_MALFORMED',
      missing: 'ERR_TOKEN_MISSING',
    });
    // Every decision was logged (logDecisions: 'all'), reported to onDecision and to the metrics hook.
    expect(cap.emitted.filter((e) => e.where === 'onDecision')).toHaveLength(17);
    expect(cap.emitted.filter((e) => e.where === 'metrics.decision')).toHaveLength(17);
    secrets.expectNone(cap.emitted);
  });

  it('leaks nothing with the secret given as raw bytes or base64url, in monitor mode', async () => {
    for (const configured of [secret.bytes, secret.bytes.toString('base64url')]) {
      const cap = capture();
      const guard = createGuard({ mode: 'monitor', attestation: { approov: { secret: configured, binding: ['Authorization'] } }, ...observed(cap) });
      const got = await reasons(guard, cap, [
        ['good', req({ 'approov-token': tokens.good, authorization: session })],
        ['wrong binding', req({ 'approov-token': tokens.good, authorization: otherSession })],
        ['forged', req({ 'approov-token': tokens.forged, authorization: session })],
      ]);
      expect(got).toEqual({ good: 'OK', 'wrong binding': 'ERR_BINDING_MISMATCH', forged: 'ERR_TOKEN_SIGNATURE_INVALID' });
      secrets.expectNone(cap.emitted);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Firebase App Check (RS256), fixed keys and a remote JWKS
// ---------------------------------------------------------------------------------------------

describe('no secrets in output: Firebase App Check tokens with bad keys', () => {
  const PROJECT = '123456789012';
  const APP = '1:123456789012:android:0123456789abcdef';
  const google = rsaKeys();
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicJwk = { ...(google.publicKey.export({ format: 'jwk' }) as Jwk), kid: 'fb-1', alg: 'RS256', use: 'sig' };
  const claims = { iss: `https://firebaseappcheck.googleapis.com/${PROJECT}`, aud: [`projects/${PROJECT}`], sub: APP, exp: NOW + 600, iat: NOW - 5 };
  const tokens = {
    good: signAsymmetric('RS256', claims, google.privateKey, { kid: 'fb-1' }),
    forged: signAsymmetric('RS256', claims, attacker.privateKey, { kid: 'fb-1' }),
    unknownKid: signAsymmetric('RS256', claims, attacker.privateKey, { kid: 'attacker' }),
    otherApp: signAsymmetric('RS256', { ...claims, sub: '1:123456789012:ios:ffff' }, google.privateKey, { kid: 'fb-1' }),
    otherProject: signAsymmetric('RS256', { ...claims, aud: ['projects/999'] }, google.privateKey, { kid: 'fb-1' }),
    hs256WithPublicKey: hs256(claims, google.publicKey.export({ format: 'pem', type: 'spki' }).toString(), { alg: 'HS256', kid: 'fb-1' }),
  };
  const fetchFailure = rand();
  const secrets = ambient(new Secrets()).privateKey('Google private key', google.privateKey).privateKey('attacker private key', attacker.privateKey);
  secrets.text('fetch error text', fetchFailure);
  for (const [name, token] of Object.entries(tokens)) secrets.token(`token ${name}`, token);
  const cases = (): Array<readonly [string, GuardRequest]> =>
    Object.entries(tokens).map(([name, token]) => [name, req({ 'x-firebase-appcheck': token })] as const);

  it('with fixed keys: each bad token gets its code, nothing leaks', async () => {
    const cap = capture();
    const guard = createGuard({ attestation: { firebase: { projectNumber: PROJECT, appIds: [APP], keys: { keys: [publicJwk] } } }, ...observed(cap) });
    expect(await reasons(guard, cap, cases())).toEqual({
      good: 'OK',
      forged: 'ERR_TOKEN_SIGNATURE_INVALID',
      unknownKid: 'ERR_TOKEN_KEY_UNKNOWN',
      otherApp: 'ERR_TOKEN_APP_NOT_ALLOWED',
      otherProject: 'ERR_TOKEN_AUDIENCE_INVALID',
      hs256WithPublicKey: 'ERR_TOKEN_ALG_NOT_ALLOWED',
    });
    secrets.expectNone(cap.emitted);
  });

  it('the JWKS fetch-failure warning shows only the origin and path of the configured JWKS URL', async () => {
    const cap = capture();
    const password = `pw-${rand()}`;
    const key = `key-${rand()}`;
    const guard = createGuard({
      attestation: { firebase: { projectNumber: PROJECT, jwks: { url: `https://user:${password}@keys.example/firebase/jwks?key=${key}#frag` } } },
      fetch: async () => {
        throw new Error('connect ECONNREFUSED');
      },
      ...observed(cap),
    });
    await run(guard, cap, 'jwks url with credentials', req({ 'x-firebase-appcheck': tokens.good }));
    const warning = cap.lines.find((l) => l.msg === 'bonafide: JWKS fetch failed');
    expect(warning?.obj).toMatchObject({ url: 'https://keys.example/firebase/jwks' });
    const text = JSON.stringify(cap.lines);
    expect(text).not.toContain(password);
    expect(text).not.toContain(key);
  });

  it('with a remote JWKS that fails (an error text that must not be passed on), closed and open', async () => {
    for (const failOpen of [false, true]) {
      const cap = capture();
      const guard = createGuard({
        attestation: { firebase: { projectNumber: PROJECT, jwks: { url: 'https://keys.example/firebase/jwks' } } },
        fetch: async () => {
          throw new Error(`connect ECONNREFUSED while sending ${fetchFailure}`);
        },
        failOpen: { attestation: failOpen },
        ...observed(cap),
      });
      const d = await run(guard, cap, 'jwks down', req({ 'x-firebase-appcheck': tokens.good }));
      expect(d).toMatchObject({ reason: 'ERR_KEYS_UNAVAILABLE', outcome: failOpen ? 'allow' : 'deny', failedOpen: failOpen });
      // The fetch failure was logged, as a reason, not the error's text.
      expect(cap.lines.some((l) => l.msg === 'bonafide: JWKS fetch failed')).toBe(true);
      secrets.expectNone(cap.emitted);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Generic JWT: a remote JWKS (ES256) and an HMAC secret
// ---------------------------------------------------------------------------------------------

describe('no secrets in output: generic JWT with a JWKS and with a shared secret', () => {
  const service = ecKeys();
  const attacker = ecKeys();
  const publicJwk = { ...(service.publicKey.export({ format: 'jwk' }) as Jwk), kid: 'svc-1', alg: 'ES256' };
  const claims = { iss: 'https://auth.example', aud: 'api', sub: 'svc-billing', exp: NOW + 300 };
  const hmacSecret = randomBytes(32);
  const basicCredentials = Buffer.from(`billing:${rand()}`).toString('base64');
  const tokens = {
    good: signAsymmetric('ES256', claims, service.privateKey, { kid: 'svc-1' }),
    forged: signAsymmetric('ES256', claims, attacker.privateKey, { kid: 'svc-1' }),
    unknownKid: signAsymmetric('ES256', claims, attacker.privateKey, { kid: 'svc-404' }),
    wrongIssuer: signAsymmetric('ES256', { ...claims, iss: 'https://evil.example' }, service.privateKey, { kid: 'svc-1' }),
    jkuHeader: signAsymmetric('ES256', claims, attacker.privateKey, { kid: 'svc-1', jku: 'https://evil.example/jwks' }),
    hmacGood: hs256({ ...claims, sub: 'partner' }, hmacSecret),
    hmacForged: hs256({ ...claims, sub: 'partner' }, randomBytes(32)),
  };
  const secrets = ambient(new Secrets())
    .privateKey('service private key', service.privateKey)
    .privateKey('attacker private key', attacker.privateKey)
    .bytes('JWT HMAC secret', hmacSecret)
    .text('Basic credentials', basicCredentials);
  for (const [name, token] of Object.entries(tokens)) secrets.token(`token ${name}`, token);

  it('denies each bad token with its code and leaks nothing', async () => {
    const cap = capture();
    const jwks = fakeJwks({ keys: [publicJwk] });
    const guard = createGuard({
      attestation: {
        jwt: { algorithms: ['ES256'], jwks: { url: 'https://auth.example/.well-known/jwks.json' }, issuer: 'https://auth.example', audience: 'api' },
      },
      fetch: jwks.fetch,
      ...observed(cap),
    });
    const bearer = (token: string) => req({ authorization: `Bearer ${token}` });
    expect(
      await reasons(guard, cap, [
        ['good', bearer(tokens.good)],
        ['forged', bearer(tokens.forged)],
        ['unknown kid', bearer(tokens.unknownKid)],
        ['wrong issuer', bearer(tokens.wrongIssuer)],
        ['jku header', bearer(tokens.jkuHeader)],
        ['basic', req({ authorization: `Basic ${basicCredentials}` })],
        ['bearer garbage', bearer(`${rand()}.${rand()}.${rand()}`)],
      ]),
    ).toEqual({
      good: 'OK',
      forged: 'ERR_TOKEN_SIGNATURE_INVALID',
      'unknown kid': 'ERR_TOKEN_KEY_UNKNOWN',
      'wrong issuer': 'ERR_TOKEN_ISSUER_INVALID',
      'jku header': 'ERR_TOKEN_SIGNATURE_INVALID',
      basic: 'ERR_TOKEN_MALFORMED',
      'bearer garbage': 'ERR_TOKEN_MALFORMED',
    });
    secrets.expectNone(cap.emitted);
  });

  it('with an HMAC secret in its own header: leaks neither the secret nor the tokens', async () => {
    const cap = capture();
    const guard = createGuard({
      attestation: { jwt: { name: 'partner', header: 'X-Partner-Token', algorithms: ['HS256'], keys: { secret: hmacSecret.toString('base64'), encoding: 'base64' } } },
      ...observed(cap),
    });
    expect(
      await reasons(guard, cap, [
        ['good', req({ 'x-partner-token': tokens.hmacGood })],
        ['forged', req({ 'x-partner-token': tokens.hmacForged })],
      ]),
    ).toEqual({ good: 'OK', forged: 'ERR_TOKEN_SIGNATURE_INVALID' });
    secrets.expectNone(cap.emitted);
  });
});

// ---------------------------------------------------------------------------------------------
// RFC 9421 signatures: hmac-sha256, RSA, Ed25519; replays; malformed headers; Content-Digest
// ---------------------------------------------------------------------------------------------

describe('no secrets in output: RFC 9421 signed requests', () => {
  const hmacSecret = randomBytes(32);
  const otherSecret = randomBytes(32);
  const rsa = rsaKeys();
  const rsaAttacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = ed25519Pair();
  const edAttacker = ed25519Pair();
  const session = `Bearer ${rand(32)}`;
  const secrets = ambient(new Secrets())
    .bytes('HMAC secret', hmacSecret)
    .bytes('other HMAC secret', otherSecret)
    .privateKey('RSA private key', rsa.privateKey)
    .privateKey('attacker RSA private key', rsaAttacker.privateKey)
    .privateKey('Ed25519 private key', ed.privateKey)
    .privateKey('attacker Ed25519 private key', edAttacker.privateKey)
    .text('covered Authorization', session);

  const options = (cap: Capture, store = new MemoryStore({ now })): GuardOptions => ({
    signatures: {
      profile: 'rfc9421',
      keys: [
        { keyid: 'hmac-1', secret: hmacSecret.toString('base64'), encoding: 'base64' },
        { keyid: 'rsa-1', key: rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString(), algorithm: 'rsa-pss-sha512' },
        { keyid: 'ed-1', key: ed.publicJwk },
      ],
      requireNonce: true,
    },
    store,
    ...observed(cap),
  });

  /** Signs and registers the Signature header (and its bytes) as secrets. */
  function signed(
    key: KeyObject,
    algorithm: 'hmac-sha256' | 'rsa-pss-sha512' | 'ed25519',
    keyid: string,
    extra: { params?: Record<string, string | number>; components?: string[]; body?: string; method?: string } = {},
  ): TestRequest & Pick<GuardRequest, 'readBody'> {
    const body = extra.body;
    const headers: Record<string, string> = { host: 'api.example.com', cookie, 'x-api-key': apiKey, authorization: session };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-digest'] = contentDigest(Buffer.from(body));
    }
    const base: TestRequest = { method: extra.method ?? (body === undefined ? 'GET' : 'POST'), url: URL_WITH_QUERY, headers };
    const out = sign(base, {
      key,
      algorithm,
      keyid,
      components: extra.components ?? ['@method', '@target-uri', 'authorization', ...(body === undefined ? [] : ['content-digest'])],
      params: extra.params ?? { created: NOW, expires: NOW + 60, keyid, nonce: rand(16) },
    });
    secrets.signatureHeader(`Signature of ${keyid}`, out.headers.signature!);
    return { ...out, ...(body === undefined ? {} : { readBody: async () => Buffer.from(body) }) };
  }

  it('denies forgeries, replays and malformed headers with their codes, and leaks nothing', async () => {
    const cap = capture();
    const guard = createGuard(options(cap));
    const hmac = signed(createSecretKey(hmacSecret), 'hmac-sha256', 'hmac-1');
    const good = signed(ed.privateKey, 'ed25519', 'ed-1');
    const withBody = signed(rsa.privateKey, 'rsa-pss-sha512', 'rsa-1', { body: '{"amount":100}' });
    const tamperedBody = { ...withBody, readBody: async () => Buffer.from('{"amount":100000}') };
    const malformed = (headers: Record<string, string>): GuardRequest => ({ ...good, headers: { ...good.headers, ...headers } });
    const { 'signature-input': _input, ...withoutInput } = good.headers;
    const got = await reasons(guard, cap, [
      ['hmac', hmac],
      ['hmac replayed', hmac],
      ['hmac forged', signed(createSecretKey(otherSecret), 'hmac-sha256', 'hmac-1')],
      ['rsa with body', withBody],
      ['rsa forged', signed(rsaAttacker.privateKey, 'rsa-pss-sha512', 'rsa-1')],
      ['ed25519', good],
      ['ed25519 forged', signed(edAttacker.privateKey, 'ed25519', 'ed-1')],
      ['body changed', tamperedBody],
      ['unknown keyid', signed(edAttacker.privateKey, 'ed25519', 'ed-404')],
      ['expired', signed(ed.privateKey, 'ed25519', 'ed-1', { params: { created: NOW - 600, expires: NOW - 300, keyid: 'ed-1', nonce: rand(16) } })],
      ['no nonce', signed(ed.privateKey, 'ed25519', 'ed-1', { params: { created: NOW, expires: NOW + 60, keyid: 'ed-1' } })],
      ['Signature-Input unparsable', malformed({ 'signature-input': `sig1=("@method" ${rand()}` })],
      ['Signature not a byte sequence', malformed({ signature: `sig1=${rand()}` })],
      ['Signature for another label', malformed({ signature: good.headers.signature!.replace('sig1=', 'sig2=') })],
      ['Signature without Signature-Input', { ...good, headers: withoutInput }],
    ]);
    expect(got).toEqual({
      hmac: 'OK',
      'hmac replayed': 'ERR_SIGNATURE_REPLAYED',
      'hmac forged': 'ERR_SIGNATURE_INVALID',
      'rsa with body': 'OK',
      'rsa forged': 'ERR_SIGNATURE_INVALID',
      ed25519: 'OK',
      'ed25519 forged': 'ERR_SIGNATURE_INVALID',
      'body changed': 'ERR_DIGEST_MISMATCH',
      'unknown keyid': 'ERR_SIGNATURE_KEY_UNKNOWN',
      expired: 'ERR_SIGNATURE_EXPIRED',
      'no nonce': 'ERR_SIGNATURE_PARAM_MISSING',
      'Signature-Input unparsable': 'ERR_SIGNATURE_MALFORMED',
      'Signature not a byte sequence': 'ERR_SIGNATURE_MALFORMED',
      'Signature for another label': 'ERR_SIGNATURE_MALFORMED',
      'Signature without Signature-Input': 'ERR_SIGNATURE_MALFORMED',
    });
    secrets.expectNone(cap.emitted);
  });

  it('a replay store that fails with a secret in its error: 503 (or failed open) and nothing passed on', async () => {
    const storeError = rand();
    const local = new Secrets().text('store error text', storeError);
    for (const failOpen of [false, true]) {
      const cap = capture();
      const store = recordingStore(new MemoryStore({ now }), () => `READONLY You can't write against a read only replica (${storeError})`);
      const guard = createGuard({ ...options(cap, store as unknown as MemoryStore), failOpen: { signature: failOpen } });
      const d = await run(guard, cap, 'store down', signed(createSecretKey(hmacSecret), 'hmac-sha256', 'hmac-1'));
      expect(d).toMatchObject({ reason: 'ERR_STORE_UNAVAILABLE', outcome: failOpen ? 'allow' : 'deny' });
      cap.record('store keys', store.keys);
      local.expectNone(cap.emitted);
      secrets.expectNone(cap.emitted);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Web Bot Auth with key discovery: directory up, down; malformed Signature-Agent
// ---------------------------------------------------------------------------------------------

describe('no secrets in output: Web Bot Auth signatures and key directories', () => {
  const agent = ed25519Pair();
  const impostor = ed25519Pair();
  const secrets = ambient(new Secrets()).privateKey('agent private key', agent.privateKey).privateKey('impostor private key', impostor.privateKey);
  let directory: DirectoryServer;
  let broken: DirectoryServer;

  beforeAll(async () => {
    directory = await startDirectoryServer({ status: 200, headers: { 'cache-control': 'max-age=600' }, body: { keys: [agent.publicJwk] } });
    // A failing directory whose error page echoes what it was sent.
    broken = await startDirectoryServer((request) => ({ status: 500, body: JSON.stringify(request.headers) }));
  });
  afterAll(async () => {
    await directory.close();
    await broken.close();
  });

  const options = (cap: Capture, failOpen = false): GuardOptions => ({
    signatures: { directory: { fetch: { ca: TEST_CA, allowPrivateAddresses: true, resolve: resolveLocalhost } } },
    failOpen: { signature: failOpen },
    ...observed(cap),
  });

  function signedBy(origin: string, key = agent.privateKey, extra: { components?: string[]; legacy?: boolean } = {}): GuardRequest {
    const out = sign(
      { method: 'GET', url: URL_WITH_QUERY, headers: { host: 'api.example.com', cookie, 'x-api-key': apiKey } },
      {
        key,
        algorithm: 'ed25519',
        keyid: agent.thumbprint,
        components: extra.components ?? ['@authority', '"signature-agent";key="sig1"'],
        params: { created: NOW, expires: NOW + 300, keyid: agent.thumbprint, tag: 'web-bot-auth', nonce: rand(16) },
        agent: { url: origin, legacy: extra.legacy },
      },
    );
    secrets.signatureHeader('Web Bot Auth Signature', out.headers.signature!);
    return out;
  }

  it('verifies, refuses forgeries and malformed agents, survives directory failures, and leaks nothing', async () => {
    for (const failOpen of [false, true]) {
      const cap = capture();
      const guard = createGuard(options(cap, failOpen));
      const good = signedBy(directory.origin);
      const got = await reasons(guard, cap, [
        ['good', good],
        ['forged', signedBy(directory.origin, impostor.privateKey)],
        ['agent not covered', signedBy(directory.origin, agent.privateKey, { components: ['@authority'] })],
        ['Signature-Agent malformed', { ...good, headers: { ...(good.headers as Record<string, string>), 'signature-agent': `sig1="${rand()}` } }],
        ['directory answers 500', signedBy(broken.origin)],
        ['directory unreachable', signedBy('https://localhost:1')],
      ]);
      expect(got).toEqual({
        good: 'OK',
        forged: 'ERR_SIGNATURE_INVALID',
        'agent not covered': 'ERR_SIGNATURE_COVERAGE_INSUFFICIENT',
        'Signature-Agent malformed': 'ERR_SIGNATURE_MALFORMED',
        'directory answers 500': 'ERR_DIRECTORY_UNAVAILABLE',
        'directory unreachable': 'ERR_DIRECTORY_UNAVAILABLE',
      });
      expect(cap.lines.filter((l) => l.msg === 'bonafide: key directory fetch failed')).toHaveLength(2);
      secrets.expectNone(cap.emitted);
      await guard.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Installation signatures (the key in the Approov token's ipk)
// ---------------------------------------------------------------------------------------------

describe('no secrets in output: installation signatures', () => {
  const secret = approovSecret();
  const install = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const otherInstall = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ipk = install.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const secrets = ambient(new Secrets())
    .bytes('Approov secret', secret.bytes)
    .privateKey('install private key', install.privateKey)
    .privateKey('other install private key', otherInstall.privateKey);

  function installRequest(claims: object, key: KeyObject, nonce = rand(16)): GuardRequest {
    const token = hs256(claims, secret.bytes);
    secrets.token('install token', token);
    const out = sign(
      { method: 'POST', url: URL_WITH_QUERY, headers: { host: 'api.example.com', cookie, 'x-api-key': apiKey, 'approov-token': token } },
      { key, algorithm: 'ecdsa-p256-sha256', keyid: 'unused', label: 'install', components: ['@method', '@target-uri', 'approov-token'], params: { created: NOW, nonce } },
    );
    secrets.signatureHeader('install Signature', out.headers.signature!);
    return out;
  }

  it('verifies, refuses another installation key, a token without ipk and a replay, and leaks nothing', async () => {
    const cap = capture();
    const guard = createGuard({ attestation: { approov: { secret: secret.base64 } }, installSignature: true, ...observed(cap) });
    const good = installRequest({ exp: NOW + 60, ipk }, install.privateKey);
    expect(
      await reasons(guard, cap, [
        ['good', good],
        ['replayed', good],
        ['other key', installRequest({ exp: NOW + 60, ipk }, otherInstall.privateKey)],
        ['no ipk', installRequest({ exp: NOW + 60 }, install.privateKey)],
        ['bad ipk', installRequest({ exp: NOW + 60, ipk: rand(40) }, install.privateKey)],
      ]),
    ).toEqual({
      good: 'OK',
      replayed: 'ERR_SIGNATURE_REPLAYED',
      'other key': 'ERR_SIGNATURE_INVALID',
      'no ipk': 'ERR_INSTALL_KEY_MISSING',
      'bad ipk': 'ERR_INSTALL_KEY_INVALID',
    });
    secrets.expectNone(cap.emitted);
  });
});

// ---------------------------------------------------------------------------------------------
// Policy: rate limits keyed by token and by API key, store failures, refused updates
// ---------------------------------------------------------------------------------------------

describe('no secrets in output: policy, rate limits and store failures', () => {
  const secret = approovSecret();
  const token = hs256({ exp: NOW + 60, did: 'device-7' }, secret.bytes);
  const storeError = rand();
  const secrets = ambient(new Secrets()).bytes('Approov secret', secret.bytes).token('token', token).text('store error text', storeError);
  const policy = {
    metadata: { version: 1 },
    default: { action: 'allow', rateLimit: { limit: 2, period: '1m', key: 'token' } },
    rules: [{ id: 'partner', match: { headers: { 'x-partner': true } }, action: 'allow', rateLimit: { limit: 1, period: '1m', key: 'header:x-api-key' } }],
  } as const;

  it('rate-limits by hashed keys, refuses bad updates, fails closed or open on a failing store, and leaks nothing', async () => {
    for (const failOpen of [false, true]) {
      const cap = capture();
      let failing = false;
      const store = recordingStore(new MemoryStore({ now }), () => (failing ? `ECONNRESET after ${storeError}` : undefined));
      const guard = createGuard({
        attestation: { approov: { secret: secret.base64 } },
        policy: policy as never,
        store,
        failOpen: { rateLimit: failOpen },
        ...observed(cap),
      });
      guard.policy!.on('applied', (event) => cap.record('policy applied event', event));
      guard.policy!.on('refused', (event) => cap.record('policy refused event', event));
      const plain = req({ 'approov-token': token });
      const partner = req({ 'approov-token': token, 'x-partner': '1' });
      const before = await reasons(guard, cap, [
        ['first', plain],
        ['second', plain],
        ['third (limited)', plain],
        ['partner', partner],
        ['partner again (limited)', partner],
      ]);
      expect(before).toEqual({
        first: 'OK',
        second: 'OK',
        'third (limited)': 'ERR_RATE_LIMITED',
        partner: 'OK',
        'partner again (limited)': 'ERR_RATE_LIMITED',
      });
      expect(guard.policy!.update({ metadata: { version: 0 }, default: { action: 'deny' } })).toMatchObject({ ok: false, code: 'ERR_POLICY_STALE' });
      expect(guard.policy!.update({ metadata: { version: 2 }, default: { action: 'sometimes' } })).toMatchObject({ ok: false, code: 'ERR_POLICY_INVALID' });
      expect(guard.policy!.update({ ...policy, metadata: { version: 3 } })).toMatchObject({ ok: true, version: 3 });
      failing = true;
      const down = await run(guard, cap, 'store down', req({ 'approov-token': token, 'x-partner': '1', 'x-api-key': rand() }));
      expect(down).toMatchObject({ reason: 'ERR_STORE_UNAVAILABLE', outcome: failOpen ? 'allow' : 'deny' });
      // The store itself only ever saw hashed keys.
      cap.record('store keys', store.keys);
      expect(store.keys.every((k) => /^rl:(default|partner):[A-Za-z0-9_-]{22}$/.test(k))).toBe(true);
      secrets.expectNone(cap.emitted);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Hooks and requests that throw, with secrets in their error messages
// ---------------------------------------------------------------------------------------------

describe('no secrets in output: errors thrown by hooks and by the request', () => {
  const secret = approovSecret();
  const token = hs256({ exp: NOW + 60 }, secret.bytes);
  const thrown = rand();
  const secrets = ambient(new Secrets()).bytes('Approov secret', secret.bytes).token('token', token).text('thrown text', thrown);

  it('logs only the error name', async () => {
    const cap = capture();
    const guard = createGuard({
      attestation: { approov: { secret: secret.base64 } },
      ...observed(cap),
      onDecision: (decision) => {
        cap.record('onDecision', decision);
        throw new Error(`hook failed on ${token} ${thrown}`);
      },
      metrics: {
        decision: () => {
          throw new Error(`metrics failed ${thrown}`);
        },
      },
    });
    await run(guard, cap, 'hook throws', req({ 'approov-token': token }));
    const headers = {
      get(name: string): string | null {
        throw new Error(`cannot read ${name}: ${thrown} ${token}`);
      },
    };
    const d = await guard.check({ method: 'GET', url: URL_WITH_QUERY, headers });
    const explained = await guard.explain!({ method: 'GET', url: URL_WITH_QUERY, headers });
    cap.record('headers throw: explain()', explained);
    expect(explained.reason).toBe('ERR_INTERNAL');
    cap.record('headers throw: decision', d);
    cap.record('headers throw: respond()', guard.respond(d));
    expect(d).toMatchObject({ outcome: 'deny', status: 503, reason: 'ERR_INTERNAL' });
    expect(cap.lines.filter((l) => l.msg === 'bonafide: onDecision threw').map((l) => l.obj)).toContainEqual({ err: { name: 'Error' } });
    secrets.expectNone(cap.emitted);
  });
});
