/**
 * `npm run fuzz [-- <vitest args>]`: the property-based tests of test/fuzz with many more runs.
 * FUZZ_RUNS (default 20000 runs of a weight-1 property) and FUZZ_SEED (default: random) are read
 * from the environment; the seed is printed first so that any failure can be replayed with
 * `FUZZ_SEED=<seed> FUZZ_RUNS=<runs> npm run fuzz`. Works the same on every OS (no shell syntax).
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const runs = /^\d+$/.test(process.env.FUZZ_RUNS ?? '') ? process.env.FUZZ_RUNS! : '20000';
const seed = /^-?\d+$/.test(process.env.FUZZ_SEED ?? '') ? process.env.FUZZ_SEED! : String(randomInt(0, 2 ** 31));

console.log(`fuzz: FUZZ_RUNS=${runs} FUZZ_SEED=${seed}`);
console.log(`fuzz: replay with FUZZ_SEED=${seed} FUZZ_RUNS=${runs} npm run fuzz`);

// vitest's own bin script, run with this Node: no shell, no npx, no PATH lookup.
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
// The project's type-level tests (test-d) have nothing to do with fuzzing: skip that tsc pass.
const child = spawn(process.execPath, [vitest, 'run', 'test/fuzz', '--typecheck.enabled=false', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: runs, FUZZ_SEED: seed },
});
child.on('exit', (code, signal) => {
  if (signal !== null) console.log(`fuzz: vitest ended by ${signal}`);
  console.log(`fuzz: FUZZ_SEED=${seed} FUZZ_RUNS=${runs} (${code === 0 ? 'passed' : 'FAILED'})`);
  process.exit(code ?? 1);
});
