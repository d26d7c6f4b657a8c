/**
 * `npm run bench` — the micro benchmark, the HTTP benchmark, the signature benchmark (micro and
 * HTTP), the policy benchmarks, then the Redis store benchmark (skipped when Redis does not answer);
 * `npm run bench -- micro`, `-- http`, `-- signatures`, `-- policy` or `-- redis` runs one (or name several).
 * `BENCH_QUICK=1` for a short, rough run. Prints the tables and writes a Markdown summary to
 * `.bench/results.md` for the README.
 *
 * Exits 1 when a benchmark could not be trusted (a wrong answer, a non-2xx response); a missed
 * target is reported, not an error.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { httpMarkdown, printHttp, runHttp, type HttpReport } from './http.js';
import { describeEnvironment, environmentLines } from './lib/env.js';
import { runCompiled } from './lib/compiled.js';
import { microMarkdown, printMicro, withSteady, type MicroReport } from './micro.js';
import { runSteady } from './micro-steady.js';
import { printRedis, redisMarkdown, redisSkipped, runRedis, type RedisResult } from './redis.js';
import {
  printSignatureHttp,
  printSignatureMicro,
  runSignatureHttp,
  signatureHttpMarkdown,
  signatureMicroMarkdown,
  type SignatureHttpReport,
  type SignatureMicroReport,
} from './signatures.js';

const PARTS = ['micro', 'http', 'signatures', 'policy', 'redis'] as const;
type Part = (typeof PARTS)[number];

function selectedParts(args: readonly string[]): Part[] {
  if (args.length === 0) return [...PARTS];
  const unknown = args.filter((a) => !PARTS.includes(a as Part));
  if (unknown.length > 0) {
    console.error(`bench: unknown part(s) ${unknown.join(', ')}; use one or more of ${PARTS.join(', ')}`);
    process.exit(2);
  }
  return PARTS.filter((p) => args.includes(p));
}

const parts = selectedParts(process.argv.slice(2));
const quick = process.env.BENCH_QUICK === '1';
const started = performance.now();

let micro: MicroReport | undefined;
let http: HttpReport | undefined;
let sigMicro: SignatureMicroReport | undefined;
let sigHttp: SignatureHttpReport | undefined;
let redis: RedisResult | undefined;
const errors: string[] = [];
// Each table is printed as soon as its part finishes, so a failure later does not lose it.
if (parts.includes('micro')) {
  try {
    micro = withSteady(await runCompiled<MicroReport>('micro.ts', 'runMicro'), await runSteady());
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
if (parts.includes('signatures')) {
  try {
    sigMicro = await runCompiled<SignatureMicroReport>('signatures.ts', 'runSignatureMicro');
    printSignatureMicro(sigMicro);
  } catch (error) {
    errors.push(`signatures (micro): ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    sigHttp = await runSignatureHttp();
    printSignatureHttp(sigHttp);
  } catch (error) {
    errors.push(`signatures (http): ${error instanceof Error ? error.message : String(error)}`);
  }
}
if (parts.includes('policy')) {
  // Standalone scripts (they print their own tables): policy evaluation and memory rate-limit checks.
  for (const script of ['bench/policy-eval.ts', 'bench/rate-limit.ts']) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', script, ...(quick ? ['--quick'] : [])], { stdio: 'inherit', env: process.env });
    if (run.status !== 0) errors.push(`policy: ${script} exited with ${String(run.status ?? run.signal)}`);
  }
}
if (parts.includes('redis')) {
  try {
    redis = await runRedis();
    printRedis(redis);
  } catch (error) {
    errors.push(`redis: ${error instanceof Error ? error.message : String(error)}`);
  }
}
const redisReport = redis === undefined || redisSkipped(redis) ? undefined : redis;

const env = micro?.env ?? http?.env ?? sigMicro?.env ?? sigHttp?.env ?? redisReport?.env ?? describeEnvironment();
const markdown = [
  '## Benchmarks',
  '',
  ...environmentLines(env).map((line) => `${line}  `),
  `Command: \`npm run bench${parts.length === PARTS.length ? '' : ` -- ${parts.join(' ')}`}\`${quick ? ' with BENCH_QUICK=1 (short run: rough figures)' : ''}`,
  '',
  ...(micro === undefined ? [] : [microMarkdown(micro), '']),
  ...(http === undefined ? [] : [httpMarkdown(http), '']),
  ...(sigMicro === undefined ? [] : [signatureMicroMarkdown(sigMicro), '']),
  ...(sigHttp === undefined ? [] : [signatureHttpMarkdown(sigHttp), '']),
  ...(redis === undefined ? [] : [redisMarkdown(redis), '']),
  ...(errors.length === 0 ? [] : ['**Failed:**', '', ...errors.map((e) => `- ${e}`), '']),
].join('\n');
const out = fileURLToPath(new URL('../.bench/results.md', import.meta.url));
await mkdir(fileURLToPath(new URL('../.bench/', import.meta.url)), { recursive: true });
await writeFile(out, markdown);

const verdicts = [
  micro === undefined ? undefined : `micro targets ${micro.passed ? 'all PASS' : 'MISSED (see table)'}`,
  http === undefined ? undefined : `http target ${http.passed ? 'PASS for every framework' : 'MISSED (see table)'}`,
  sigMicro === undefined ? undefined : `signature targets ${sigMicro.passed ? 'all PASS' : 'MISSED (see table)'}`,
  redis === undefined
    ? undefined
    : redisSkipped(redis)
      ? 'redis skipped (Redis unreachable)'
      : `redis ${redis.commandsPerRequest.toFixed(2)} Redis commands/request, RedisStore/MemoryStore req/s ${redis.ratio.toFixed(3)}`,
].filter((v) => v !== undefined);
console.log(`\nbench: ${verdicts.length === 0 ? (parts.includes('policy') ? 'policy and rate-limit figures above' : 'no results') : verdicts.join('; ')}. Summary written to .bench/results.md (${((performance.now() - started) / 1000).toFixed(0)} s).`);
for (const error of errors) console.error(`bench: FAILED — ${error}`);
if (http !== undefined && http.failures.length > 0) console.error('bench: the HTTP run had wrong answers; its figures are not valid.');
if (sigHttp !== undefined && sigHttp.failures.length > 0) console.error('bench: the signature HTTP run had wrong answers; its figures are not valid.');
if (redisReport !== undefined && redisReport.failures.length > 0) console.error('bench: the Redis store run had wrong answers; its figures are not valid.');
const wrong = [http, sigHttp, redisReport].some((report) => report !== undefined && report.failures.length > 0);
if (errors.length > 0 || wrong) process.exitCode = 1;
