/**
 * `npm run bench` — the micro benchmark, then the HTTP benchmark; `npm run bench -- micro` or
 * `-- http` runs one. `BENCH_QUICK=1` for a short, rough run. Prints both tables and writes a
 * Markdown summary to `.bench/results.md` for the README.
 *
 * Exits 1 when a benchmark could not be trusted (a wrong answer, a non-2xx response); a missed
 * target is reported, not an error.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { httpMarkdown, printHttp, runHttp, type HttpReport } from './http.js';
import { describeEnvironment, environmentLines } from './lib/env.js';
import { microMarkdown, printMicro, runMicro, type MicroReport } from './micro.js';

const PARTS = ['micro', 'http'] as const;
type Part = (typeof PARTS)[number];

function selectedParts(args: readonly string[]): Part[] {
  if (args.length === 0) return [...PARTS];
  const unknown = args.filter((a) => !PARTS.includes(a as Part));
  if (unknown.length > 0) {
    console.error(`bench: unknown part(s) ${unknown.join(', ')}; use ${PARTS.join(' and/or ')}`);
    process.exit(2);
  }
  return PARTS.filter((p) => args.includes(p));
}

const parts = selectedParts(process.argv.slice(2));
const quick = process.env.BENCH_QUICK === '1';
const started = performance.now();

let micro: MicroReport | undefined;
let http: HttpReport | undefined;
const errors: string[] = [];
// Each table is printed as soon as its part finishes, so a failure later does not lose it.
if (parts.includes('micro')) {
  try {
    micro = await runMicro();
    printMicro(micro);
  } catch (error) {
    errors.push(`micro: ${error instanceof Error ? error.message : String(error)}`);
  }
}
if (parts.includes('http')) {
  try {
    http = await runHttp();
    printHttp(http);
  } catch (error) {
    errors.push(`http: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const env = micro?.env ?? http?.env ?? describeEnvironment();
const markdown = [
  '## Benchmarks',
  '',
  ...environmentLines(env).map((line) => `${line}  `),
  `Command: \`npm run bench${parts.length === PARTS.length ? '' : ` -- ${parts.join(' ')}`}\`${quick ? ' with BENCH_QUICK=1 (short run: rough figures)' : ''}`,
  '',
  ...(micro === undefined ? [] : [microMarkdown(micro), '']),
  ...(http === undefined ? [] : [httpMarkdown(http), '']),
  ...(errors.length === 0 ? [] : ['**Failed:**', '', ...errors.map((e) => `- ${e}`), '']),
].join('\n');
const out = fileURLToPath(new URL('../.bench/results.md', import.meta.url));
await mkdir(fileURLToPath(new URL('../.bench/', import.meta.url)), { recursive: true });
await writeFile(out, markdown);

const verdicts = [
  micro === undefined ? undefined : `micro targets ${micro.passed ? 'all PASS' : 'MISSED (see table)'}`,
  http === undefined ? undefined : `http target ${http.passed ? 'PASS for every framework' : 'MISSED (see table)'}`,
].filter((v) => v !== undefined);
console.log(`\nbench: ${verdicts.length === 0 ? 'no results' : verdicts.join('; ')}. Summary written to .bench/results.md (${((performance.now() - started) / 1000).toFixed(0)} s).`);
for (const error of errors) console.error(`bench: FAILED — ${error}`);
if (http !== undefined && http.failures.length > 0) console.error('bench: the HTTP run had wrong answers; its figures are not valid.');
if (errors.length > 0 || (http !== undefined && http.failures.length > 0)) process.exitCode = 1;
