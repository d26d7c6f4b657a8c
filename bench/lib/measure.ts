/**
 * In-process measurement shared by the micro benchmarks (`micro`, `signatures`).
 *
 * Method: calibrate each case to batches of ~150 ms (capped at its input pool) and warm it up, then
 * time 15 rounds of one batch per case, in rotating order, and report each case's median µs/op
 * (min and max beside it). Interleaving makes a noisy moment on this shared machine hit every case
 * alike, which keeps the ratios to the floor honest. Inputs are built and the heap collected before
 * each batch, outside the timed loop. A round during which other processes used more than a quarter
 * of a core is run again (a few times at most).
 *
 * The collection before each batch is a full one (`full`, what `micro` uses) or of the young
 * generation only (`minor`): a full collection also resets V8's old-generation heuristics, so a case
 * that keeps memory (a cache filling up) gets a major collection in nearly every batch, which a
 * running server pays far less often; `minor` still clears the garbage of building the inputs.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { machineBusySeconds, ownCpuSeconds } from './env.js';
import { fmt, summarize, type Summary } from './stats.js';
import type { Table } from './table.js';

export const QUICK = process.env.BENCH_QUICK === '1';
export const MEASURE = QUICK ? { batches: 5, batchMs: 50, warmupMs: 100 } : { batches: 15, batchMs: 150, warmupMs: 400 };

/** A round during which other processes used more than this share of a core is run again (at most MAX_DISCARDED times). */
export const NOISY = 0.25;
const MAX_DISCARDED = QUICK ? 0 : 8;

export type Role = 'floor' | 'peer' | 'target' | 'info';

/** What is collected before each batch (see above). */
export type Collect = 'full' | 'minor';

export interface Case {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  /** Largest acceptable ratio to the floor, for role `target`. */
  readonly target?: number;
  /** Builds the inputs of the next batch of `n` operations. Not timed. */
  prepare(n: number): void | Promise<void>;
  /** Runs the prepared batch and returns the elapsed nanoseconds. Throws if any operation failed. */
  run(n: number): Promise<number>;
}

export interface CaseResult {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly target: number | undefined;
  readonly opsPerBatch: number;
  /** µs per operation, one sample per batch. */
  readonly usPerOp: Summary;
}

export function elapsed(start: bigint): number {
  return Number(process.hrtime.bigint() - start);
}

export function expectAll(part: string, id: string, ok: number, n: number): void {
  if (ok !== n) throw new Error(`${part} case ${id}: ${n - ok} of ${n} operations did not give the expected result`);
}

type Gc = (options?: { type: 'minor' | 'major' }) => void;

function exposeGc(): Gc {
  const existing = (globalThis as { gc?: Gc }).gc;
  if (typeof existing === 'function') return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as Gc;
}

const gc = exposeGc();

export async function timeBatch(c: Case, n: number, collect: Collect = 'full'): Promise<number> {
  await c.prepare(n);
  if (collect === 'minor') gc({ type: 'minor' });
  else gc();
  return c.run(n);
}

/** Finds the batch size that takes about `batchMs`, capped at the input pool. */
async function calibrate(c: Case, cap: number, collect: Collect): Promise<number> {
  let n = 500;
  for (;;) {
    const ns = await timeBatch(c, n, collect);
    if (ns >= 25e6 || n >= cap) {
      const perOp = ns / n;
      return Math.max(500, Math.min(cap, Math.round((MEASURE.batchMs * 1e6) / perOp)));
    }
    n = Math.min(cap, n * 4);
  }
}

/** Calibrates and warms one case up; returns its batch size. */
async function prepareCase(c: Case, cap: number, collect: Collect): Promise<number> {
  const n = await calibrate(c, cap, collect);
  const warmupEnd = performance.now() + MEASURE.warmupMs;
  let warmups = 0;
  while (warmups < 2 || performance.now() < warmupEnd) {
    await timeBatch(c, n, collect);
    warmups++;
  }
  return n;
}

/** CPU counters at one moment: the machine's (all processes), this process's, and the wall clock. */
interface NoiseProbe {
  readonly machine: number | undefined;
  readonly own: number;
  readonly wall: number;
}

function probe(): NoiseProbe {
  return { machine: machineBusySeconds(), own: ownCpuSeconds(), wall: performance.now() };
}

/** Share of a core other processes used since `start` (this process excluded); `undefined` without /proc. */
function othersSince(start: NoiseProbe): number | undefined {
  const end = probe();
  if (start.machine === undefined || end.machine === undefined) return undefined;
  return Math.max(0, end.machine - start.machine - (end.own - start.own)) / ((end.wall - start.wall) / 1000);
}

export interface Measured {
  readonly results: readonly CaseResult[];
  /** Mean share of a core other processes used during the kept rounds. */
  readonly others: number | undefined;
  readonly discarded: number;
}

/**
 * Times every case in rounds, one batch of each per round, rotating the order: on a shared machine
 * a noisy second then lands on all cases alike instead of on whichever ran during it. A round during
 * which other processes used more than NOISY of a core is thrown away and run again (a few at most).
 */
async function measureInterleaved(
  cases: readonly Case[],
  sizes: readonly number[],
  collect: Collect,
): Promise<{ samples: number[][]; others: number | undefined; discarded: number }> {
  const samples: number[][] = cases.map(() => []);
  let discarded = 0;
  let othersTotal = 0;
  let othersKnown = true;
  for (let round = 0, kept = 0; kept < MEASURE.batches; round++) {
    const start = probe();
    const row: number[] = [];
    for (let k = 0; k < cases.length; k++) {
      const i = (k + round) % cases.length;
      const n = sizes[i]!;
      row[i] = (await timeBatch(cases[i]!, n, collect)) / n / 1000;
    }
    const others = othersSince(start);
    if (others !== undefined && others > NOISY && discarded < MAX_DISCARDED) {
      discarded++;
      continue;
    }
    if (others === undefined) othersKnown = false;
    else othersTotal += others;
    row.forEach((value, i) => samples[i]!.push(value));
    kept++;
  }
  return { samples, others: othersKnown ? othersTotal / MEASURE.batches : undefined, discarded };
}

/** Calibrates and warms up every case (batches capped at `cap` operations), then times them interleaved. */
export async function measureCases(
  part: string,
  cases: readonly Case[],
  cap: number,
  log: (line: string) => void,
  collect: Collect = 'full',
): Promise<Measured> {
  const sizes: number[] = [];
  for (const c of cases) {
    sizes.push(await prepareCase(c, cap, collect));
    log(`${part}: (${c.id}) calibrated and warmed up`);
  }
  log(`${part}: timing ${MEASURE.batches} interleaved rounds…`);
  const { samples, others, discarded } = await measureInterleaved(cases, sizes, collect);
  const results = cases.map((c, i) => ({
    id: c.id,
    name: c.name,
    role: c.role,
    target: c.target,
    opsPerBatch: sizes[i]!,
    usPerOp: summarize(samples[i]!),
  }));
  return { results, others, discarded };
}

/** Median µs/op of the floor case (the first case with role `floor`). */
export function floorOf(results: readonly CaseResult[]): number {
  const floor = results.find((r) => r.role === 'floor');
  if (floor === undefined) throw new Error('no floor case');
  return floor.usPerOp.median;
}

export function verdict(result: CaseResult, floorUs: number): string {
  if (result.target === undefined) return result.role === 'floor' ? '' : 'info';
  return result.usPerOp.median / floorUs <= result.target ? 'PASS' : 'MISS';
}

/** Every target met. */
export function allPassed(results: readonly CaseResult[]): boolean {
  const floorUs = floorOf(results);
  return results.every((r) => r.target === undefined || verdict(r, floorUs) === 'PASS');
}

/** Two decimals, or three where two would round onto the target and hide which side of it the ratio is. */
function ratioText(ratio: number, target: number | undefined): string {
  const shown = ratio.toFixed(2);
  return target !== undefined && Number(shown) === target ? ratio.toFixed(3) : shown;
}

/** One row per case: median, min, max, batch size, ratio to the floor, target and verdict. */
export function caseTable(results: readonly CaseResult[]): Table {
  const floorUs = floorOf(results);
  return {
    columns: ['case', 'median µs/op', 'min', 'max', 'ops/batch', '× floor', 'target', 'result'],
    numeric: new Set([1, 2, 3, 4, 5]),
    rows: results.map((r) => [
      `(${r.id}) ${r.name}`,
      fmt(r.usPerOp.median),
      fmt(r.usPerOp.min),
      fmt(r.usPerOp.max),
      r.opsPerBatch.toLocaleString('en-US'),
      `${ratioText(r.usPerOp.median / floorUs, r.target)}×`,
      r.target === undefined ? '' : `≤ ${r.target.toFixed(2)}×`,
      verdict(r, floorUs),
    ]),
  };
}

/** The footnote on method: batch size, warm-up, rounds (and the collection before each batch when it is not the full one). */
export function methodNote(collect: Collect = 'full'): string {
  const minor = collect === 'minor' ? ' Before each batch the young generation is collected (not the whole heap, see bench/lib/measure.ts).' : '';
  return `Each case is calibrated to ~${MEASURE.batchMs} ms batches and warmed up (≥ ${MEASURE.warmupMs} ms), then timed in ${MEASURE.batches} rounds of one batch per case, order rotating; µs/op is the median batch (min/max beside it).${minor}`;
}

/** The footnote on noise: how busy the rest of the machine was, and how many rounds were run again. */
export function noiseNote({ others, discarded }: Pick<Measured, 'others' | 'discarded'>): string {
  return others === undefined
    ? 'Noise: unknown (no /proc).'
    : `Noise: other processes used ${Math.round(others * 100)}% of a core on average during the kept rounds (this process uses one); ` +
        `${discarded} round(s) were thrown away and run again because they used more than ${Math.round(NOISY * 100)}%.` +
        (others > NOISY ? ' THESE FIGURES ARE NOT RELIABLE: run again on a quieter machine.' : '');
}

/**
 * Of several ways to call the same peer (a key form, a request form), the one that is fastest here:
 * one warm-up batch, then the median of five batches of `n` operations each.
 */
export async function fastest<T>(candidates: readonly T[], toCase: (candidate: T) => Case, n = 5000, collect: Collect = 'full'): Promise<T> {
  let best: T | undefined;
  let bestUs = Infinity;
  for (const candidate of candidates) {
    const c = toCase(candidate);
    await timeBatch(c, n, collect);
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) samples.push((await timeBatch(c, n, collect)) / n);
    const us = summarize(samples).median;
    if (us < bestUs) {
      bestUs = us;
      best = candidate;
    }
  }
  if (best === undefined) throw new Error('fastest: no candidates');
  return best;
}
