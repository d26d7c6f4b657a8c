/**
 * Timing helpers for the linearity checks (timing.test.ts, regressions.test.ts). Machines are noisy,
 * so every figure is a median of several samples, each sample repeats the call until it takes a few
 * milliseconds, and the two sizes being compared are measured alternately.
 */

const SAMPLES = 5;
const SAMPLE_MS = 2;

function repetitionsFor(run: () => void): number {
  let reps = 1;
  for (;;) {
    const start = performance.now();
    for (let i = 0; i < reps; i++) run();
    if (performance.now() - start >= SAMPLE_MS || reps >= 1 << 16) return reps;
    reps *= 2;
  }
}

function sample(run: () => void, reps: number): number {
  const start = performance.now();
  for (let i = 0; i < reps; i++) run();
  return (performance.now() - start) / reps;
}

const median = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1]!;

/** Median milliseconds per call of each function, measured alternately. */
export function medianTimes(runs: readonly (() => void)[]): number[] {
  const reps = runs.map(repetitionsFor); // also the warm-up
  const times = runs.map(() => [] as number[]);
  for (let s = 0; s < SAMPLES; s++) runs.forEach((run, i) => times[i]!.push(sample(run, reps[i]!)));
  return times.map(median);
}

/**
 * The smallest of up to `attempts` ratios `times[0] / times[1]` of two functions measured alternately,
 * measured again only while the ratio is at or above `bound` (see settledGrowth for why).
 */
export function settledRatio(slow: () => void, fast: () => void, bound: number, attempts = 3): number {
  let best = Infinity;
  for (let i = 0; i < attempts && best >= bound; i++) {
    const [a, b] = medianTimes([slow, fast]);
    best = Math.min(best, a! / Math.max(b!, 1e-6));
  }
  return best;
}

/** How much longer `run` takes on the input of size `large` than on the one of size `small`. */
export function growth<T>(make: (size: number) => T, run: (input: T) => unknown, small: number, large: number): { ratio: number; small: number; large: number } {
  const a = make(small);
  const b = make(large);
  const [ta, tb] = medianTimes([() => void run(a), () => void run(b)]);
  // A floor of a microsecond: a call that is all fixed cost must not make a tiny denominator.
  return { ratio: tb! / Math.max(ta!, 0.001), small: ta!, large: tb! };
}

/**
 * `growth`, measured again (up to `attempts` times) while the ratio is at or above `bound`: a busy
 * machine (other test files run in parallel) can spoil one measurement, but not a real quadratic,
 * which fails every attempt. Returns the attempt with the smallest ratio.
 */
export function settledGrowth<T>(
  make: (size: number) => T,
  run: (input: T) => unknown,
  small: number,
  large: number,
  bound: number,
  attempts = 3,
): { ratio: number; small: number; large: number } {
  let best = growth(make, run, small, large);
  for (let i = 1; i < attempts && best.ratio >= bound; i++) {
    const next = growth(make, run, small, large);
    if (next.ratio < best.ratio) best = next;
  }
  return best;
}
