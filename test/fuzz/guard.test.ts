import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGuard, REASONS, type Decision, type Guard, type GuardOptions, type GuardRequest, type PolicyDocument } from '../../src/index.js';
import { contentDigest } from '../../src/signatures/content-digest.js';
import { ed25519Pair, sign } from '../helpers/http-sig.js';
import { approovSecret, ecKeys, hs256, payHash, signAsymmetric } from '../helpers/jws.js';
import { anyString, damaged, ipLike, methodLike, separators, sfLike, tokenLike, urlLike } from './arbitraries.js';
import { fuzz, TIMEOUT } from './settings.js';

/**
 * Property (a): whatever the request, `guard.check` resolves a Decision — never a throw, never a
 * rejection — whose reason is a code of REASONS and whose status is that code's. Bad input must
 * become a specific code: ERR_INTERNAL (an exception caught inside the guard) is only acceptable for
 * a request object that itself throws (a header reader or body reader that throws), never for bad
 * header values, URLs or methods.
 */

const NOW = 1_800_000_000;
const secret = approovSecret();
const partner = ecKeys();
const partnerSecret = randomBytes(32);
const agent = ed25519Pair();
const hmacSecret = randomBytes(32);
const install = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ipk = install.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

const policy: PolicyDocument = {
  metadata: { version: 1 },
  lists: {
    bad: { userAgents: ['*evil*', 'curl/*', '*bot*crawl*x'], networks: ['203.0.113.0/24', '2001:db8:bad::/48'], principals: ['id:app:bad', 'thumbprint:nope'] },
    good: { networks: ['198.51.100.0/24', '::ffff:192.0.2.0/120'], principals: [{ value: `thumbprint:${agent.thumbprint}`, expiresAt: '2099-01-01T00:00:00Z' }] },
  },
  categories: { 'app:approov': { categories: ['mobile'] } },
  rules: [
    { id: 'keyed', match: { headers: { 'x-api-key': true } }, action: 'allow', rateLimit: { limit: 1_000_000, period: '1m', key: 'header:x-api-key' } },
    { id: 'feeds', match: { route: { path: '/feeds/**' } }, require: 'signature', action: 'allow' },
    { id: 'admin', match: { route: { path: '/admin/:x', methods: ['POST'] } }, action: 'challenge' },
    { id: 'claims', match: { principal: { claims: { did: ['d1', 7, true] } } }, action: 'allow', rateLimit: { limit: 1_000_000, period: 1, key: 'token' } },
    { id: 'by-ip', match: { network: ['10.0.0.0/8', '::/0'] }, action: 'rate-limit', rateLimit: { limit: 1_000_000, period: '1h', key: 'ip', ipv6Prefix: 48 } },
    { id: 'dry', match: { principal: { kind: ['agent', 'service'] } }, action: 'deny', mode: 'dry-run' },
  ],
  default: { action: 'allow', rateLimit: { limit: 1_000_000, period: '1s', algorithm: 'sliding-window' } },
};

/** Internal errors the guard logged: a bad request must never get here. */
const internalErrors: string[] = [];
const logger = {
  info: () => undefined,
  warn: () => undefined,
  error: (obj: object, msg?: string) => {
    if (msg?.includes('internal error')) internalErrors.push(JSON.stringify(obj));
  },
};

const common: Partial<GuardOptions> = { now: () => NOW * 1000, logger, policy };

/** Guards covering the configurations that read different parts of a request. */
const guards: Record<string, Guard> = {
  strict: createGuard({
    ...common,
    attestation: {
      approov: { secret: secret.base64 },
      jwt: { name: 'partner', header: 'X-Partner-Token', scheme: 'Bearer', algorithms: ['ES256', 'HS256'], keys: [partner.publicKey, { secret: partnerSecret }], issuer: ['partner'], audience: 'api' },
    },
    signatures: { keys: [agent.publicJwk], directory: false, require: { contentDigest: true } },
    require: { attestation: 'required', signature: 'required' },
    routes: [
      { path: '/monitor/**', mode: 'monitor' },
      { path: '/upload', methods: ['POST', 'PUT'], signature: { components: ['@method', '@path', 'content-digest'] } },
      { path: '/health', require: { attestation: 'off', signature: 'off' } },
    ],
  }),
  optional: createGuard({
    ...common,
    attestation: { approov: { secret: secret.base64, binding: ['authorization', 'x-device'] } },
    signatures: { profile: 'rfc9421', keys: [{ keyid: 'hmac', secret: hmacSecret }, { keyid: 'agent', key: agent.publicJwk }], maxAge: 300, requireNonce: true },
    installSignature: true,
    require: { attestation: 'optional', signature: 'optional', installSignature: 'optional' },
    failOpen: { signature: true },
  }),
  either: createGuard({
    ...common,
    mode: 'monitor',
    attestation: { jwt: { algorithms: ['EdDSA', 'ES256'], keys: [partner.publicKey, agent.publicJwk] } },
    signatures: { keys: [agent.publicJwk], directory: false, require: { components: ['@method', '"@query-param";name="id"'], parameters: ['nonce'] } },
    require: { attestation: 'optional', signature: 'optional' },
    cache: { tokens: 0 },
  }),
};

const goodToken = () => hs256({ exp: NOW + 60, did: 'd1', ipk }, secret.bytes);
const partnerToken = () => signAsymmetric('ES256', { exp: NOW + 60, iss: 'partner', aud: ['api', 'x'], sub: 'acme' }, partner.privateKey);

const BODY = Buffer.from('{"a":1}');
let nonces = 0;

type ValidRequest = { method: string; url: string; headers: Record<string, string>; readBody: (maxBytes: number) => Promise<Uint8Array | undefined> };

/** Per guard, a request it allows: the starting point of the "near-valid" inputs (a fresh nonce each time). */
const validRequests: Record<string, () => ValidRequest> = {
  strict: () => {
    const signed = sign(
      {
        method: 'POST',
        url: 'https://api.example.com/upload?id=7',
        headers: { host: 'api.example.com', 'approov-token': goodToken(), 'content-digest': contentDigest(BODY), 'content-length': String(BODY.length), 'user-agent': 'agent/1.0' },
      },
      {
        key: agent.privateKey,
        algorithm: 'ed25519',
        keyid: agent.thumbprint,
        components: ['@method', '@authority', '@path', '@query', 'content-digest', '"signature-agent";key="sig1"'],
        params: { created: NOW - 5, expires: NOW + 60, keyid: agent.thumbprint, nonce: `n${++nonces}`, tag: 'web-bot-auth' },
        agent: { url: 'https://agent.example' },
      },
    );
    return { ...signed, readBody: readerOf({ kind: 'bytes', bytes: BODY }) };
  },
  optional: () => {
    const token = hs256({ exp: NOW + 60, did: 'd1', ipk, pay: payHash('Bearer abc', 'device-1') }, secret.bytes);
    const base = { method: 'PUT', url: 'https://api.example.com/v1/items/9?x=1&y=2', headers: { 'approov-token': token, authorization: 'Bearer abc', 'x-device': 'device-1', 'content-type': 'application/json' } };
    const signed = sign(base, { key: createSecretKey(hmacSecret), algorithm: 'hmac-sha256', keyid: 'hmac', components: ['@method', '@target-uri', 'content-type', '"authorization";bs'], params: { created: NOW - 5, keyid: 'hmac', nonce: `n${++nonces}` } });
    const both = sign(signed, { key: install.privateKey, algorithm: 'ecdsa-p256-sha256', keyid: 'unused', label: 'install', components: ['@method', '@target-uri', 'approov-token'], params: { created: NOW } });
    return { ...both, readBody: readerOf({ kind: 'none' }) };
  },
  either: () => {
    const token = signAsymmetric('EdDSA', { exp: NOW + 60, sub: 'svc' }, agent.privateKey);
    const signed = sign(
      { method: 'GET', url: 'https://api.example.com/v1/items?id=a%20b&id2=x', headers: { authorization: `Bearer ${token}` } },
      {
        key: agent.privateKey,
        algorithm: 'ed25519',
        keyid: agent.thumbprint,
        label: 'agent',
        components: ['@method', '@authority', '"@query-param";name="id"', '"signature-agent"'],
        params: { created: NOW - 5, expires: NOW + 60, keyid: agent.thumbprint, nonce: `n${++nonces}`, tag: 'web-bot-auth' },
        agent: { url: 'https://agent.example', legacy: true },
      },
    );
    return { ...signed, readBody: readerOf({ kind: 'none' }) };
  },
};

const HEADER_NAMES = [
  'signature', 'signature-input', 'signature-agent', 'approov-token', 'authorization', 'x-partner-token', 'x-device',
  'content-digest', 'content-length', 'transfer-encoding', 'user-agent', 'host', 'x-api-key', 'accept',
  'Signature', 'SIGNATURE-INPUT', 'Approov-Token', '__proto__', 'constructor', 'tostring',
];

const headerValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: sfLike },
  { weight: 2, arbitrary: tokenLike },
  { weight: 1, arbitrary: anyString(60) },
  { weight: 1, arbitrary: separators(60) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '0', '-1', '1e3', 'chunked', 'Mozilla/5.0 evil', 'curl/8', `Bearer ${partnerToken()}`, goodToken()) },
);

const headerField: fc.Arbitrary<string | string[] | number | undefined> = fc.oneof(
  { weight: 6, arbitrary: headerValue },
  { weight: 1, arbitrary: fc.array(headerValue, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double()) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/** Plain header records as Node frameworks hand them over (own `__proto__` keys included). */
const headerRecord = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.string({ maxLength: 12 })), headerField), { maxLength: 8 })
  .map((entries) => Object.fromEntries(entries) as Record<string, string | string[] | number | undefined>);

type Body = { kind: 'bytes'; bytes: Uint8Array } | { kind: 'none' } | { kind: 'reject' } | { kind: 'too-large' };

const bodyArb: fc.Arbitrary<Body | undefined> = fc.option(
  fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((bytes): Body => ({ kind: 'bytes', bytes })),
    fc.constant<Body>({ kind: 'bytes', bytes: Buffer.from('{"a":1}') }),
    fc.constantFrom<Body>({ kind: 'none' }, { kind: 'reject' }, { kind: 'too-large' }),
  ),
  { nil: undefined },
);

function readerOf(body: Body): (maxBytes: number) => Promise<Uint8Array | undefined> {
  return async (maxBytes) => {
    if (body.kind === 'bytes') {
      if (body.bytes.length > maxBytes) throw new Error('too large');
      return body.bytes;
    }
    if (body.kind === 'none') return undefined;
    throw new Error(body.kind);
  };
}

interface Case {
  readonly input: GuardRequest;
  /** True when the request object itself throws (an adapter bug): ERR_INTERNAL is then the right answer. */
  readonly hostile: boolean;
}

const arbitraryRequest: fc.Arbitrary<Case> = fc
  .record({ method: methodLike, url: urlLike, headers: headerRecord, ip: fc.option(ipLike, { nil: undefined }), body: bodyArb })
  .map(({ method, url, headers, ip, body }) => ({
    input: { method, url, headers, ...(ip !== undefined && { ip }), ...(body !== undefined && { readBody: readerOf(body) }) },
    hostile: false,
  }));

type Edit =
  | { op: 'set'; name: string; value: string | string[] | number | undefined }
  | { op: 'damage'; name: string; at: number; c: string }
  | { op: 'split'; name: string }
  | { op: 'rename'; name: string; to: string }
  | { op: 'method'; value: string }
  | { op: 'url'; value: string }
  | { op: 'url-damage'; at: number; c: string };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), name: fc.constantFrom(...HEADER_NAMES), value: headerField }),
  fc.record({ op: fc.constant('damage' as const), name: fc.constantFrom(...HEADER_NAMES), at: fc.nat(), c: fc.oneof(fc.constantFrom(' ', ',', ';', '"', ':', '=', '(', ')', '\n', '\\'), anyString(1)) }),
  fc.record({ op: fc.constant('split' as const), name: fc.constantFrom(...HEADER_NAMES) }),
  fc.record({ op: fc.constant('rename' as const), name: fc.constantFrom(...HEADER_NAMES), to: fc.constantFrom('SIGNATURE', 'Signature-Agent', 'x-other', 'approov-token ', 'Content-Digest') }),
  fc.record({ op: fc.constant('method' as const), value: methodLike }),
  fc.record({ op: fc.constant('url' as const), value: urlLike }),
  fc.record({ op: fc.constant('url-damage' as const), at: fc.nat(), c: fc.oneof(fc.constantFrom('/', '?', '#', '%', '.', ':', '@', 'A'), anyString(1)) }),
);

function applyEdits(name: string, edits: readonly Edit[]): GuardRequest {
  const request = validRequests[name]!();
  const headers: Record<string, string | string[] | number | undefined> = { ...request.headers };
  let { method, url } = request;
  for (const edit of edits) {
    switch (edit.op) {
      case 'set':
        headers[edit.name] = edit.value;
        break;
      case 'damage': {
        const value = headers[edit.name];
        if (typeof value === 'string') {
          const i = edit.at % (value.length + 1);
          headers[edit.name] = value.slice(0, i) + edit.c + value.slice(i + 1);
        }
        break;
      }
      case 'split': {
        const value = headers[edit.name];
        if (typeof value === 'string') headers[edit.name] = value.split(', ');
        break;
      }
      case 'rename':
        headers[edit.to] = headers[edit.name];
        delete headers[edit.name];
        break;
      case 'method':
        method = edit.value;
        break;
      case 'url':
        url = edit.value;
        break;
      case 'url-damage': {
        const i = edit.at % (url.length + 1);
        url = url.slice(0, i) + edit.c + url.slice(i + 1);
        break;
      }
    }
  }
  return { method, url, headers, readBody: request.readBody };
}

/** The valid request, then a few edits: reaches the checks behind parsing (time, coverage, crypto, digest, policy). */
const nearValidRequest = (name: string): fc.Arbitrary<Case> =>
  fc.array(editArb, { minLength: 1, maxLength: 4 }).map((edits) => ({ input: applyEdits(name, edits), hostile: false }));

/** Request objects that break the GuardRequest contract: throwing readers, wrong types, not an object at all. */
const hostileRequest: fc.Arbitrary<Case> = fc.oneof(
  fc.anything({ maxDepth: 2 }).map((input) => ({ input: input as GuardRequest, hostile: true })),
  fc.record({ method: methodLike, url: urlLike, value: fc.oneof(fc.constant('throw'), fc.anything({ maxDepth: 1 })) }).map(({ method, url, value }) => ({
    input: {
      method,
      url,
      headers: {
        get: (): string | null => {
          if (value === 'throw') throw new Error('reader');
          return value as string;
        },
      },
    },
    hostile: true,
  })),
  fc.record({ method: methodLike, url: urlLike }).map(({ method, url }) => ({
    input: {
      ...validRequests.strict!(),
      method,
      url,
      readBody: () => {
        throw new Error('synchronous throw');
      },
    },
    hostile: true,
  })),
);

function expectWellFormed(decision: Decision, hostile: boolean): void {
  expect(Object.keys(REASONS)).toContain(decision.reason);
  if (decision.outcome === 'allow') {
    expect(decision.status).toBe(200);
  } else {
    expect(decision.outcome).toBe('deny');
    expect(decision.reason).not.toBe('OK');
    expect(decision.status).toBe(REASONS[decision.reason].status);
  }
  expect(Number.isFinite(decision.durationMs)).toBe(true);
  expect(() => JSON.stringify(decision)).not.toThrow();
  if (!hostile) expect(decision.reason).not.toBe('ERR_INTERNAL');
}

async function checkCase(name: string, { input, hostile }: Case): Promise<void> {
  const guard = guards[name]!;
  const before = internalErrors.length;
  let decision: Decision;
  try {
    decision = await guard.check(input);
  } catch (error) {
    throw new Error(`guard.check rejected: ${String(error)}`);
  }
  expectWellFormed(decision, hostile);
  if (!hostile) expect(internalErrors.slice(before)).toEqual([]);
  if (decision.outcome === 'deny') expect(() => guard.respond(decision)).not.toThrow();
}

describe('fuzz: guard.check always resolves a well-formed Decision', () => {
  const names = Object.keys(guards);

  it.each(names)('the valid request is allowed by the %s guard (the fixture works)', async (name) => {
    const d = await guards[name]!.check(validRequests[name]!());
    // Every verifier that ran verified something (the rfc9421 verifier also sees the `install` label, which it cannot use).
    const verified = [...new Set(d.checks.map((c) => c.verifier))].filter((v) => d.checks.some((c) => c.verifier === v && c.reason === 'OK'));
    expect({ outcome: d.outcome, reason: d.reason, monitor: d.monitor, verified }).toEqual({
      outcome: 'allow',
      reason: 'OK',
      monitor: false,
      verified: [...new Set(d.checks.map((c) => c.verifier))],
    });
  });

  it(
    'for arbitrary requests',
    async () => {
      await fc.assert(fc.asyncProperty(fc.constantFrom(...names), arbitraryRequest, checkCase), fuzz(1));
    },
    TIMEOUT,
  );

  it(
    'for a valid request with a few edits',
    async () => {
      const arb = fc.constantFrom(...names).chain((name) => fc.tuple(fc.constant(name), nearValidRequest(name)));
      await fc.assert(fc.asyncProperty(arb, ([name, c]) => checkCase(name, c)), fuzz(1));
    },
    TIMEOUT,
  );

  it(
    'for request objects that break the contract (ERR_INTERNAL allowed, a throw or rejection is not)',
    async () => {
      await fc.assert(fc.asyncProperty(fc.constantFrom(...names), hostileRequest, checkCase), fuzz(0.5));
    },
    TIMEOUT,
  );

  it(
    'for arbitrary attestation tokens alone (the token path to the end)',
    async () => {
      const token = fc.oneof(tokenLike, damaged(fc.constant(goodToken())), damaged(fc.constant(`Bearer ${partnerToken()}`)));
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...names), token, token, async (name, a, b) => {
          await checkCase(name, { input: { method: 'GET', url: 'https://api.example.com/v1/items', headers: { 'approov-token': a, 'x-partner-token': b, authorization: b } }, hostile: false });
        }),
        fuzz(1),
      );
    },
    TIMEOUT,
  );
});
