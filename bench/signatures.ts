/**
 * Signature benchmark: what bonafide's Web Bot Auth check (RFC 9421 HTTP message signatures,
 * Ed25519) costs per request, next to the raw Ed25519 verification it cannot avoid and the two
 * npm libraries people would otherwise use, in one process; then a signature-guarded Fastify server
 * against a bare one under autocannon, every request carrying a signature the server has not seen.
 *
 * Method: the micro part as bench/lib/measure.ts, the HTTP part as bench/lib/load.ts. Requests are
 * signed before any timing (bench/lib/signed-requests.ts).
 */
import { verify, type KeyObject } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import autocannon, { type RequestSpec } from 'autocannon';
import { createVerifier, httpbis } from 'http-message-signatures';
import { verify as webBotAuthVerify } from 'web-bot-auth';
import { verifierFromJWK } from 'web-bot-auth/crypto';
import { createGuard, type Decision, type GuardOptions, type GuardRequest } from '../src/index.js';
import type { DecisionStats } from './servers/server.js';
import { runCompiled } from './lib/compiled.js';
import { describeEnvironment } from './lib/env.js';
import { checkResult, describeWindow, HTTP_SETTINGS, httpNoiseNote, measureSession, measureWindow, pairSummary, sanityCheck, SECONDS_PER_SESSION, sessionState, startServer, stopServer, type FixedRatePair, type Load, type Pair, type Probe, type Server, type Window } from './lib/load.js';
import { allPassed, caseTable, elapsed, expectAll, fastest, measureCases, methodNote, noiseNote, QUICK, timeBatch, type Case, type CaseResult, type Role } from './lib/measure.js';
import { failureLines, failureParagraph, markdownSection, printSection, type Section } from './lib/report.js';
import { AGENT_URL, requestSigner, signedPool, type AgentForm, type RequestSigner, type SignedRequest } from './lib/signed-requests.js';
import { fmt, summarize } from './lib/stats.js';
import type { Table } from './lib/table.js';
import { freshCopy } from './lib/tokens.js';

/** Targets, as ratios to the floor (µs/op of the case ÷ µs/op of the floor). */
export const SIGNATURE_TARGETS = { fresh: 1.15, repeated: 0.1 } as const;

/** bonafide's default signature cache (`signatures.cacheSize`): verified signatures remembered. */
const SIGNATURE_CACHE = 10_000;
/**
 * Distinct signed requests per pool. Each is used once per pass through the pool, and more than
 * twice the cache size apart, so it has always left the cache when it comes back: every check is
 * a fresh verification (which the cases assert).
 */
const SETTINGS = { pool: QUICK ? 2 * SIGNATURE_CACHE + 2000 : 25_000, httpPool: 3 * SIGNATURE_CACHE };
/** Requests for a peer that needs the legacy Signature-Agent form: peers cache nothing, so a few batches' worth is enough. */
const LEGACY_POOL = 5000;

const MICRO_URL = 'https://api.example.com/v1/hello';
/** The HTTP servers see `Host: api.example.com` on plain HTTP, so this is the URL their adapter builds. */
const HTTP_URL = 'http://api.example.com/hello';

const PART = 'signatures';
/**
 * Young-generation collection before each batch, not a full one: the guard keeps a cache, and a full
 * collection before every batch would bring it a major collection per batch (see bench/lib/measure.ts).
 */
const COLLECT = 'minor';

// ---------------------------------------------------------------------------------------------
// Inputs

/** Hands out `items` in order, `n` at a time, wrapping around; every call of `view()` gets its own cursor. */
class Pool<T> {
  readonly #items: readonly T[];
  #cursor = 0;

  constructor(items: readonly T[]) {
    this.#items = items;
  }

  get size(): number {
    return this.#items.length;
  }

  view(): Pool<T> {
    return new Pool(this.#items);
  }

  next(n: number): T[] {
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.#items[this.#cursor]!;
      this.#cursor = (this.#cursor + 1) % this.#items.length;
    }
    return out;
  }
}

/**
 * The request as an adapter hands it over: Node's lower-case header record with freshly made
 * strings (a server parses every request's headers into new strings; reused ones would let cache
 * lookups skip hashing and flatter the cached cases).
 */
function toRequest(signed: SignedRequest): GuardRequest & { headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  for (const name in signed.headers) headers[name] = freshCopy(signed.headers[name]!);
  return { method: signed.method, url: signed.url, headers, ip: '203.0.113.7' };
}

// ---------------------------------------------------------------------------------------------
// Cases. One loop for all: at ~100 µs per operation, a polymorphic call site costs nothing measurable.

interface VerifyCase<T> {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly target?: number;
  /** The inputs of the next batch (not timed). */
  readonly inputs: (n: number) => T[] | Promise<T[]>;
  /** Verifies one input: true when it gave the expected answer. */
  readonly verify: (input: T) => boolean | Promise<boolean>;
  /** Runs untimed before each batch (e.g. the one verification a cache-hit case needs). */
  readonly before?: (inputs: readonly T[]) => void | Promise<void>;
}

function verifyCase<T>({ inputs: make, verify: check, before, ...meta }: VerifyCase<T>): Case {
  let inputs: T[] = [];
  return {
    ...meta,
    async prepare(n) {
      inputs = await make(n);
      await before?.(inputs);
    },
    async run(n) {
      let ok = 0;
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const result = check(inputs[i]!);
        if (result === true || (result !== false && (await result))) ok++;
      }
      const ns = elapsed(start);
      expectAll(PART, meta.id, ok, n);
      return ns;
    },
  };
}

/** (a) The floor: `crypto.verify` over the signature base, already built. The least any verifier does. */
function floorCase(pool: Pool<SignedRequest>, publicKey: KeyObject): Case {
  return verifyCase({
    id: 'a',
    name: 'floor: node:crypto Ed25519 verify of the base',
    role: 'floor',
    inputs: (n) => pool.next(n),
    verify: (r) => verify(null, Buffer.from(r.base), publicKey, r.signature),
  });
}

/** What web-bot-auth's `verify` takes: a Web Request (as its README shows) or a plain request object. */
type WebBotAuthForm = 'Request' | 'plain object';

function webBotAuthCase(pool: Pool<SignedRequest>, verifier: Awaited<ReturnType<typeof verifierFromJWK>>, form: WebBotAuthForm, agent: AgentForm): Case {
  const toInput: (r: SignedRequest) => Request | ReturnType<typeof toRequest> =
    form === 'Request' ? (r) => new Request(r.url, { method: r.method, headers: toRequest(r).headers }) : toRequest;
  return verifyCase({
    id: 'b',
    name: `web-bot-auth 0.1.3 verify (async, WebCrypto; ${form}${agent === 'legacy' ? '; legacy Signature-Agent¹' : ''})`,
    role: 'peer',
    inputs: (n) => pool.next(n).map(toInput),
    verify: (input) => webBotAuthVerify(input, verifier).then(
      () => true,
      () => false,
    ),
  });
}

function httpMessageSignaturesCase(pool: Pool<SignedRequest>, signer: RequestSigner, agent: AgentForm): Case {
  const config = httpMessageSignaturesConfig(signer);
  return verifyCase({
    id: 'c',
    name: `http-message-signatures 1.0.6 httpbis.verifyMessage (async)${agent === 'legacy' ? ' (legacy Signature-Agent¹)' : ''}`,
    role: 'peer',
    inputs: (n) => pool.next(n).map(toRequest),
    verify: async (message) => (await httpbis.verifyMessage(config, message)) === true,
  });
}

/** The key lookup and the checks closest to the Web Bot Auth profile that http-message-signatures offers. */
function httpMessageSignaturesConfig(signer: RequestSigner): Parameters<typeof httpbis.verifyMessage>[0] {
  const key = { id: signer.keyid, algs: ['ed25519'], verify: createVerifier(signer.publicKey, 'ed25519') };
  return {
    keyLookup: async (params) => (params.keyid === signer.keyid ? key : null),
    requiredParams: ['created', 'expires', 'keyid', 'tag'],
    requiredFields: ['@authority', 'signature-agent'],
  };
}

interface GuardCaseOptions {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly target?: number;
  /** Guard options on top of the benchmark's (keys, no directory, no replay store). */
  readonly extra?: NonNullable<GuardOptions['signatures']>;
  /** A new guard per batch (whose replay store then starts empty), instead of one for the whole run. */
  readonly perBatch?: boolean;
  /** Where the batch's requests come from, each fresh; `undefined` for the repeated case. */
  readonly pool?: Pool<SignedRequest>;
  /** The one request of the repeated case. */
  readonly request?: SignedRequest;
}

/** bonafide: `guard.decide`, which answers synchronously when no I/O is needed (asserted: a Promise counts as a wrong answer). */
function guardCase(o: GuardCaseOptions, signer: RequestSigner): Case {
  const make = () => createGuard({ signatures: { keys: [signer.publicJwk], directory: false, replay: false, ...o.extra }, now: () => Date.now() });
  let guard = make();
  const expectCached = o.pool === undefined;
  const decided = (d: Decision | Promise<Decision>): d is Decision => !(d instanceof Promise);
  return verifyCase({
    ...o,
    inputs: (n) => {
      if (o.perBatch === true) {
        void guard.close();
        guard = make();
      }
      return (o.pool === undefined ? new Array<SignedRequest>(n).fill(o.request!) : o.pool.next(n)).map(toRequest);
    },
    // The repeated case: verify the request once, untimed, so every timed check is a cache hit.
    before: async (inputs) => {
      if (expectCached) await guard.check(inputs[0]!);
    },
    verify: (request) => {
      const d = guard.decide!(request);
      return decided(d) && d.reason === 'OK' && d.checks[0]?.cached === expectCached;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Which request each peer gets

/** The dictionary Signature-Agent if the peer verifies it, else the legacy form (which it must verify). */
async function agentFormFor(peer: string, accepts: (request: SignedRequest) => Promise<boolean>, signer: RequestSigner): Promise<AgentForm> {
  for (const agent of ['dictionary', 'legacy'] as const) {
    const [request] = signedPool(signer, MICRO_URL, 1, { agent, nonce: true });
    if (await accepts(request!)) return agent;
  }
  throw new Error(`${peer} verifies neither Signature-Agent form of a valid request`);
}

// ---------------------------------------------------------------------------------------------
// Micro benchmark

export interface SignatureMicroReport extends Section {
  readonly results: readonly CaseResult[];
  /** Every target met. */
  readonly passed: boolean;
}

export async function runSignatureMicro(log: (line: string) => void = console.log): Promise<SignatureMicroReport> {
  const env = describeEnvironment();
  const signer = await requestSigner();
  const verifier = await verifierFromJWK(signer.publicJwk);
  const webBotAuthAgent = await agentFormFor(
    'web-bot-auth',
    (r) => webBotAuthVerify(toRequest(r), verifier).then(() => true, () => false),
    signer,
  );
  const config = httpMessageSignaturesConfig(signer);
  const hmsAgent = await agentFormFor('http-message-signatures', async (r) => (await httpbis.verifyMessage(config, toRequest(r))) === true, signer);

  const legacy = webBotAuthAgent === 'legacy' || hmsAgent === 'legacy';
  log(`${PART}: signing ${(SETTINGS.pool + (legacy ? LEGACY_POOL : 0)).toLocaleString('en-US')} distinct requests…`);
  const pools: Record<AgentForm, Pool<SignedRequest>> = {
    dictionary: new Pool(signedPool(signer, MICRO_URL, SETTINGS.pool, { agent: 'dictionary', nonce: true })),
    legacy: new Pool(legacy ? signedPool(signer, MICRO_URL, LEGACY_POOL, { agent: 'legacy', nonce: true }) : []),
  };
  const pool = pools.dictionary;
  const [repeated] = signedPool(signer, MICRO_URL, 1, { agent: 'dictionary', nonce: false });
  const form = await fastest<WebBotAuthForm>(['Request', 'plain object'], (f) => webBotAuthCase(pools[webBotAuthAgent].view(), verifier, f, webBotAuthAgent), 1000, COLLECT);

  const cases: Case[] = [
    floorCase(pool.view(), signer.publicKey),
    webBotAuthCase(pools[webBotAuthAgent].view(), verifier, form, webBotAuthAgent),
    httpMessageSignaturesCase(pools[hmsAgent].view(), signer, hmsAgent),
    guardCase({ id: 'd', name: 'bonafide guard.decide, fresh signature', role: 'target', target: SIGNATURE_TARGETS.fresh, pool: pool.view() }, signer),
    guardCase({ id: 'd0', name: 'bonafide fresh, signature caches disabled (cacheSize 0)', role: 'info', extra: { cacheSize: 0 }, pool: pool.view() }, signer),
    guardCase(
      { id: 'd1', name: 'bonafide fresh, replay protection on (memory store)', role: 'info', extra: { replay: true }, perBatch: true, pool: pool.view() },
      signer,
    ),
    guardCase(
      { id: 'e', name: 'bonafide guard.decide, repeated signature (cache hit)', role: 'target', target: SIGNATURE_TARGETS.repeated, request: repeated! },
      signer,
    ),
  ];

  const measured = await measureCases(PART, cases, SETTINGS.pool, log, COLLECT);
  const { results } = measured;
  const sample = pool.next(1)[0]!;
  const legacyNote = (peer: string): string =>
    `${peer} cannot verify the dictionary form (\`Signature-Agent: sig1="…"\` covered as \`"signature-agent";key="sig1"\`): it puts the whole field in the signature base instead of the member (RFC 9421 §2.1.2). It gets the same request with the legacy form, \`Signature-Agent: "${AGENT_URL}"\` covered as \`"signature-agent"\`: same components, same size.`;
  const notes = [
    `${methodNote(COLLECT)} Run in a child process on plain \`node\`, the bench and \`src/\` compiled by esbuild as the package is (not under tsx, whose keepNames wrapper would tax every closure bonafide and the peers create, and not the floor).`,
    `Requests: GET ${MICRO_URL}, Ed25519, \`${sample.headers['signature-input']!.replace(/nonce="[^"]+"/, 'nonce="…"').replace(/keyid="[^"]+"/, 'keyid="<thumbprint>"')}\`, Signature-Agent \`${sample.headers['signature-agent']}\`; ${SETTINGS.pool.toLocaleString('en-US')} distinct signed requests (64-byte nonces), signed by ${signer.via}, each handed out once per pass, as a fresh header record (new strings).`,
    `(a) is \`crypto.verify(null, Buffer.from(base), publicKey, signature)\` over the signature base built in advance (by the bench, by hand, and checked against every signature): what no verifier can skip. Every other case parses the headers, rebuilds the base and verifies.`,
    `(b) and (c) are async; each call is awaited. web-bot-auth verifies with WebCrypto (crypto.subtle) under the key from \`verifierFromJWK\`, given the faster of a Web Request and a plain request object (here: ${form}); it checks tag, created and expires but looks no key up. http-message-signatures verifies with node:crypto (\`createVerifier(publicKey, 'ed25519')\`) after a \`keyLookup\` by keyid, with \`requiredParams\` created, expires, keyid, tag and \`requiredFields\` @authority, signature-agent.`,
    ...[webBotAuthAgent === 'legacy' ? `¹ ${legacyNote('web-bot-auth (through http-message-sig 0.2)')}` : undefined, hmsAgent === 'legacy' ? `¹ ${legacyNote('http-message-signatures')}` : undefined].filter(
      (n): n is string => n !== undefined,
    ),
    `(d) is \`createGuard({ signatures: { keys: [publicJwk], directory: false, replay: false }, now })\` and \`guard.decide(request)\`, one guard for the whole run with the default cache of ${SIGNATURE_CACHE.toLocaleString('en-US')} verified signatures, full and evicting; every decision is asserted to be \`OK\`, synchronous and not from the cache. (d0) is (d) with \`cacheSize: 0\` (no parsed-header or verified-signature cache); (d1) is (d) with \`replay: true\` (nonces recorded in the default in-memory store; a new guard per batch so no nonce repeats).`,
    '(e) sends one request without a nonce every time (as fresh strings): the parsed-header cache and the verified-signature cache answer (asserted); the profile checks, the Signature-Agent lookup and the signature base are still done per request.',
    noiseNote(measured),
  ];
  return { env, results, table: caseTable(results), notes, passed: allPassed(results) };
}

export function printSignatureMicro(report: SignatureMicroReport, log: (line: string) => void = console.log): void {
  printSection('bonafide signature micro benchmark (Web Bot Auth, Ed25519)', report, log);
}

export function signatureMicroMarkdown(report: SignatureMicroReport): string {
  return markdownSection('Signature micro benchmark: one Web Bot Auth check vs the Ed25519 floor', report);
}

// ---------------------------------------------------------------------------------------------
// HTTP benchmark

export interface SignatureHttpReport extends Section {
  /** Wrong answers: any non-2xx response, a failed sanity check, a guarded response from the cache. */
  readonly failures: readonly string[];
}

/** The signed header sets autocannon sends, as it writes them (lower-case names, `host` included). */
function headerSets(pool: readonly SignedRequest[]): Record<string, string>[] {
  return pool.map((r) => ({ ...r.headers, accept: '*/*' }));
}

/**
 * Autocannon sends the next header set of the pool with every request, one counter per server for
 * all its connections, so each server sees the signatures in order and each once per pass through
 * the pool (a counter shared with the bare server would bring the guarded one signatures it has
 * just seen, from its cache).
 */
function load(sets: readonly Record<string, string>[]): Load {
  const counters = new Map<number, { next: number }>();
  return (port, seconds, rate) => {
    let counter = counters.get(port);
    if (counter === undefined) counters.set(port, (counter = { next: 0 }));
    const position = counter;
    const setupRequest = (request: RequestSpec): RequestSpec => {
      const headers = sets[position.next]!;
      position.next = (position.next + 1) % sets.length;
      return { ...request, headers };
    };
    return autocannon({
      url: `http://127.0.0.1:${port}/hello`,
      connections: HTTP_SETTINGS.connections,
      pipelining: HTTP_SETTINGS.pipelining,
      duration: seconds,
      requests: [{ method: 'GET', path: '/hello', setupRequest }],
      ...(rate === undefined ? {} : { overallRate: rate }),
    });
  };
}

/** Valid → 200; no signature, or a forged one → 401 when guarded. */
function probes(valid: SignedRequest): Probe[] {
  const signature = valid.headers.signature!;
  const flipped = signature.replace(/:(.)/, (_m, c: string) => `:${c === 'A' ? 'B' : 'A'}`);
  const unsigned = Object.fromEntries(Object.entries(valid.headers).filter(([name]) => !name.startsWith('signature')));
  return [
    { label: 'valid signature', headers: { ...valid.headers }, status: { bare: 200, guarded: 200 } },
    { label: 'no signature', headers: unsigned, status: { bare: 200, guarded: 401 } },
    { label: 'forged signature', headers: { ...valid.headers, signature: flipped }, status: { bare: 200, guarded: 401 } },
  ];
}
const DENY_PROBES = 2;

/** What the guarded server printed when it stopped; failures when a response came from the cache. */
function checkStats(server: Server, failures: string[]): DecisionStats | undefined {
  const match = /BENCH_STATS=(\{.*\})/.exec(server.stdout());
  if (match === null) {
    failures.push('fastify/guarded: the server did not report its decisions');
    return undefined;
  }
  const stats = JSON.parse(match[1]!) as DecisionStats;
  if (stats.cached > 0) failures.push(`fastify/guarded: ${stats.cached} of ${stats.fresh + stats.cached} allowed requests came from the signature cache, not a fresh verification`);
  if (stats.denied !== DENY_PROBES) failures.push(`fastify/guarded: ${stats.denied} requests denied (expected the ${DENY_PROBES} sanity probes)`);
  return stats;
}

/** Raw Ed25519 verify µs in this process, measured between windows: three batches of ~100 ms, median. */
async function verifyCost(pool: Pool<SignedRequest>, publicKey: KeyObject): Promise<number> {
  const floor = floorCase(pool, publicKey);
  const n = 800;
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) samples.push((await timeBatch(floor, n, COLLECT)) / n / 1000);
  return summarize(samples).median;
}

/** The floor server's windows of one session: saturated, and at the session's fixed rate. */
interface FloorWindows {
  readonly saturated: Window;
  readonly fixed: Window;
  /** The bare server's median req/s and saturated CPU µs/req in the same session. */
  readonly bare: number;
  readonly bareCpu: number | undefined;
}

/** Checks, warms up and measures the verify-floor server: one saturated window, one at `rate`. */
async function measureFloor(server: Server, load: Load, rate: number, failures: string[], log: (line: string) => void, prefix: string): Promise<Pick<FloorWindows, 'saturated' | 'fixed'>> {
  const any: Probe = { label: 'any request', headers: {}, status: { bare: 200, guarded: 200 } };
  for (const problem of await sanityCheck(server, 'guarded', [any])) failures.push(`fastify/floor sanity: ${problem}`);
  checkResult('fastify', 'floor', await load(server.port, HTTP_SETTINGS.warmupSeconds), failures);
  const saturated = await measureWindow('fastify', 'floor', server, load, failures);
  const fixed = await measureWindow('fastify', 'floor', server, load, failures, rate);
  log(`${prefix} ${describeWindow('floor', saturated)}  at ${rate} req/s: ${describeWindow('floor', fixed)}`);
  return { saturated, fixed };
}

const median = (values: readonly number[]): number => summarize(values).median;
/** The median of `pick` over items, or undefined when any item lacks the figure (no /proc). */
function medianOf<T>(items: readonly T[], pick: (item: T) => number | undefined): number | undefined {
  const values = items.map(pick);
  return values.length > 0 && values.every((v) => v !== undefined) ? median(values as number[]) : undefined;
}
const show = (value: number | undefined, digits?: number): string => (value === undefined ? '?' : digits === undefined ? fmt(value) : value.toFixed(digits));

export async function runSignatureHttp(log: (line: string) => void = console.log): Promise<SignatureHttpReport> {
  const env = describeEnvironment();
  const signer = await requestSigner();
  log(`${PART}: signing ${SETTINGS.httpPool.toLocaleString('en-US')} distinct requests for the HTTP run…`);
  const signed = signedPool(signer, HTTP_URL, SETTINGS.httpPool, { agent: 'dictionary', nonce: true });
  const valid = signedPool(signer, HTTP_URL, 1, { agent: 'dictionary', nonce: true })[0]!;
  const sets = headerSets(signed);
  const floorPool = new Pool(signed);
  const state = sessionState();
  const { failures } = state;
  const pairs: Pair[] = [];
  const fixedRate: FixedRatePair[] = [];
  const floors: FloorWindows[] = [];
  const verifyUs: number[] = [];
  const totals: DecisionStats = { fresh: 0, cached: 0, denied: 0 };
  const serverEnv = {
    BENCH_SIGNATURE_JWK: JSON.stringify(signer.publicJwk),
    BENCH_FLOOR_BASE: Buffer.from(valid.base).toString('base64'),
    BENCH_FLOOR_SIGNATURE: valid.signature.toString('base64'),
  };
  const floorSeconds = HTTP_SETTINGS.warmupSeconds + 2 + HTTP_SETTINGS.seconds + HTTP_SETTINGS.rateSeconds;
  log(
    `${PART}: fastify × ${HTTP_SETTINGS.sessions} session(s) × (${HTTP_SETTINGS.pairs} bare/guarded pair(s) of ${HTTP_SETTINGS.seconds} s windows + 1 fixed-rate pair + the verify floor) ` +
      `(~${Math.ceil((HTTP_SETTINGS.sessions * (SECONDS_PER_SESSION + floorSeconds)) / 60)} min)`,
  );
  for (let session = 0; session < HTTP_SETTINGS.sessions; session++) {
    const servers = {
      bare: await startServer(['fastify', 'bare', 'signatures'], serverEnv),
      guarded: await startServer(['fastify', 'guarded', 'signatures'], serverEnv),
    };
    const floorServer = await startServer(['fastify', 'guarded', 'verify-floor'], serverEnv);
    try {
      verifyUs.push(await verifyCost(floorPool, signer.publicKey));
      const run = load(sets);
      const prefix = `${PART}: fastify`;
      const plan = { label: 'fastify', logPrefix: prefix, session, servers, probes: probes(valid), load: run, rateOf: 'slower' as const };
      const measured = await measureSession(plan, state, log);
      pairs.push(...measured.pairs);
      fixedRate.push(measured.fixed);
      const floor = await measureFloor(floorServer, run, measured.fixed.rate, failures, log, `${prefix} s${session + 1} verify floor`);
      floors.push({
        ...floor,
        bare: median(measured.pairs.map((p) => p.bare.requestsPerSecond)),
        bareCpu: medianOf(measured.pairs, (p) => p.bare.cpuPerRequest),
      });
      verifyUs.push(await verifyCost(floorPool, signer.publicKey));
    } finally {
      await stopServer(servers.bare);
      await stopServer(servers.guarded);
      await stopServer(floorServer);
    }
    const stats = checkStats(servers.guarded, failures);
    if (stats !== undefined) for (const k of ['fresh', 'cached', 'denied'] as const) totals[k] += stats[k];
  }

  const { bare, guarded, ratio, ratios } = pairSummary(pairs);
  const floorRps = median(floors.map((f) => f.saturated.requestsPerSecond));
  const bareFixed = medianOf(fixedRate, (p) => p.bare.cpuPerRequest);
  // Added CPU µs per request at the fixed rate, per session: guarded − bare, floor − bare.
  const guardedAdded = medianOf(fixedRate, (p) => (p.guarded.cpuPerRequest === undefined || p.bare.cpuPerRequest === undefined ? undefined : p.guarded.cpuPerRequest - p.bare.cpuPerRequest));
  const floorAdded = medianOf(floors.map((f, i) => [f, fixedRate[i]!] as const), ([f, p]) =>
    f.fixed.cpuPerRequest === undefined || p.bare.cpuPerRequest === undefined ? undefined : f.fixed.cpuPerRequest - p.bare.cpuPerRequest,
  );
  const guardedPerCore = medianOf(pairs, (p) => (p.guarded.cpuPerRequest === undefined || p.bare.cpuPerRequest === undefined ? undefined : p.guarded.cpuPerRequest - p.bare.cpuPerRequest));
  const floorPerCore = medianOf(floors, (f) => (f.saturated.cpuPerRequest === undefined || f.bareCpu === undefined ? undefined : f.saturated.cpuPerRequest - f.bareCpu));
  const wallAdded = (rps: number): number => 1e6 / rps - 1e6 / bare;
  const times = (value: number | undefined, floorValue: number | undefined): string =>
    value === undefined || floorValue === undefined ? '?' : `${(value / floorValue).toFixed(2)}×`;
  const table: Table = {
    columns: ['server (Fastify 5)', 'req/s', '÷ bare', 'added µs/req (wall)²', '× floor', 'added µs/req (per core)³', '× floor', 'CPU µs/req at fixed rate⁴', 'added CPU µs/req⁴', '× floor'],
    numeric: new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]),
    rows: [
      ['bare', fmt(bare), '1.000', '', '', '', '', show(bareFixed), '', ''],
      [
        'floor: raw Ed25519 verify hook',
        fmt(floorRps),
        median(floors.map((f) => f.saturated.requestsPerSecond / f.bare)).toFixed(3),
        fmt(wallAdded(floorRps)),
        '1.00×',
        show(floorPerCore),
        '1.00×',
        show(medianOf(floors, (f) => f.fixed.cpuPerRequest)),
        show(floorAdded),
        '1.00×',
      ],
      [
        'bonafide, fresh signature',
        fmt(guarded),
        ratio.toFixed(3),
        fmt(wallAdded(guarded)),
        times(wallAdded(guarded), wallAdded(floorRps)),
        show(guardedPerCore),
        times(guardedPerCore, floorPerCore),
        show(medianOf(fixedRate, (p) => p.guarded.cpuPerRequest)),
        show(guardedAdded),
        times(guardedAdded, floorAdded),
      ],
    ],
  };
  const notes = [
    `autocannon, ${HTTP_SETTINGS.connections} connections, pipelining ${HTTP_SETTINGS.pipelining}, GET /hello on 127.0.0.1 with \`Host: api.example.com\`; three Fastify 5 server processes per session (${HTTP_SETTINGS.sessions} sessions): bare, guarded by bonafide, and the floor, each warmed up ${HTTP_SETTINGS.warmupSeconds} s. Bare and guarded are measured as ${HTTP_SETTINGS.pairs} pair(s) of ${HTTP_SETTINGS.seconds} s windows in alternating order, then the floor (one ${HTTP_SETTINGS.seconds} s window). req/s: median over windows; "÷ bare": for bonafide the median of the per-pair ratios (${ratios.map((r) => r.toFixed(3)).join(', ')}), for the floor the median over sessions of its req/s over the session's bare req/s.`,
    `Fresh signatures: ${SETTINGS.httpPool.toLocaleString('en-US')} distinct requests signed in advance (${signer.via}; Ed25519, @authority, @method, @path and the dictionary Signature-Agent member covered, 64-byte nonce, valid for 2 h). Every server gets them in turn (autocannon \`requests\` with \`setupRequest\`, one counter per server), so a signature comes back only after ${SETTINGS.httpPool.toLocaleString('en-US')} others, long after it left the guard's cache (default ${SIGNATURE_CACHE.toLocaleString('en-US')}). The guarded server runs \`signatures: { keys: [publicJwk], directory: false, replay: false }\` and counts its decisions: ${totals.fresh.toLocaleString('en-US')} fresh verifications, ${totals.cached.toLocaleString('en-US')} from the cache (any would fail the run, as would any non-2xx, error or timeout).`,
    'The floor is the same Fastify app with an `onRequest` hook that does what no verifier can skip, `crypto.verify(null, Buffer.from(base), publicKey, signature)` over a base built in advance, and nothing else: the HTTP counterpart of the micro floor, measured under the same load.',
    'Before measuring, each server is checked: a valid signature gets 200 and the body; the guarded server answers 401 to a missing or a forged signature.',
    '² 1e6/req/s − 1e6/bare req/s, with the median req/s: the extra wall time per request at saturation, as if the server used one core in both cases.',
    `³ The same per core: in each saturated window the server's CPU time (user + system, /proc) per request, i.e. 1e6 × busy / req/s with busy the share of a core the server used (below 1 when the load generator on the same ${env.cores}-core machine gets in the way); minus the bare server's, median over pairs (sessions for the floor).`,
    `⁴ Server CPU µs per request with the servers held at the same rate, ${Math.round(HTTP_SETTINGS.rateShare * 100)}% of the session's bonafide req/s, ${HTTP_SETTINGS.rateSeconds} s each; "added" is minus the bare server's, median over sessions: the cost without saturation feedback. "× floor" is bonafide's added cost over the floor's, the HTTP counterpart of the micro ratio.`,
    `In the benchmark process, between sessions and with the other core idle, \`crypto.verify\` of the same signatures takes ${fmt(median(verifyUs))} µs (median of ${verifyUs.length} samples): under load the server pays more for the same call (the load generator shares the machine), which is why the floor is measured in a server.`,
    httpNoiseNote([...pairs, ...fixedRate], state),
  ];
  return { env, table, notes, failures };
}

export function printSignatureHttp(report: SignatureHttpReport, log: (line: string) => void = console.log): void {
  printSection('bonafide signature HTTP benchmark (fresh Web Bot Auth signature per request)', report, log, failureLines(report.failures));
}

export function signatureHttpMarkdown(report: SignatureHttpReport): string {
  return markdownSection('Signature HTTP benchmark: Fastify guarded by a fresh signature per request vs bare', report, failureParagraph(report.failures));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printSignatureMicro(await runCompiled<SignatureMicroReport>('signatures.ts', 'runSignatureMicro'));
  const http = await runSignatureHttp();
  printSignatureHttp(http);
  if (http.failures.length > 0) process.exitCode = 1;
}
