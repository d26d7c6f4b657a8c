import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { closest } from '../lib/validate.js';
import { parseCidr } from '../lib/cidr.js';
import { parseDuration } from '../lib/duration.js';
import { compilePathPattern } from '../lib/path-pattern.js';
import { uaPatternProblem } from '../lib/ua-pattern.js';
import schema from './policy.schema.json' with { type: 'json' };
import type { PolicyDocument } from './types.js';

/**
 * Policy validation: the JSON Schema (the part editors and other tools can check too) plus what a
 * schema cannot say — unique rule ids, CIDR blocks, route patterns, durations, dates, selectors — so
 * a document that passes here compiles. Every problem names where it is, as a JSON pointer, and what
 * to do; all problems are reported at once, because an operator fixing a document under pressure
 * should not have to resubmit it once per typo.
 */

/** One thing wrong with a document. */
export interface PolicyProblem {
  /** A JSON pointer into the document (`/rules/3/action`); the empty string is the document itself. */
  readonly path: string;
  readonly message: string;
}

/** More problems than this are summarised in one last problem: a list that long is not read anyway. */
export const MAX_PROBLEMS = 100;

/** Principal selector kinds of `lists.*.principals` entries (`<kind>:<value>`). */
export const SELECTOR_KINDS = ['id', 'operator', 'category', 'thumbprint', 'app'] as const;
export type SelectorKind = (typeof SELECTOR_KINDS)[number];

/** Splits a principal selector (`id:abc`) into kind and value, or undefined when it is not one. */
export function parseSelector(text: string): { kind: SelectorKind; value: string } | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) return undefined;
  const kind = text.slice(0, colon);
  return (SELECTOR_KINDS as readonly string[]).includes(kind) ? { kind: kind as SelectorKind, value: text.slice(colon + 1) } : undefined;
}

/** A date, or a date-time with a zone: the ISO 8601 forms that mean one instant wherever they are read. */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;

/**
 * Milliseconds since the epoch for an ISO 8601 date (`2026-10-07`, midnight UTC) or date-time with a
 * zone (`2026-10-07T12:00:00Z`, `…+02:00`), or undefined. A time without a zone is refused: it would
 * mean a different instant on each server.
 */
export function parseIsoTime(text: string): number | undefined {
  const m = ISO_TIME.exec(text);
  if (m === null) return undefined;
  const [, year, month, day, hour, minute, second, offsetHours, offsetMinutes] = m.map((part) => (part === undefined ? 0 : Number(part)));
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth) return undefined;
  if (hour! > 23 || minute! > 59 || second! > 59 || offsetHours! > 23 || offsetMinutes! > 59) return undefined;
  const time = Date.parse(text);
  return Number.isFinite(time) ? time : undefined;
}

let validator: ValidateFunction | undefined;

/** The schema, compiled on first use (compiling costs milliseconds; most processes validate once). */
function schemaValidator(): ValidateFunction {
  validator ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true }).compile(schema);
  return validator;
}

/**
 * Validates a document against the schema and the checks JSON Schema cannot express: unique rule ids
 * (and `default` is reserved: it names the default rate limit), CIDR blocks, route path patterns,
 * durations, ISO 8601 dates, principal selectors, User-Agent patterns, `rateLimit` present for action
 * `rate-limit`. On success `document` is a JSON copy of the input (undefined members dropped, so a
 * later change to the caller's object cannot reach a compiled policy). Never throws.
 */
export function validatePolicy(doc: unknown): { ok: true; document: PolicyDocument } | { ok: false; problems: PolicyProblem[] } {
  try {
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      return { ok: false, problems: [{ path: '', message: `a policy document must be a JSON object, got ${describe(doc)}` }] };
    }
    let json: unknown;
    try {
      json = JSON.parse(JSON.stringify(doc));
    } catch (error) {
      return { ok: false, problems: [{ path: '', message: `the document is not plain JSON data: ${(error as Error).message}` }] };
    }
    const problems: PolicyProblem[] = [];
    const validate = schemaValidator();
    if (!validate(json)) problems.push(...schemaProblems(validate.errors ?? []));
    problems.push(...semanticProblems(json as Record<string, unknown>));
    if (problems.length === 0) return { ok: true, document: json as PolicyDocument };
    return { ok: false, problems: summarise(problems) };
  } catch (error) {
    return { ok: false, problems: [{ path: '', message: `the document could not be validated: ${(error as Error).message}` }] };
  }
}

function summarise(problems: PolicyProblem[]): PolicyProblem[] {
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (unique.length <= MAX_PROBLEMS) return unique;
  const shown = unique.slice(0, MAX_PROBLEMS - 1);
  shown.push({ path: '', message: `…and ${unique.length - shown.length} more problems` });
  return shown;
}

// ---------------------------------------------------------------------------------------------------
// Schema errors → problems

const REQUIRED_HINTS: Record<string, string> = {
  default: 'what happens to a request that no list entry or rule decides, e.g. "default": { "action": "allow" }',
  metadata: 'e.g. "metadata": { "version": 1 }',
  version: 'a whole number that grows with every change of the document',
  action: 'one of allow, deny, challenge, rate-limit, monitor',
  id: 'a unique rule id',
  value: 'the entry itself',
  limit: 'the number of requests allowed per period',
  period: 'seconds, or a string such as "1m"',
};

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean (true or false)',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function schemaProblems(errors: readonly ErrorObject[]): PolicyProblem[] {
  // A value of the wrong type fails only its `type` keyword (the others do not apply to it), but be
  // sure: where a type error exists, it is the one worth reading.
  const typeErrorAt = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const problems: PolicyProblem[] = [];
  for (const error of errors) {
    if (error.keyword !== 'type' && typeErrorAt.has(error.instancePath)) continue;
    // propertyNames reports the inner failure and then a summary; keep the summary only.
    if ((error as { propertyName?: string }).propertyName !== undefined) continue;
    problems.push(schemaProblem(error));
  }
  return problems;
}

function schemaProblem(error: ErrorObject): PolicyProblem {
  const path = error.instancePath;
  const params = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as { properties?: Record<string, unknown>; description?: string };
  switch (error.keyword) {
    case 'required': {
      const name = String(params.missingProperty);
      const hint = REQUIRED_HINTS[name];
      return { path, message: `missing required property \`${name}\`${hint === undefined ? '' : `: ${hint}`}` };
    }
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const known = Object.keys(parent.properties ?? {});
      const guess = closest(name, known);
      const help = guess !== undefined ? `; did you mean \`${guess}\`?` : known.length > 0 ? `; expected one of ${known.join(', ')}` : '';
      return { path: `${path}/${escapePointer(name)}`, message: `unknown property \`${name}\`${help}` };
    }
    case 'propertyNames': {
      const name = String(params.propertyName);
      const schemaDescription = (error.schema as { description?: string } | undefined)?.description;
      return { path: `${path}/${escapePointer(name)}`, message: `invalid name \`${name}\`${schemaDescription === undefined ? '' : `: expected ${schemaDescription}`}` };
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return { path, message: `must be one of ${allowed}, got ${preview(error.data)}` };
    }
    case 'type': {
      const types = ([] as string[]).concat(params.type as string | string[]).map((t) => TYPE_NAMES[t] ?? t);
      const wanted = types.length === 1 ? types[0] : `${types.slice(0, -1).join(', ')} or ${types[types.length - 1]}`;
      return { path, message: `must be ${wanted}, got ${describe(error.data)}` };
    }
    case 'pattern':
      return { path, message: `${preview(error.data)} is not valid${parent.description === undefined ? '' : `: expected ${parent.description}`}` };
    case 'minLength':
      return { path, message: params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters` };
    case 'minItems':
      return { path, message: params.limit === 1 ? 'must not be empty' : `must have at least ${String(params.limit)} items` };
    case 'maxLength':
      return { path, message: `must be at most ${String(params.limit)} characters` };
    case 'maxItems':
      return { path, message: `must have at most ${String(params.limit)} items` };
    default:
      return { path, message: `${error.message ?? 'is invalid'}${error.data === undefined ? '' : `, got ${preview(error.data)}`}` };
  }
}

function escapePointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string (${preview(value)})`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value === 'number' ? 'a number' : 'a boolean'} (${String(value)})`;
  if (value === undefined) return 'nothing';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}


// ---------------------------------------------------------------------------------------------------
// Checks beyond the schema. They run even when the schema failed (so all problems come at once), and
// therefore look at types defensively: a wrong type has already been reported by the schema.

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function semanticProblems(doc: Json): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const add = (path: string, message: string): void => {
    problems.push({ path, message });
  };
  if (isObject(doc.metadata) && typeof doc.metadata.updatedAt === 'string') checkTime(doc.metadata.updatedAt, '/metadata/updatedAt', add);
  if (isObject(doc.lists)) {
    for (const side of ['bad', 'good'] as const) {
      const lists = doc.lists[side];
      if (isObject(lists)) checkLists(lists, `/lists/${side}`, add);
    }
  }
  if (Array.isArray(doc.rules)) {
    const firstWithId = new Map<string, number>();
    doc.rules.forEach((rule: unknown, i) => {
      if (!isObject(rule)) return;
      const at = `/rules/${i}`;
      if (typeof rule.id === 'string') {
        const first = firstWithId.get(rule.id);
        if (first !== undefined) add(`${at}/id`, `duplicate rule id ${JSON.stringify(rule.id)} (also at /rules/${first}); rule ids must be unique`);
        else firstWithId.set(rule.id, i);
        if (rule.id === 'default') add(`${at}/id`, 'the rule id "default" is reserved (it names the default rate limit)');
      }
      checkRule(rule, at, add);
    });
  }
  if (isObject(doc.default) && isObject(doc.default.rateLimit)) checkRateLimit(doc.default.rateLimit, '/default/rateLimit', add);
  return problems;
}

type Add = (path: string, message: string) => void;

function checkTime(text: string, path: string, add: Add): number | undefined {
  const time = parseIsoTime(text);
  if (time === undefined) {
    add(path, `${preview(text)} is not an ISO 8601 date ("2026-10-07") or date-time with a zone ("2026-10-07T12:00:00Z")`);
  }
  return time;
}

const LIST_CHECKS: Record<string, (value: string) => string | undefined> = {
  principals: (value) =>
    parseSelector(value) === undefined
      ? `${preview(value)} is not a principal selector: expected ${SELECTOR_KINDS.map((k) => `${k}:`).join(', ')} followed by a value`
      : undefined,
  networks: (value) => {
    const parsed = parseCidr(value);
    return parsed.ok ? undefined : parsed.reason;
  },
  userAgents: (value) => {
    const problem = uaPatternProblem(value);
    return problem === undefined ? undefined : `${preview(value)}: ${problem}`;
  },
};

function checkLists(lists: Json, at: string, add: Add): void {
  for (const [kind, check] of Object.entries(LIST_CHECKS)) {
    const entries = lists[kind];
    if (!Array.isArray(entries)) continue;
    entries.forEach((entry: unknown, i) => {
      const path = `${at}/${kind}/${i}`;
      if (typeof entry === 'string') {
        const problem = check(entry);
        if (problem !== undefined) add(path, problem);
      } else if (isObject(entry)) {
        if (typeof entry.value === 'string' && entry.value.length > 0) {
          const problem = check(entry.value);
          if (problem !== undefined) add(`${path}/value`, problem);
        }
        if (typeof entry.expiresAt === 'string') checkTime(entry.expiresAt, `${path}/expiresAt`, add);
      }
    });
  }
}

function checkRule(rule: Json, at: string, add: Add): void {
  if (rule.action === 'rate-limit' && rule.rateLimit === undefined) {
    add(at, 'a rule with action `rate-limit` needs a `rateLimit` (e.g. { "limit": 100, "period": "1m" })');
  }
  if (isObject(rule.rateLimit)) checkRateLimit(rule.rateLimit, `${at}/rateLimit`, add);
  const notBefore = typeof rule.notBefore === 'string' ? checkTime(rule.notBefore, `${at}/notBefore`, add) : undefined;
  const expiresAt = typeof rule.expiresAt === 'string' ? checkTime(rule.expiresAt, `${at}/expiresAt`, add) : undefined;
  if (notBefore !== undefined && expiresAt !== undefined && notBefore >= expiresAt) {
    add(`${at}/expiresAt`, 'expiresAt must be after notBefore: as written the rule never applies');
  }
  const match = rule.match;
  if (!isObject(match)) return;
  if (isObject(match.route)) {
    const paths = match.route.path;
    const list = typeof paths === 'string' ? [paths] : Array.isArray(paths) ? paths : [];
    list.forEach((pattern: unknown, i) => {
      if (typeof pattern !== 'string' || pattern.length === 0) return;
      if (compilePathPattern(pattern, false) === undefined) {
        const path = typeof paths === 'string' ? `${at}/match/route/path` : `${at}/match/route/path/${i}`;
        add(path, `${preview(pattern)} is not a route pattern: it must start with "/" (at most 1024 characters), segments are literal, "*" or ":name", and "**" may only be the last segment`);
      }
    });
  }
  if (Array.isArray(match.network)) {
    match.network.forEach((block: unknown, i) => {
      if (typeof block !== 'string' || block.length === 0) return;
      const parsed = parseCidr(block);
      if (!parsed.ok) add(`${at}/match/network/${i}`, parsed.reason);
    });
  }
}

/** `limit` and `burst` are positive integers by the schema; the period needs `parseDuration`. */
function checkRateLimit(spec: Json, at: string, add: Add): void {
  // A number ≤ 0 is the schema's to report (exclusiveMinimum); the rest needs parseDuration.
  if ((typeof spec.period === 'number' && spec.period > 0) || typeof spec.period === 'string') {
    const seconds = parseDuration(spec.period);
    if (seconds === undefined || seconds * 1000 < 1) {
      add(`${at}/period`, `${preview(spec.period)} is not a positive duration: seconds (a number) or a string such as "500ms", "30s", "1m", "1h", "1d"`);
    }
  }
}
