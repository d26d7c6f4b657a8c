import { createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { parseDictionary, serializeDictionary } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { createGuard, type Decision, type Guard } from '../../src/index.js';
import { isBase64Url } from '../../src/lib/base64.js';
import { serializeMember } from '../../src/signatures/structured-fields.js';
import { ed25519Pair, sign } from '../helpers/http-sig.js';
import { approovSecret, ecKeys, hs256, signAsymmetric } from '../helpers/jws.js';
import { fuzz, TIMEOUT } from './settings.js';

/**
 * Property (b): one valid signed request carrying one valid attestation token is allowed; changing
 * any single character of a signed component (method, authority, path, query, a covered header's
 * value or name), of the Signature / Signature-Input / Signature-Agent fields, or of the token turns
 * the allow into a deny.
 *
 * Some changes do not change what the request means, and must not be counted as tampering. Each is
 * recognised explicitly, from the specification that makes it harmless:
 *  - Header names are case-insensitive (RFC 9110 §5.1): `accept` → `Accept` is the same field.
 *  - The host is case-insensitive and `@authority` is its lower-cased form (RFC 9421 §2.2.3).
 *  - A structured field's meaning is its parsed value (RFC 8941): two texts that parse to the same
 *    value (compared through the library's canonical serialization) are the same field. This is what
 *    makes the non-zero pad bits of a byte sequence harmless: base64 `…Q==` and `…R==` decode to the
 *    same bytes, and RFC 8941 §4.2.7 says parsers SHOULD NOT fail on non-zero pad bits. Such changes
 *    must still be allowed.
 *  - The token's signature segment: base64url of 32 (HS256) or 64 (ES256) bytes ends in a character
 *    that carries 2 or 4 unused bits, so a few different last characters decode to the same
 *    signature bytes. bonafide (like most JOSE libraries) compares the decoded bytes; whether such a
 *    token is accepted is left open here (either decision is fine), but it must not crash.
 * Every other change must deny.
 */

const NOW = 1_800_000_000;

type Req = { method: string; scheme: string; host: string; path: string; query: string; headers: Record<string, string> };

const urlOf = (r: Req): string => `${r.scheme}://${r.host}${r.path}?${r.query}`;
const toGuardRequest = (r: Req) => ({ method: r.method, url: urlOf(r), headers: r.headers });

interface Setup {
  readonly guard: Guard;
  readonly request: Req;
  /** The header carrying the attestation token. */
  readonly tokenHeader: string;
}

const COVERED_HEADERS = ['accept', 'x-tenant'];

function webBotAuth(): Setup {
  const secret = approovSecret();
  const agent = ed25519Pair();
  const guard = createGuard({
    attestation: { approov: { secret: secret.base64 } },
    signatures: { keys: [agent.publicJwk], directory: false, replay: false },
    require: { attestation: 'required', signature: 'required' },
    now: () => NOW * 1000,
  });
  const base = { method: 'POST', scheme: 'https', host: 'api.example.com', path: '/v1/items/42', query: 'q=abc&x=1' };
  const signed = sign(
    { method: base.method, url: urlOf({ ...base, headers: {} }), headers: { host: 'api.example.com', accept: 'application/json', 'x-tenant': 'acme-corp' } },
    {
      key: agent.privateKey,
      algorithm: 'ed25519',
      keyid: agent.thumbprint,
      components: ['@method', '@authority', '@path', '@query', 'accept', 'x-tenant', '"signature-agent";key="sig1"'],
      params: { created: NOW - 10, expires: NOW + 290, keyid: agent.thumbprint, nonce: 'bm9uY2U', tag: 'web-bot-auth' },
      agent: { url: 'https://agent.example' },
    },
  );
  const headers = { ...signed.headers, 'approov-token': hs256({ exp: NOW + 60, did: 'device-1' }, secret.bytes) };
  return { guard, request: { ...base, headers }, tokenHeader: 'approov-token' };
}

function rfc9421Hmac(): Setup {
  const secret = randomBytes(32);
  const issuer = ecKeys();
  const guard = createGuard({
    attestation: { jwt: { header: 'X-App-Token', scheme: null, algorithms: ['ES256'], keys: [issuer.publicKey], issuer: 'https://issuer.example' } },
    signatures: { profile: 'rfc9421', keys: [{ keyid: 'k1', secret }], replay: false },
    require: { attestation: 'required', signature: 'required' },
    now: () => NOW * 1000,
  });
  const base = { method: 'GET', scheme: 'https', host: 'api.example.com:8443', path: '/v1/a', query: 'b=c' };
  const signed = sign(
    { method: base.method, url: urlOf({ ...base, headers: {} }), headers: { accept: 'text/plain', 'x-tenant': 't1' } },
    { key: createSecretKey(secret), algorithm: 'hmac-sha256', keyid: 'k1', label: 'req', components: ['@method', '@authority', '@path', '@query', 'accept', 'x-tenant'], params: { created: NOW - 1, keyid: 'k1' } },
  );
  const token = signAsymmetric('ES256', { exp: NOW + 60, iss: 'https://issuer.example', sub: 'app' }, issuer.privateKey);
  return { guard, request: { ...base, headers: { ...signed.headers, 'x-app-token': token } }, tokenHeader: 'x-app-token' };
}

/** Where a change is made: one string of the request, how to put it back, and whether a change there can be harmless. */
interface Target {
  readonly name: string;
  get(r: Req): string;
  set(r: Req, value: string): Req;
  /** `same`: the change is harmless and must be allowed; `either`: harmless-looking, either decision is fine; `different`: must deny. */
  judge(original: string, mutated: string): 'same' | 'either' | 'different';
}

const never = (): 'different' => 'different';

function canonicalDictionary(text: string): string | undefined {
  try {
    return serializeDictionary(parseDictionary(text));
  } catch {
    return undefined;
  }
}

function canonicalMember(text: string, key: string): string | undefined {
  try {
    const member = parseDictionary(text).get(key);
    return member === undefined ? undefined : serializeMember(member);
  } catch {
    return undefined;
  }
}

function targetsOf(setup: Setup): Target[] {
  const { request, tokenHeader } = setup;
  const header = (name: string, judge: Target['judge'] = never): Target => ({
    name: `header ${name}`,
    get: (r) => r.headers[name]!,
    set: (r, value) => ({ ...r, headers: { ...r.headers, [name]: value } }),
    judge,
  });
  const headerName = (name: string): Target => ({
    name: `name of ${name}`,
    get: () => name,
    set: (r, value) => {
      const { [name]: kept, ...rest } = r.headers;
      return { ...r, headers: { ...rest, [value]: kept! } };
    },
    judge: (original, mutated) => (original.toLowerCase() === mutated.toLowerCase() ? 'same' : 'different'),
  });
  const targets: Target[] = [
    { name: 'method', get: (r) => r.method, set: (r, method) => ({ ...r, method }), judge: never },
    {
      name: 'authority',
      get: (r) => r.host,
      set: (r, host) => ({ ...r, host }),
      judge: (original, mutated) => (original.toLowerCase() === mutated.toLowerCase() ? 'same' : 'different'),
    },
    { name: 'path', get: (r) => r.path, set: (r, path) => ({ ...r, path }), judge: never },
    { name: 'query', get: (r) => r.query, set: (r, query) => ({ ...r, query }), judge: never },
    ...COVERED_HEADERS.map((name) => header(name)),
    ...COVERED_HEADERS.map(headerName),
    headerName('signature'),
    headerName('signature-input'),
    header('signature', (original, mutated) => {
      const canonical = canonicalDictionary(mutated);
      return canonical !== undefined && canonical === canonicalDictionary(original) ? 'same' : 'different';
    }),
    header('signature-input', (original, mutated) => {
      const canonical = canonicalDictionary(mutated);
      return canonical !== undefined && canonical === canonicalDictionary(original) ? 'same' : 'different';
    }),
    header(tokenHeader, (original, mutated) => {
      const [h, p, s] = original.split('.');
      const parts = mutated.split('.');
      if (parts.length !== 3 || parts[0] !== h || parts[1] !== p || !isBase64Url(parts[2]!)) return 'different';
      return Buffer.from(parts[2]!, 'base64url').equals(Buffer.from(s!, 'base64url')) ? 'either' : 'different';
    }),
  ];
  if (request.headers['signature-agent'] !== undefined) {
    targets.push(
      header('signature-agent', (original, mutated) => {
        const member = canonicalMember(mutated, 'sig1');
        return member !== undefined && member === canonicalMember(original, 'sig1') ? 'same' : 'different';
      }),
      headerName('signature-agent'),
    );
  }
  return targets;
}

function replaceAt(text: string, at: number, c: string): string {
  return text.slice(0, at) + c + text.slice(at + 1);
}

async function decide(guard: Guard, r: Req): Promise<Decision> {
  return guard.check(toGuardRequest(r));
}

describe.each([
  ['Web Bot Auth (ed25519) + Approov (HS256)', webBotAuth],
  ['RFC 9421 (hmac-sha256) + JWT (ES256)', rfc9421Hmac],
])('fuzz: one changed character turns allow into deny — %s', (_name, build) => {
  const setup = build();
  const targets = targetsOf(setup);

  async function expectJudged(target: Target, at: number, c: string): Promise<void> {
    const original = target.get(setup.request);
    const mutated = replaceAt(original, at, c);
    if (mutated === original) return;
    const verdict = target.judge(original, mutated);
    const decision = await decide(setup.guard, target.set(setup.request, mutated));
    const seen = { target: target.name, at, c: c.charCodeAt(0).toString(16), verdict, outcome: decision.outcome, reason: decision.reason };
    if (verdict === 'same') expect(seen).toMatchObject({ outcome: 'allow', reason: 'OK' });
    else if (verdict === 'different') expect(seen).toMatchObject({ outcome: 'deny' });
    else expect(['allow', 'deny']).toContain(decision.outcome);
  }

  it('allows the request as signed (the fixture works)', async () => {
    const decision = await decide(setup.guard, setup.request);
    expect({ outcome: decision.outcome, reason: decision.reason }).toEqual({ outcome: 'allow', reason: 'OK' });
  });

  it(
    'denies a random single-character change of any signed part',
    async () => {
      const change = fc
        .tuple(
          fc.nat({ max: targets.length - 1 }),
          fc.nat(),
          fc.oneof(
            { weight: 8, arbitrary: fc.integer({ min: 0, max: 0xff }) },
            { weight: 1, arbitrary: fc.integer({ min: 0x100, max: 0xffff }) },
            { weight: 3, arbitrary: fc.constantFrom(0x20, 0x09, 0x2c, 0x3b, 0x3d, 0x22, 0x3a, 0x28, 0x29, 0x2e, 0x2f, 0x3f, 0x23, 0x25, 0x41, 0x61) },
          ),
        )
        .map(([t, at, code]) => {
          const target = targets[t]!;
          return { target, at: at % target.get(setup.request).length, c: String.fromCharCode(code) };
        });
      await fc.assert(
        fc.asyncProperty(change, ({ target, at, c }) => expectJudged(target, at, c)),
        fuzz(2),
      );
    },
    TIMEOUT,
  );

  it(
    'denies every single-bit flip of every character of every signed part (exhaustive)',
    async () => {
      let changes = 0;
      let harmless = 0;
      for (const target of targets) {
        const original = target.get(setup.request);
        for (let at = 0; at < original.length; at++) {
          const code = original.charCodeAt(at);
          // Bit 5 is the ASCII case bit; bit 0 the lowest: together they reach the near misses.
          for (const bit of [0x01, 0x20]) {
            const c = String.fromCharCode(code ^ bit);
            if (target.judge(original, replaceAt(original, at, c)) !== 'different') harmless++;
            await expectJudged(target, at, c);
            changes++;
          }
        }
      }
      // Harmless changes exist (case of names and host, pad bits) but are the exception.
      expect(harmless).toBeGreaterThan(0);
      expect(harmless).toBeLessThan(changes / 10);
    },
    TIMEOUT,
  );
});
