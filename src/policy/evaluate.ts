import { IpAddress, type CidrSet } from '../lib/cidr.js';
import type { UaPatternSet } from '../lib/ua-pattern.js';
import type { CompiledRateLimit, PolicyAction, PolicyContext, PolicyResult, PolicySource, ProofRequirement } from './types.js';

/**
 * Evaluating a compiled policy: the per-request hot path. The order, and why:
 *
 *  1. **Categories.** The principal's categories and trust verdict come from the document's
 *     `categories`, looked up by principal id, then agent origin, then issuer; each field (`categories`,
 *     `trust`) is taken from the first of those entries that has it, so an entry for one identity
 *     overrides one for its whole operator. `trust: "bad"` denies (source `category`) before anything
 *     else: it is how an operator flips an identity from good to bad without touching a rule.
 *  2. **`lists.bad`** → deny, source `list:bad`. Principal selectors: `id:` (principal id),
 *     `operator:` (agent origin or issuer), `category:` (the categories of step 1), `thumbprint:`
 *     (the signature keyid, a JWK thumbprint), `app:` (app id); then networks (CIDR, an IPv4-mapped
 *     client counts as IPv4); then User-Agent patterns. `match` is the entry as written.
 *  3. **`trust: "good"`** → allow, source `category`; then **`lists.good`** → allow, source `list:good`.
 *     Bad always beats good: a bad verdict or bad-list entry cannot be undone by a good one.
 *  4. **Rules, in order.** A rule applies from `notBefore` (inclusive) until `expiresAt` (exclusive);
 *     outside that window it is skipped. All conditions of `match` must hold; a list in a condition
 *     is any-of; a claim whose value is an array matches when any element is allowed. A matching
 *     `dry-run` rule is recorded in `dryRun` (what it would have done) and evaluation continues; the
 *     first matching `enforce` rule decides — whatever its action, `monitor` included (the guard lets a
 *     monitored request through and logs it; for a rule that must not decide, use `dry-run`).
 *  5. **`default`**.
 *
 * List entries whose `expiresAt` is at or before `context.now` are ignored. `rateLimit` and `require`
 * of the result are the deciding rule's (the default's rate limit for the default); list and category
 * decisions carry neither: an allow-listed caller is not rate limited by the policy.
 *
 * The work per request is bounded by what can match, not by the size of the document: lists are
 * hash sets per selector kind, a CIDR trie and one automaton for all User-Agent patterns; rules are
 * indexed by a necessary condition (principal id, operator, network, route prefix, via, kind) and only
 * the candidates are visited, merged back into document order.
 */

/** A list entry's label (as written in the document) and expiry in ms (`Infinity` when none). */
export interface ListEntryRef {
  readonly label: string;
  readonly expiresAt: number;
}

/** One side (`bad` or `good`) of the lists, compiled. */
export interface CompiledLists {
  /** Principal selectors by kind, keyed by the selector value. */
  readonly ids: ReadonlyMap<string, ListEntryRef>;
  readonly operators: ReadonlyMap<string, ListEntryRef>;
  readonly categories: ReadonlyMap<string, ListEntryRef>;
  readonly thumbprints: ReadonlyMap<string, ListEntryRef>;
  readonly apps: ReadonlyMap<string, ListEntryRef>;
  readonly hasPrincipals: boolean;
  /** Value: the entry as written. */
  readonly networks: CidrSet<ListEntryRef>;
  readonly userAgents: UaPatternSet;
  /** By the index `userAgents.match` answers. */
  readonly userAgentEntries: readonly ListEntryRef[];
}

/** A `categories` entry of the document. */
export interface CategoryEntry {
  readonly key: string;
  readonly categories: readonly string[] | undefined;
  readonly trust: 'good' | 'bad' | undefined;
}

/** Kinds of rule conditions (`RuleCheck.kind`). */
export const CHECK = {
  id: 0,
  kind: 1,
  verified: 2,
  via: 3,
  operator: 4,
  method: 5,
  categories: 6,
  claim: 7,
  header: 8,
  route: 9,
  network: 10,
} as const;

/**
 * One condition of a rule, as data of one shape whatever its kind: `checkHolds` is then a single
 * switch, and the call in the rule loop stays monomorphic (a closure per condition made that call
 * site megamorphic, which doubled the cost per rule). `why` says why it does not hold, for `explain`.
 */
export interface RuleCheck {
  readonly kind: (typeof CHECK)[keyof typeof CHECK];
  /** Allowed values (id, kind, via, operator, method, categories, claim). */
  readonly values: ReadonlySet<unknown>;
  /** Header or claim name. */
  readonly name: string;
  /** `verified` wanted, or header wanted present. */
  readonly flag: boolean;
  readonly routes: readonly RoutePattern[];
  readonly network: CidrSet<true> | undefined;
  readonly why: (context: PolicyContext, facts: Facts) => string;
}

/**
 * A route pattern with `compilePathPattern`'s semantics (which validated it), pre-split so matching
 * compares with the request path split once per evaluation (`Facts.segments`) instead of splitting
 * and lower-casing the path again for every pattern: `null` is a one-segment wildcard (`*`, `:name`),
 * `rest` a final `**`.
 */
export interface RoutePattern {
  readonly literals: readonly (string | null)[];
  readonly rest: boolean;
}

/** Matches `segments` as `splitPath` produced them (element 0 is not a segment). */
export function matchRoute(pattern: RoutePattern, segments: readonly string[]): boolean {
  const literals = pattern.literals;
  const count = segments.length - 1;
  if (pattern.rest ? count < literals.length : count !== literals.length) return false;
  for (let i = 0; i < literals.length; i++) {
    const want = literals[i];
    const got = segments[i + 1]!;
    if (want === null ? got.length === 0 : want !== got) return false;
  }
  return true;
}

/** True when the condition holds for this request. */
export function checkHolds(check: RuleCheck, context: PolicyContext, facts: Facts): boolean {
  const principal = context.principal;
  const values = check.values;
  switch (check.kind) {
    case CHECK.id:
      return values.has(principal.id);
    case CHECK.kind:
      return values.has(principal.kind);
    case CHECK.verified:
      return principal.verified === check.flag;
    case CHECK.via:
      return values.has(principal.via);
    case CHECK.operator:
      return values.has(principal.agent) || values.has(principal.issuer);
    case CHECK.method:
      return values.has(context.method) || values.has(context.method.toUpperCase());
    case CHECK.categories: {
      const categories = facts.categories;
      for (let i = 0; i < categories.length; i++) if (values.has(categories[i])) return true;
      return false;
    }
    case CHECK.claim: {
      // A claim that is an array (e.g. `aud`) matches when any of its elements is allowed.
      const value = claimOf(context, check.name);
      if (!Array.isArray(value)) return values.has(value);
      for (const element of value) if (values.has(element)) return true;
      return false;
    }
    case CHECK.header:
      return context.hasHeader(check.name) === check.flag;
    case CHECK.route: {
      const segments = facts.segments();
      const routes = check.routes;
      for (let i = 0; i < routes.length; i++) if (matchRoute(routes[i]!, segments)) return true;
      return false;
    }
    case CHECK.network: {
      const address = facts.address();
      return address !== undefined && check.network!.find(address) !== undefined;
    }
    default:
      return false;
  }
}

/** An own claim of the principal (never one inherited from a prototype). */
export function claimOf(context: PolicyContext, name: string): unknown {
  const claims = context.principal.claims;
  return claims !== undefined && Object.hasOwn(claims, name) ? claims[name] : undefined;
}

export interface CompiledRule {
  readonly index: number;
  readonly id: string;
  readonly action: PolicyAction;
  readonly dryRun: boolean;
  /** ms since the epoch; `-Infinity` / `Infinity` when unset. */
  readonly notBefore: number;
  readonly expiresAt: number;
  /** Cheapest first. */
  readonly checks: readonly RuleCheck[];
  readonly rateLimit: CompiledRateLimit | undefined;
  readonly require: ProofRequirement | undefined;
  /** Precomputed `dryRun` record, so recording one allocates nothing. */
  readonly dryRunRecord: { readonly rule: string; readonly wouldAction: PolicyAction };
}

/** Route index: literal leading path segments (lower-case) → rules whose patterns all start there. */
export interface PathIndexNode {
  readonly rules: Int32Array | undefined;
  readonly children: ReadonlyMap<string, PathIndexNode> | undefined;
}

/**
 * Rule positions (ascending) by a condition every rule in the bucket requires. A rule sits in the
 * buckets of one dimension only; `always` holds the rules no dimension could index.
 */
export interface RuleIndex {
  readonly always: Int32Array;
  readonly byId: ReadonlyMap<string, Int32Array>;
  readonly byOperator: ReadonlyMap<string, Int32Array>;
  readonly byVia: ReadonlyMap<string, Int32Array>;
  readonly byKind: ReadonlyMap<string, Int32Array>;
  readonly byPath: PathIndexNode;
  readonly byNetwork: CidrSet<Int32Array>;
}

export interface PolicyProgram {
  readonly bad: CompiledLists | undefined;
  readonly good: CompiledLists | undefined;
  readonly categories: ReadonlyMap<string, CategoryEntry>;
  readonly rules: readonly CompiledRule[];
  readonly index: RuleIndex;
  readonly defaultAction: 'allow' | 'deny' | 'challenge';
  readonly defaultRateLimit: CompiledRateLimit | undefined;
}

const NO_STRINGS: readonly string[] = Object.freeze([]);
const NO_DRY_RUN: PolicyResult['dryRun'] = Object.freeze([]);

/**
 * What is derived from a context once per evaluation: the categories, the trust verdict and the
 * parsed client address (parsed on first use only). One instance per compiled policy is reused, so
 * an evaluation allocates almost nothing; evaluation is synchronous, so it is never shared by two.
 */
export class Facts {
  categories: readonly string[] = NO_STRINGS;
  trust: 'good' | 'bad' | undefined;
  /** The categories key the trust verdict came from. */
  trustKey = '';
  /** Scratch for the rule merge. */
  candidates: Int32Array[] = [];
  heads = new Int32Array(16);
  #ip: string | undefined;
  #path = '';
  #segments: readonly string[] | undefined;
  #parsed = false;
  #valid = false;
  readonly #address = new IpAddress();

  reset(context: PolicyContext, entries: ReadonlyMap<string, CategoryEntry>): void {
    this.#ip = context.ip;
    this.#parsed = false;
    this.#path = context.path;
    this.#segments = undefined;
    const principal = context.principal;
    let categories: readonly string[] | undefined;
    let trust: 'good' | 'bad' | undefined;
    let trustKey = '';
    if (entries.size > 0) {
      for (let i = 0; i < 3; i++) {
        const key = i === 0 ? principal.id : i === 1 ? principal.agent : principal.issuer;
        if (key === undefined) continue;
        const entry = entries.get(key);
        if (entry === undefined) continue;
        categories ??= entry.categories;
        if (trust === undefined && entry.trust !== undefined) {
          trust = entry.trust;
          trustKey = entry.key;
        }
      }
    }
    this.categories = categories ?? NO_STRINGS;
    this.trust = trust;
    this.trustKey = trustKey;
  }

  /** The request path split once for every route check: see `splitPath`. */
  segments(): readonly string[] {
    this.#segments ??= splitPath(this.#path);
    return this.#segments;
  }

  /** The client address, parsed once; undefined when there is none or it is not an IP address. */
  address(): IpAddress | undefined {
    if (!this.#parsed) {
      this.#parsed = true;
      this.#valid = this.#ip !== undefined && this.#address.parse(this.#ip);
    }
    return this.#valid ? this.#address : undefined;
  }
}

/**
 * A path as route patterns see it (`compilePathPattern`): one trailing slash ignored, lower-cased
 * (routes match case-insensitively), split on `/`. Element 0 is what precedes the first slash (empty
 * for an absolute path) and is not a segment; segments start at 1.
 */
export function splitPath(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path === '/' ? '' : path;
  return trimmed.toLowerCase().split('/');
}

/** Evaluates `program` for `context` (see the module comment for the order). */
export function evaluateProgram(program: PolicyProgram, context: PolicyContext, facts: Facts): PolicyResult {
  facts.reset(context, program.categories);
  if (facts.trust === 'bad') return decided('deny', 'category', facts.trustKey, facts);
  if (program.bad !== undefined) {
    const hit = matchLists(program.bad, context, facts);
    if (hit !== undefined) return decided('deny', 'list:bad', hit, facts);
  }
  if (facts.trust === 'good') return decided('allow', 'category', facts.trustKey, facts);
  if (program.good !== undefined) {
    const hit = matchLists(program.good, context, facts);
    if (hit !== undefined) return decided('allow', 'list:good', hit, facts);
  }
  return evaluateRules(program, context, facts);
}

function decided(action: PolicyAction, source: PolicySource, match: string, facts: Facts): PolicyResult {
  return result(action, source, match, undefined, undefined, NO_DRY_RUN, facts.categories);
}

/** One shape for every result, so the guard's code reading them stays monomorphic. */
function result(
  action: PolicyAction,
  source: PolicySource,
  match: string | null,
  rateLimit: CompiledRateLimit | undefined,
  require: ProofRequirement | undefined,
  dryRun: PolicyResult['dryRun'],
  categories: readonly string[],
): PolicyResult {
  return { action, source, match, rateLimit, require, dryRun, categories };
}

/** The label of the first unexpired entry of `lists` that matches, or undefined. */
export function matchLists(lists: CompiledLists, context: PolicyContext, facts: Facts): string | undefined {
  const now = context.now;
  if (lists.hasPrincipals) {
    const principal = context.principal;
    let entry = lists.ids.get(principal.id);
    if (entry !== undefined && entry.expiresAt > now) return entry.label;
    if (principal.agent !== undefined) {
      entry = lists.operators.get(principal.agent);
      if (entry !== undefined && entry.expiresAt > now) return entry.label;
    }
    if (principal.issuer !== undefined) {
      entry = lists.operators.get(principal.issuer);
      if (entry !== undefined && entry.expiresAt > now) return entry.label;
    }
    if (principal.keyid !== undefined) {
      entry = lists.thumbprints.get(principal.keyid);
      if (entry !== undefined && entry.expiresAt > now) return entry.label;
    }
    if (principal.appId !== undefined) {
      entry = lists.apps.get(principal.appId);
      if (entry !== undefined && entry.expiresAt > now) return entry.label;
    }
    const categories = facts.categories;
    for (let i = 0; i < categories.length; i++) {
      entry = lists.categories.get(categories[i]!);
      if (entry !== undefined && entry.expiresAt > now) return entry.label;
    }
  }
  if (lists.networks.size > 0) {
    const address = facts.address();
    if (address !== undefined) {
      const entry = lists.networks.find(address, now);
      if (entry !== undefined) return entry.label;
    }
  }
  if (lists.userAgents.size > 0 && context.userAgent !== null) {
    const index = lists.userAgents.match(context.userAgent, now);
    if (index !== -1) return lists.userAgentEntries[index]!.label;
  }
  return undefined;
}

/** True when `rule` is in force at `context.now` and all its conditions hold. */
export function ruleMatches(rule: CompiledRule, context: PolicyContext, facts: Facts): boolean {
  const now = context.now;
  if (now < rule.notBefore || now >= rule.expiresAt) return false;
  const checks = rule.checks;
  for (let i = 0; i < checks.length; i++) if (!checkHolds(checks[i]!, context, facts)) return false;
  return true;
}

function evaluateRules(program: PolicyProgram, context: PolicyContext, facts: Facts): PolicyResult {
  const count = collectCandidates(program.index, context, facts);
  const lists = facts.candidates;
  if (facts.heads.length < count) facts.heads = new Int32Array(count * 2);
  const heads = facts.heads;
  heads.fill(0, 0, count);
  const rules = program.rules;
  let dryRun: { readonly rule: string; readonly wouldAction: PolicyAction }[] | undefined;
  let last = -1;
  // Merge the candidate buckets back into document order, skipping duplicates, until a rule decides.
  for (;;) {
    let next = 0x7fffffff;
    for (let j = 0; j < count; j++) {
      const list = lists[j]!;
      let h = heads[j]!;
      while (h < list.length && list[h]! <= last) h++;
      heads[j] = h;
      if (h < list.length && list[h]! < next) next = list[h]!;
    }
    if (next === 0x7fffffff) break;
    last = next;
    const rule = rules[next]!;
    if (!ruleMatches(rule, context, facts)) continue;
    if (rule.dryRun) {
      (dryRun ??= []).push(rule.dryRunRecord);
      continue;
    }
    return result(rule.action, 'rule', rule.id, rule.rateLimit, rule.require, dryRun ?? NO_DRY_RUN, facts.categories);
  }
  return result(program.defaultAction, 'default', null, program.defaultRateLimit, undefined, dryRun ?? NO_DRY_RUN, facts.categories);
}

/** Fills `facts.candidates` with the index buckets that can hold a matching rule; answers their count. */
function collectCandidates(index: RuleIndex, context: PolicyContext, facts: Facts): number {
  const out = facts.candidates;
  const principal = context.principal;
  let k = 0;
  if (index.always.length > 0) out[k++] = index.always;
  let bucket: Int32Array | undefined;
  if (index.byId.size > 0 && (bucket = index.byId.get(principal.id)) !== undefined) out[k++] = bucket;
  if (index.byOperator.size > 0) {
    if (principal.agent !== undefined && (bucket = index.byOperator.get(principal.agent)) !== undefined) out[k++] = bucket;
    if (principal.issuer !== undefined && principal.issuer !== principal.agent && (bucket = index.byOperator.get(principal.issuer)) !== undefined) {
      out[k++] = bucket;
    }
  }
  if (index.byVia.size > 0 && principal.via !== undefined && (bucket = index.byVia.get(principal.via)) !== undefined) out[k++] = bucket;
  if (index.byKind.size > 0 && (bucket = index.byKind.get(principal.kind)) !== undefined) out[k++] = bucket;
  let node = index.byPath;
  if (node.rules !== undefined) out[k++] = node.rules;
  if (node.children !== undefined) {
    // Walk the literal segments of the path down the route index.
    const segments = facts.segments();
    for (let i = 1; i < segments.length && node.children !== undefined; i++) {
      const child: PathIndexNode | undefined = node.children.get(segments[i]!);
      if (child === undefined) break;
      node = child;
      if (node.rules !== undefined) out[k++] = node.rules;
    }
  }
  if (index.byNetwork.size > 0) {
    const address = facts.address();
    if (address !== undefined) k = index.byNetwork.collect(address, out, k);
  }
  return k;
}
