import { createHash } from 'node:crypto';
import { CidrSet, formatCidr, parseCidr, type Cidr } from '../lib/cidr.js';
import { parseDuration } from '../lib/duration.js';
import { UaPatternSet } from '../lib/ua-pattern.js';
import {
  CHECK,
  claimOf,
  evaluateProgram,
  Facts,
  type CategoryEntry,
  type CompiledLists,
  type CompiledRule,
  type ListEntryRef,
  type PathIndexNode,
  type PolicyProgram,
  type RuleCheck,
  type RoutePattern,
  type RuleIndex,
} from './evaluate.js';
import { explainProgram, type TraceEntry } from './explain.js';
import type { CompiledRateLimit, ListEntry, PolicyContext, PolicyDocument, PolicyLists, PolicyResult, PolicyRule, RateLimitSpec } from './types.js';
import { parseIsoTime, parseSelector, validatePolicy, type PolicyProblem } from './validate.js';

/**
 * Compiling a policy document: validate it, then turn it into matchers built once (hash sets, CIDR
 * tries, one User-Agent automaton per list, rule conditions as data and a rule index) so that evaluating a
 * request costs microseconds whatever the document's size. The compiled policy is immutable; a new
 * document means a new compiled policy, swapped in by reference. Evaluation semantics: see
 * `evaluate.ts`.
 */

/** A policy ready to evaluate. Immutable. */
export interface CompiledPolicy {
  readonly version: number;
  /** sha256 (base64url) of the canonical JSON of the document (keys sorted): identifies its content. */
  readonly hash: string;
  /** The validated document (a frozen JSON copy). */
  readonly document: PolicyDocument;
  /**
   * Decides a request: bad category or bad list → deny; good category or good list → allow; the first
   * matching enforce rule (dry-run rules that match on the way are recorded); the default.
   */
  evaluate(context: PolicyContext): PolicyResult;
  /**
   * Like evaluate, plus a human-readable trace: for each category entry, list and rule, whether it
   * matched and, if not, the first reason why not (e.g. "route.path /v1/** does not match /health",
   * "expired at …"). Slower than `evaluate` (it visits every rule); meant for tools and debugging.
   */
  explain(context: PolicyContext): { result: PolicyResult; trace: readonly TraceEntry[] };
}

/** Why a document was refused: `ERR_POLICY_INVALID` (see `problems`) or `ERR_POLICY_STALE` (an older version). */
export class PolicyError extends Error {
  readonly code: 'ERR_POLICY_INVALID' | 'ERR_POLICY_STALE';
  readonly problems: readonly PolicyProblem[];

  constructor(code: 'ERR_POLICY_INVALID' | 'ERR_POLICY_STALE', problems: readonly PolicyProblem[], message?: string) {
    super(message ?? defaultMessage(code, problems));
    this.name = 'PolicyError';
    this.code = code;
    this.problems = Object.freeze([...problems]);
  }
}

function defaultMessage(code: string, problems: readonly PolicyProblem[]): string {
  const head = problems
    .slice(0, 3)
    .map((p) => `${p.path || '/'}: ${p.message}`)
    .join('; ');
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
  return `${code === 'ERR_POLICY_STALE' ? 'stale policy document' : 'invalid policy document'}: ${head}${more} (${code})`;
}

/** Validates and compiles; throws PolicyError (code 'ERR_POLICY_INVALID', with `problems`) when invalid. */
export function compilePolicy(doc: unknown): CompiledPolicy {
  const validated = validatePolicy(doc);
  if (!validated.ok) throw new PolicyError('ERR_POLICY_INVALID', validated.problems);
  const document = validated.document;
  const hash = createHash('sha256').update(canonicalJson(document)).digest('base64url');
  const program = buildProgram(document);
  deepFreeze(document);
  const facts = new Facts();
  return Object.freeze({
    version: document.metadata.version,
    hash,
    document,
    evaluate: (context: PolicyContext): PolicyResult => evaluateProgram(program, context, facts),
    explain: (context: PolicyContext) => ({
      result: evaluateProgram(program, context, facts),
      trace: explainProgram(program, context, new Facts()),
    }),
  });
}

/** JSON with object keys sorted (code-unit order) at every level: equal content, equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}

function buildProgram(document: PolicyDocument): PolicyProgram {
  const rules = (document.rules ?? []).map(compileRule);
  return {
    bad: compileLists(document.lists?.bad),
    good: compileLists(document.lists?.good),
    categories: compileCategories(document.categories),
    rules,
    index: buildIndex(document.rules ?? []),
    defaultAction: document.default.action,
    defaultRateLimit: document.default.rateLimit === undefined ? undefined : compileRateLimit(document.default.rateLimit, 'default'),
  };
}

// ---------------------------------------------------------------------------------------------------
// Lists and categories

function entryOf(entry: ListEntry): { value: string; expiresAt: number } {
  if (typeof entry === 'string') return { value: entry, expiresAt: Number.POSITIVE_INFINITY };
  return { value: entry.value, expiresAt: entry.expiresAt === undefined ? Number.POSITIVE_INFINITY : (parseIsoTime(entry.expiresAt) ?? Number.NEGATIVE_INFINITY) };
}

/** Keeps, per key, the entry that lasts longest (a duplicate without expiry wins outright). */
function put(map: Map<string, ListEntryRef>, key: string, entry: ListEntryRef): void {
  const known = map.get(key);
  if (known === undefined || entry.expiresAt > known.expiresAt) map.set(key, entry);
}

function compileLists(lists: PolicyLists | undefined): CompiledLists | undefined {
  if (lists === undefined) return undefined;
  const maps = { id: new Map(), operator: new Map(), category: new Map(), thumbprint: new Map(), app: new Map() } as Record<
    'id' | 'operator' | 'category' | 'thumbprint' | 'app',
    Map<string, ListEntryRef>
  >;
  let principals = 0;
  for (const raw of lists.principals ?? []) {
    const { value, expiresAt } = entryOf(raw);
    const selector = parseSelector(value);
    if (selector === undefined) continue; // validated: unreachable
    put(maps[selector.kind], selector.value, { label: value, expiresAt });
    principals++;
  }
  const networks = new CidrSet<ListEntryRef>();
  for (const raw of lists.networks ?? []) {
    const { value, expiresAt } = entryOf(raw);
    networks.add(value, { label: value, expiresAt }, expiresAt);
  }
  const userAgentEntries: ListEntryRef[] = [];
  const inputs = (lists.userAgents ?? []).map((raw) => {
    const { value, expiresAt } = entryOf(raw);
    userAgentEntries.push({ label: value, expiresAt });
    return { pattern: value, expiresAt };
  });
  return {
    ids: maps.id,
    operators: maps.operator,
    categories: maps.category,
    thumbprints: maps.thumbprint,
    apps: maps.app,
    hasPrincipals: principals > 0,
    networks,
    userAgents: new UaPatternSet(inputs),
    userAgentEntries,
  };
}

function compileCategories(categories: PolicyDocument['categories']): Map<string, CategoryEntry> {
  const map = new Map<string, CategoryEntry>();
  for (const [key, entry] of Object.entries(categories ?? {})) {
    map.set(key, {
      key,
      categories: entry.categories === undefined ? undefined : Object.freeze([...new Set(entry.categories)]),
      trust: entry.trust,
    });
  }
  return map;
}

// ---------------------------------------------------------------------------------------------------
// Rules

/** The numbers of a rate limit resolved, with defaults: GCRA, burst = limit, keyed by principal, IPv6 /64. */
export function compileRateLimit(spec: RateLimitSpec, id: string): CompiledRateLimit {
  const seconds = parseDuration(spec.period) ?? 0;
  return Object.freeze({
    id,
    algorithm: spec.algorithm ?? 'gcra',
    limit: spec.limit,
    periodMs: Math.round(seconds * 1000),
    burst: spec.burst ?? spec.limit,
    key: spec.key ?? 'principal',
    ipv6Prefix: spec.ipv6Prefix ?? 64,
  });
}

function list<T>(value: T | readonly T[] | undefined): readonly T[] {
  return value === undefined ? [] : Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

/** `a, b, c` (at most five, then a count): for explanations. */
function show(values: readonly unknown[]): string {
  const shown = values.slice(0, 5).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  return values.length > 5 ? `${shown.join(', ')}, … (${values.length} in all)` : shown.join(', ');
}

function quote(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

const NO_VALUES: ReadonlySet<unknown> = new Set();

/** A condition, with every field present in one order (one hidden class for all of them). */
function check(kind: RuleCheck['kind'], why: RuleCheck['why'], fields: Partial<Omit<RuleCheck, 'kind' | 'why'>> = {}): RuleCheck {
  return {
    kind,
    values: fields.values ?? NO_VALUES,
    name: fields.name ?? '',
    flag: fields.flag ?? false,
    routes: fields.routes ?? [],
    network: fields.network,
    why,
  };
}

/** Conditions in the order they are tried: cheap comparisons first, route and network last. */
function compileRule(rule: PolicyRule, index: number): CompiledRule {
  const checks: RuleCheck[] = [];
  const principal = rule.match?.principal;
  const route = rule.match?.route;
  if (principal?.id !== undefined) {
    const values = list(principal.id);
    checks.push(check(CHECK.id, (c) => `principal.id ${quote(c.principal.id)} is not ${show(values)}`, { values: new Set(values) }));
  }
  if (principal?.kind !== undefined) {
    const values = list(principal.kind);
    checks.push(check(CHECK.kind, (c) => `principal.kind ${quote(c.principal.kind)} is not ${show(values)}`, { values: new Set(values) }));
  }
  if (principal?.verified !== undefined) {
    const want = principal.verified;
    checks.push(check(CHECK.verified, (c) => `principal.verified is ${String(c.principal.verified)}, the rule wants ${String(want)}`, { flag: want }));
  }
  if (principal?.via !== undefined) {
    const values = list(principal.via);
    checks.push(check(CHECK.via, (c) => `principal.via ${quote(c.principal.via)} is not ${show(values)}`, { values: new Set(values) }));
  }
  if (principal?.operator !== undefined) {
    const values = list(principal.operator);
    checks.push(
      check(CHECK.operator, (c) => `operator (agent ${quote(c.principal.agent)}, issuer ${quote(c.principal.issuer)}) is not ${show(values)}`, {
        values: new Set(values),
      }),
    );
  }
  if (route?.methods !== undefined) {
    const values = route.methods.map((m) => m.toUpperCase());
    checks.push(check(CHECK.method, (c) => `route.methods ${show(values)} does not include ${c.method}`, { values: new Set(values) }));
  }
  if (principal?.categories !== undefined) {
    const values = list(principal.categories);
    checks.push(check(CHECK.categories, (_c, f) => `principal.categories [${show(f.categories)}] include none of ${show(values)}`, { values: new Set(values) }));
  }
  if (principal?.claims !== undefined) {
    for (const [name, wanted] of Object.entries(principal.claims)) {
      const values = list(wanted);
      checks.push(check(CHECK.claim, (c) => `principal.claims.${name} ${quote(claimOf(c, name))} is not ${show(values)}`, { values: new Set<unknown>(values), name }));
    }
  }
  if (rule.match?.headers !== undefined) {
    for (const [name, present] of Object.entries(rule.match.headers)) {
      checks.push(
        check(CHECK.header, () => `header ${name} is ${present ? 'absent' : 'present'}, the rule wants it ${present ? 'present' : 'absent'}`, { name, flag: present }),
      );
    }
  }
  if (route?.path !== undefined) {
    const sources = list(route.path);
    checks.push(check(CHECK.route, (c) => `route.path ${show(sources)} does not match ${c.path}`, { routes: sources.map(compileRoute) }));
  }
  if (rule.match?.network !== undefined) {
    const blocks = rule.match.network;
    const network = new CidrSet<true>();
    for (const block of blocks) network.add(block, true);
    checks.push(
      check(
        CHECK.network,
        (c, f) =>
          f.address() === undefined
            ? `network ${show(blocks)}: ${c.ip === undefined ? 'no client IP' : `client IP ${quote(c.ip)} is not an IP address`}`
            : `network ${show(blocks)} does not contain ${c.ip ?? ''}`,
        { network },
      ),
    );
  }
  const notBefore = rule.notBefore === undefined ? Number.NEGATIVE_INFINITY : (parseIsoTime(rule.notBefore) ?? Number.POSITIVE_INFINITY);
  const expiresAt = rule.expiresAt === undefined ? Number.POSITIVE_INFINITY : (parseIsoTime(rule.expiresAt) ?? Number.NEGATIVE_INFINITY);
  return {
    index,
    id: rule.id,
    action: rule.action,
    dryRun: rule.mode === 'dry-run',
    notBefore,
    expiresAt,
    // Not frozen: V8 reads a frozen array's elements measurably slower, and this one is read per request.
    checks,
    rateLimit: rule.rateLimit === undefined ? undefined : compileRateLimit(rule.rateLimit, rule.id),
    require: rule.require,
    dryRunRecord: Object.freeze({ rule: rule.id, wouldAction: rule.action }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Route patterns

/** Pre-splits a route pattern (already validated by `compilePathPattern`): see `RoutePattern`. */
export function compileRoute(source: string): RoutePattern {
  const trimmed = source.length > 1 && source.endsWith('/') ? source.slice(0, -1) : source === '/' ? '' : source;
  const parts = trimmed.split('/').slice(1);
  const rest = parts[parts.length - 1] === '**';
  const literals = (rest ? parts.slice(0, -1) : parts).map((p) => (p === '*' || p.startsWith(':') ? null : p.toLowerCase()));
  return { literals, rest };
}

// ---------------------------------------------------------------------------------------------------
// Rule index

/** The leading literal segments of a route pattern (lower-case): where it sits in the route index. */
function literalPrefix(source: string): string[] {
  const prefix: string[] = [];
  for (const literal of compileRoute(source).literals) {
    if (literal === null) break;
    prefix.push(literal);
  }
  return prefix;
}

interface MutablePathNode {
  rules: number[];
  children: Map<string, MutablePathNode>;
}

/**
 * Puts each rule in the buckets of the most selective condition it requires: principal id, operator,
 * network, route prefix, via, kind; otherwise in `always`. Evaluation then visits only the buckets a
 * request can hit. Any rule that matches a request is in one of them (each bucket key is a condition
 * the rule cannot match without), so the index never changes an outcome, only the work.
 */
function buildIndex(rules: readonly PolicyRule[]): RuleIndex {
  const always: number[] = [];
  const byId = new Map<string, number[]>();
  const byOperator = new Map<string, number[]>();
  const byVia = new Map<string, number[]>();
  const byKind = new Map<string, number[]>();
  const byNetwork = new Map<string, { cidr: Cidr; rules: number[] }>();
  const root: MutablePathNode = { rules: [], children: new Map() };
  const push = (bucket: number[], index: number): void => {
    if (bucket[bucket.length - 1] !== index) bucket.push(index);
  };
  const into = (map: Map<string, number[]>, keys: readonly string[], index: number): void => {
    for (const key of keys) {
      let bucket = map.get(key);
      if (bucket === undefined) map.set(key, (bucket = []));
      push(bucket, index);
    }
  };
  rules.forEach((rule, index) => {
    const principal = rule.match?.principal;
    const paths = list(rule.match?.route?.path);
    const prefixes = paths.map(literalPrefix);
    if (principal?.id !== undefined) {
      into(byId, list(principal.id), index);
    } else if (principal?.operator !== undefined) {
      into(byOperator, list(principal.operator), index);
    } else if (rule.match?.network !== undefined) {
      for (const block of rule.match.network) {
        const parsed = parseCidr(block);
        if (!parsed.ok) continue; // validated: unreachable
        const key = formatCidr(parsed.cidr);
        let bucket = byNetwork.get(key);
        if (bucket === undefined) byNetwork.set(key, (bucket = { cidr: parsed.cidr, rules: [] }));
        push(bucket.rules, index);
      }
    } else if (prefixes.length > 0 && prefixes.every((p) => p.length > 0)) {
      for (const prefix of prefixes) {
        let node = root;
        for (const segment of prefix) {
          let child = node.children.get(segment);
          if (child === undefined) node.children.set(segment, (child = { rules: [], children: new Map() }));
          node = child;
        }
        push(node.rules, index);
      }
    } else if (principal?.via !== undefined) {
      into(byVia, list(principal.via), index);
    } else if (principal?.kind !== undefined) {
      into(byKind, list(principal.kind), index);
    } else {
      always.push(index);
    }
  });
  const freeze = (map: Map<string, number[]>): Map<string, Int32Array> => new Map([...map].map(([key, bucket]) => [key, Int32Array.from(bucket)]));
  const networks = new CidrSet<Int32Array>();
  for (const { cidr, rules: bucket } of byNetwork.values()) networks.add(cidr, Int32Array.from(bucket));
  return {
    always: Int32Array.from(always),
    byId: freeze(byId),
    byOperator: freeze(byOperator),
    byVia: freeze(byVia),
    byKind: freeze(byKind),
    byPath: freezePath(root),
    byNetwork: networks,
  };
}

function freezePath(node: MutablePathNode): PathIndexNode {
  // A rule with several patterns under one node is pushed once per pattern; buckets stay sorted
  // because rules are added in order, but may repeat an index: drop repeats.
  const rules = [...new Set(node.rules)];
  return {
    rules: rules.length > 0 ? Int32Array.from(rules) : undefined,
    children: node.children.size > 0 ? new Map([...node.children].map(([key, child]) => [key, freezePath(child)])) : undefined,
  };
}
