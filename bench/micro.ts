/**
 * Micro benchmark: the cost of one decision next to the crypto floor and the two JWT libraries
 * people would otherwise reach for, in one process, on the same Approov-style HS256 tokens.
 *
 * Method: see bench/lib/measure.ts (calibrated batches, interleaved rounds, medians, noise probe).
 * Async cases are awaited one at a time.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import { createGuard, type Guard, type GuardRequest } from '../src/index.js';
import { floorVerify } from './lib/floor-hs256.js';
import type { SteadyReport } from './micro-steady.js';
import { describeEnvironment, type Environment } from './lib/env.js';
import { allPassed, caseTable, elapsed, expectAll, fastest, measureCases, methodNote, noiseNote, QUICK, type Case, type CaseResult, type Role } from './lib/measure.js';
import { markdownSection, printSection } from './lib/report.js';
import { fmt } from './lib/stats.js';
import type { Table } from './lib/table.js';
import { approovRequest, freshCopy, tokenFactory, type TokenFactory } from './lib/tokens.js';

const SETTINGS = { pool: QUICK ? 30_000 : 100_000 };

/** Targets, as ratios to the floor (µs/op of the case ÷ µs/op of the floor). */
export const MICRO_TARGETS = { firstSeen: 1.5, repeated: 0.3 } as const;

/** The bound header of cases f and g: an opaque user credential. */
const AUTHORIZATION = 'Bearer 7f3c0a5e9b2d4c18a6e1f0b3d5c7e9a1';
const DEFAULT_TOKEN_CACHE = 10_000;

/**
 * Young-generation collection before each batch, as in the signatures part: the guard keeps a token
 * cache, and a full collection before every batch would bring the caching cases a major collection
 * per batch (see bench/lib/measure.ts). The steady-state cross-check (bench/micro-steady.ts) counts
 * every collection instead, each side in its own process.
 */
const COLLECT = 'minor';

export interface MicroReport {
  readonly env: Environment;
  readonly results: readonly CaseResult[];
  readonly table: Table;
  readonly notes: readonly string[];
  /** Every target met. */
  readonly passed: boolean;
  /** The steady-state cross-check (bench/micro-steady.ts), when it ran. */
  readonly steady?: SteadyReport;
}

// ---------------------------------------------------------------------------------------------
// (a) The floor: the least a correct HS256 verifier can do (bench/lib/floor-hs256.ts).

// ---------------------------------------------------------------------------------------------
// Inputs

/**
 * Distinct tokens handed out in order, wrapping around; each batch gets fresh string copies. Each
 * case takes its own view (`view()`), so a token comes back to a case only after all the others.
 */
class TokenPool {
  readonly #tokens: readonly string[];
  #cursor = 0;

  constructor(tokens: readonly string[]) {
    this.#tokens = tokens;
  }

  /** The same tokens with a cursor of its own. */
  view(): TokenPool {
    return new TokenPool(this.#tokens);
  }

  next(n: number): string[] {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      out[i] = freshCopy(this.#tokens[this.#cursor]!);
      this.#cursor = (this.#cursor + 1) % this.#tokens.length;
    }
    return out;
  }
}

function repeated(token: string, n: number): string[] {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = freshCopy(token);
  return out;
}

/** The requests an adapter would hand the guard (bench/lib/tokens.ts `approovRequest`). */
function toRequests(tokens: readonly string[], bound: boolean): GuardRequest[] {
  return tokens.map((token) => approovRequest(token, bound ? AUTHORIZATION : undefined));
}

// ---------------------------------------------------------------------------------------------
// Cases. Each has its own loop so that each loop's call site stays monomorphic.

function floorCase(pool: TokenPool, key: KeyObject): Case {
  let tokens: string[] = [];
  return {
    id: 'a',
    name: 'floor: node:crypto HS256, hand-written',
    role: 'floor',
    prepare(n) {
      tokens = pool.next(n);
    },
    async run(n) {
      let ok = 0;
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        if (floorVerify(tokens[i]!, key, Date.now() / 1000) !== undefined) ok++;
      }
      const ns = elapsed(start);
      expectAll('micro', 'a', ok, n);
      return ns;
    },
  };
}

type JoseKey = CryptoKey | KeyObject;

function joseCase(pool: TokenPool, key: JoseKey, form: string): Case {
  let tokens: string[] = [];
  const options = { algorithms: ['HS256'] };
  return {
    id: 'b',
    name: `jose jwtVerify (async, WebCrypto; ${form})`,
    role: 'peer',
    prepare(n) {
      tokens = pool.next(n);
    },
    async run(n) {
      let ok = 0;
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const { payload } = await jwtVerify(tokens[i]!, key, options);
        if (payload.exp !== undefined) ok++;
      }
      const ns = elapsed(start);
      expectAll('micro', 'b', ok, n);
      return ns;
    },
  };
}

function jsonwebtokenCase(pool: TokenPool, key: KeyObject): Case {
  let tokens: string[] = [];
  const options = { algorithms: ['HS256' as const] };
  return {
    id: 'c',
    name: 'jsonwebtoken verify (KeyObject)',
    role: 'peer',
    prepare(n) {
      tokens = pool.next(n);
    },
    async run(n) {
      let ok = 0;
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const payload = jwt.verify(tokens[i]!, key, options);
        if (typeof payload === 'object' && payload.exp !== undefined) ok++;
      }
      const ns = elapsed(start);
      expectAll('micro', 'c', ok, n);
      return ns;
    },
  };
}

interface GuardCaseOptions {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly target?: number;
  readonly bound: boolean;
  /** `fresh`: a new guard per batch with room for every token; a number: one guard with that cache size. */
  readonly cache: 'fresh' | number;
  /** Where the batch's tokens come from; `undefined` for the repeated case. */
  readonly pool?: TokenPool;
  /** The one token of the repeated case. */
  readonly token?: string;
  /** Tokens verified once before the first batch, so the cache already holds that many others. */
  readonly prefill?: { readonly pool: TokenPool; readonly count: number };
  /**
   * `decide` (default): `guard.decide`, what every adapter calls — a Decision, or a Promise only when
   * the guard must wait (never here). `check`: `guard.check`, which always returns a Promise, awaited.
   */
  readonly api?: 'decide' | 'check';
}

function guardCase(o: GuardCaseOptions, secretBase64: string): Case {
  const approov = o.bound ? { secret: secretBase64, binding: 'Authorization' } : { secret: secretBase64 };
  const make = (tokens: number): Guard => createGuard({ attestation: { approov }, cache: { tokens } });
  let guard = o.cache === 'fresh' ? make(1) : make(o.cache);
  let requests: GuardRequest[] = [];
  const expectCached = o.pool === undefined;
  let prefill = o.prefill;
  return {
    id: o.id,
    name: o.name,
    role: o.role,
    target: o.target,
    async prepare(n) {
      if (prefill !== undefined) {
        for (const request of toRequests(prefill.pool.next(prefill.count), o.bound)) await guard.check(request);
        prefill = undefined;
      }
      if (o.cache === 'fresh') {
        void guard.close();
        guard = make(n);
      }
      requests = toRequests(o.pool === undefined ? repeated(o.token!, n) : o.pool.next(n), o.bound);
    },
    async run(n) {
      let ok = 0;
      const g = guard;
      // The repeated case: verify the token once, untimed, so every timed check is a cache hit.
      if (expectCached) await g.check(requests[0]!);
      const viaCheck = o.api === 'check';
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const result = viaCheck ? g.check(requests[i]!) : g.decide!(requests[i]!);
        const decision = result instanceof Promise ? await result : result;
        if (decision.outcome === 'allow' && decision.reason === 'OK' && decision.checks[0]?.cached === expectCached) ok++;
      }
      const ns = elapsed(start);
      expectAll('micro', o.id, ok, n);
      return ns;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement

/** jose on Node takes a CryptoKey or a KeyObject (converted once and cached); use whichever is faster here. */
async function fastestJoseKey(pool: TokenPool, secret: Buffer): Promise<{ key: JoseKey; form: string }> {
  const cryptoKey = await crypto.subtle.importKey('raw', new Uint8Array(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const candidates = [
    { key: cryptoKey as JoseKey, form: 'CryptoKey from subtle.importKey' },
    { key: createSecretKey(secret) as JoseKey, form: 'KeyObject from createSecretKey' },
  ];
  return fastest(candidates, (candidate) => joseCase(pool.view(), candidate.key, candidate.form));
}

function makePool(factory: TokenFactory, size: number, bindTo?: string): TokenPool {
  const tokens = new Array<string>(size);
  for (let i = 0; i < size; i++) tokens[i] = factory.make(bindTo === undefined ? {} : { bindTo });
  return new TokenPool(tokens);
}

export async function runMicro(log: (line: string) => void = console.log): Promise<MicroReport> {
  const env = describeEnvironment();
  const factory = tokenFactory();
  const key = createSecretKey(factory.secret);
  log(`micro: generating ${(2 * SETTINGS.pool).toLocaleString('en-US')} distinct tokens…`);
  const pool = makePool(factory, SETTINGS.pool);
  const boundPool = makePool(factory, SETTINGS.pool, AUTHORIZATION);
  const oneToken = factory.make();
  const otherToken = factory.make();
  const oneBoundToken = factory.make({ bindTo: AUTHORIZATION });
  const jose = await fastestJoseKey(pool, factory.secret);
  const cacheNote = DEFAULT_TOKEN_CACHE.toLocaleString('en-US');

  const cases: Case[] = [
    floorCase(pool.view(), key),
    joseCase(pool.view(), jose.key, jose.form),
    jsonwebtokenCase(pool.view(), key),
    guardCase(
      { id: 'd', name: 'bonafide guard.decide, first-seen token', role: 'target', target: MICRO_TARGETS.firstSeen, bound: false, cache: 'fresh', pool: pool.view() },
      factory.secretBase64,
    ),
    guardCase(
      { id: 'd1', name: 'bonafide first-seen, guard.check (a promise, awaited)', role: 'info', bound: false, cache: 'fresh', pool: pool.view(), api: 'check' },
      factory.secretBase64,
    ),
    guardCase(
      { id: 'd0', name: 'bonafide first-seen, token cache disabled (0)', role: 'info', bound: false, cache: 0, pool: pool.view() },
      factory.secretBase64,
    ),
    guardCase(
      { id: 'd2', name: `bonafide first-seen, cache full (${cacheNote}, evicting)`, role: 'info', bound: false, cache: DEFAULT_TOKEN_CACHE, pool: pool.view() },
      factory.secretBase64,
    ),
    guardCase(
      { id: 'e', name: 'bonafide guard.decide, repeated token (cache hit)', role: 'target', target: MICRO_TARGETS.repeated, bound: false, cache: DEFAULT_TOKEN_CACHE, token: oneToken },
      factory.secretBase64,
    ),
    guardCase(
      {
        id: 'e2',
        name: `bonafide repeated, ${cacheNote} other tokens cached`,
        role: 'info',
        bound: false,
        cache: DEFAULT_TOKEN_CACHE,
        token: otherToken,
        prefill: { pool: pool.view(), count: DEFAULT_TOKEN_CACHE - 1 },
      },
      factory.secretBase64,
    ),
    guardCase(
      { id: 'f', name: 'bonafide first-seen, bound to Authorization', role: 'info', bound: true, cache: 'fresh', pool: boundPool.view() },
      factory.secretBase64,
    ),
    guardCase(
      { id: 'g', name: 'bonafide repeated, bound to Authorization', role: 'info', bound: true, cache: DEFAULT_TOKEN_CACHE, token: oneBoundToken },
      factory.secretBase64,
    ),
  ];

  const measured = await measureCases('micro', cases, SETTINGS.pool, log, COLLECT);
  const { results } = measured;
  const table = caseTable(results);
  const notes = [
    methodNote(COLLECT),
    'Tokens: HS256, 32-byte secret, {exp: now+3600 as a float, did}; every operation gets a fresh string (as a parsed header would be).',
    'jose is async and verifies with WebCrypto (crypto.subtle); each call is awaited. The others are synchronous node:crypto. bonafide is called as every adapter calls it, `guard.decide` (synchronous when no key, body or store has to be waited for, as here); (d1) is (d) through `guard.check`, which always returns a promise (awaited).',
    `(d) and (f) get a new guard per batch whose token cache holds the whole batch, so every check is a miss that gets cached; (d2) uses one guard with the default cache of ${cacheNote} while tokens cycle through ${SETTINGS.pool.toLocaleString('en-US')}, so every check also evicts the oldest entry.`,
    '(d0) is (d) with the token cache disabled (`cache: { tokens: 0 }`): the guard pipeline without the cost of caching.',
    `(e) and (g) send the same token text every time (cache hit); time and binding checks still run per request. (e2) does the same with ${DEFAULT_TOKEN_CACHE - 1} other tokens in the cache, as on a server with many clients.`,
    noiseNote(measured),
  ];
  return { env, results, table, notes, passed: allPassed(results) };
}

/** The report with the steady-state cross-check added as a note. */
export function withSteady(report: MicroReport, steady: SteadyReport): MicroReport {
  const { floor, guard, ratios } = steady;
  const range = ratios.min === ratios.max ? '' : ` (pairs ${ratios.min.toFixed(2)}–${ratios.max.toFixed(2)}×)`;
  const note =
    `Steady-state cross-check (bench/micro-steady.ts): the floor and bonafide each alone in its own process, ${ratios.samples.length} of each, alternating; one loop over ${steady.pool.toLocaleString('en-US')} distinct tokens, ${steady.rounds} timed passes, building each request inside the timing (a new header record and token string: the same work on both sides, which narrows the ratio a little) and nothing collected outside it, so every collection counts; bonafide is one guard with the default cache (${DEFAULT_TOKEN_CACHE.toLocaleString('en-US')}), every token a miss that is cached and evicts an older one. ` +
    `Floor ${fmt(floor.median)} µs/op, bonafide ${fmt(guard.median)} µs/op: ${ratios.median.toFixed(2)}× the floor${range}.`;
  return { ...report, notes: [...report.notes, note], steady };
}

export function printMicro(report: MicroReport, log: (line: string) => void = console.log): void {
  printSection('bonafide micro benchmark', report, log);
}

export function microMarkdown(report: MicroReport): string {
  return markdownSection('Micro benchmark: one decision vs the HS256 floor', report);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printMicro(await runMicro());
}
