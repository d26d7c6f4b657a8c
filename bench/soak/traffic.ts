/**
 * The soak's traffic: classes of requests, each with the outcome the guard must give it, and, for
 * some, the other outcomes it may give while a fault lasts (and for a short grace after).
 *
 * An outcome is `<status> <reason>`: the problem `code` of a deny, the decision's reason of an allow
 * (`200 OK`, or a failed-open reason), or `-` where nobody set one (a 431 from the HTTP server).
 */
import { createHash, createHmac, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import type { Jwk } from '../../src/index.js';
import { ed25519Pair, sign, type TestKeyPair } from '../../test/helpers/http-sig.js';
import { tokenFactory, type TokenFactory } from '../lib/tokens.js';
import type { Response, SoakRequest } from './client.js';
import { BINDING_HEADER, BURST_LIMIT, BURST_PERIOD_MS, CLIENT_HEADER, JWT_AUDIENCE, JWT_ISSUER, ROUTES } from './config.js';

/** What can be wrong with the guard's surroundings during a phase. */
export type FaultKind = 'directory' | 'jwks' | 'redis';

/** Keys, secrets and tokens shared by every server. */
export interface Material {
  readonly approov: TokenFactory;
  /** Same claims, another secret: tokens whose signature does not verify. */
  readonly forger: TokenFactory;
  /** Session ids the genuine tokens are bound to, with one token each (reused: the cache-hit path). */
  readonly sessions: readonly { readonly id: string; readonly token: string }[];
  readonly jwt: { readonly key: KeyObject; readonly kid: string; readonly jwks: { keys: Jwk[] }; readonly pool: readonly string[] };
  /** A key the JWKS does not hold. */
  readonly jwtStranger: { readonly key: KeyObject; readonly kid: string };
  /** The agent whose key the directory publishes. */
  readonly agent: TestKeyPair;
  /** A key no directory publishes. */
  readonly stranger: TestKeyPair;
  /** The key directory's origin (`https://localhost:<port>`), set once it listens. */
  directoryOrigin: string;
  /** A loopback port nobody listens on: an unreachable directory. */
  closedPort: number;
}

export function makeMaterial(): Material {
  const approov = tokenFactory();
  const sessions = Array.from({ length: 64 }, () => {
    const id = `sess-${randomBytes(9).toString('base64url')}`;
    return { id, token: approov.make({ bindTo: id }) };
  });
  const ec = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const jwtKey = ec();
  const publicJwk = { ...(jwtKey.export({ format: 'jwk' }) as Jwk), kid: 'soak-1', alg: 'ES256', use: 'sig' };
  delete (publicJwk as { d?: string }).d;
  const jwt = { key: jwtKey, kid: 'soak-1', jwks: { keys: [publicJwk] }, pool: [] as string[] };
  for (let i = 0; i < 16; i++) jwt.pool.push(signJwt(jwt.key, jwt.kid, { sub: `partner-${i}` }));
  return {
    approov,
    forger: tokenFactory(),
    sessions,
    jwt,
    jwtStranger: { key: ec(), kid: 'soak-unknown' },
    agent: ed25519Pair(),
    stranger: ed25519Pair(),
    directoryOrigin: '',
    closedPort: 0,
  };
}

/** An ES256 JWT for the generic verifier (raw r‖s signature, RFC 7518 §3.4). */
export function signJwt(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid, typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ iss: JWT_ISSUER, aud: JWT_AUDIENCE, iat: now, exp: now + 3600, ...claims })).toString('base64url');
  const input = `${header}.${payload}`;
  const signature = cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `${input}.${signature}`;
}

/** An Approov-shaped token with `alg: none` and no signature. */
function algNoneToken(sessionId: string): string {
  const header = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'none' })).toString('base64url');
  const pay = createHash('sha256').update(sessionId).digest('base64');
  const payload = Buffer.from(JSON.stringify({ exp: Date.now() / 1000 + 3600, did: randomBytes(8).toString('base64'), pay })).toString('base64url');
  return `${header}.${payload}.`;
}

/** A genuinely signed token (right secret) whose claims make it larger than the 8 KiB cap. */
function oversizedToken(material: Material, sessionId: string): string {
  const secret = material.approov.secret;
  const header = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'HS256' })).toString('base64url');
  const pay = createHash('sha256').update(sessionId).digest('base64');
  const claims = { exp: Date.now() / 1000 + 3600, did: randomBytes(8).toString('base64'), pay, pad: 'x'.repeat(9000) };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** The per-server state traffic needs: where requests go, and signed requests accepted (for replays). */
export interface ServerTraffic {
  readonly port: number;
  /** `127.0.0.1:<port>`: the authority the server rebuilds, which signatures cover. */
  readonly authority: string;
  /** Signed requests the server accepted, most recent last (a bounded ring), with the store epoch they were accepted in. */
  readonly accepted: { readonly request: SoakRequest; readonly epoch: number }[];
  /**
   * Shared by every server: incremented when the replay store loses its contents (Redis killed and
   * started again without persistence). A replay of a request accepted in an earlier epoch is not
   * expected to be refused: it is reported apart, as `agent-replay-after-redis-restart`.
   */
  readonly store: { epoch: number };
}

/** Sends one request for a class and records its outcome (the driver's recorder does the checking). */
export type Send = (className: string, request: SoakRequest) => Promise<Response>;

export interface TrafficClass {
  readonly name: string;
  readonly weight: number;
  readonly description: string;
  /** Genuine traffic: must be allowed again once a fault is over (the recovery check). */
  readonly genuine: boolean;
  /** Outcomes expected with nothing wrong around the guard. */
  readonly expected: readonly string[];
  /** Further outcomes accepted while a fault of this kind is in effect (or within the recovery grace after it). */
  readonly during?: Partial<Record<FaultKind, readonly string[]>>;
  /**
   * Outcomes accepted at any time, but only up to `maxShare` of the class's requests (more is an
   * error): what the guard correctly answers when the machine itself is saturated (see `why`).
   */
  readonly tolerated?: { readonly outcomes: readonly string[]; readonly maxShare: number; readonly why: string };
  /**
   * Sends one operation (one request, or a burst). Returns a problem a per-request check cannot see
   * (a burst's count), or an observation prefixed `note: `.
   */
  run(material: Material, server: ServerTraffic, send: Send, faults: () => ReadonlySet<FaultKind>): Promise<string | undefined>;
}

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;

function approovRequest(path: string, token: string | undefined, sessionId: string, extra: Record<string, string> = {}): SoakRequest {
  const headers: Record<string, string> = { [BINDING_HEADER]: sessionId, ...extra };
  if (token !== undefined) headers['approov-token'] = token;
  return { method: 'GET', path, headers };
}

/** A Web Bot Auth request signed as the class needs it, to `path` on `server`. */
function signedRequest(
  server: ServerTraffic,
  path: string,
  options: { key: KeyObject; keyid: string; origin: string; nonce?: string; created?: number; lifetime?: number },
): SoakRequest {
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const signed = sign(
    { method: 'GET', url: `http://${server.authority}${path}`, headers: {} },
    {
      key: options.key,
      algorithm: 'ed25519',
      keyid: options.keyid,
      components: ['@authority', '@method', '@path', '"signature-agent";key="sig1"'],
      params: { created, expires: created + (options.lifetime ?? 300), keyid: options.keyid, nonce: options.nonce ?? randomBytes(24).toString('base64url'), tag: 'web-bot-auth' },
      agent: { url: options.origin },
    },
  );
  return { method: 'GET', path, headers: signed.headers };
}

const ok = (response: Response): boolean => response.ok && response.status === 200 && response.reason === 'OK';

/** A class that sends one request per operation. */
function single(
  spec: Omit<TrafficClass, 'run'> & { build(material: Material, server: ServerTraffic): SoakRequest; onOk?: (server: ServerTraffic, request: SoakRequest, epoch: number) => void },
): TrafficClass {
  return {
    ...spec,
    async run(material, server, send) {
      const request = spec.build(material, server);
      // The store epoch when it was sent: its nonce was written then, not when the answer came.
      const epoch = server.store.epoch;
      const response = await send(spec.name, request);
      if (spec.onOk !== undefined && ok(response)) spec.onOk(server, request, epoch);
      return undefined;
    },
  };
}

const STORE_DOWN = '503 ERR_STORE_UNAVAILABLE';
const DIRECTORY_DOWN = '503 ERR_DIRECTORY_UNAVAILABLE';
/**
 * A key that is not in a fresh cached directory makes the guard refetch it (at most once per
 * minTtl); when that refetch runs out of time — on a saturated machine a loopback fetch can take
 * longer than the timeout — the guard answers 503 ERR_DIRECTORY_UNAVAILABLE for unknown keys until
 * its negative TTL ends (the keys it holds keep working). Each server counts such timeouts in its
 * log table ("keeping the keys already cached (timeout)").
 */
const REFETCH_TIMED_OUT = {
  outcomes: [DIRECTORY_DOWN],
  maxShare: 0.02,
  why: 'a directory refetch timed out on the saturated machine (see the guard\'s log counts)',
} as const;
/**
 * RedisStore gives each command 50 ms (its default) and, after three failures in a row, fails every
 * call at once for a second: on a saturated machine a stall of the redis-server or of the guard's
 * process makes nonce checks answer 503 though Redis is up. Each server counts its store failures.
 */
const STORE_STALLED = {
  outcomes: [STORE_DOWN],
  maxShare: 0.05,
  why: 'a Redis command ran out of its 50 ms on the saturated machine (see the servers\' store-failure counts)',
} as const;
/** Replays kept per server. */
const ACCEPTED_RING = 256;
let originCounter = 0;

/**
 * Not sent on its own: replays of requests accepted before Redis was killed, sent after it started
 * again empty (it runs without persistence, as the soak's own redis-server does). An observation,
 * not a check: whether they are refused depends on Redis's persistence, not on the guard.
 */
export const REPLAY_AFTER_RESTART: TrafficClass = {
  name: 'agent-replay-after-redis-restart',
  weight: 0,
  description: 'observation: a request accepted before Redis was killed, replayed after it restarted empty',
  genuine: false,
  expected: ['429 ERR_SIGNATURE_REPLAYED', '200 OK', STORE_DOWN],
  run: async () => undefined,
};

/** The mixed traffic of the soak. */
export function soakClasses(): TrafficClass[] {
  return [
    single({
      name: 'approov-genuine',
      weight: 24,
      description: 'valid Approov token bound to its session (pooled: cache hits; 1 in 5 fresh)',
      genuine: true,
      expected: ['200 OK'],
      build: (m) => {
        if (Math.random() < 0.2) {
          const id = `sess-${randomBytes(9).toString('base64url')}`;
          return approovRequest(ROUTES.app, m.approov.make({ bindTo: id }), id);
        }
        const s = pick(m.sessions);
        return approovRequest(ROUTES.app, s.token, s.id);
      },
    }),
    single({
      name: 'approov-bad-signature',
      weight: 3,
      description: 'token signed with another secret',
      genuine: false,
      expected: ['401 ERR_TOKEN_SIGNATURE_INVALID'],
      build: (m) => {
        const s = pick(m.sessions);
        return approovRequest(ROUTES.app, m.forger.make({ bindTo: s.id }), s.id);
      },
    }),
    single({
      name: 'approov-alg-none',
      weight: 3,
      description: 'alg "none", empty signature',
      genuine: false,
      expected: ['401 ERR_TOKEN_ALG_NOT_ALLOWED'],
      build: (m) => {
        const s = pick(m.sessions);
        return approovRequest(ROUTES.app, algNoneToken(s.id), s.id);
      },
    }),
    single({
      name: 'approov-expired',
      weight: 3,
      description: 'valid signature, exp a minute ago',
      genuine: false,
      expected: ['401 ERR_TOKEN_EXPIRED'],
      build: (m) => {
        const s = pick(m.sessions);
        return approovRequest(ROUTES.app, m.approov.make({ bindTo: s.id, expiresIn: -60 }), s.id);
      },
    }),
    single({
      name: 'approov-oversized',
      weight: 2,
      description: 'valid-looking 12 KB token (cap 8 KiB)',
      genuine: false,
      expected: ['401 ERR_TOKEN_TOO_LARGE'],
      build: (m) => {
        const s = pick(m.sessions);
        return approovRequest(ROUTES.app, oversizedToken(m, s.id), s.id);
      },
    }),
    single({
      name: 'approov-binding-mismatch',
      weight: 3,
      description: 'genuine token sent with another session id',
      genuine: false,
      expected: ['401 ERR_BINDING_MISMATCH'],
      build: (m) => approovRequest(ROUTES.app, pick(m.sessions).token, `sess-other-${randomBytes(6).toString('base64url')}`),
    }),
    single({
      name: 'approov-malformed',
      weight: 2,
      description: 'not a JWS / bad base64url segments',
      genuine: false,
      expected: ['401 ERR_TOKEN_MALFORMED'],
      build: (m) => {
        const s = pick(m.sessions);
        const garbage = Math.random() < 0.5 ? 'not-a-token' : `eyJ!!!.${randomBytes(12).toString('base64')}.%%%`;
        return approovRequest(ROUTES.app, garbage, s.id);
      },
    }),
    single({
      name: 'approov-missing',
      weight: 1,
      description: 'no token at all',
      genuine: false,
      expected: ['401 ERR_TOKEN_MISSING'],
      build: (m) => approovRequest(ROUTES.app, undefined, pick(m.sessions).id),
    }),
    single({
      name: 'approov-huge-header',
      weight: 1,
      description: 'genuine token plus a 12 KB unrelated header',
      genuine: true,
      expected: ['200 OK'],
      build: (m) => {
        const s = pick(m.sessions);
        return approovRequest(ROUTES.app, s.token, s.id, { 'x-junk': 'j'.repeat(12_000) });
      },
    }),
    single({
      name: 'header-overflow',
      weight: 0.5,
      description: '20 KB header, over Node\'s 16 KiB limit: refused by the HTTP server before the guard',
      genuine: false,
      expected: ['431 -'],
      build: (m) => {
        const s = pick(m.sessions);
        // On a connection of its own: Fastify answers a header overflow without `Connection: close`
        // and then resets the connection, which a keep-alive client would reuse for its next request.
        return { ...approovRequest(ROUTES.app, s.token, s.id, { 'x-junk': 'j'.repeat(20_000) }), ownConnection: true };
      },
    }),
    single({
      name: 'jwt-genuine',
      weight: 8,
      description: 'ES256 JWT, key from the remote JWKS (pooled; 1 in 10 fresh)',
      genuine: true,
      expected: ['200 OK'],
      build: (m) => {
        const token = Math.random() < 0.1 ? signJwt(m.jwt.key, m.jwt.kid, { sub: `partner-${randomBytes(4).toString('hex')}` }) : pick(m.jwt.pool);
        return { method: 'GET', path: ROUTES.partner, headers: { authorization: `Bearer ${token}` } };
      },
    }),
    single({
      name: 'jwt-unknown-kid',
      weight: 2,
      description: 'ES256 JWT whose kid the JWKS does not hold',
      genuine: false,
      expected: ['401 ERR_TOKEN_KEY_UNKNOWN'],
      build: (m) => ({
        method: 'GET',
        path: ROUTES.partner,
        headers: { authorization: `Bearer ${signJwt(m.jwtStranger.key, m.jwtStranger.kid, { sub: 'intruder' })}` },
      }),
    }),
    single({
      name: 'agent-known',
      weight: 12,
      description: 'Web Bot Auth, key in the directory, fresh nonce',
      genuine: true,
      expected: ['200 OK'],
      during: { redis: [STORE_DOWN] },
      tolerated: STORE_STALLED,
      build: (m, server) => signedRequest(server, ROUTES.agent, { key: m.agent.privateKey, keyid: m.agent.thumbprint, origin: m.directoryOrigin }),
      onOk: (server, request, epoch) => {
        server.accepted.push({ request, epoch });
        if (server.accepted.length > ACCEPTED_RING) server.accepted.shift();
      },
    }),
    single({
      name: 'agent-unknown-key',
      weight: 4,
      description: 'signed with a key the directory does not publish',
      genuine: false,
      expected: ['401 ERR_SIGNATURE_KEY_UNKNOWN'],
      during: { directory: [DIRECTORY_DOWN] },
      tolerated: REFETCH_TIMED_OUT,
      build: (m, server) => signedRequest(server, ROUTES.agent, { key: m.stranger.privateKey, keyid: m.stranger.thumbprint, origin: m.directoryOrigin }),
    }),
    single({
      name: 'agent-bad-signature',
      weight: 3,
      description: 'the known keyid, signed with another key',
      genuine: false,
      expected: ['401 ERR_SIGNATURE_INVALID'],
      build: (m, server) => signedRequest(server, ROUTES.agent, { key: m.stranger.privateKey, keyid: m.agent.thumbprint, origin: m.directoryOrigin }),
    }),
    single({
      name: 'agent-unknown-origin',
      weight: 3,
      description: 'Signature-Agent: a new unresolvable origin each time, or a loopback port nobody listens on',
      genuine: false,
      expected: [DIRECTORY_DOWN],
      build: (m, server) => {
        const origin = Math.random() < 0.5 ? `https://agent-${++originCounter}.soak.invalid` : `https://localhost:${m.closedPort}`;
        return signedRequest(server, ROUTES.agent, { key: m.stranger.privateKey, keyid: m.stranger.thumbprint, origin });
      },
    }),
    single({
      name: 'agent-expired',
      weight: 2,
      description: 'signature expired half an hour ago',
      genuine: false,
      expected: ['401 ERR_SIGNATURE_EXPIRED'],
      build: (m, server) =>
        signedRequest(server, ROUTES.agent, { key: m.agent.privateKey, keyid: m.agent.thumbprint, origin: m.directoryOrigin, created: Math.floor(Date.now() / 1000) - 3600, lifetime: 1800 }),
    }),
    {
      name: 'agent-replay',
      weight: 4,
      description: 'an accepted signed request sent again',
      genuine: false,
      expected: ['429 ERR_SIGNATURE_REPLAYED'],
      during: { redis: [STORE_DOWN] },
      tolerated: STORE_STALLED,
      async run(m, server, send) {
        const original = server.accepted.shift();
        // Nothing accepted yet (start, or the directory was down): a genuine request instead.
        if (original === undefined) {
          const request = signedRequest(server, ROUTES.agent, { key: m.agent.privateKey, keyid: m.agent.thumbprint, origin: m.directoryOrigin });
          const epoch = server.store.epoch;
          const response = await send('agent-known', request);
          if (ok(response)) server.accepted.push({ request, epoch });
          return undefined;
        }
        await send(original.epoch === server.store.epoch ? 'agent-replay' : REPLAY_AFTER_RESTART.name, original.request);
        return undefined;
      },
    },
    single({
      name: 'malformed-signature-input',
      weight: 2,
      description: 'garbage Signature-Input',
      genuine: false,
      expected: ['400 ERR_SIGNATURE_MALFORMED'],
      build: () => ({ method: 'GET', path: ROUTES.agent, headers: { 'signature-input': 'sig1=(("@authority" garbage;;', signature: 'sig1=:AAAA:' } }),
    }),
    single({
      name: 'malformed-signature-base64',
      weight: 2,
      description: 'a real Signature-Input, Signature bytes not base64',
      genuine: false,
      expected: ['400 ERR_SIGNATURE_MALFORMED'],
      build: (m, server) => {
        const request = signedRequest(server, ROUTES.agent, { key: m.agent.privateKey, keyid: m.agent.thumbprint, origin: m.directoryOrigin });
        return { ...request, headers: { ...request.headers, signature: 'sig1=:not base64 @@!!:' } };
      },
    }),
    single({
      name: 'signature-too-large',
      weight: 1,
      description: '9 KB Signature-Input (cap 8 KiB)',
      genuine: false,
      expected: ['400 ERR_SIGNATURE_TOO_LARGE'],
      build: () => ({
        method: 'GET',
        path: ROUTES.agent,
        headers: { 'signature-input': `sig1=("@authority");created=1;keyid="${'k'.repeat(9000)}"`, signature: 'sig1=:AAAA:' },
      }),
    }),
    {
      name: 'rate-burst',
      weight: 2,
      description: `${2 * BURST_LIMIT} requests at once from one new client; the rule allows ${BURST_LIMIT} at once`,
      genuine: false,
      expected: ['200 OK', '429 ERR_RATE_LIMITED'],
      async run(m, _server, send, faults) {
        const client = `client-${randomBytes(8).toString('base64url')}`;
        const s = pick(m.sessions);
        const started = Date.now();
        const responses = await Promise.all(
          Array.from({ length: 2 * BURST_LIMIT }, () => send('rate-burst', approovRequest(ROUTES.limited, s.token, s.id, { [CLIENT_HEADER]: client }))),
        );
        const elapsed = Date.now() - started;
        const allowed = responses.filter(ok).length;
        // GCRA refills one request per period/limit; a slow burst may see a refill or two.
        const most = BURST_LIMIT + Math.floor(elapsed / (BURST_PERIOD_MS / BURST_LIMIT));
        // While Redis fails, the per-process stand-in counts: a burst split across the two may pass twice.
        // The stand-in also answers when Redis merely stalls past its timeout (an allowed answer says so).
        const redis = faults().has('redis') || responses.some((r) => r.ok && r.standIn);
        const least = redis ? 1 : BURST_LIMIT;
        if (allowed < least || allowed > (redis ? 2 * most : most)) {
          return `a burst of ${responses.length} from one client had ${allowed} allowed (expected ${least === most ? least : `${least}–${redis ? 2 * most : most}`}${redis ? ', Redis faulty' : ''})`;
        }
        // Reported, not an error: the stand-in let more through than the limit while Redis stalled.
        if (allowed > most && !faults().has('redis')) return `note: a burst of ${responses.length} had ${allowed} allowed (limit ${most}): Redis stalled and its stand-in counted part of it`;
        return undefined;
      },
    },
  ];
}

/**
 * Memory mode: only values never seen before. Each request carries a new Approov token (valid
 * signature, unique claims) from a new client IP (IPv4 or IPv6, through X-Forwarded-For) on the
 * per-IP limited route; or a new signature with a new nonce; or a new unknown keyid; or a new
 * unknown directory origin; or a new JWT.
 *
 * Millions of requests: the distinct parts come from one counter shared by every class and server
 * (so no value is sent twice in a run, to either server) written into a per-run random tag, not from
 * `randomBytes` per request; the values keep the lengths and shapes of the random ones (the bound's
 * bytes per entry were measured with those). Signatures and HMACs are still computed per request.
 */
export function memoryClasses(): TrafficClass[] {
  let n = 0;
  const run = randomBytes(16);
  /** `length` base64url characters, unique for `v` in this run (the counter, then the run's random tag). */
  const unique = (v: number, length: number): string => {
    const head = v.toString(36);
    return `${head}-${run.toString('base64url')}${run.toString('hex')}`.slice(0, Math.max(length, head.length + 1));
  };
  const ipv4 = (): string => {
    const v = ++n;
    return `${10 + ((v >>> 24) & 0x7f)}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  };
  const hex4 = (x: number): string => (x & 0xffff).toString(16);
  const ipv6 = (): string => {
    // A new /64 each time (the per-IP limit aggregates IPv6 to /64): the counter in its third and
    // fourth groups, an interface id mixed from it and the run's tag.
    const v = ++n;
    const mix = Math.imul(v ^ run.readUInt32LE(0), 0x9e3779b1) >>> 0;
    return `2001:db8:${hex4(v >>> 16)}:${hex4(v)}:${hex4(mix >>> 16)}:${hex4(mix)}:${hex4(run.readUInt16LE(4))}:${hex4(run.readUInt16LE(6))}`;
  };
  // A device id of the length of a random one (16 bytes in base64), from the counter.
  const approovToken = (m: Material, bindTo: string): string => m.approov.make({ bindTo, did: Buffer.from(unique(++n, 16), 'latin1').toString('base64') });
  // 64 "signature" bytes: the run's random bytes with the counter written over the first eight.
  const fakeSignature = Buffer.concat([run, randomBytes(48)]);
  let v6 = false;
  return [
    single({
      name: 'distinct-token-ip',
      weight: 70,
      description: 'new valid Approov token, new client IP (v4/v6 alternately), per-IP limit',
      genuine: true,
      expected: ['200 OK'],
      build: (m) => {
        const id = `sess-${++n}`;
        v6 = !v6;
        return approovRequest(ROUTES.ip, approovToken(m, id), id, { 'x-forwarded-for': v6 ? ipv6() : ipv4() });
      },
    }),
    single({
      name: 'distinct-nonce',
      weight: 6,
      description: 'signed by the known agent, new nonce (nonce store grows until its cap)',
      genuine: true,
      expected: ['200 OK'],
      during: { redis: [STORE_DOWN] },
      build: (m, server) =>
        signedRequest(server, ROUTES.agent, { key: m.agent.privateKey, keyid: m.agent.thumbprint, origin: m.directoryOrigin, nonce: `n-${unique(++n, 16)}` }),
    }),
    single({
      name: 'distinct-unknown-keyid',
      weight: 12,
      description: 'new keyid at the known directory (signature bytes not a signature)',
      genuine: false,
      expected: ['401 ERR_SIGNATURE_KEY_UNKNOWN'],
      during: { directory: [DIRECTORY_DOWN] },
      tolerated: REFETCH_TIMED_OUT,
      build: (m) => {
        const created = Math.floor(Date.now() / 1000);
        const v = ++n;
        const keyid = unique(v, 43);
        const nonce = unique(v, 22);
        fakeSignature.writeDoubleLE(v, 0);
        return {
          method: 'GET',
          path: ROUTES.agent,
          headers: {
            'signature-agent': `sig1="${m.directoryOrigin}"`,
            'signature-input': `sig1=("@authority" "@method" "@path" "signature-agent";key="sig1");created=${created};expires=${created + 300};keyid="${keyid}";nonce="${nonce}";tag="web-bot-auth"`,
            signature: `sig1=:${fakeSignature.toString('base64')}:`,
          },
        };
      },
    }),
    single({
      name: 'distinct-unknown-origin',
      weight: 5,
      description: 'new unresolvable directory origin each time',
      genuine: false,
      expected: [DIRECTORY_DOWN],
      build: (m, server) => {
        const v = ++n;
        return signedRequest(server, ROUTES.agent, { key: m.stranger.privateKey, keyid: m.stranger.thumbprint, origin: `https://agent-${v}.soak.invalid`, nonce: unique(v, 32) });
      },
    }),
    single({
      name: 'distinct-jwt',
      weight: 5,
      description: 'new ES256 JWT (remote JWKS)',
      genuine: true,
      expected: ['200 OK'],
      build: (m) => ({ method: 'GET', path: ROUTES.partner, headers: { authorization: `Bearer ${signJwt(m.jwt.key, m.jwt.kid, { sub: `p-${++n}` })}` } }),
    }),
  ];
}

/**
 * Memory mode with --wide-signature-inputs: distinct requests whose Signature-Input has the largest
 * shape the parser accepts (16 labels of 32 components, ~3.4 KB, under the 8 KiB cap) and whose
 * Signature is short (so the parse is cached). No key is needed: they are refused for a missing
 * `expires` after the parse.
 */
export function wideSignatureInputClass(): TrafficClass {
  const components = Array.from({ length: 32 }, (_, i) => `"x-h${i.toString(36)}"`).join(' ');
  const labels = Array.from({ length: 16 }, (_, i) => `s${i.toString(36)}`);
  return single({
    name: 'distinct-wide-signature-input',
    weight: 10,
    description: '16 labels × 32 components in Signature-Input (~3.4 KB), short distinct Signature',
    genuine: false,
    expected: ['401 ERR_SIGNATURE_PARAM_MISSING'],
    build: () => ({
      method: 'GET',
      path: ROUTES.agent,
      headers: {
        'signature-input': labels.map((l) => `${l}=(${components});created=1;keyid="${randomBytes(6).toString('hex')}";tag="web-bot-auth"`).join(', '),
        signature: labels.map((l) => `${l}=:${randomBytes(6).toString('base64')}:`).join(', '),
      },
    }),
  });
}

/** Picks classes in proportion to their weights. */
export function weightedPicker(classes: readonly TrafficClass[]): () => TrafficClass {
  const total = classes.reduce((sum, c) => sum + c.weight, 0);
  const edges: number[] = [];
  let at = 0;
  for (const c of classes) edges.push((at += c.weight / total));
  return () => {
    const r = Math.random();
    for (let i = 0; i < edges.length; i++) if (r < edges[i]!) return classes[i]!;
    return classes[classes.length - 1]!;
  };
}
