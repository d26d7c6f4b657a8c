/**
 * HTTP benchmark: requests per second of GET /hello on Express, Koa and Fastify, bare and guarded
 * by bonafide, with one valid Approov token reused on every request (so the guarded server answers
 * from its token cache after the first request, as for one app instance's stream of calls).
 *
 * This machine is shared and its speed drifts by tens of percent from one minute to the next, so
 * the comparison is paired: per framework, a session starts a fresh bare and a fresh guarded server
 * (bench/servers/server.ts, one process each), checks that both answer as expected, warms both up,
 * then measures them in alternating windows (bare, guarded, guarded, bare, …). Each adjacent pair
 * of windows gives one guarded/bare ratio; the table reports the median ratio over all pairs, and
 * the median req/s over all windows. Several sessions, because two processes running the same
 * code can differ by 10–20% (JIT and GC state). A pair during which other processes used more
 * than a quarter of a core is measured again (a few times at most).
 *
 * Each session ends with one more pair at a fixed request rate (half the bare server's), where both
 * servers do the same work per second: the server CPU time per response then shows what the guard
 * itself costs, without the feedback that saturation adds on a 2-core machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import { cpuSeconds, describeEnvironment, environmentLines, machineBusySeconds, ownCpuSeconds, type Environment } from './lib/env.js';
import { fmt, summarize } from './lib/stats.js';
import { markdownTable, textTable, type Table } from './lib/table.js';
import { tokenFactory } from './lib/tokens.js';

export const HTTP_TARGET = 0.85;

/** A window during which other processes used more than this share of a core is measured again. */
const NOISY = 0.25;

const FRAMEWORKS = ['express', 'koa', 'fastify'] as const;
type Framework = (typeof FRAMEWORKS)[number];
type Mode = 'bare' | 'guarded';

const QUICK = process.env.BENCH_QUICK === '1';

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

const SETTINGS = {
  /** Fresh server pairs per framework. */
  sessions: envNumber('BENCH_HTTP_SESSIONS', QUICK ? 1 : 3),
  /** Bare/guarded window pairs per session. */
  pairs: envNumber('BENCH_HTTP_PAIRS', QUICK ? 1 : 2),
  warmupSeconds: envNumber('BENCH_HTTP_WARMUP', QUICK ? 1 : 2),
  seconds: envNumber('BENCH_HTTP_SECONDS', QUICK ? 2 : 3),
  /** The fixed-rate windows (one pair per session), at this share of the session's bare req/s. */
  rateSeconds: envNumber('BENCH_HTTP_RATE_SECONDS', QUICK ? 2 : 3),
  rateShare: 0.5,
  connections: envNumber('BENCH_HTTP_CONNECTIONS', 20),
  pipelining: 1,
};

/** Noisy pairs measured again, in all. */
const MAX_REPEATS = QUICK ? 0 : 3;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER = fileURLToPath(new URL('./servers/server.ts', import.meta.url));
const BODY = 'hello world';

interface Server {
  readonly port: number;
  readonly child: ChildProcess;
  readonly stderr: () => string;
}

/** One measured window against one server. */
interface Window {
  readonly requestsPerSecond: number;
  /** Server CPU time (user + system) per answered request, in µs; `undefined` without /proc. */
  readonly cpuPerRequest: number | undefined;
  /** Server CPU time over wall time (1 = one core fully busy). */
  readonly busy: number | undefined;
  /** CPU other processes used meanwhile, in cores (neither the server nor this process). */
  readonly others: number | undefined;
  readonly p50: number;
  readonly p99: number;
}

interface Pair {
  readonly framework: Framework;
  readonly bare: Window;
  readonly guarded: Window;
}

/** Both servers at the same request rate, below what either can do: the server CPU each request costs. */
interface FixedRatePair extends Pair {
  readonly rate: number;
}

export interface HttpReport {
  readonly env: Environment;
  readonly table: Table;
  readonly notes: readonly string[];
  /** Every framework met the target. */
  readonly passed: boolean;
  /** Wrong answers: any non-2xx response, error or timeout, or a failed sanity check. Empty when all is well. */
  readonly failures: readonly string[];
}

async function startServer(framework: Framework, mode: Mode, secret: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, framework, mode], {
    cwd: ROOT,
    env: { ...process.env, BENCH_APPROOV_SECRET: secret, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => fail(new Error('did not print its port within 30 s')), 30_000);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`bench server ${framework}/${mode}: ${error.message}\n${stderr}`));
    };
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`exited early (code ${code}, signal ${signal})`)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /BENCH_PORT=(\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(Number(match[1]));
      }
    });
  });
  return { port, child, stderr: () => stderr };
}

async function stopServer(server: Server): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** One GET on its own connection: status and body. */
function get(port: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/hello', method: 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.end();
  });
}

/** Proves the server does what the run claims: guarded refuses a missing or forged token, everyone accepts the good one. */
async function sanityCheck(server: Server, mode: Mode, token: string, forged: string): Promise<string[]> {
  const problems: string[] = [];
  const expect = async (label: string, headers: Record<string, string>, status: number): Promise<void> => {
    const res = await get(server.port, headers);
    if (res.status !== status) problems.push(`${label}: expected ${status}, got ${res.status}`);
    else if (status === 200 && res.body !== BODY) problems.push(`${label}: unexpected body ${JSON.stringify(res.body.slice(0, 80))}`);
  };
  await expect('valid token', { 'approov-token': token }, 200);
  await expect('no token', {}, mode === 'guarded' ? 401 : 200);
  await expect('forged token', { 'approov-token': forged }, mode === 'guarded' ? 401 : 200);
  return problems;
}

/** Load for `seconds`: as fast as the server answers, or at `rate` requests per second in all. */
function load(port: number, token: string, seconds: number, rate?: number): Promise<Result> {
  return autocannon({
    url: `http://127.0.0.1:${port}/hello`,
    connections: SETTINGS.connections,
    pipelining: SETTINGS.pipelining,
    duration: seconds,
    headers: { 'approov-token': token, accept: '*/*' },
    ...(rate === undefined ? {} : { overallRate: rate }),
  });
}

/** Measures one window; any response other than 200 is recorded in `failures`. */
async function measure(
  framework: Framework,
  mode: Mode,
  server: Server,
  token: string,
  failures: string[],
  rate?: number,
): Promise<Window> {
  const cpuBefore = cpuSeconds(server.child.pid);
  const machineBefore = machineBusySeconds();
  const ownBefore = ownCpuSeconds();
  const wallBefore = performance.now();
  const r = await load(server.port, token, rate === undefined ? SETTINGS.seconds : SETTINGS.rateSeconds, rate);
  const cpuAfter = cpuSeconds(server.child.pid);
  const machineAfter = machineBusySeconds();
  const own = ownCpuSeconds() - ownBefore;
  const wall = (performance.now() - wallBefore) / 1000;
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  const others =
    cpu === undefined || machineBefore === undefined || machineAfter === undefined
      ? undefined
      : Math.max(0, (machineAfter - machineBefore - cpu - own) / wall);
  checkResult(framework, mode, r, failures);
  const answered = r['2xx'] + r.non2xx;
  return {
    requestsPerSecond: r.requests.average,
    cpuPerRequest: cpu === undefined || answered === 0 ? undefined : (cpu / answered) * 1e6,
    busy: cpu === undefined ? undefined : cpu / wall,
    others,
    p50: r.latency.p50,
    p99: r.latency.p99,
  };
}

function checkResult(framework: Framework, mode: Mode, r: Result, failures: string[]): void {
  if (r.non2xx + r.errors + r.timeouts > 0 || r['2xx'] === 0) {
    failures.push(
      `${framework}/${mode}: ${r['2xx']} × 2xx, ${r.non2xx} non-2xx ${JSON.stringify(r.statusCodeStats)}, ${r.errors} errors, ${r.timeouts} timeouts`,
    );
  }
}

function describeWindow(mode: Mode, w: Window): string {
  const pct = (v: number | undefined): string => (v === undefined ? '?' : `${Math.round(v * 100)}%`);
  return (
    `${mode} ${fmt(w.requestsPerSecond).padStart(6)} req/s (p99 ${w.p99} ms, ` +
    `server ${w.cpuPerRequest === undefined ? '?' : fmt(w.cpuPerRequest)} µs CPU/req, busy ${pct(w.busy)}, others ${pct(w.others)})`
  );
}

const noisy = (w: Window): boolean => w.others !== undefined && w.others > NOISY;

export async function runHttp(log: (line: string) => void = console.log): Promise<HttpReport> {
  const env = describeEnvironment();
  const factory = tokenFactory();
  const token = factory.make({ expiresIn: 3 * 3600 });
  const forged = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
  const failures: string[] = [];
  const pairs: Pair[] = [];
  const fixedRate: FixedRatePair[] = [];
  let repeatsLeft = MAX_REPEATS;
  let repeated = 0;
  const perSession = 2 * (SETTINGS.warmupSeconds + 2) + 2 * SETTINGS.pairs * SETTINGS.seconds + 2 * SETTINGS.rateSeconds;
  log(
    `http: ${FRAMEWORKS.length} frameworks × ${SETTINGS.sessions} session(s) × (${SETTINGS.pairs} bare/guarded pair(s) of ` +
      `${SETTINGS.seconds} s windows + 1 fixed-rate pair) (~${Math.ceil((FRAMEWORKS.length * SETTINGS.sessions * perSession) / 60)} min)`,
  );

  for (let session = 0; session < SETTINGS.sessions; session++) {
    for (const framework of FRAMEWORKS) {
      const servers = {
        bare: await startServer(framework, 'bare', factory.secretBase64),
        guarded: await startServer(framework, 'guarded', factory.secretBase64),
      };
      try {
        for (const mode of ['bare', 'guarded'] as const) {
          for (const problem of await sanityCheck(servers[mode], mode, token, forged)) failures.push(`${framework}/${mode} sanity: ${problem}`);
          checkResult(framework, mode, await load(servers[mode].port, token, SETTINGS.warmupSeconds), failures);
        }
        // Measures bare and guarded back to back (in `order`), again if other processes got in the way.
        const measurePair = async (label: string, order: readonly Mode[], rate?: number): Promise<Pair> => {
          for (;;) {
            const windows: Partial<Record<Mode, Window>> = {};
            for (const mode of order) windows[mode] = await measure(framework, mode, servers[mode], token, failures, rate);
            const pair: Pair = { framework, bare: windows.bare!, guarded: windows.guarded! };
            log(`${label} ${describeWindow('bare', pair.bare)}  ${describeWindow('guarded', pair.guarded)}`);
            if (!(noisy(pair.bare) || noisy(pair.guarded)) || repeatsLeft === 0) return pair;
            repeatsLeft--;
            repeated++;
            log(`${label} other processes were busy; measuring this pair again`);
          }
        };
        const sessionBare: number[] = [];
        for (let p = 0; p < SETTINGS.pairs; p++) {
          // Alternate which mode goes first, so a drift in machine speed does not favour one.
          const order: Mode[] = (p + session) % 2 === 0 ? ['bare', 'guarded'] : ['guarded', 'bare'];
          const label = `http: ${framework.padEnd(7)} s${session + 1}p${p + 1}`;
          const pair = await measurePair(label, order);
          pairs.push(pair);
          sessionBare.push(pair.bare.requestsPerSecond);
          log(`${label} guarded/bare ${(pair.guarded.requestsPerSecond / pair.bare.requestsPerSecond).toFixed(3)}`);
        }
        const rate = Math.max(100, Math.round(summarize(sessionBare).median * SETTINGS.rateShare));
        const label = `http: ${framework.padEnd(7)} s${session + 1} at ${rate} req/s`;
        const fixed = await measurePair(label, session % 2 === 0 ? ['guarded', 'bare'] : ['bare', 'guarded'], rate);
        fixedRate.push({ ...fixed, rate });
      } finally {
        await stopServer(servers.bare);
        await stopServer(servers.guarded);
      }
    }
  }

  let passed = true;
  const rows = FRAMEWORKS.map((framework) => {
    const mine = pairs.filter((p) => p.framework === framework);
    const bare = summarize(mine.map((p) => p.bare.requestsPerSecond));
    const guarded = summarize(mine.map((p) => p.guarded.requestsPerSecond));
    const ratios = mine.map((p) => p.guarded.requestsPerSecond / p.bare.requestsPerSecond);
    const ratio = summarize(ratios).median;
    const pass = ratio >= HTTP_TARGET;
    passed &&= pass;
    const fixed = fixedRate.filter((p) => p.framework === framework);
    const cpuKnown = fixed.length > 0 && fixed.every((p) => p.bare.cpuPerRequest !== undefined && p.guarded.cpuPerRequest !== undefined);
    const cpu = (pick: (p: FixedRatePair) => number, digits?: number): string => {
      if (!cpuKnown) return '?';
      const value = summarize(fixed.map(pick)).median;
      return digits === undefined ? fmt(value) : value.toFixed(digits);
    };
    const nonOk = failures.filter((f) => f.startsWith(`${framework}/guarded`)).length;
    return [
      framework,
      fmt(bare.median),
      fmt(guarded.median),
      ratio.toFixed(3),
      `≥ ${HTTP_TARGET.toFixed(2)}`,
      pass ? 'PASS' : 'MISS',
      nonOk === 0 ? '0' : `${nonOk} window(s)`,
      cpu((p) => p.bare.cpuPerRequest!),
      cpu((p) => p.guarded.cpuPerRequest!),
      cpu((p) => p.guarded.cpuPerRequest! - p.bare.cpuPerRequest!),
      cpu((p) => p.bare.cpuPerRequest! / p.guarded.cpuPerRequest!, 3),
      ratios.map((r) => r.toFixed(2)).join(' '),
    ];
  });
  const table: Table = {
    columns: [
      'framework',
      'bare req/s',
      'guarded req/s',
      'guarded/bare',
      'target',
      'result',
      'guarded non-2xx',
      'CPU µs/req bare',
      'CPU µs/req guarded',
      'CPU Δ µs/req',
      'CPU bare/guarded',
      'pair ratios',
    ],
    numeric: new Set([1, 2, 3, 7, 8, 9, 10]),
    rows,
  };
  const windows = [...pairs, ...fixedRate].flatMap((p) => [p.bare, p.guarded]);
  const notes = [
    `autocannon, ${SETTINGS.connections} connections, pipelining ${SETTINGS.pipelining}, GET /hello on 127.0.0.1. Per framework ${SETTINGS.sessions} session(s) of a fresh bare and a fresh guarded server process, each warmed up ${SETTINGS.warmupSeconds} s, then ${SETTINGS.pairs} pair(s) of ${SETTINGS.seconds} s windows in alternating order.`,
    'req/s: median over windows. guarded/bare: median of the per-pair ratios (pairs are adjacent in time, so machine drift cancels); PASS/MISS compares it with the target.',
    'Every request carries the same valid Approov token (HS256, 32-byte secret): the guarded server verifies it once and then answers from its token cache; the bare server ignores the header. Every response is counted: any non-2xx, error or timeout fails the run.',
    'Before measuring, each server is checked: a valid token gets 200 and the body; in guarded mode a missing or a forged token gets 401.',
    `Server and load generator share the ${env.cores}-core machine (one process each); at saturation a slower server also pays more kernel time per response (the load generator sleeps more and must be woken), which widens the req/s gap.`,
    `CPU columns (informational): one more pair per session with both servers held at the same rate, ${Math.round(SETTINGS.rateShare * 100)}% of that session's bare req/s, for ${SETTINGS.rateSeconds} s each; server user + system CPU time (/proc) per response, median over sessions. "CPU Δ" is the extra server CPU per request with the guard (bonafide's code plus whatever the framework and kernel do differently around it); "CPU bare/guarded" is the throughput ratio a CPU-bound server would get.`,
    `Noise: other processes used ${othersRange(windows)} of a core during the kept windows; ${repeated} pair(s) were measured again because they used more than ${Math.round(NOISY * 100)}%.`,
  ];
  return { env, table, notes, passed, failures };
}

function othersRange(windows: readonly Window[]): string {
  const values = windows.map((w) => w.others).filter((v): v is number => v !== undefined);
  if (values.length === 0) return 'an unknown share (no /proc)';
  const { median, max } = summarize(values);
  return `a median ${Math.round(median * 100)}% (max ${Math.round(max * 100)}%)`;
}

export function printHttp(report: HttpReport, log: (line: string) => void = console.log): void {
  log('');
  log('== bonafide HTTP benchmark ==');
  for (const line of environmentLines(report.env)) log(line);
  log('');
  log(textTable(report.table));
  log('');
  for (const note of report.notes) log(`- ${note}`);
  if (report.failures.length > 0) {
    log('');
    log(`!! ${report.failures.length} FAILURE(S): responses were not what the benchmark assumes; the figures above are not valid.`);
    for (const failure of report.failures) log(`!! ${failure}`);
  }
}

export function httpMarkdown(report: HttpReport): string {
  const lines = ['### HTTP benchmark: guarded vs bare, requests per second', '', markdownTable(report.table), '', ...report.notes.map((n) => `- ${n}`)];
  if (report.failures.length > 0) lines.push('', `**${report.failures.length} failure(s):** ${report.failures.join('; ')}`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await runHttp();
  printHttp(report);
  if (report.failures.length > 0) process.exitCode = 1;
}
