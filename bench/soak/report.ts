/** The soak's printed report: plain-text tables, one block per server, then the verdict. */
import { textTable, type Table } from '../lib/table.js';
import { EXTERNAL_SLACK_BYTES, mib, type MemoryBound } from './bound.js';
import type { ServerStats } from './config.js';
import { LATENCY_ALLOWANCE_MS } from './config.js';
import type { Counts, ServerRecord, Timeline } from './record.js';
import type { FaultKind, TrafficClass } from './traffic.js';

type Log = (line: string) => void;

const num = (n: number): string => n.toLocaleString('en-US');
const ms = (n: number): string => (Number.isNaN(n) ? '-' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const table = (columns: string[], rows: string[][], numeric: number[] = []): string => textTable({ columns, rows, numeric: new Set(numeric) } satisfies Table);

/** `a ×3, b ×1`, most frequent first. */
export function describeCounts(counts: Counts, limit = 4): string {
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, limit).map(([k, n]) => `${k} ×${num(n)}`);
  if (sorted.length > limit) shown.push(`+${sorted.length - limit} more`);
  return shown.join(', ');
}

export function printClasses(log: Log, classes: readonly TrafficClass[]): void {
  const rows = classes.map((c) => [
    c.name,
    c.description,
    c.expected.join(' | '),
    [
      ...Object.entries(c.during ?? {}).map(([fault, outcomes]) => `${fault}: ${outcomes.join(' | ')}`),
      ...(c.tolerated === undefined ? [] : [`any time, ≤ ${c.tolerated.maxShare * 100}% of the class: ${c.tolerated.outcomes.join(' | ')}`]),
    ].join('; '),
  ]);
  log(table(['class', 'what it sends', 'expected', 'also accepted while a fault is in effect'], rows));
}

export function printPhases(log: Log, timeline: Timeline): void {
  const rows = timeline.phases.map((p, i) => [
    String(i + 1),
    p.name,
    `${(p.startMs / 1000).toFixed(1)}–${(p.endMs / 1000).toFixed(1)} s`,
    p.faults.size === 0 ? '-' : [...p.faults].join(', '),
    p.description,
  ]);
  log(table(['#', 'phase', 'when', 'fault', 'what happens'], rows));
}

const memoryLine = (label: string, s: ServerStats | undefined): string =>
  s === undefined ? `${label}: -` : `${label}: rss ${mib(s.memory.rss)}, heapUsed ${mib(s.memory.heapUsed)}, heapTotal ${mib(s.memory.heapTotal)}, external ${mib(s.memory.external)}${s.gcForced ? ' (after a forced GC)' : ''}`;

export interface ServerSummary {
  readonly record: ServerRecord;
  readonly pid: number;
  readonly port: number;
  readonly start: ServerStats | undefined;
  readonly end: ServerStats | undefined;
  /** Guard decisions during the measured run (server side), and the answers from the guard the client saw. */
  readonly serverDecisions: number;
  readonly guardAnswers: number;
  readonly seconds: number;
  readonly bound?: MemoryBound;
  /** Memory mode: the largest heapUsed / rss seen after a forced GC, and the samples. */
  readonly maxHeap?: number;
  readonly maxRss?: number;
}

/** Prints one server's block; returns its problems (each makes the run fail). */
export function printServer(log: Log, s: ServerSummary, classes: ReadonlyMap<string, TrafficClass>, timeline: Timeline | undefined): string[] {
  const r = s.record;
  const errors: string[] = [];
  log('');
  log(`--- ${r.name} (pid ${s.pid}, port ${s.port}) ---`);
  log(
    `requests: ${num(r.requests)} in ${s.seconds.toFixed(1)} s (${num(Math.round(r.requests / s.seconds))} req/s); latency p50 ${ms(r.latency.quantile(0.5))} ms, p99 ${ms(r.latency.quantile(0.99))} ms, max ${ms(r.latency.max)} ms`,
  );
  log(memoryLine('memory at start', s.start));
  log(memoryLine('memory at end  ', s.end));
  if (s.maxHeap !== undefined) log(`memory max (sampled after forced GCs): heapUsed ${mib(s.maxHeap)}, rss ${mib(s.maxRss ?? 0)}`);
  if (s.end?.store !== undefined) log(`memory store at end: ${num(s.end.store.nonces)} nonces, ${num(s.end.store.rateLimitKeys)} rate-limit keys`);
  if (s.end?.standInKeys !== undefined) log(`Redis stand-in at end: ${num(s.end.standInKeys)} rate-limit keys`);
  const failures = Object.entries(s.end?.storeFailures ?? {}).map(([k, n]) => [k, n - (s.start?.storeFailures[k] ?? 0)] as const).filter(([, n]) => n > 0);
  if (failures.length > 0) log(`Redis store calls that failed: ${failures.map(([k, n]) => `${k} ×${num(n)}`).join('; ')}`);
  log(`server side: ${num(s.serverDecisions)} guard decisions (the client saw ${num(s.guardAnswers)} answers from the guard); unhandled rejections/exceptions ${s.end?.unhandled ?? '?'}`);

  const logs = Object.entries(s.end?.logs ?? {}).filter(([, n]) => n > 0);
  if (logs.length > 0) {
    const before = s.start?.logs ?? {};
    log('');
    log('what the guard logged (warn/error) during the run:');
    log(table(['message (kind)', 'count'], logs.map(([k, n]) => [k, num(n - (before[k] ?? 0))]).filter(([, n]) => n !== '0').sort((a, b) => a[0]!.localeCompare(b[0]!)), [1]));
  }
  log('');
  log('outcomes:');
  log(table(['outcome (status reason)', 'count'], [...r.outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, num(n)]), [1]));

  log('');
  log('traffic classes, expected vs actual:');
  const classRows = [...r.classes]
    .sort((a, b) => b[1].sent - a[1].sent)
    .map(([name, c]) => [
      name,
      num(c.sent),
      classes.get(name)?.expected.join(' | ') ?? '?',
      describeCounts(c.outcomes, 3),
      c.mismatches === 0 ? '0' : `${num(c.mismatches)} !!`,
      c.tolerated === 0 ? '' : `${num(c.tolerated)} (${((100 * c.tolerated) / c.sent).toFixed(2)}%, max ${(classes.get(name)?.tolerated?.maxShare ?? 0) * 100}%)`,
    ]);
  log(table(['class', 'sent', 'expected', 'actual', 'mismatches', 'tolerated (see below)'], classRows, [1]));
  const toleratedNotes = [...r.classes].filter(([, c]) => c.tolerated > 0).map(([name]) => `  tolerated for ${name}: ${classes.get(name)?.tolerated?.outcomes.join(' or ')} when ${classes.get(name)?.tolerated?.why}`);
  for (const note of toleratedNotes) log(note);
  errors.push(...r.toleratedProblems(classes));

  if (timeline !== undefined) {
    // The baseline's slowest request is what queueing costs here; a fault may add its timeouts to it.
    const budget = Math.max(r.phases[0]?.latency.max ?? 0, 0) + LATENCY_ALLOWANCE_MS;
    log('');
    log(`phases (latency budget ${ms(budget)} ms = baseline max + ${LATENCY_ALLOWANCE_MS} ms; "recovered": genuine requests with no fault from the recovery grace before them until their answer, all allowed):`);
    const phaseRows = timeline.phases.map((p, i) => {
      const rec = r.phases[i]!;
      const notable: string[] = [];
      for (const [name, counts] of rec.classes) {
        const cls = classes.get(name);
        const unusual = new Map([...counts].filter(([outcome]) => !(cls?.expected.includes(outcome) ?? false)));
        if (unusual.size > 0) notable.push(`${name}: ${describeCounts(unusual, 2)}`);
      }
      const within = rec.latency.count === 0 || rec.latency.max <= budget;
      if (!within) errors.push(`${r.name}: phase ${p.name}: a request took ${ms(rec.latency.max)} ms (budget ${ms(budget)} ms)`);
      let recovered = '-';
      if (p.faults.size === 0) {
        const total = rec.recoveryNormal + rec.recoveryOther;
        recovered = total === 0 ? 'n/a' : rec.recoveryOther === 0 ? `yes (${num(total)})` : `NO (${num(rec.recoveryOther)} of ${num(total)} not allowed)`;
        if (rec.recoveryOther > 0) errors.push(`${r.name}: phase ${p.name}: ${rec.recoveryOther} genuine requests not allowed after the recovery grace`);
      }
      return [p.name, num(rec.requests), ms(rec.latency.quantile(0.99)), `${ms(rec.latency.max)}${within ? '' : ' !!'}`, recovered, notable.join('; ') || '-'];
    });
    log(table(['phase', 'requests', 'p99 ms', 'max ms', 'recovered', 'decisions other than the normal ones (class: outcome ×n)'], phaseRows, [1, 2, 3]));
  }

  if (r.transport.size > 0) errors.push(`${r.name}: ${num([...r.transport.values()].reduce((a, b) => a + b, 0))} transport errors (${describeCounts(r.transport)})`);
  if (r.unexpected5xx > 0) errors.push(`${r.name}: ${num(r.unexpected5xx)} 5xx answers no class expected`);
  if (r.mismatches > 0) errors.push(`${r.name}: ${num(r.mismatches)} answers other than expected, e.g. ${r.examples.slice(0, 5).join('; ')}`);
  if (r.problemCount > 0) errors.push(`${r.name}: ${num(r.problemCount)} problems, e.g. ${r.problems.slice(0, 3).join('; ')}`);
  if ((s.end?.unhandled ?? 0) > 0) errors.push(`${r.name}: ${s.end!.unhandled} unhandled rejections or uncaught exceptions in the server`);
  if (s.serverDecisions !== s.guardAnswers) errors.push(`${r.name}: the server made ${s.serverDecisions} decisions but the client saw ${s.guardAnswers} answers from the guard`);
  log('');
  log(`transport errors: ${r.transport.size === 0 ? '0' : describeCounts(r.transport)}; unexpected 5xx: ${num(r.unexpected5xx)}; mismatches: ${num(r.mismatches)}; burst problems: ${num(r.problemCount)}`);
  for (const example of r.examples.slice(0, 10)) log(`  mismatch: ${example}`);
  for (const problem of r.problems) log(`  problem: ${problem}`);
  for (const [note, n] of r.notes) log(`  observation (×${num(n)}): ${note}`);
  return errors;
}

/** The bound's computation, and whether each server stayed under it. */
export function printBound(log: Log, summaries: readonly ServerSummary[]): string[] {
  const errors: string[] = [];
  const bound = summaries[0]?.bound;
  if (bound === undefined) return errors;
  log('');
  log('memory bound, per server (caches of src/ and their caps; bytes per entry measured for this traffic):');
  const rows = bound.rows.map((row) => [
    row.cache,
    num(row.cap),
    num(row.entryBytes),
    mib(row.cap * row.entryBytes),
    mib(row.cap * row.worstBytes),
    row.where,
  ]);
  rows.push(['total', '', '', mib(bound.cachesBytes), mib(bound.worstBytes), '']);
  log(table(['cache', 'cap', 'B/entry', 'cap × B', 'worst case', 'cap set at'], rows, [1, 2, 3, 4]));
  for (const row of bound.rows) if (row.note !== '') log(`  ${row.cache}: ${row.note}`);
  for (const s of summaries) {
    const b = s.bound!;
    const heap = s.maxHeap ?? s.end?.memory.heapUsed ?? 0;
    const rss = s.maxRss ?? s.end?.memory.rss ?? 0;
    const external = s.end?.memory.external ?? 0;
    const externalBound = (s.start?.memory.external ?? 0) + EXTERNAL_SLACK_BYTES;
    const heapOk = heap <= b.heapBytes;
    const externalOk = external <= externalBound;
    const rssWithin = rss <= b.rssBytes;
    log(
      `${s.record.name}: heapUsed max ${mib(heap)} vs bound ${mib(b.heapBytes)} (start ${mib(s.start?.memory.heapUsed ?? 0)} + 1.5 × ${mib(b.cachesBytes)} + 24 MiB) ${heapOk ? 'OK' : 'EXCEEDED'}; ` +
        `external at end ${mib(external)} vs bound ${mib(externalBound)} ${externalOk ? 'OK' : 'EXCEEDED'}; ` +
        `rss max ${mib(rss)} vs guide ${mib(b.rssBytes)} ${rssWithin ? 'within' : 'over (heapTotal is V8\'s policy: see bench/soak/bound.ts; not a failure)'}`,
    );
    if (!heapOk) errors.push(`${s.record.name}: heapUsed ${mib(heap)} over the bound ${mib(b.heapBytes)}`);
    if (!externalOk) errors.push(`${s.record.name}: external memory ${mib(external)} over the bound ${mib(externalBound)}`);
  }
  return errors;
}

export const faultNames = (faults: ReadonlySet<FaultKind>): string => (faults.size === 0 ? '-' : [...faults].join(', '));
