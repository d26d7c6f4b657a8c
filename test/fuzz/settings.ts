import type { Parameters } from 'fast-check';

/**
 * Shared knobs of the property-based fuzz tests. `npm test` runs every property a bounded number of
 * times (the whole folder in a few seconds); `npm run fuzz` (test/fuzz/run.ts) runs the same files
 * with many more runs. A failure prints its seed and path (fast-check's report); replay it with
 * `FUZZ_SEED=<seed> FUZZ_RUNS=<runs> npx vitest run test/fuzz/<file>`.
 */

function positiveInteger(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const value = Number(text.trim());
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function seedOf(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d+$/.test(text.trim())) return undefined;
  const value = Number(text.trim());
  return Number.isSafeInteger(value) ? value | 0 : undefined;
}

/** Runs of a property of weight 1 in the normal test run. */
export const DEFAULT_RUNS = 100;

/** `FUZZ_RUNS`, or {@link DEFAULT_RUNS}. */
export const FUZZ_RUNS = positiveInteger(process.env.FUZZ_RUNS) ?? DEFAULT_RUNS;

/** `FUZZ_SEED`, or a fresh random seed (fast-check reports the seed of any failure). */
export const FUZZ_SEED = seedOf(process.env.FUZZ_SEED) ?? (Math.floor(Math.random() * 0x1_0000_0000) | 0);

/** True when running with more runs than the default (`npm run fuzz`). */
export const LONG_RUN = FUZZ_RUNS > DEFAULT_RUNS;

/**
 * fast-check parameters for one property. `weight` scales the runs for properties that are much
 * slower (crypto per run) or much faster than the typical one; at least one run always happens.
 */
export function fuzz<T>(weight = 1): Parameters<T> {
  return { numRuns: Math.max(1, Math.round(FUZZ_RUNS * weight)), seed: FUZZ_SEED };
}

/** Per-test timeout: the config's 20 s for the default run, more when running many more runs. */
export const TIMEOUT = Math.max(20_000, FUZZ_RUNS * 20);
