/**
 * HTTP benchmark: requests per second of GET /hello on Express, Koa and Fastify, bare and guarded
 * by bonafide, with one valid Approov token reused on every request (so the guarded server answers
 * from its token cache after the first request, as for one app instance's stream of calls).
 *
 * Method: see bench/lib/load.ts (fresh server pairs per session, alternating windows, per-pair
 * ratios, a fixed-rate pair for server CPU per request). The table reports the median ratio over
 * all pairs, and the median req/s over all windows.
 */
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { describeEnvironment, type Environment } from './lib/env.js';
import { fixedRateCpu, HTTP_SETTINGS, httpNoiseNote, measureSession, pairSummary, SECONDS_PER_SESSION, sessionState, startServer, stopServer, type FixedRatePair, type Load, type Pair, type Probe } from './lib/load.js';
import { failureLines, failureParagraph, markdownSection, printSection } from './lib/report.js';
import { fmt } from './lib/stats.js';
import type { Table } from './lib/table.js';
import { tokenFactory } from './lib/tokens.js';

export const HTTP_TARGET = 0.85;

const FRAMEWORKS = ['express', 'koa', 'fastify'] as const;

export interface HttpReport {
  readonly env: Environment;
  readonly table: Table;
  readonly notes: readonly string[];
  /** Every framework met the target. */
  readonly passed: boolean;
  /** Wrong answers: any non-2xx response, error or timeout, or a failed sanity check. Empty when all is well. */
  readonly failures: readonly string[];
}

/** Proves the server does what the run claims: guarded refuses a missing or forged token, everyone accepts the good one. */
function probes(token: string, forged: string): Probe[] {
  return [
    { label: 'valid token', headers: { 'approov-token': token }, status: { bare: 200, guarded: 200 } },
    { label: 'no token', headers: {}, status: { bare: 200, guarded: 401 } },
    { label: 'forged token', headers: { 'approov-token': forged }, status: { bare: 200, guarded: 401 } },
  ];
}

/** Load for `seconds`: as fast as the server answers, or at `rate` requests per second in all. */
function load(token: string): Load {
  return (port, seconds, rate) =>
    autocannon({
      url: `http://127.0.0.1:${port}/hello`,
      connections: HTTP_SETTINGS.connections,
      pipelining: HTTP_SETTINGS.pipelining,
      duration: seconds,
      headers: { 'approov-token': token, accept: '*/*' },
      ...(rate === undefined ? {} : { overallRate: rate }),
    });
}

export async function runHttp(log: (line: string) => void = console.log): Promise<HttpReport> {
  const env = describeEnvironment();
  const factory = tokenFactory();
  const token = factory.make({ expiresIn: 3 * 3600 });
  const forged = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
  const state = sessionState();
  const { failures } = state;
  const pairs: Pair[] = [];
  const fixedRate: FixedRatePair[] = [];
  log(
    `http: ${FRAMEWORKS.length} frameworks × ${HTTP_SETTINGS.sessions} session(s) × (${HTTP_SETTINGS.pairs} bare/guarded pair(s) of ` +
      `${HTTP_SETTINGS.seconds} s windows + 1 fixed-rate pair) (~${Math.ceil((FRAMEWORKS.length * HTTP_SETTINGS.sessions * SECONDS_PER_SESSION) / 60)} min)`,
  );

  for (let session = 0; session < HTTP_SETTINGS.sessions; session++) {
    for (const framework of FRAMEWORKS) {
      const secret = { BENCH_APPROOV_SECRET: factory.secretBase64 };
      const servers = {
        bare: await startServer([framework, 'bare'], secret),
        guarded: await startServer([framework, 'guarded'], secret),
      };
      try {
        const plan = { label: framework, logPrefix: `http: ${framework.padEnd(7)}`, session, servers, probes: probes(token, forged), load: load(token) };
        const measured = await measureSession(plan, state, log);
        pairs.push(...measured.pairs);
        fixedRate.push(measured.fixed);
      } finally {
        await stopServer(servers.bare);
        await stopServer(servers.guarded);
      }
    }
  }

  let passed = true;
  const rows = FRAMEWORKS.map((framework) => {
    const { bare, guarded, ratio, ratios } = pairSummary(pairs.filter((p) => p.label === framework));
    const pass = ratio >= HTTP_TARGET;
    passed &&= pass;
    const fixed = fixedRate.filter((p) => p.label === framework);
    const nonOk = failures.filter((f) => f.startsWith(`${framework}/guarded`)).length;
    return [
      framework,
      fmt(bare),
      fmt(guarded),
      ratio.toFixed(3),
      `≥ ${HTTP_TARGET.toFixed(2)}`,
      pass ? 'PASS' : 'MISS',
      nonOk === 0 ? '0' : `${nonOk} window(s)`,
      fixedRateCpu(fixed, (p) => p.bare.cpuPerRequest!),
      fixedRateCpu(fixed, (p) => p.guarded.cpuPerRequest!),
      fixedRateCpu(fixed, (p) => p.guarded.cpuPerRequest! - p.bare.cpuPerRequest!),
      fixedRateCpu(fixed, (p) => p.bare.cpuPerRequest! / p.guarded.cpuPerRequest!, 3),
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
  const notes = [
    `autocannon, ${HTTP_SETTINGS.connections} connections, pipelining ${HTTP_SETTINGS.pipelining}, GET /hello on 127.0.0.1. Per framework ${HTTP_SETTINGS.sessions} session(s) of a fresh bare and a fresh guarded server process, each warmed up ${HTTP_SETTINGS.warmupSeconds} s, then ${HTTP_SETTINGS.pairs} pair(s) of ${HTTP_SETTINGS.seconds} s windows in alternating order.`,
    'req/s: median over windows. guarded/bare: median of the per-pair ratios (pairs are adjacent in time, so machine drift cancels); PASS/MISS compares it with the target.',
    'Every request carries the same valid Approov token (HS256, 32-byte secret): the guarded server verifies it once and then answers from its token cache; the bare server ignores the header. Every response is counted: any non-2xx, error or timeout fails the run.',
    'Before measuring, each server is checked: a valid token gets 200 and the body; in guarded mode a missing or a forged token gets 401.',
    `Server and load generator share the ${env.cores}-core machine (one process each); at saturation a slower server also pays more kernel time per response (the load generator sleeps more and must be woken), which widens the req/s gap.`,
    `CPU columns (informational): one more pair per session with both servers held at the same rate, ${Math.round(HTTP_SETTINGS.rateShare * 100)}% of that session's bare req/s, for ${HTTP_SETTINGS.rateSeconds} s each; server user + system CPU time (/proc) per response, median over sessions. "CPU Δ" is the extra server CPU per request with the guard (bonafide's code plus whatever the framework and kernel do differently around it); "CPU bare/guarded" is the throughput ratio a CPU-bound server would get.`,
    httpNoiseNote([...pairs, ...fixedRate], state),
  ];
  return { env, table, notes, passed, failures };
}

export function printHttp(report: HttpReport, log: (line: string) => void = console.log): void {
  printSection('bonafide HTTP benchmark', report, log, failureLines(report.failures));
}

export function httpMarkdown(report: HttpReport): string {
  return markdownSection('HTTP benchmark: guarded vs bare, requests per second', report, failureParagraph(report.failures));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await runHttp();
  printHttp(report);
  if (report.failures.length > 0) process.exitCode = 1;
}
