/**
 * The paired HTTP measurement shared by the HTTP benchmarks (`http`, `signatures`).
 *
 * This machine is shared and its speed drifts by tens of percent from one minute to the next, so
 * the comparison is paired: a session starts a fresh bare and a fresh guarded server
 * (bench/servers/server.ts, one process each), checks that both answer as expected, warms both up,
 * then measures them in alternating windows (bare, guarded, guarded, bare, …). Each adjacent pair
 * of windows gives one guarded/bare ratio. Several sessions, because two processes running the same
 * code can differ by 10–20% (JIT and GC state). A pair during which other processes used more than
 * a quarter of a core is measured again (a few times at most).
 *
 * Each session ends with one more pair at a fixed request rate (half the bare server's, or half the
 * slower server's), where both servers do the same work per second: the server CPU time per response then shows what the guard
 * itself costs, without the feedback that saturation adds on a 2-core machine.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Result } from 'autocannon';
import { cpuSeconds, machineBusySeconds, ownCpuSeconds } from './env.js';
import { fmt, summarize } from './stats.js';

/** A window during which other processes used more than this share of a core is measured again. */
const NOISY = 0.25;

export type Mode = 'bare' | 'guarded';

const QUICK = process.env.BENCH_QUICK === '1';

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

export const HTTP_SETTINGS = {
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

/** Noisy pairs measured again, in all (per benchmark part). */
export const MAX_REPEATS = QUICK ? 0 : 3;

/** Seconds one session takes: warm-up and sanity checks, the pairs, the fixed-rate pair. */
export const SECONDS_PER_SESSION =
  2 * (HTTP_SETTINGS.warmupSeconds + 2) + 2 * HTTP_SETTINGS.pairs * HTTP_SETTINGS.seconds + 2 * HTTP_SETTINGS.rateSeconds;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVER = fileURLToPath(new URL('../servers/server.ts', import.meta.url));
/** What every bench server answers on GET /hello. */
export const BODY = 'hello world';

export interface Server {
  readonly port: number;
  readonly child: ChildProcess;
  readonly stderr: () => string;
  /** Everything the server printed after its port line. */
  readonly stdout: () => string;
}

let compiled: Promise<string> | undefined;

/**
 * The server as users would run bonafide: the package built (`npm run build`, so dist/ is the
 * current source) and the server script compiled to plain JavaScript, run by plain node. Under tsx
 * every function gets a `__name` wrapper (its keepNames), which costs a property definition per
 * closure created — per request, in a request path — and would be measured as if it were bonafide's.
 */
function serverScript(): Promise<string> {
  compiled ??= (async () => {
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`);
    const outfile = join(ROOT, '.bench', 'server.mjs');
    const { build } = await import('esbuild');
    await build({ entryPoints: [SERVER], outfile, format: 'esm', platform: 'node', target: 'node20', bundle: false, logLevel: 'warning' });
    return outfile;
  })();
  return compiled;
}

/** Starts `bench/servers/server.ts` (built, see `serverScript`) with these arguments and extra environment; resolves once it prints its port. */
export async function startServer(args: readonly string[], env: Readonly<Record<string, string>>): Promise<Server> {
  const child = spawn(process.execPath, [await serverScript(), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let stdout = '';
  let after = -1;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('did not print its port within 30 s')), 30_000);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`bench server ${args.join('/')}: ${error.message}\n${stderr}`));
    };
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`exited early (code ${code}, signal ${signal})`)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout = (stdout + chunk).slice(-4000);
      if (after >= 0) return;
      const match = /BENCH_PORT=(\d+)\n/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        after = match.index + match[0].length;
        resolve(Number(match[1]));
      }
    });
  });
  return { port, child, stderr: () => stderr, stdout: () => stdout.slice(after) };
}

/** Stops a server (SIGTERM, SIGKILL after 3 s) and waits for it to exit. */
export async function stopServer(server: Server): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** One GET /hello on its own connection: status and body. */
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

/** One request of a sanity check: what to send, and the status each mode must answer. */
export interface Probe {
  readonly label: string;
  readonly headers: Record<string, string>;
  readonly status: Readonly<Record<Mode, number>>;
}

/** Sends each probe to the server; returns what did not come back as expected (a 200 must also carry the body). */
export async function sanityCheck(server: Server, mode: Mode, probes: readonly Probe[]): Promise<string[]> {
  const problems: string[] = [];
  for (const { label, headers, status } of probes) {
    const res = await get(server.port, headers);
    if (res.status !== status[mode]) problems.push(`${label}: expected ${status[mode]}, got ${res.status}`);
    else if (res.status === 200 && res.body !== BODY) problems.push(`${label}: unexpected body ${JSON.stringify(res.body.slice(0, 80))}`);
  }
  return problems;
}

/** Load for `seconds` against a server on `port`: as fast as it answers, or at `rate` requests per second in all. */
export type Load = (port: number, seconds: number, rate?: number) => Promise<Result>;

/** One measured window against one server. */
export interface Window {
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

export interface Pair {
  /** What was compared (the framework). */
  readonly label: string;
  readonly bare: Window;
  readonly guarded: Window;
}

/** Both servers at the same request rate, below what either can do: the server CPU each request costs. */
export interface FixedRatePair extends Pair {
  readonly rate: number;
}

/** Records any response other than 2xx, error or timeout (or no 2xx at all) in `failures` as `label/mode: …`. */
export function checkResult(label: string, mode: string, r: Result, failures: string[]): void {
  if (r.non2xx + r.errors + r.timeouts > 0 || r['2xx'] === 0) {
    failures.push(
      `${label}/${mode}: ${r['2xx']} × 2xx, ${r.non2xx} non-2xx ${JSON.stringify(r.statusCodeStats)}, ${r.errors} errors, ${r.timeouts} timeouts`,
    );
  }
}

/** Measures one window (`seconds`, or `rateSeconds` at a fixed `rate`); any response other than 2xx is recorded in `failures`. */
export async function measureWindow(label: string, mode: string, server: Server, load: Load, failures: string[], rate?: number): Promise<Window> {
  const cpuBefore = cpuSeconds(server.child.pid);
  const machineBefore = machineBusySeconds();
  const ownBefore = ownCpuSeconds();
  const wallBefore = performance.now();
  const r = await load(server.port, rate === undefined ? HTTP_SETTINGS.seconds : HTTP_SETTINGS.rateSeconds, rate);
  const cpuAfter = cpuSeconds(server.child.pid);
  const machineAfter = machineBusySeconds();
  const own = ownCpuSeconds() - ownBefore;
  const wall = (performance.now() - wallBefore) / 1000;
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  const others =
    cpu === undefined || machineBefore === undefined || machineAfter === undefined
      ? undefined
      : Math.max(0, (machineAfter - machineBefore - cpu - own) / wall);
  checkResult(label, mode, r, failures);
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

export function describeWindow(mode: string, w: Window): string {
  const pct = (v: number | undefined): string => (v === undefined ? '?' : `${Math.round(v * 100)}%`);
  return (
    `${mode} ${fmt(w.requestsPerSecond).padStart(6)} req/s (p99 ${w.p99} ms, ` +
    `server ${w.cpuPerRequest === undefined ? '?' : fmt(w.cpuPerRequest)} µs CPU/req, busy ${pct(w.busy)}, others ${pct(w.others)})`
  );
}

const noisy = (w: Window): boolean => w.others !== undefined && w.others > NOISY;

/** What one session measures: a bare and a guarded server already started, and how to load them. */
export interface SessionPlan {
  /** What is compared, as failures name it (`fastify`). */
  readonly label: string;
  /** The prefix of progress lines (`http: fastify`). */
  readonly logPrefix: string;
  /** Zero-based; decides which mode goes first. */
  readonly session: number;
  readonly servers: Readonly<Record<Mode, Server>>;
  readonly probes: readonly Probe[];
  readonly load: Load;
  /**
   * What the fixed rate is a share of: the bare server's req/s (default), or the slower server's,
   * when the guard costs so much that half the bare rate would saturate the guarded server.
   */
  readonly rateOf?: 'bare' | 'slower';
}

/** Shared by all sessions of one benchmark part: wrong answers, and the noisy pairs measured again. */
export interface SessionState {
  readonly failures: string[];
  repeatsLeft: number;
  repeated: number;
}

export function sessionState(): SessionState {
  return { failures: [], repeatsLeft: MAX_REPEATS, repeated: 0 };
}

/** Sanity checks and warms up both servers, measures the alternating pairs, then the fixed-rate pair. */
export async function measureSession(
  plan: SessionPlan,
  state: SessionState,
  log: (line: string) => void,
): Promise<{ pairs: Pair[]; fixed: FixedRatePair }> {
  const { label, servers, load, session, failures } = { ...plan, failures: state.failures };
  for (const mode of ['bare', 'guarded'] as const) {
    for (const problem of await sanityCheck(servers[mode], mode, plan.probes)) failures.push(`${label}/${mode} sanity: ${problem}`);
    checkResult(label, mode, await load(servers[mode].port, HTTP_SETTINGS.warmupSeconds), failures);
  }
  // Measures bare and guarded back to back (in `order`), again if other processes got in the way.
  const measurePair = async (prefix: string, order: readonly Mode[], rate?: number): Promise<Pair> => {
    for (;;) {
      const windows: Partial<Record<Mode, Window>> = {};
      for (const mode of order) windows[mode] = await measureWindow(label, mode, servers[mode], load, failures, rate);
      const pair: Pair = { label, bare: windows.bare!, guarded: windows.guarded! };
      log(`${prefix} ${describeWindow('bare', pair.bare)}  ${describeWindow('guarded', pair.guarded)}`);
      if (!(noisy(pair.bare) || noisy(pair.guarded)) || state.repeatsLeft === 0) return pair;
      state.repeatsLeft--;
      state.repeated++;
      log(`${prefix} other processes were busy; measuring this pair again`);
    }
  };
  const pairs: Pair[] = [];
  for (let p = 0; p < HTTP_SETTINGS.pairs; p++) {
    // Alternate which mode goes first, so a drift in machine speed does not favour one.
    const order: Mode[] = (p + session) % 2 === 0 ? ['bare', 'guarded'] : ['guarded', 'bare'];
    const prefix = `${plan.logPrefix} s${session + 1}p${p + 1}`;
    const pair = await measurePair(prefix, order);
    pairs.push(pair);
    log(`${prefix} guarded/bare ${(pair.guarded.requestsPerSecond / pair.bare.requestsPerSecond).toFixed(3)}`);
  }
  const { bare, guarded } = pairSummary(pairs);
  const basis = plan.rateOf === 'slower' ? Math.min(bare, guarded) : bare;
  const rate = Math.max(100, Math.round(basis * HTTP_SETTINGS.rateShare));
  const fixed = await measurePair(`${plan.logPrefix} s${session + 1} at ${rate} req/s`, session % 2 === 0 ? ['guarded', 'bare'] : ['bare', 'guarded'], rate);
  return { pairs, fixed: { ...fixed, rate } };
}

/** Medians over pairs: req/s of each mode, the guarded/bare ratio, and the per-pair ratios. */
export function pairSummary(pairs: readonly Pair[]): { bare: number; guarded: number; ratio: number; ratios: number[] } {
  const ratios = pairs.map((p) => p.guarded.requestsPerSecond / p.bare.requestsPerSecond);
  return {
    bare: summarize(pairs.map((p) => p.bare.requestsPerSecond)).median,
    guarded: summarize(pairs.map((p) => p.guarded.requestsPerSecond)).median,
    ratio: summarize(ratios).median,
    ratios,
  };
}

/**
 * The median over fixed-rate pairs of `pick`, formatted (`digits` decimals, else `fmt`); `?` when
 * any pair lacks server CPU figures (no /proc).
 */
export function fixedRateCpu(fixed: readonly FixedRatePair[], pick: (p: FixedRatePair) => number, digits?: number): string {
  const known = fixed.length > 0 && fixed.every((p) => p.bare.cpuPerRequest !== undefined && p.guarded.cpuPerRequest !== undefined);
  if (!known) return '?';
  const value = summarize(fixed.map(pick)).median;
  return digits === undefined ? fmt(value) : value.toFixed(digits);
}

/** "a median 12% (max 30%)" of a core that other processes used during these windows. */
export function othersRange(windows: readonly Window[]): string {
  const values = windows.map((w) => w.others).filter((v): v is number => v !== undefined);
  if (values.length === 0) return 'an unknown share (no /proc)';
  const { median, max } = summarize(values);
  return `a median ${Math.round(median * 100)}% (max ${Math.round(max * 100)}%)`;
}

/** The footnote on noise for a set of pairs. */
export function httpNoiseNote(pairs: readonly Pair[], state: SessionState): string {
  const windows = pairs.flatMap((p) => [p.bare, p.guarded]);
  return `Noise: other processes used ${othersRange(windows)} of a core during the kept windows; ${state.repeated} pair(s) were measured again because they used more than ${Math.round(NOISY * 100)}%.`;
}
