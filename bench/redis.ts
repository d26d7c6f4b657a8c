/**
 * Redis store benchmark: what moving a guard's state from `MemoryStore` to `RedisStore` costs when
 * every request needs both a nonce and a rate limit, and how many Redis commands a request takes.
 *
 * Two Fastify 5 servers per session (bench/lib/store-server.ts, one process each), configured alike
 * but for the store: Web Bot Auth signatures with `requireNonce: true` and replay protection (each
 * nonce recorded in the store), and a policy whose rule rate-limits /hello per principal with a
 * limit so high it never denies (every request takes from it in the store). Every request carries a
 * signature signed before any timing with a nonce no server has seen. The servers are measured in
 * alternating saturated windows, then at one fixed rate (bench/lib/load.ts explains why). The
 * Redis server's client counts the commands it sends (its `sendCommand` is wrapped), and Redis's own
 * `INFO commandstats` is read around each window as a cross-check.
 *
 * Skipped (not a failure) when Redis at REDIS_URL (default redis://127.0.0.1:6379) does not answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon, { type RequestSpec, type Result } from 'autocannon';
import type { Redis } from 'ioredis';
import type { PolicyDocument } from '../src/index.js';
import { cpuSeconds, describeEnvironment, machineBusySeconds, ownCpuSeconds } from './lib/env.js';
import { BODY, checkResult, HTTP_SETTINGS, MAX_REPEATS, SECONDS_PER_SESSION, stopServer, type Server } from './lib/load.js';
import {
  addCounts,
  commandStats,
  connectRedis,
  countDelta,
  deleteKeys,
  describeRedisUrl,
  redisCpuSeconds,
  redisIsLocal,
  redisUrl,
  sumCounts,
  type CommandCounts,
} from './lib/redis.js';
import { failureLines, failureParagraph, markdownSection, printSection, type Section } from './lib/report.js';
import { requestSigner, signedPool, type RequestSigner } from './lib/signed-requests.js';
import type { ServerMessage, ServerStats, StoreKind } from './lib/store-server.js';
import { fmt, summarize } from './lib/stats.js';
import type { Table } from './lib/table.js';

const PART = 'redis';
/** The servers see `Host: api.example.com` on plain HTTP, so this is the URL their adapter builds. */
const HTTP_URL = 'http://api.example.com/hello';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER = fileURLToPath(new URL('./lib/store-server.ts', import.meta.url));

/** The policy of both servers: one rule, a per-principal GCRA limit that never denies (1e9 per minute). */
export const REDIS_BENCH_POLICY: PolicyDocument = {
  metadata: { version: 1, name: 'bench-redis' },
  rules: [
    {
      id: 'hello',
      match: { route: { path: '/hello' } },
      action: 'allow',
      rateLimit: { algorithm: 'gcra', limit: 1e9, period: '1m', key: 'principal' },
    },
  ],
  default: { action: 'deny' },
};

/** `MemoryStore`'s default `maxEntries`: it refuses new nonces (503) once it holds this many live ones. */
const MEMORY_NONCES = 100_000;
/** Before any window has been measured, the pool is sized for this many req/s (above what one guarded server does on this machine). */
const FIRST_GUESS_RPS = 15_000;
/** Windows that took more than this share of a core from other processes are measured again (as bench/lib/load.ts). */
const NOISY = 0.25;
const STORES: readonly StoreKind[] = ['memory', 'redis'];
const STORE_NAME: Readonly<Record<StoreKind, string>> = { memory: 'MemoryStore', redis: 'RedisStore' };

// ---------------------------------------------------------------------------------------------
// Signed requests

/**
 * Signed header sets, grown (untimed, before a window) as the servers need them. Every server reads
 * them in order from the start, once each: stores are never shared between servers (a fresh process
 * each, a fresh key prefix for each Redis server), so one pool serves them all and no server sees a
 * nonce twice.
 */
class HeaderPool {
  readonly #signer: RequestSigner;
  readonly #sets: Record<string, string>[] = [];
  readonly #log: (line: string) => void;

  constructor(signer: RequestSigner, log: (line: string) => void) {
    this.#signer = signer;
    this.#log = log;
  }

  get size(): number {
    return this.#sets.length;
  }

  at(index: number): Record<string, string> {
    return this.#sets[index]!;
  }

  /** Signs until the pool holds at least `size` requests. */
  ensure(size: number): void {
    const missing = size - this.#sets.length;
    if (missing <= 0) return;
    if (missing >= 5000) this.#log(`${PART}: signing ${missing.toLocaleString('en-US')} more distinct requests (untimed)…`);
    for (const r of signedPool(this.#signer, HTTP_URL, missing, { agent: 'dictionary', nonce: true })) {
      this.#sets.push({ ...r.headers, accept: '*/*' });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

interface StoreServer extends Server {
  readonly kind: StoreKind;
  /** The next pool index this server gets. */
  cursor: number;
  /** The server's counters, now. */
  stats(): Promise<ServerStats>;
}

/** Starts bench/lib/store-server.ts with `kind`; resolves once it listens. */
async function startStoreServer(kind: StoreKind, env: Readonly<Record<string, string>>): Promise<StoreServer> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SERVER, kind], {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout = (stdout + chunk).slice(-4000);
  });
  const waiting: ((stats: ServerStats) => void)[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('did not start within 30 s')), 30_000);
    function fail(error: Error): void {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`bench store server ${kind}: ${error.message}\n${stderr}`));
    }
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`exited early (code ${code}, signal ${signal})`)));
    child.on('message', (message: ServerMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(message.port);
      } else if (message.type === 'stats') {
        waiting.shift()?.(message.stats);
      }
    });
  });
  return {
    kind,
    port,
    child,
    cursor: 0,
    stderr: () => stderr,
    stdout: () => stdout,
    stats: () =>
      new Promise<ServerStats>((resolve, reject) => {
        if (!child.connected) {
          reject(new Error(`bench store server ${kind} is gone\n${stderr}`));
          return;
        }
        waiting.push(resolve);
        child.send({ type: 'stats' });
      }),
  };
}

/** One GET /hello on its own connection. */
function get(port: number, headers: Record<string, string>): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/hello', method: 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.end();
  });
}

/**
 * Checks that the server asks for both a nonce and a rate limit: a fresh signed request gets 200, the
 * body and a RateLimit-Policy header; the same request again gets 429 `ERR_SIGNATURE_REPLAYED` (its
 * nonce was recorded; bonafide answers a replay with 429); a signature without a nonce gets 401; no
 * signature gets 401. Returns what was not as expected.
 */
async function sanityCheck(server: StoreServer, signer: RequestSigner): Promise<string[]> {
  const [fresh] = signedPool(signer, HTTP_URL, 1, { agent: 'dictionary', nonce: true });
  const [noNonce] = signedPool(signer, HTTP_URL, 1, { agent: 'dictionary', nonce: false });
  const unsigned = Object.fromEntries(Object.entries(fresh!.headers).filter(([name]) => !name.startsWith('signature')));
  const problems: string[] = [];
  const before = await server.stats();
  const first = await get(server.port, { ...fresh!.headers });
  if (first.status !== 200 || first.body !== BODY) problems.push(`fresh signed request: expected 200 ${JSON.stringify(BODY)}, got ${first.status} ${JSON.stringify(first.body.slice(0, 80))}`);
  else if (first.headers['ratelimit-policy'] === undefined) problems.push('fresh signed request: no RateLimit-Policy header (the rate limit did not apply)');
  const probes: [string, Record<string, string>, number, string?][] = [
    ['the same request again (replayed nonce)', { ...fresh!.headers }, 429, 'ERR_SIGNATURE_REPLAYED'],
    ['a signature without a nonce', { ...noNonce!.headers }, 401],
    ['no signature', unsigned, 401],
  ];
  for (const [label, headers, status, code] of probes) {
    const res = await get(server.port, headers);
    if (res.status !== status) problems.push(`${label}: expected ${status}, got ${res.status} ${res.body.slice(0, 120)}`);
    else if (code !== undefined && !res.body.includes(code)) problems.push(`${label}: expected ${code}, got ${res.body.slice(0, 120)}`);
  }
  const after = await server.stats();
  if (after.complete - before.complete !== 1) problems.push('the fresh request was not allowed with its nonce recorded and a rate limit taken');
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Windows

/** One measured window against one server. */
interface StoreWindow {
  readonly requestsPerSecond: number;
  /** From every response's own time (ms, µs precision), not autocannon's whole-ms histogram. */
  readonly p50: number;
  readonly p99: number;
  /** Requests the server decided during the window, however (the denominator of every per-request figure). */
  readonly decided: number;
  /** Of those, allowed with the nonce recorded and a rate limit taken. */
  readonly complete: number;
  /** Commands the store's client sent (client side). */
  readonly commands: CommandCounts;
  /** `INFO commandstats` calls during the window (Redis side, `info` left out: that is this benchmark reading it). */
  readonly commandStats: CommandCounts;
  /** Server process CPU (user + system) per decided request, µs; undefined without /proc. */
  readonly cpuPerRequest: number | undefined;
  /** Redis server CPU per decided request, µs (`INFO cpu`). */
  readonly redisCpuPerRequest: number;
  /** CPU other processes used meanwhile, in cores (not the server, this process or a local Redis). */
  readonly others: number | undefined;
  /** The server's longest event-loop delay during the window, ms. */
  readonly loopDelayMaxMs: number;
}

interface Context {
  readonly admin: Redis;
  readonly redisLocal: boolean;
  readonly pool: HeaderPool;
  readonly failures: string[];
  /** The highest req/s of any unthrottled load so far (0 before the first): how many signed requests the next window may need. */
  maxRps: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Autocannon's instance is an EventEmitter too; `response` carries each response's time in ms (float). */
type Tracker = Promise<Result> & {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): unknown;
  stop(): void;
};

/** Loads `server` for `seconds` (at `rate` req/s in all, if given) with the next signed requests of the pool. */
async function load(server: StoreServer, ctx: Context, seconds: number, rate?: number): Promise<{ result: Result; latencies: Float64Array; non200: number; exhausted: boolean }> {
  // Untimed: sign what this window may need, generously (a repeated nonce would be a 429).
  const expected = rate ?? (ctx.maxRps === 0 ? FIRST_GUESS_RPS : ctx.maxRps * 1.5);
  ctx.pool.ensure(server.cursor + Math.ceil(expected * seconds * 1.3) + 2000);
  const pool = ctx.pool;
  let exhausted = false;
  const setupRequest = (request: RequestSpec): RequestSpec => {
    if (server.cursor >= pool.size) {
      // Out of fresh nonces: stop rather than replay one (the window is then reported as a failure).
      // (Deferred: autocannon may build its first requests before it returns the tracker.)
      if (!exhausted) setImmediate(() => tracker.stop());
      exhausted = true;
      return { ...request, headers: pool.at(pool.size - 1) };
    }
    return { ...request, headers: pool.at(server.cursor++) };
  };
  const tracker = autocannon({
    url: `http://127.0.0.1:${server.port}/hello`,
    connections: HTTP_SETTINGS.connections,
    pipelining: HTTP_SETTINGS.pipelining,
    duration: seconds,
    requests: [{ method: 'GET', path: '/hello', setupRequest }],
    ...(rate === undefined ? {} : { overallRate: rate }),
  }) as Tracker;
  const latencies: number[] = [];
  let non200 = 0;
  tracker.on('response', (_client, status, _bytes, ms) => {
    latencies.push(ms);
    if (status !== 200) non200++;
  });
  const result = await tracker;
  if (rate === undefined) ctx.maxRps = Math.max(ctx.maxRps, result.requests.average);
  return { result, latencies: new Float64Array(latencies).sort(), non200, exhausted };
}

/** Measures one window; anything but a 200 with a nonce recorded and a rate limit taken is recorded in `failures`. */
async function measureWindow(server: StoreServer, ctx: Context, label: string, seconds: number, rate?: number): Promise<StoreWindow> {
  const { admin, failures } = ctx;
  const statsBefore = await server.stats();
  const redisBefore = await commandStats(admin);
  const redisCpuBefore = await redisCpuSeconds(admin);
  const cpuBefore = cpuSeconds(server.child.pid);
  const machineBefore = machineBusySeconds();
  const ownBefore = ownCpuSeconds();
  const wallBefore = performance.now();
  const { result, latencies, non200, exhausted } = await load(server, ctx, seconds, rate);
  const wall = (performance.now() - wallBefore) / 1000;
  const own = ownCpuSeconds() - ownBefore;
  const cpuAfter = cpuSeconds(server.child.pid);
  const machineAfter = machineBusySeconds();
  const statsAfter = await server.stats();
  const redisAfter = await commandStats(admin);
  const redisCpu = (await redisCpuSeconds(admin)) - redisCpuBefore;

  checkResult(label, STORE_NAME[server.kind], result, failures);
  const where = `${label}/${STORE_NAME[server.kind]}`;
  // (Non-2xx answers are already in checkResult's line; this catches another 2xx.)
  if (non200 > 0 && result.non2xx === 0) failures.push(`${where}: ${non200} responses were not 200`);
  if (exhausted) failures.push(`${where}: ran out of signed requests (the pool is sized from the fastest window so far; this one was faster still)`);
  const incomplete = countDelta(statsBefore.incomplete, statsAfter.incomplete);
  const denied = countDelta(statsBefore.denied, statsAfter.denied);
  // Every request decided, denied ones too: they may have sent commands (a store timeout, say).
  const decided = statsAfter.complete - statsBefore.complete + sumCounts(incomplete) + sumCounts(denied);
  if (sumCounts(incomplete) > 0) failures.push(`${where}: allowed without both a recorded nonce and a rate limit: ${JSON.stringify(incomplete)}`);
  if (sumCounts(denied) > 0) failures.push(`${where}: denied ${JSON.stringify(denied)} (server event loop stalled up to ${Math.round(statsAfter.loopDelayMaxMs)} ms)`);
  if (server.kind === 'memory' && server.cursor > MEMORY_NONCES) {
    failures.push(`${where}: the server has seen ${server.cursor.toLocaleString('en-US')} nonces, more than MemoryStore keeps by default (${MEMORY_NONCES.toLocaleString('en-US')}); shorten the windows`);
  }

  const redisStats = countDelta(redisBefore, redisAfter);
  delete redisStats.info;
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  const others =
    cpu === undefined || machineBefore === undefined || machineAfter === undefined
      ? undefined
      : Math.max(0, (machineAfter - machineBefore - cpu - own - (ctx.redisLocal ? redisCpu : 0)) / wall);
  const window: StoreWindow = {
    requestsPerSecond: result.requests.average,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    decided,
    complete: statsAfter.complete - statsBefore.complete,
    commands: countDelta(statsBefore.commands, statsAfter.commands),
    commandStats: redisStats,
    cpuPerRequest: cpu === undefined || decided === 0 ? undefined : (cpu / decided) * 1e6,
    redisCpuPerRequest: decided === 0 ? Number.NaN : (redisCpu / decided) * 1e6,
    others,
    loopDelayMaxMs: statsAfter.loopDelayMaxMs,
  };
  return window;
}

function describeWindow(kind: StoreKind, w: StoreWindow): string {
  const perReq = w.decided === 0 ? 0 : sumCounts(w.commands) / w.decided;
  return (
    `${STORE_NAME[kind]} ${fmt(w.requestsPerSecond).padStart(6)} req/s (p50 ${w.p50.toFixed(2)} ms, p99 ${w.p99.toFixed(2)} ms, ` +
    `server ${w.cpuPerRequest === undefined ? '?' : fmt(w.cpuPerRequest)} µs CPU/req, Redis ${fmt(w.redisCpuPerRequest)} µs CPU/req, ` +
    `${perReq.toFixed(2)} cmd/req, loop delay ≤ ${Math.round(w.loopDelayMaxMs)} ms, others ${w.others === undefined ? '?' : `${Math.round(w.others * 100)}%`})`
  );
}

/** Warms a server up (not measured, but every answer must still be a 200). */
async function warmUp(server: StoreServer, ctx: Context): Promise<void> {
  const where = `fastify/${STORE_NAME[server.kind]} warm-up`;
  const before = await server.stats();
  const warm = await load(server, ctx, HTTP_SETTINGS.warmupSeconds);
  const after = await server.stats();
  checkResult('fastify', `${STORE_NAME[server.kind]} warm-up`, warm.result, ctx.failures);
  if (warm.non200 > 0 && warm.result.non2xx === 0) ctx.failures.push(`${where}: ${warm.non200} responses were not 200`);
  if (warm.exhausted) ctx.failures.push(`${where}: ran out of signed requests`);
  const denied = countDelta(before.denied, after.denied);
  if (sumCounts(denied) > 0) ctx.failures.push(`${where}: denied ${JSON.stringify(denied)} (server event loop stalled up to ${Math.round(after.loopDelayMaxMs)} ms)`);
}

type PairWindows = Readonly<Record<StoreKind, StoreWindow>>;

interface Session {
  readonly pairs: PairWindows[];
  readonly fixed: PairWindows;
  readonly rate: number;
}

interface Noise {
  repeatsLeft: number;
  repeated: number;
}

/** Measures both servers back to back in `order`, again if other processes got in the way (a few times at most). */
async function measurePair(servers: Readonly<Record<StoreKind, StoreServer>>, ctx: Context, noise: Noise, prefix: string, order: readonly StoreKind[], log: (line: string) => void, rate?: number): Promise<PairWindows> {
  const seconds = rate === undefined ? HTTP_SETTINGS.seconds : HTTP_SETTINGS.rateSeconds;
  for (;;) {
    const windows: Partial<Record<StoreKind, StoreWindow>> = {};
    for (const kind of order) windows[kind] = await measureWindow(servers[kind], ctx, 'fastify', seconds, rate);
    const pair = windows as PairWindows;
    log(`${prefix} ${describeWindow('memory', pair.memory)}  ${describeWindow('redis', pair.redis)}`);
    const noisy = STORES.some((kind) => (pair[kind].others ?? 0) > NOISY);
    if (!noisy || noise.repeatsLeft === 0) return pair;
    noise.repeatsLeft--;
    noise.repeated++;
    log(`${prefix} other processes were busy; measuring this pair again`);
  }
}

async function runSession(session: number, prefix: string, signer: RequestSigner, ctx: Context, noise: Noise, log: (line: string) => void): Promise<Session> {
  const env = { BENCH_SIGNATURE_JWK: JSON.stringify(signer.publicJwk), BENCH_POLICY: JSON.stringify(REDIS_BENCH_POLICY) };
  const memory = await startStoreServer('memory', env);
  const redis = await startStoreServer('redis', { ...env, BENCH_REDIS_PREFIX: prefix }).catch(async (error: unknown) => {
    await stopServer(memory);
    throw error;
  });
  const servers = { memory, redis };
  try {
    for (const kind of STORES) {
      for (const problem of await sanityCheck(servers[kind], signer)) ctx.failures.push(`fastify/${STORE_NAME[kind]} sanity: ${problem}`);
      await warmUp(servers[kind], ctx);
    }
    const pairs: PairWindows[] = [];
    for (let p = 0; p < HTTP_SETTINGS.pairs; p++) {
      // Alternate which store goes first, so a drift in machine speed does not favour one.
      const order: StoreKind[] = (p + session) % 2 === 0 ? ['memory', 'redis'] : ['redis', 'memory'];
      const tag = `${PART}: fastify s${session + 1}p${p + 1}`;
      const pair = await measurePair(servers, ctx, noise, tag, order, log);
      pairs.push(pair);
      log(`${tag} redis/memory ${(pair.redis.requestsPerSecond / pair.memory.requestsPerSecond).toFixed(3)}`);
    }
    // Both at one rate below what either does: latency and CPU per request without saturation.
    const slower = Math.min(...pairs.flatMap((p) => STORES.map((kind) => p[kind].requestsPerSecond)));
    const rate = Math.max(100, Math.round(slower * HTTP_SETTINGS.rateShare));
    const fixed = await measurePair(servers, ctx, noise, `${PART}: fastify s${session + 1} at ${rate} req/s`, session % 2 === 0 ? ['redis', 'memory'] : ['memory', 'redis'], log, rate);
    return { pairs, fixed, rate };
  } finally {
    await stopServer(servers.memory);
    await stopServer(servers.redis);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

export interface RedisReport extends Section {
  /** Wrong answers: any response but a 200, a request allowed without both a nonce and a rate limit, a failed sanity check. */
  readonly failures: readonly string[];
  /** Redis commands per request the store's client sent (the headline). */
  readonly commandsPerRequest: number;
  /** RedisStore req/s ÷ MemoryStore req/s (median of the per-pair ratios). */
  readonly ratio: number;
}

/** Redis did not answer: nothing was measured, and that is not a failure. */
export interface RedisSkipped {
  readonly skipped: string;
}

export type RedisResult = RedisReport | RedisSkipped;

export const redisSkipped = (result: RedisResult): result is RedisSkipped => 'skipped' in result;

const median = (values: readonly number[]): number => summarize(values).median;
/** The median of `pick` over items, or undefined when any item lacks the figure (no /proc). */
function medianOf<T>(items: readonly T[], pick: (item: T) => number | undefined): number | undefined {
  const values = items.map(pick);
  return values.length > 0 && values.every((v) => v !== undefined) ? median(values as number[]) : undefined;
}
const ms = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? '?' : value.toFixed(2));
const signed = (value: number | undefined, format: (v: number) => string): string =>
  value === undefined || Number.isNaN(value) ? '?' : `${value >= 0 ? '+' : '−'}${format(Math.abs(value))}`;
const show = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? '?' : fmt(value));
/** `evalsha 1.00, set 1.00`: counts per request, largest first. */
const perRequestList = (counts: Readonly<CommandCounts>, requests: number): string =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name.toUpperCase()} ${(n / requests).toFixed(2)}`)
    .join(', ') || 'none';

export async function runRedis(log: (line: string) => void = console.log): Promise<RedisResult> {
  const url = redisUrl();
  let admin: Redis;
  try {
    admin = await connectRedis(url);
  } catch (error) {
    return { skipped: `Redis at ${describeRedisUrl(url)} is unreachable (${error instanceof Error ? error.message : String(error)}); set REDIS_URL or start redis-server to run this part` };
  }
  const runPrefix = `bonafide-bench:${process.pid}-${randomBytes(4).toString('hex')}:`;
  let deleted = 0;
  try {
    const env = describeEnvironment();
    const version = /^redis_version:(\S+)/m.exec(await admin.info('server'))?.[1] ?? '?';
    const redisLocal = await redisIsLocal(admin);
    const signer = await requestSigner();
    const ctx: Context = { admin, redisLocal, pool: new HeaderPool(signer, log), failures: [], maxRps: 0 };
    const noise: Noise = { repeatsLeft: MAX_REPEATS, repeated: 0 };
    log(
      `${PART}: fastify × ${HTTP_SETTINGS.sessions} session(s) × (${HTTP_SETTINGS.pairs} MemoryStore/RedisStore pair(s) of ${HTTP_SETTINGS.seconds} s windows + 1 fixed-rate pair), ` +
        `Redis ${version} at ${describeRedisUrl(url)}${redisLocal ? ' (on this machine)' : ''} (~${Math.ceil((HTTP_SETTINGS.sessions * SECONDS_PER_SESSION) / 60)} min plus signing)`,
    );
    const sessions: Session[] = [];
    for (let s = 0; s < HTTP_SETTINGS.sessions; s++) {
      const prefix = `${runPrefix}s${s + 1}:`;
      try {
        sessions.push(await runSession(s, prefix, signer, ctx, noise, log));
      } finally {
        deleted += await deleteKeys(admin, prefix);
      }
    }
    return summarizeRun(sessions, { env, version, url, redisLocal, signer, ctx, noise, deleted });
  } finally {
    deleted += await deleteKeys(admin, runPrefix).catch(() => 0);
    admin.disconnect();
  }
}

interface RunFacts {
  readonly env: ReturnType<typeof describeEnvironment>;
  readonly version: string;
  readonly url: string;
  readonly redisLocal: boolean;
  readonly signer: RequestSigner;
  readonly ctx: Context;
  readonly noise: Noise;
  readonly deleted: number;
}

function summarizeRun(sessions: readonly Session[], facts: RunFacts): RedisReport {
  const { env, ctx } = facts;
  const pairs = sessions.flatMap((s) => s.pairs);
  const fixed = sessions.map((s) => s.fixed);
  const windows = (kind: StoreKind): StoreWindow[] => pairs.map((p) => p[kind]);
  const rps = (kind: StoreKind): number => median(windows(kind).map((w) => w.requestsPerSecond));
  const ratios = pairs.map((p) => p.redis.requestsPerSecond / p.memory.requestsPerSecond);
  const ratio = median(ratios);
  const lat = (kind: StoreKind, q: 'p50' | 'p99'): number => median(windows(kind).map((w) => w[q]));
  const fixedLat = (kind: StoreKind, q: 'p50' | 'p99'): number => median(fixed.map((p) => p[kind][q]));
  const fixedCpu = (kind: StoreKind): number | undefined => medianOf(fixed, (p) => p[kind].cpuPerRequest);
  const fixedRedisCpu = (kind: StoreKind): number => median(fixed.map((p) => p[kind].redisCpuPerRequest));
  const minus = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : a - b);

  // Every timed window of each server (saturated and fixed rate): the per-request command counts.
  const timed = (kind: StoreKind): StoreWindow[] => [...windows(kind), ...fixed.map((p) => p[kind])];
  const totals = (kind: StoreKind): { decided: number; complete: number; commands: CommandCounts; commandStats: CommandCounts } => {
    const commands: CommandCounts = {};
    const stats: CommandCounts = {};
    let decided = 0;
    let complete = 0;
    for (const w of timed(kind)) {
      decided += w.decided;
      complete += w.complete;
      addCounts(commands, w.commands);
      addCounts(stats, w.commandStats);
    }
    return { decided, complete, commands, commandStats: stats };
  };
  const redis = totals('redis');
  const memory = totals('memory');
  const commandsPerRequest = sumCounts(redis.commands) / redis.decided;
  const statPerRequest = (name: string): string => ((redis.commandStats[name] ?? 0) / redis.decided).toFixed(2);
  const otherStats = Object.fromEntries(Object.entries(redis.commandStats).filter(([name]) => name !== 'evalsha' && name !== 'set'));
  const memoryWindowSeconds = windows('memory').length * HTTP_SETTINGS.seconds + fixed.length * HTTP_SETTINGS.rateSeconds;
  if (sumCounts(memory.commands) > 0) ctx.failures.push(`MemoryStore server sent Redis commands: ${JSON.stringify(memory.commands)}`);

  const memoryRps = rps('memory');
  const redisRps = rps('redis');
  const table: Table = {
    columns: [
      'store (Fastify 5; nonce + rate limit per request)',
      'req/s',
      '÷ memory',
      'p50 ms',
      'p99 ms',
      'p50 ms, fixed rate²',
      'p99 ms, fixed rate²',
      'server CPU µs/req²',
      'Redis CPU µs/req²',
      'Redis commands/req³',
      'EVALSHA/req⁴',
      'SET/req⁴',
    ],
    numeric: new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
    rows: [
      [
        `${STORE_NAME.memory} (\`new MemoryStore()\`)`,
        fmt(memoryRps),
        '1.000',
        ms(lat('memory', 'p50')),
        ms(lat('memory', 'p99')),
        ms(fixedLat('memory', 'p50')),
        ms(fixedLat('memory', 'p99')),
        show(fixedCpu('memory')),
        show(fixedRedisCpu('memory')),
        (sumCounts(memory.commands) / memory.decided).toFixed(2),
        '',
        '',
      ],
      [
        `${STORE_NAME.redis} (\`new RedisStore({ client })\`)`,
        fmt(redisRps),
        ratio.toFixed(3),
        ms(lat('redis', 'p50')),
        ms(lat('redis', 'p99')),
        ms(fixedLat('redis', 'p50')),
        ms(fixedLat('redis', 'p99')),
        show(fixedCpu('redis')),
        show(fixedRedisCpu('redis')),
        commandsPerRequest.toFixed(2),
        statPerRequest('evalsha'),
        statPerRequest('set'),
      ],
      [
        'added by Redis (redis − memory)',
        signed(redisRps - memoryRps, fmt),
        '',
        signed(lat('redis', 'p50') - lat('memory', 'p50'), (v) => v.toFixed(2)),
        signed(lat('redis', 'p99') - lat('memory', 'p99'), (v) => v.toFixed(2)),
        signed(fixedLat('redis', 'p50') - fixedLat('memory', 'p50'), (v) => v.toFixed(2)),
        signed(fixedLat('redis', 'p99') - fixedLat('memory', 'p99'), (v) => v.toFixed(2)),
        signed(minus(fixedCpu('redis'), fixedCpu('memory')), fmt),
        signed(fixedRedisCpu('redis') - fixedRedisCpu('memory'), fmt),
        '',
        '',
        '',
      ],
    ],
  };
  const n = (value: number): string => value.toLocaleString('en-US');
  const notes = [
    `autocannon, ${HTTP_SETTINGS.connections} connections, pipelining ${HTTP_SETTINGS.pipelining}, GET /hello on 127.0.0.1 with \`Host: api.example.com\`; per session (${HTTP_SETTINGS.sessions}) two Fastify 5 server processes configured alike but for the store, each checked, warmed up ${HTTP_SETTINGS.warmupSeconds} s, then measured as ${HTTP_SETTINGS.pairs} pair(s) of ${HTTP_SETTINGS.seconds} s windows in alternating order. req/s: median over windows; "÷ memory": median of the per-pair ratios (${ratios.map((r) => r.toFixed(3)).join(', ')}). p50/p99: each response's own time as autocannon measures it (µs precision, not its whole-millisecond histogram), median over windows; "added by Redis" is the difference of those medians.`,
    `Both guards: \`signatures: { keys: [publicJwk], directory: false, requireNonce: true, maxNonceAge: '3h' }\` (replay protection on, the default: each nonce is recorded in the store until its signature expires; \`maxNonceAge\` because the requests are signed before the windows that use them) and the policy \`${JSON.stringify(REDIS_BENCH_POLICY.rules)}\` with \`default: deny\`, so every request records a nonce and takes from a rate limit. RedisStore: Redis ${facts.version} at ${describeRedisUrl(facts.url)}${facts.redisLocal ? ', on this machine (it shares its cores with the server and the load generator)' : ''}; ioredis client with \`enableOfflineQueue: false, maxRetriesPerRequest: 1\`, awaited ready; the store's defaults (50 ms timeout); keys under a prefix unique to each session, all deleted afterwards (${n(facts.deleted)} keys).`,
    `Every request carries a signature no server has seen, with its own 64-byte nonce: ${n(ctx.pool.size)} distinct requests signed before the windows that use them (${facts.signer.via}; Ed25519, @authority, @method, @path and the Signature-Agent member covered), each sent once per server. Each server counted its decisions: over the timed windows ${n(memory.complete)} of ${n(memory.decided)} (MemoryStore) and ${n(redis.complete)} of ${n(redis.decided)} (RedisStore) requests allowed with their nonce recorded (\`replay: "checked"\`) and a rate limit taken; anything else (a non-200, a denial, an allow without both) fails the run. Before measuring, each server answered 200 with a RateLimit-Policy header to a fresh signed request, 429 \`ERR_SIGNATURE_REPLAYED\` to the same request again, and 401 to a signature without a nonce and to no signature.`,
    `² Both servers at one fixed rate, ${Math.round(HTTP_SETTINGS.rateShare * 100)}% of the slower server's saturated req/s in the session (${sessions.map((s) => s.rate).join(', ')} req/s), ${HTTP_SETTINGS.rateSeconds} s each, median over sessions: latency without the queueing of saturation. Server CPU: the server process's user + system time (/proc) per request; Redis CPU: \`used_cpu_user + used_cpu_sys\` from \`INFO cpu\` per request (the MemoryStore row is what Redis did meanwhile for anyone else).`,
    `³ Client side, the headline: the RedisStore server wraps its ioredis client's \`sendCommand\` and counts every command the store sends; over all timed windows (saturated and fixed rate) ${n(sumCounts(redis.commands))} commands for ${n(redis.decided)} requests: ${perRequestList(redis.commands, redis.decided)} per request.`,
    `⁴ Redis side, a cross-check: \`INFO commandstats\` calls during the same windows ÷ requests. Commands a Lua script runs with \`redis.call\` are counted there too, under their own names (a SET NX inside a script that also takes the rate limit shows as a SET though the client sent one EVALSHA), as are other clients' commands. Everything else it counted (per request): ${perRequestList(otherStats, redis.decided)}. During the MemoryStore windows (${memoryWindowSeconds} s in all) Redis counted ${n(sumCounts(memory.commandStats))} commands from other clients.`,
    `Server event loop: its longest delay per window, median over the saturated windows, was ${fmt(median(windows('memory').map((w) => w.loopDelayMaxMs)))} ms (MemoryStore) and ${fmt(median(windows('redis').map((w) => w.loopDelayMaxMs)))} ms (RedisStore), worst ${fmt(Math.max(...timed('redis').map((w) => w.loopDelayMaxMs)))} ms (RedisStore): a stall longer than the store's 50 ms timeout can fail a command whose reply has already arrived (timers run before I/O), and the store may then refuse commands for a while (\`retryAfterMs\`), each a 503.`,
    `Noise: other processes (not the server, the load generator${facts.redisLocal ? ' or Redis' : ''}) used ${othersRange([...pairs, ...fixed].flatMap((p) => STORES.map((kind) => p[kind])))} of a core during the kept windows; ${facts.noise.repeated} pair(s) were measured again because they used more than ${Math.round(NOISY * 100)}%.`,
  ];
  return { env, table, notes, failures: ctx.failures, commandsPerRequest, ratio };
}

function othersRange(windows: readonly StoreWindow[]): string {
  const values = windows.map((w) => w.others).filter((v): v is number => v !== undefined);
  if (values.length === 0) return 'an unknown share (no /proc)';
  const { median: m, max } = summarize(values);
  return `a median ${Math.round(m * 100)}% (max ${Math.round(max * 100)}%)`;
}

const TITLE = 'Redis store benchmark: nonce + rate limit per request, MemoryStore vs RedisStore (Fastify 5)';

export function printRedis(result: RedisResult, log: (line: string) => void = console.log): void {
  if (redisSkipped(result)) {
    log('');
    log(`== bonafide ${TITLE} ==`);
    log(`skipped: ${result.skipped}`);
    return;
  }
  printSection(`bonafide ${TITLE}`, result, log, failureLines(result.failures));
}

export function redisMarkdown(result: RedisResult): string {
  if (redisSkipped(result)) return [`### ${TITLE}`, '', `Skipped: ${result.skipped}.`].join('\n');
  return markdownSection(TITLE, result, failureParagraph(result.failures));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runRedis();
  printRedis(result);
  if (!redisSkipped(result) && result.failures.length > 0) process.exitCode = 1;
}
