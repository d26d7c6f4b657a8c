/**
 * `npm run soak` — a load, soak and fault run of bonafide (not part of `npm test`).
 *
 * Starts a guarded Fastify server and a guarded Express server (bench/soak/server.ts, one process
 * each, so memory is per server), a local HTTPS key directory, a JWKS server and, when the Redis
 * store is used, a redis-server of its own; then drives both servers with a concurrent mix of
 * genuine and hostile traffic (bench/soak/traffic.ts) for the duration, while faults are injected
 * mid-run: the key directory turns slow, hangs, answers garbage, answers a huge body, recovers; the
 * JWKS answers 500, then refuses connections, recovers; Redis is stopped (SIGSTOP), resumed, killed
 * (SIGKILL) and started again. Every answer is checked against what its traffic class expects at
 * that moment; the report gives, per server, the outcome counts, latencies, memory at start and end
 * and, per phase, what the guard decided, how long it took and whether it recovered.
 *
 *   npm run soak                         60 s, faults on
 *   npm run soak -- --quick              10 s
 *   npm run soak -- --duration 5m        (or SOAK_DURATION=5m)
 *   npm run soak -- --no-faults
 *   npm run soak -- --memory             memory bound mode: only distinct values, as fast as possible
 *                                        (on the memory store: no faster than its nonce cap allows)
 *                                        until 1,000,000 requests or 330 s (--requests N, --duration;
 *                                        --quick: 20 s), heap sampled after forced GCs and checked
 *                                        against the bound computed in bench/soak/bound.ts
 *   --store memory|redis                 default: redis when REDIS_URL is set, else memory
 *                                        (--memory defaults to the memory store: the in-process bound)
 *   --concurrency N                      requests in flight per server (default 8; memory mode 32)
 *   --wide-signature-inputs              memory mode: also send distinct Signature-Input headers of the
 *                                        largest shape the parser accepts (shows the parsed-signature
 *                                        cache's worst case; expected to exceed the bound)
 *
 * Exits 1 when any answer was not the expected one, on any transport error or unexpected 5xx, when a
 * phase's slowest request exceeded the latency budget, when genuine traffic was not allowed again
 * after a fault, when a server crashed or logged an unhandled rejection, or (memory mode) when a
 * server's heap (after GC) or external memory exceeded its bound; RSS is reported against a guide.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describeEnvironment, environmentLines } from './lib/env.js';
import { textTable } from './lib/table.js';
import { memoryBound, mib } from './soak/bound.js';
import { Client, type SoakRequest } from './soak/client.js';
import { DIRECTORY_TIMEOUT_MS, FRAMEWORKS, LATENCY_ALLOWANCE_MS, RECOVERY_GRACE_MS, type ServerStats } from './soak/config.js';
import { freePort, redisServerInstalled, startDirectory, startJwks, startOwnRedis, type Directory, type JwksServer, type OwnRedis } from './soak/fixtures.js';
import { ServerRecord, Timeline, type Phase } from './soak/record.js';
import { printBound, printClasses, printPhases, printServer, type ServerSummary } from './soak/report.js';
import { startServer, type ServerProcess } from './soak/servers.js';
import {
  makeMaterial,
  memoryClasses,
  REPLAY_AFTER_RESTART,
  soakClasses,
  weightedPicker,
  wideSignatureInputClass,
  type FaultKind,
  type Material,
  type ServerTraffic,
  type TrafficClass,
} from './soak/traffic.js';

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  readonly durationMs: number;
  /** Memory mode: stop once this many requests were sent (default 1,000,000 without --duration). */
  readonly requests: number;
  readonly quick: boolean;
  readonly faults: boolean;
  readonly memory: boolean;
  readonly store: 'memory' | 'redis';
  readonly concurrency: number;
  readonly wide: boolean;
}

function usage(message: string): never {
  console.error(`soak: ${message}`);
  console.error('usage: npm run soak -- [--quick] [--duration 60s] [--no-faults] [--memory] [--store memory|redis] [--concurrency N] [--wide-signature-inputs]');
  process.exit(2);
}

/** `90`, `90s`, `500ms`, `5m`, `1h` → ms. */
function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (match === null) usage(`not a duration: ${JSON.stringify(text)} (use 60s, 5m, …)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's']!;
  const value = Number(match[1]) * unit;
  if (!(value >= 1000)) usage('the duration must be at least 1 s');
  return value;
}

function parseOptions(argv: readonly string[]): Options {
  let duration: string | undefined = process.env.SOAK_DURATION || undefined;
  let quick = false;
  let faults: boolean | undefined;
  let memory = false;
  let store: 'memory' | 'redis' | undefined;
  let concurrency: number | undefined;
  let wide = false;
  let requests: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => inline ?? argv[++i] ?? usage(`${name} needs a value`);
    switch (name) {
      case '--duration':
        duration = value();
        break;
      case '--quick':
        quick = true;
        break;
      case '--faults':
        faults = true;
        break;
      case '--no-faults':
        faults = false;
        break;
      case '--memory':
        memory = true;
        break;
      case '--store': {
        const v = value();
        if (v !== 'memory' && v !== 'redis') usage('--store is memory or redis');
        store = v;
        break;
      }
      case '--concurrency': {
        concurrency = Number(value());
        if (!Number.isInteger(concurrency) || concurrency < 1) usage('--concurrency is a positive integer');
        break;
      }
      case '--wide-signature-inputs':
        wide = true;
        break;
      case '--requests': {
        requests = Number(value());
        if (!Number.isInteger(requests) || requests < 1) usage('--requests is a positive integer');
        break;
      }
      default:
        usage(`unknown argument ${arg}`);
    }
  }
  if (wide && !memory) usage('--wide-signature-inputs belongs to --memory');
  if (requests !== undefined && !memory) usage('--requests belongs to --memory');
  // Memory mode by default: a million requests, or 330 s if this machine cannot send that many sooner.
  const fallback = memory ? (quick ? 20_000 : 330_000) : quick ? 10_000 : 60_000;
  return {
    durationMs: duration === undefined ? fallback : parseDuration(duration),
    requests: requests ?? (memory && duration === undefined && !quick ? 1_000_000 : Number.POSITIVE_INFINITY),
    quick,
    faults: memory ? false : (faults ?? true),
    memory,
    store: store ?? (memory ? 'memory' : process.env.REDIS_URL ? 'redis' : 'memory'),
    concurrency: concurrency ?? (memory ? 32 : 8),
    wide,
  };
}

// ---------------------------------------------------------------------------------------------
// The run

const options = parseOptions(process.argv.slice(2));
const log = (line: string): void => console.log(line);
const startedAt = performance.now();
const elapsed = (): string => `${((performance.now() - startedAt) / 1000).toFixed(1)} s`;
const progress = (line: string): void => console.log(`[${elapsed()}] ${line}`);

const material: Material = makeMaterial();
const cleanups: (() => Promise<void> | void)[] = [];
const errors: string[] = [];
let directory: Directory | undefined;
let jwks: JwksServer | undefined;
let redis: OwnRedis | undefined;
let redisNote = '';
const servers: ServerProcess[] = [];

async function cleanup(): Promise<void> {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch {
      // Best effort: the report matters more.
    }
  }
  cleanups.length = 0;
}

process.once('SIGINT', () => {
  void cleanup().finally(() => process.exit(130));
});

async function setUp(): Promise<void> {
  directory = await startDirectory([material.agent.publicJwk]);
  cleanups.push(() => directory!.close());
  material.directoryOrigin = directory.origin;
  material.closedPort = await freePort();
  jwks = await startJwks(material.jwt.jwks);
  cleanups.push(() => jwks!.close());
  let redisConfig: { url: string; prefix: string } | undefined;
  if (options.store === 'redis') {
    const prefix = `soak:${process.pid}:`;
    if (redisServerInstalled()) {
      // A server of our own: the soak stops and kills it, and must not touch a shared one.
      redis = await startOwnRedis();
      cleanups.push(() => redis!.close());
      redisConfig = { url: redis.url, prefix };
      redisNote = `RedisStore on a redis-server of the soak's own (${redis.url}; REDIS_URL ${process.env.REDIS_URL ? 'set' : 'not set'})`;
    } else {
      const url = process.env.REDIS_URL;
      if (url === undefined) usage('--store redis needs redis-server installed or REDIS_URL');
      redisConfig = { url, prefix };
      redisNote = 'RedisStore on REDIS_URL (redis-server not installed here: no Redis faults)';
    }
  }
  for (const framework of FRAMEWORKS) {
    const server = await startServer(framework, { approovSecret: material.approov.secretBase64, jwksPort: jwks.port, ...(redisConfig === undefined ? {} : { redis: redisConfig }) });
    servers.push(server);
    cleanups.push(() => server.stop());
  }
}

/** Genuine requests until each is allowed: the fixtures work before anything is measured. */
async function warmUp(server: ServerProcess, traffic: ServerTraffic, client: Client): Promise<void> {
  const genuine = soakClasses().filter((c) => c.name === 'approov-genuine' || c.name === 'jwt-genuine' || c.name === 'agent-known');
  for (const cls of genuine) {
    let last = '';
    let allowed = false;
    for (let attempt = 0; attempt < 20 && !allowed; attempt++) {
      let response;
      await cls.run(material, traffic, async (_name, request) => (response = await client.send(request)), () => new Set());
      const r = response as Awaited<ReturnType<Client['send']>> | undefined;
      allowed = r !== undefined && r.ok && r.status === 200 && r.reason === 'OK';
      last = r === undefined ? 'nothing' : r.ok ? `${r.status} ${r.reason}` : r.error;
      if (!allowed) await sleep(250);
    }
    if (!allowed) throw new Error(`${server.framework}: warm-up: ${cls.name} is not allowed (last answer: ${last}); server stderr: ${server.stderr().slice(-800)}`);
  }
  traffic.accepted.length = 0;
}

/** The fault schedule, laid out over the duration. */
function phases(): Phase[] {
  const dir = directory!;
  const j = jwks!;
  const r = redis;
  type Spec = [name: string, weight: number, faults: FaultKind[], description: string, enter: () => void | Promise<void>];
  const specs: Spec[] = [['baseline', 6, [], 'nothing wrong', () => undefined]];
  if (options.faults) {
    specs.push(
      ['directory-slow', 4, ['directory'], `the key directory answers after ${3 * DIRECTORY_TIMEOUT_MS} ms (the guard waits ${DIRECTORY_TIMEOUT_MS} ms)`, () => void (dir.mode = 'slow')],
      ['directory-hang', 4, ['directory'], 'the key directory never answers', () => void (dir.mode = 'hang')],
      ['directory-garbage', 3, ['directory'], 'the key directory answers 200 with non-JSON, or JSON without keys', () => void (dir.mode = 'garbage')],
      ['directory-huge', 3, ['directory'], 'the key directory answers a 1 MiB chunked body (cap 64 KiB)', () => void (dir.mode = 'huge')],
      ['directory-recovered', 6, [], 'the key directory answers normally again', () => void (dir.mode = 'ok')],
      ['jwks-500', 3, ['jwks'], 'the JWKS answers 500', () => j.setMode('error')],
      ['jwks-refused', 3, ['jwks'], 'nothing listens on the JWKS port (connection refused)', () => j.setMode('refused')],
      ['jwks-recovered', 6, [], 'the JWKS answers normally again', () => j.setMode('ok')],
    );
    if (r !== undefined) {
      specs.push(
        ['redis-stopped', 3, ['redis'], 'redis-server stopped with SIGSTOP (connections open, no answers)', () => r.stop()],
        ['redis-resumed', 5, [], 'SIGCONT: Redis answers again', () => r.resume()],
        ['redis-killed', 3, ['redis'], 'redis-server killed with SIGKILL (connections reset, refused)', () => r.kill()],
      );
    }
    specs.push(['recovered', 11, [], r !== undefined ? 'redis-server started again (empty: no persistence); everything normal' : 'everything normal', () => (r !== undefined && r.state === 'killed' ? r.restart() : undefined)]);
  }
  // Quick runs keep a final phase long enough to check recovery after the grace.
  const total = options.durationMs;
  const finalMs = specs.length > 1 ? Math.max(total * (specs[specs.length - 1]![1] / specs.reduce((s, x) => s + x[1], 0)), Math.min(total * 0.45, RECOVERY_GRACE_MS + 2000)) : total;
  const restWeight = specs.slice(0, -1).reduce((s, x) => s + x[1], 0);
  const out: Phase[] = [];
  let at = 0;
  specs.forEach(([name, weight, faults, description, enter], i) => {
    const last = i === specs.length - 1;
    const length = last ? total - at : ((total - finalMs) * weight) / restWeight;
    out.push({ name, description, startMs: at, endMs: last ? total : at + length, faults: new Set(faults), enter });
    at += length;
  });
  return out;
}

/** Which client population a class belongs to. */
function familyOf(name: string): string {
  if (name.startsWith('agent') || name.startsWith('malformed') || name.startsWith('signature')) return 'agents';
  if (name.startsWith('jwt')) return 'partners';
  if (name.startsWith('rate')) return 'bursts';
  return 'apps';
}

/** `concurrency` pickers, each over one family, shared out by weight (a burst counts ten times), at least one each. */
function familyPickers(classes: readonly TrafficClass[], concurrency: number): (() => TrafficClass)[] {
  const families = new Map<string, TrafficClass[]>();
  for (const c of classes) {
    const name = familyOf(c.name);
    families.set(name, [...(families.get(name) ?? []), c]);
  }
  const weight = (list: readonly TrafficClass[]): number => list.reduce((sum, c) => sum + c.weight * (c.name === 'rate-burst' ? 10 : 1), 0);
  const total = [...families.values()].reduce((sum, list) => sum + weight(list), 0);
  const entries = [...families.values()].map((list) => ({ list, share: (weight(list) / total) * Math.max(concurrency, families.size), loops: 1 }));
  let left = Math.max(concurrency, families.size) - entries.length;
  for (const e of [...entries].sort((a, b) => b.share - a.share)) {
    const more = Math.min(left, Math.max(0, Math.round(e.share) - 1));
    e.loops += more;
    left -= more;
  }
  if (left > 0) entries.sort((a, b) => b.share - a.share)[0]!.loops += left;
  return entries.flatMap((e) => Array.from({ length: e.loops }, () => weightedPicker(e.list)));
}

interface Running {
  readonly server: ServerProcess;
  readonly client: Client;
  readonly traffic: ServerTraffic;
  record: ServerRecord;
  start?: ServerStats;
  end?: ServerStats;
  /** Memory mode on the memory store: spaces this server's requests (see memoryModeRate). */
  readonly pacer: Pacer | undefined;
  maxHeap: number;
  maxRss: number;
  readonly samples: { t: number; heapUsed: number; rss: number; nonces?: number; rateLimitKeys?: number }[];
}

/**
 * Memory mode on the memory store: the store holds at most 100,000 live nonces (its default
 * `maxEntries`) and refuses new ones with 503 when full (fail closed, as documented). A nonce is kept
 * as long as its signature could be accepted: `maxNonceAge` 300 s + `clockSkew` 60 s + 1 s (the
 * defaults the soak server runs with). So the distinct-nonce class can be sent at no more than
 * 100,000 / 361 s per server; each server's requests are paced to 80% of the rate that keeps it there.
 */
const MEMORY_STORE_NONCES = 100_000;
const NONCE_TTL_SECONDS = 300 + 60 + 1;
const PACE_SHARE = 0.8;

/** At most one request per `intervalMs` on average, with up to BURST_MS of unused time taken back. */
class Pacer {
  static readonly BURST_MS = 50;
  #next = 0;
  constructor(readonly intervalMs: number) {}
  /** How long to wait before sending the next request (≤ 0: send now). */
  delay(now: number): number {
    const at = Math.max(this.#next, now - Pacer.BURST_MS);
    this.#next = at + this.intervalMs;
    return at - now;
  }
}

/** The per-server request rate that keeps the memory store's nonces under its cap, or undefined when nothing needs pacing. */
function memoryModeRate(classes: readonly TrafficClass[]): number | undefined {
  if (!options.memory || options.store !== 'memory') return undefined;
  const total = classes.reduce((sum, c) => sum + c.weight, 0);
  const nonces = classes.filter((c) => c.name === 'distinct-nonce').reduce((sum, c) => sum + c.weight, 0);
  if (nonces === 0) return undefined;
  return (PACE_SHARE * MEMORY_STORE_NONCES) / NONCE_TTL_SECONDS / (nonces / total);
}

async function run(): Promise<number> {
  await setUp();
  const classes = options.memory ? memoryClasses() : soakClasses();
  if (options.wide) classes.push(wideSignatureInputClass());
  const replayAfterRestart = REPLAY_AFTER_RESTART;
  const byName = new Map([...classes, replayAfterRestart].map((c) => [c.name, c]));
  const pick = weightedPicker(classes);
  const rate = memoryModeRate(classes);
  if (rate !== undefined) progress(`memory mode on the memory store: at most ${Math.round(rate).toLocaleString('en-US')} req/s per server (nonces under the store's cap)`);

  const store = { epoch: 0 };
  const running: Running[] = servers.map((server) => ({
    server,
    client: new Client(server.port, options.concurrency),
    traffic: { port: server.port, authority: `127.0.0.1:${server.port}`, accepted: [], store },
    record: new ServerRecord(server.framework, 1),
    pacer: rate === undefined ? undefined : new Pacer(1000 / rate),
    maxHeap: 0,
    maxRss: 0,
    samples: [],
  }));
  for (const r of running) cleanups.push(() => r.client.close());

  progress(`servers up: ${running.map((r) => `${r.server.framework} :${r.server.port} (pid ${r.server.pid})`).join(', ')}; directory ${directory!.origin}; JWKS :${jwks!.port}; store ${options.store}${redisNote ? ` — ${redisNote}` : ''}`);
  await Promise.all(running.map((r) => warmUp(r.server, r.traffic, r.client)));
  for (const r of running) {
    r.start = await r.server.stats(true);
  }
  progress('warm-up done; memory at start sampled (after a forced GC)');

  const phaseList = options.memory ? [{ name: 'memory', description: 'distinct values only', startMs: 0, endMs: options.durationMs, faults: new Set<FaultKind>(), enter: () => undefined }] : phases();
  const timeline = new Timeline(phaseList, performance.now());
  for (const r of running) r.record = new ServerRecord(r.server.framework, phaseList.length);
  const end = timeline.started + options.durationMs;
  if (!options.memory) {
    log('');
    log('traffic classes:');
    printClasses(log, classes);
    log('');
    log('phases:');
    printPhases(log, timeline);
    log('');
  }

  // The fault schedule.
  const snapshotsBeforeKill = new Map<Running, SoakRequest[]>();
  let sampling = true;
  const schedule = (async () => {
    for (const phase of timeline.phases) {
      const wait = timeline.started + phase.startMs - performance.now();
      if (wait > 0) await sleep(wait);
      if (!sampling) break;
      if (phase.name === 'redis-killed') {
        for (const r of running) snapshotsBeforeKill.set(r, r.traffic.accepted.map((a) => a.request));
        store.epoch++;
      }
      try {
        await phase.enter();
      } catch (error) {
        errors.push(`could not bring about phase ${phase.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (!options.memory) progress(`phase ${phase.name}: ${phase.description}`);
      if (phase.name === 'recovered' && snapshotsBeforeKill.size > 0) {
        // Give the servers' Redis clients time to reconnect, then replay what was accepted before the kill.
        void sleep(1500).then(() =>
          Promise.all(
            running.map(async (r) => {
              for (const request of (snapshotsBeforeKill.get(r) ?? []).slice(-50)) {
                const sentAt = performance.now();
                r.record.record(replayAfterRestart, sentAt, await r.client.send(request), timeline);
              }
            }),
          ),
        );
      }
    }
  })();

  // Memory samples: memory mode every 5 s after a forced GC; soak mode every 10 s without.
  const sampler = (async () => {
    const every = options.memory ? 5000 : 10_000;
    while (sampling) {
      await sleep(every);
      if (!sampling) break;
      for (const r of running) {
        try {
          const s = await r.server.stats(options.memory);
          const t = (performance.now() - timeline.started) / 1000;
          r.samples.push({ t, heapUsed: s.memory.heapUsed, rss: s.memory.rss, nonces: s.store?.nonces, rateLimitKeys: s.store?.rateLimitKeys });
          if (options.memory) {
            r.maxHeap = Math.max(r.maxHeap, s.memory.heapUsed);
            r.maxRss = Math.max(r.maxRss, s.memory.rss);
            progress(
              `${r.server.framework}: ${r.record.requests.toLocaleString('en-US')} requests, heapUsed ${mib(s.memory.heapUsed)}, rss ${mib(s.memory.rss)}` +
                (s.store === undefined ? '' : `, ${s.store.nonces.toLocaleString('en-US')} nonces, ${s.store.rateLimitKeys.toLocaleString('en-US')} rate-limit keys`),
            );
          }
        } catch (error) {
          errors.push(`${r.server.framework}: stats: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
  })();

  // The load: `concurrency` loops per server, each one operation at a time.
  const faultsNow = (): ReadonlySet<FaultKind> => {
    const now = performance.now();
    return timeline.faultsBetween(now - RECOVERY_GRACE_MS, now);
  };
  // Soak mode: each loop sends one family of traffic, like independent clients, so a family that
  // waits (agents while their directory is refetched) does not hold up the others. Memory mode: all.
  const pickers = options.memory ? Array.from({ length: options.concurrency }, () => pick) : familyPickers(classes, options.concurrency);
  const sentTotal = (): number => running.reduce((sum, r) => sum + r.record.requests, 0);
  await Promise.all(
    running.flatMap((r) =>
      pickers.map(async (pick) => {
        const send = async (name: string, request: SoakRequest) => {
          const sentAt = performance.now();
          const response = await r.client.send(request);
          r.record.record(byName.get(name)!, sentAt, response, timeline);
          return response;
        };
        while (performance.now() < end && sentTotal() < options.requests) {
          if (r.server.exited() !== undefined) return;
          const wait = r.pacer?.delay(performance.now()) ?? 0;
          if (wait >= 1) await sleep(wait);
          const cls = pick();
          try {
            const problem = await cls.run(material, r.traffic, send, faultsNow);
            if (problem?.startsWith('note: ')) r.record.note(problem.slice('note: '.length));
            else if (problem !== undefined) r.record.problem(problem);
          } catch (error) {
            r.record.problem(`${cls.name}: the driver failed: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      }),
    ),
  );
  await schedule;
  sampling = false;
  await sampler;
  // Let the replays after the restart (if any) finish.
  await sleep(200);
  const seconds = (performance.now() - timeline.started) / 1000;
  for (const r of running) {
    try {
      r.end = await r.server.stats(true);
      if (options.memory) {
        r.maxHeap = Math.max(r.maxHeap, r.end.memory.heapUsed);
        r.maxRss = Math.max(r.maxRss, r.end.memory.rss);
      }
    } catch (error) {
      errors.push(`${r.server.framework}: final stats: ${error instanceof Error ? error.message : String(error)}`);
    }
    const exit = r.server.exited();
    if (exit !== undefined) errors.push(`${r.server.framework}: the server ${exit}: ${r.server.stderr().slice(-500)}`);
  }

  // ---------------------------------------------------------------------------------------------
  // The report

  const env = describeEnvironment();
  log('');
  log(`== bonafide soak: ${options.memory ? 'memory bound mode' : 'load, soak and faults'} ==`);
  for (const line of environmentLines(env)) log(line);
  log(
    `Command: npm run soak -- ${process.argv.slice(2).join(' ') || '(defaults)'}; duration ${(options.durationMs / 1000).toFixed(0)} s${Number.isFinite(options.requests) ? ` or ${options.requests.toLocaleString('en-US')} requests` : ''}; faults ${options.faults ? 'on' : 'off'}; ` +
      `store ${options.store}${redisNote ? ` (${redisNote})` : ''}; ${options.concurrency} requests in flight per server; latency budget per phase: the baseline's slowest request + ${LATENCY_ALLOWANCE_MS} ms; recovery grace ${RECOVERY_GRACE_MS} ms`,
  );
  if (directory !== undefined) log(`key directory fetches by mode: ${JSON.stringify(directory.fetches)}; JWKS fetches by mode: ${JSON.stringify(jwks!.fetches)}`);
  const summaries: ServerSummary[] = running.map((r) => {
    const decisions = (s: ServerStats | undefined): number => Object.values(s?.decisions ?? {}).reduce((a, b) => a + b, 0);
    let guardAnswers = 0;
    for (const [outcome, n] of r.record.outcomes) if (!outcome.startsWith('transport') && !outcome.startsWith('431 ')) guardAnswers += n;
    return {
      record: r.record,
      pid: r.server.pid,
      port: r.server.port,
      start: r.start,
      end: r.end,
      serverDecisions: decisions(r.end) - decisions(r.start),
      guardAnswers,
      seconds,
      ...(r.start === undefined ? {} : { bound: memoryBound(options.store, r.start.memory) }),
      ...(options.memory ? { maxHeap: r.maxHeap, maxRss: r.maxRss } : {}),
    };
  });
  for (const s of summaries) errors.push(...printServer(log, s, byName, options.memory ? undefined : timeline));
  if (options.memory) {
    for (const r of running) {
      log('');
      log(`${r.server.framework}: memory samples (after a forced GC each):`);
      const every = Math.max(1, Math.ceil(r.samples.length / 20));
      const rows = r.samples
        .filter((_, i) => i % every === 0 || i === r.samples.length - 1)
        .map((s) => [s.t.toFixed(0), mib(s.heapUsed), mib(s.rss), s.nonces?.toLocaleString('en-US') ?? '-', s.rateLimitKeys?.toLocaleString('en-US') ?? '-']);
      log(textTable({ columns: ['s', 'heapUsed', 'rss', 'nonces', 'rate-limit keys'], numeric: new Set([0, 1, 2, 3, 4]), rows }));
    }
    const total = running.reduce((sum, r) => sum + r.record.requests, 0);
    log('');
    log(`memory mode: ${total.toLocaleString('en-US')} requests sent in ${seconds.toFixed(0)} s (${Math.round(total / seconds).toLocaleString('en-US')} req/s), every one with values never sent before`);
  } else {
    const samples = running.map((r) => `${r.server.framework}: ${r.samples.map((s) => `${s.t.toFixed(0)} s ${mib(s.heapUsed)}/${mib(s.rss)}`).join(', ')}`);
    log('');
    log('memory during the run (heapUsed/rss, no forced GC):');
    for (const line of samples) log(`  ${line}`);
    const replays = running.map((r) => r.record.classes.get(replayAfterRestart.name));
    if (replays.some((c) => c !== undefined)) {
      const accepted = replays.reduce((sum, c) => sum + (c?.outcomes.get('200 OK') ?? 0), 0);
      const sent = replays.reduce((sum, c) => sum + (c?.sent ?? 0), 0);
      log(
        `observation: of ${sent} signed requests accepted before Redis was killed and replayed after it restarted without persistence, ${accepted} were accepted again (the nonces were lost with the process).`,
      );
    }
  }
  errors.push(...printBound(log, summaries));

  log('');
  if (errors.length === 0) log(`soak: PASS (${elapsed()} in all)`);
  else {
    log(`soak: FAIL — ${errors.length} problem(s):`);
    for (const error of errors) log(`  - ${error}`);
  }
  return errors.length === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await run();
} catch (error) {
  console.error(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  for (const server of servers) {
    const stderr = server.stderr().trim();
    if (stderr !== '') console.error(`--- ${server.framework} stderr ---\n${stderr.slice(-2000)}`);
  }
} finally {
  await cleanup();
}
process.exit(code);

