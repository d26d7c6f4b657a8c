/**
 * Steady-state cross-check of the micro benchmark's first-seen case: the floor and bonafide each run
 * alone in their own process, in one long loop, and every cost counts — building each request,
 * young and old generation collections — with nothing collected or prepared outside the timing.
 *
 * Why: the micro benchmark times interleaved batches with inputs built (and the young generation
 * collected) before each one. A case that keeps memory, as the token cache does, promotes it to the
 * old generation, and whichever case then allocates may pay the major collection that follows. Here
 * nothing is shared: the floor's process pays only for its own garbage, bonafide's for its own cache.
 *
 * bonafide runs as a server would: one guard with the default token cache (10,000), a stream of
 * distinct tokens (so each is a miss that is cached, evicting an older one), decided with
 * `guard.decide`. Processes alternate floor, bonafide, floor, …; each reports the median of its rounds.
 */
import { createSecretKey } from 'node:crypto';
import { createGuard, type Decision, type GuardRequest } from '../src/index.js';
import { runCompiled } from './lib/compiled.js';
import { QUICK } from './lib/measure.js';
import { summarize, type Summary } from './lib/stats.js';
import { floorVerify } from './lib/floor-hs256.js';
import { approovRequest, freshCopy, tokenFactory } from './lib/tokens.js';

const SETTINGS = QUICK ? { pool: 30_000, rounds: 3, pairs: 1 } : { pool: 100_000, rounds: 7, pairs: 3 };

/** One process's figures: µs per operation of each timed round (a round is one pass over the pool). */
export interface SteadyRun {
  readonly usPerOp: readonly number[];
}

export interface SteadyReport {
  /** Median over processes of each process's median round. */
  readonly floor: Summary;
  readonly guard: Summary;
  /** bonafide ÷ floor, per pair of processes run one after the other. */
  readonly ratios: Summary;
  readonly pool: number;
  readonly rounds: number;
}

/** What an adapter hands the guard: a fresh header record whose token is a new string. */
function request(token: string): GuardRequest {
  return approovRequest(freshCopy(token));
}

function tokenOf(input: GuardRequest): string {
  return (input.headers as Record<string, string>)['approov-token']!;
}

/** Runs `op` over the pool once untimed, then `rounds` timed passes; throws if any operation failed. */
function loop(tokens: readonly string[], op: (input: GuardRequest) => boolean): SteadyRun {
  const usPerOp: number[] = [];
  for (let round = -1; round < SETTINGS.rounds; round++) {
    let ok = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < tokens.length; i++) if (op(request(tokens[i]!))) ok++;
    const ns = Number(process.hrtime.bigint() - start);
    if (ok !== tokens.length) throw new Error(`steady: ${tokens.length - ok} of ${tokens.length} operations failed`);
    if (round >= 0) usPerOp.push(ns / tokens.length / 1000);
  }
  return { usPerOp };
}

function pool(): { tokens: string[]; secret: Buffer; secretBase64: string } {
  const factory = tokenFactory();
  const tokens = new Array<string>(SETTINGS.pool);
  for (let i = 0; i < tokens.length; i++) tokens[i] = factory.make();
  return { tokens, secret: factory.secret, secretBase64: factory.secretBase64 };
}

/** Child process: the hand-written HS256 floor. */
export async function steadyFloor(): Promise<SteadyRun> {
  const { tokens, secret } = pool();
  const key = createSecretKey(secret);
  return loop(tokens, (input) => floorVerify(tokenOf(input), key, Date.now() / 1000) !== undefined);
}

/** Child process: one guard, default token cache, every token first-seen. */
export async function steadyGuard(): Promise<SteadyRun> {
  const { tokens, secretBase64 } = pool();
  const guard = createGuard({ attestation: { approov: { secret: secretBase64 } } });
  const allowed = (decision: Decision): boolean => decision.outcome === 'allow' && decision.checks[0]?.cached === false;
  return loop(tokens, (input) => {
    const result = guard.decide!(input);
    if (result instanceof Promise) throw new Error('steady: the guard waited');
    return allowed(result);
  });
}

const median = (run: SteadyRun): number => summarize(run.usPerOp).median;

/** Alternates floor and bonafide processes and summarizes them. */
export async function runSteady(log: (line: string) => void = console.log): Promise<SteadyReport> {
  const floors: number[] = [];
  const guards: number[] = [];
  const ratios: number[] = [];
  for (let pair = 0; pair < SETTINGS.pairs; pair++) {
    log(`micro: steady state, pair ${pair + 1} of ${SETTINGS.pairs}…`);
    const floor = median(await runCompiled<SteadyRun>('micro-steady.ts', 'steadyFloor', log));
    const guard = median(await runCompiled<SteadyRun>('micro-steady.ts', 'steadyGuard', log));
    floors.push(floor);
    guards.push(guard);
    ratios.push(guard / floor);
  }
  return { floor: summarize(floors), guard: summarize(guards), ratios: summarize(ratios), pool: SETTINGS.pool, rounds: SETTINGS.rounds };
}
