import { IpAddress } from '../lib/cidr.js';
import { checkHolds, type CompiledLists, type Facts, type ListEntryRef, type PolicyProgram } from './evaluate.js';
import type { PolicyContext } from './types.js';

/**
 * Explaining a decision: the same steps as `evaluate`, walked one by one without the rule index, each
 * reported with whether it matched and the first reason it did not. Operators ask "why was this
 * denied?" and "why did my new rule not fire?"; the answer has to name the entry or condition. Costs
 * a pass over every rule, which is fine for a CLI or a debugging endpoint and wrong for the hot path.
 */

/** One step of an explanation. */
export interface TraceEntry {
  /** `category`, `list:bad`, `list:good`, `rule` or `default`. */
  readonly source: string;
  /** The category key, the list part (`principals`, `networks`, `userAgents`), the rule id, or `default`. */
  readonly id: string;
  readonly matched: boolean;
  /** What matched, or the first reason it did not. */
  readonly why: string;
}

function time(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

/** Builds the trace for `context`; `facts` must be a fresh instance (not the one `evaluate` uses). */
export function explainProgram(program: PolicyProgram, context: PolicyContext, facts: Facts): TraceEntry[] {
  const trace: TraceEntry[] = [];
  facts.reset(context, program.categories);
  const principal = context.principal;
  let decidedBy: string | undefined;

  // 1. Categories: the entries that apply to this principal, most specific first.
  const keys = [
    ['principal id', principal.id],
    ['agent', principal.agent],
    ['issuer', principal.issuer],
  ].filter((pair, i, all): pair is [string, string] => pair[1] !== undefined && all.findIndex((other) => other[1] === pair[1]) === i);
  let anyEntry = false;
  for (const [what, key] of keys) {
    const entry = program.categories.get(key);
    if (entry === undefined) continue;
    anyEntry = true;
    const parts: string[] = [];
    if (entry.categories !== undefined) parts.push(`categories [${entry.categories.join(', ')}]`);
    if (entry.trust !== undefined) {
      parts.push(
        facts.trustKey === key ? `trust ${entry.trust}: ${entry.trust === 'bad' ? 'deny' : 'allow unless a bad list entry matches'}` : `trust ${entry.trust} (overridden by a more specific entry)`,
      );
    }
    trace.push({ source: 'category', id: key, matched: true, why: `entry for the ${what}: ${parts.join('; ') || 'empty'}` });
  }
  if (!anyEntry && program.categories.size > 0) {
    trace.push({ source: 'category', id: principal.id, matched: false, why: 'no categories entry for the principal id, agent or issuer' });
  }
  if (facts.trust === 'bad') decidedBy = `category ${facts.trustKey} (trust bad)`;

  // 2–3. Lists: bad, then good (a good category verdict sits between them).
  for (const side of ['bad', 'good'] as const) {
    const lists = program[side];
    if (side === 'good' && decidedBy === undefined && facts.trust === 'good') decidedBy = `category ${facts.trustKey} (trust good)`;
    if (lists === undefined) continue;
    for (const step of explainLists(lists, context, facts)) {
      if (decidedBy !== undefined) {
        trace.push({ source: `list:${side}`, id: step.id, matched: false, why: `not evaluated: decided by ${decidedBy}` });
        continue;
      }
      trace.push({ source: `list:${side}`, id: step.id, matched: step.matched, why: step.why });
      if (step.matched) decidedBy = `list:${side} ${step.id}`;
    }
  }

  // 4. Rules, in document order.
  for (const rule of program.rules) {
    if (decidedBy !== undefined) {
      trace.push({ source: 'rule', id: rule.id, matched: false, why: `not evaluated: decided by ${decidedBy}` });
      continue;
    }
    let why: string | undefined;
    if (context.now < rule.notBefore) why = `not before ${time(rule.notBefore)}`;
    else if (context.now >= rule.expiresAt) why = `expired at ${time(rule.expiresAt)}`;
    else {
      for (const check of rule.checks) {
        if (!checkHolds(check, context, facts)) {
          why = check.why(context, facts);
          break;
        }
      }
    }
    if (why !== undefined) {
      trace.push({ source: 'rule', id: rule.id, matched: false, why });
    } else if (rule.dryRun) {
      trace.push({ source: 'rule', id: rule.id, matched: true, why: `dry-run: would ${rule.action}; recorded in dryRun, does not decide` });
    } else {
      trace.push({ source: 'rule', id: rule.id, matched: true, why: `decides: ${rule.action}` });
      decidedBy = `rule ${rule.id}`;
    }
  }

  // 5. Default.
  trace.push(
    decidedBy === undefined
      ? { source: 'default', id: 'default', matched: true, why: `no list entry or rule decided: ${program.defaultAction}` }
      : { source: 'default', id: 'default', matched: false, why: `not evaluated: decided by ${decidedBy}` },
  );
  return trace;
}

interface ListStep {
  readonly id: 'principals' | 'networks' | 'userAgents';
  readonly matched: boolean;
  readonly why: string;
}

/** The three parts of one side of the lists, each with the entry that matched or why none did. */
function explainLists(lists: CompiledLists, context: PolicyContext, facts: Facts): ListStep[] {
  const steps: ListStep[] = [];
  const now = context.now;
  if (lists.hasPrincipals) {
    const principal = context.principal;
    const candidates: [ReadonlyMap<string, ListEntryRef>, string, string | undefined][] = [
      [lists.ids, 'id', principal.id],
      [lists.operators, 'operator', principal.agent],
      [lists.operators, 'operator', principal.issuer],
      [lists.thumbprints, 'thumbprint', principal.keyid],
      [lists.apps, 'app', principal.appId],
      ...facts.categories.map((c): [ReadonlyMap<string, ListEntryRef>, string, string] => [lists.categories, 'category', c]),
    ];
    let live: ListEntryRef | undefined;
    let expired: ListEntryRef | undefined;
    const tried: string[] = [];
    for (const [map, kind, value] of candidates) {
      if (value === undefined) continue;
      tried.push(`${kind}:${value}`);
      const entry = map.get(value);
      if (entry === undefined) continue;
      if (entry.expiresAt > now) {
        live = entry;
        break;
      }
      expired ??= entry;
    }
    steps.push(
      live !== undefined
        ? { id: 'principals', matched: true, why: `${live.label} matches the principal` }
        : expired !== undefined
          ? { id: 'principals', matched: false, why: `${expired.label} matches but expired at ${time(expired.expiresAt)}` }
          : { id: 'principals', matched: false, why: `no entry for ${tried.join(', ')}` },
    );
  }
  if (lists.networks.size > 0) {
    const address = new IpAddress();
    if (context.ip === undefined) steps.push({ id: 'networks', matched: false, why: 'no client IP' });
    else if (!address.parse(context.ip)) steps.push({ id: 'networks', matched: false, why: `client IP ${JSON.stringify(context.ip)} is not an IP address` });
    else {
      const live = lists.networks.find(address, now);
      const any = live ?? lists.networks.find(address);
      steps.push(
        live !== undefined
          ? { id: 'networks', matched: true, why: `${live.label} contains ${context.ip}` }
          : any !== undefined
            ? { id: 'networks', matched: false, why: `${any.label} contains ${context.ip} but expired at ${time(any.expiresAt)}` }
            : { id: 'networks', matched: false, why: `no entry contains ${context.ip}` },
      );
    }
  }
  if (lists.userAgents.size > 0) {
    const ua = context.userAgent;
    if (ua === null) steps.push({ id: 'userAgents', matched: false, why: 'no User-Agent' });
    else {
      const live = lists.userAgents.match(ua, now);
      const any = live !== -1 ? live : lists.userAgents.match(ua);
      const entry = any === -1 ? undefined : lists.userAgentEntries[any];
      steps.push(
        live !== -1 && entry !== undefined
          ? { id: 'userAgents', matched: true, why: `pattern ${entry.label} matches the User-Agent` }
          : entry !== undefined
            ? { id: 'userAgents', matched: false, why: `pattern ${entry.label} matches the User-Agent but expired at ${time(entry.expiresAt)}` }
            : { id: 'userAgents', matched: false, why: 'no pattern matches the User-Agent' },
      );
    }
  }
  return steps;
}
