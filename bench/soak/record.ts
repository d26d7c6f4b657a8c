/**
 * The phases of a soak run and what each server answered in them: counts by outcome, by traffic
 * class and by phase, latencies, transport errors and every answer that was not expected.
 */
import { Histogram, type Response } from './client.js';
import { RECOVERY_GRACE_MS } from './config.js';
import type { FaultKind, TrafficClass } from './traffic.js';

/** One stretch of the run: what is wrong around the guard, and how to bring it about. */
export interface Phase {
  readonly name: string;
  /** What happens, for the report. */
  readonly description: string;
  /** Offsets from the start of the run, ms. */
  readonly startMs: number;
  readonly endMs: number;
  readonly faults: ReadonlySet<FaultKind>;
  /** Runs when the phase begins (switch a fault on or off). */
  readonly enter: () => void | Promise<void>;
}

/** The phases laid out on the clock (performance.now() of the run's start). */
export class Timeline {
  readonly phases: readonly Phase[];
  readonly started: number;

  constructor(phases: readonly Phase[], started: number) {
    this.phases = phases;
    this.started = started;
  }

  /** The phase at `t` (performance.now()); the last one after the end, -1 before the start. */
  indexAt(t: number): number {
    const offset = t - this.started;
    if (offset < 0) return -1;
    for (let i = 0; i < this.phases.length; i++) if (offset < this.phases[i]!.endMs) return i;
    return this.phases.length - 1;
  }

  /** Faults of every phase that overlaps [from, to] (performance.now()). */
  faultsBetween(from: number, to: number): Set<FaultKind> {
    const a = from - this.started;
    const b = to - this.started;
    const faults = new Set<FaultKind>();
    for (const phase of this.phases) {
      if (phase.endMs < a || phase.startMs > b) continue;
      for (const fault of phase.faults) faults.add(fault);
    }
    return faults;
  }
}

export type Counts = Map<string, number>;
const bump = (counts: Counts, key: string, by = 1): void => {
  counts.set(key, (counts.get(key) ?? 0) + by);
};

export class ClassRecord {
  sent = 0;
  readonly outcomes: Counts = new Map();
  mismatches = 0;
  /** Answers accepted only up to the class's `tolerated.maxShare`. */
  tolerated = 0;
}

export class PhaseRecord {
  requests = 0;
  readonly latency = new Histogram();
  /** Outcomes per class. */
  readonly classes = new Map<string, Counts>();
  /** Genuine requests sent after the recovery grace of a phase without faults: normal / not. */
  recoveryNormal = 0;
  recoveryOther = 0;
}

/** What one server answered over the run. */
export class ServerRecord {
  readonly name: string;
  readonly outcomes: Counts = new Map();
  readonly classes = new Map<string, ClassRecord>();
  readonly phases: PhaseRecord[];
  readonly latency = new Histogram();
  readonly transport: Counts = new Map();
  /** 5xx answers that no class expected at that time (a 503 is expected only where a class says so). */
  unexpected5xx = 0;
  mismatches = 0;
  /** The first mismatches, described. */
  readonly examples: string[] = [];
  /** Problems a per-request check cannot see (a burst's count). */
  readonly problems: string[] = [];
  problemCount = 0;

  constructor(name: string, phases: number) {
    this.name = name;
    this.phases = Array.from({ length: Math.max(1, phases) }, () => new PhaseRecord());
  }

  get requests(): number {
    return this.latency.count;
  }

  /**
   * Records one answer of class `cls`, sent at `sentAt` (performance.now()). It is expected when it is
   * the class's normal outcome, or an outcome the class allows for a fault in effect between the
   * recovery grace before it was sent and the moment it was answered.
   */
  record(cls: TrafficClass, sentAt: number, response: Response, timeline: Timeline | undefined, context: () => ReadonlySet<FaultKind> = () => new Set()): void {
    const outcome = response.ok ? `${response.status} ${response.reason}` : `transport ${response.error}`;
    bump(this.outcomes, outcome);
    this.latency.record(response.ms);
    let record = this.classes.get(cls.name);
    if (record === undefined) this.classes.set(cls.name, (record = new ClassRecord()));
    record.sent++;
    bump(record.outcomes, outcome);
    if (!response.ok) bump(this.transport, response.error);

    const faults = timeline === undefined ? context() : timeline.faultsBetween(sentAt - RECOVERY_GRACE_MS, sentAt + response.ms);
    let expected = cls.expected.includes(outcome);
    if (!expected) for (const fault of faults) if (cls.during?.[fault]?.includes(outcome)) expected = true;
    let tolerated = false;
    if (!expected && cls.tolerated?.outcomes.includes(outcome) === true) {
      // Checked as a share of the class at the end (ServerRecord.toleratedProblems).
      record.tolerated++;
      expected = true;
      tolerated = true;
    }
    if (!expected) {
      record.mismatches++;
      this.mismatches++;
      if (response.ok && response.status >= 500) this.unexpected5xx++;
      if (this.examples.length < 25) {
        const at = timeline === undefined ? '' : ` at ${((sentAt - timeline.started) / 1000).toFixed(1)} s (${timeline.phases[timeline.indexAt(sentAt)]?.name ?? 'warm-up'})`;
        this.examples.push(`${cls.name}: got ${outcome}${at}, expected ${[...cls.expected, ...[...faults].flatMap((f) => cls.during?.[f] ?? [])].join(' or ')}`);
      }
    }

    if (timeline === undefined) return;
    const index = timeline.indexAt(sentAt);
    if (index < 0) return;
    const phase = this.phases[index]!;
    phase.requests++;
    phase.latency.record(response.ms);
    let counts = phase.classes.get(cls.name);
    if (counts === undefined) phase.classes.set(cls.name, (counts = new Map()));
    bump(counts, outcome);
    // Recovery: genuine traffic in a phase without faults, with no fault in effect from the recovery
    // grace before it was sent until it was answered. A tolerated answer (the machine, not a fault)
    // is left out here and limited by its share instead.
    if (cls.genuine && !tolerated && timeline.phases[index]!.faults.size === 0 && faults.size === 0) {
      if (cls.expected.includes(outcome)) phase.recoveryNormal++;
      else phase.recoveryOther++;
    }
  }

  /** Classes whose tolerated answers went over their share: each is an error. */
  toleratedProblems(classes: ReadonlyMap<string, TrafficClass>): string[] {
    const problems: string[] = [];
    for (const [name, record] of this.classes) {
      const limit = classes.get(name)?.tolerated;
      if (limit === undefined || record.tolerated === 0) continue;
      if (record.tolerated > limit.maxShare * record.sent) {
        problems.push(`${this.name}: ${name}: ${record.tolerated} of ${record.sent} answers were ${limit.outcomes.join(' or ')}, more than the ${limit.maxShare * 100}% tolerated when ${limit.why}`);
      }
    }
    return problems;
  }

  /** Observations (not errors), by text. */
  readonly notes: Counts = new Map();

  note(description: string): void {
    bump(this.notes, description);
  }

  problem(description: string): void {
    this.problemCount++;
    if (this.problems.length < 10) this.problems.push(description);
  }
}
