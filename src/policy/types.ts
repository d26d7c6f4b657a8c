/**
 * The policy document (JSON, or a JS object in code) and what evaluating it yields. A document is
 * validated against `policy.schema.json`, compiled once into matchers, and swapped atomically.
 */

/** What a matched list entry or rule does. */
export type PolicyAction = 'allow' | 'deny' | 'challenge' | 'rate-limit' | 'monitor';
/** `dry-run`: the rule is evaluated and recorded (`wouldAction`), but does not decide. */
export type RuleMode = 'enforce' | 'dry-run';
/** What a route demands be proven: an attestation token, a signature, either one, or nothing. */
export type ProofRequirement = 'attestation' | 'signature' | 'either' | 'none';

/** A rate limit: GCRA (rate + burst) or a sliding window. */
export interface RateLimitSpec {
  /** `gcra` (token-bucket equivalent, default) or `sliding-window`. */
  algorithm?: 'gcra' | 'sliding-window';
  /** Requests allowed per `period`. */
  limit: number;
  /** The period: seconds or "1m", "1h". */
  period: number | string;
  /** GCRA only: the bucket size, i.e. how many requests are allowed at once from idle. Default: `limit`. */
  burst?: number;
  /** What the count is kept per: `principal` (default), `ip` (IPv6 aggregated to `ipv6Prefix`), `token` (hash of the attestation token), or `header:<name>`. */
  key?: 'principal' | 'ip' | 'token' | `header:${string}`;
  /** IPv6 prefix length for `key: 'ip'`. Default 64. */
  ipv6Prefix?: number;
}

/** A list entry: a value and, optionally, when it stops applying. */
export type ListEntry = string | { value: string; expiresAt?: string; comment?: string };

/** Good or bad principals, networks and user agents. */
export interface PolicyLists {
  /** Principal selectors: `id:<principal id>`, `operator:<origin>`, `category:<name>`, `thumbprint:<jwk thumbprint>`, `app:<app id>`. */
  principals?: ListEntry[];
  /** IPv4 / IPv6 addresses and CIDR blocks. */
  networks?: ListEntry[];
  /** User-Agent patterns: `*` matches any run of characters; matched case-insensitively in linear time. */
  userAgents?: ListEntry[];
}

/** What a rule matches on; every given field must match (AND), each list is OR. */
export interface RuleMatch {
  principal?: {
    id?: string | string[];
    kind?: string | string[];
    verified?: boolean;
    /** `web-bot-auth`, `rfc9421`, `approov`, `firebase`, … (Principal.via). */
    via?: string | string[];
    /** The agent origin (Principal.agent) or the app/JWT issuer. */
    operator?: string | string[];
    categories?: string | string[];
    /** Claim equality: `{ "appId": ["a", "b"] }`. */
    claims?: Record<string, string | number | boolean | (string | number | boolean)[]>;
  };
  route?: { path?: string | string[]; methods?: string[] };
  /** CIDR blocks. */
  network?: string[];
  /** Header presence (`true`) or absence (`false`), by lower-case name. */
  headers?: Record<string, boolean>;
}

export interface PolicyRule {
  /** Unique id; recorded in decisions (`rule`). */
  id: string;
  match?: RuleMatch;
  action: PolicyAction;
  /** Required for `rate-limit`; with `allow` it limits the allowed requests too. */
  rateLimit?: RateLimitSpec;
  /** What the matched requests must prove (positive security model). Default: nothing beyond the guard's `require`. */
  require?: ProofRequirement;
  mode?: RuleMode;
  /** ISO 8601 times outside which the rule does not apply. */
  notBefore?: string;
  expiresAt?: string;
  comment?: string;
}

export interface PolicyDocument {
  /** Optional: the schema URL, for editors. */
  $schema?: string;
  metadata: {
    /** Monotonic: a document with a lower version than the current one is refused. */
    version: number;
    name?: string;
    updatedAt?: string;
    updatedBy?: string;
    comment?: string;
  };
  /** Checked first, in this order: `bad` (deny), then `good` (allow). */
  lists?: { bad?: PolicyLists; good?: PolicyLists };
  /** Operator-owned categories and trust: `{ "<principal id or operator origin>": { categories: [...], trust: "good"|"bad" } }`. */
  categories?: Record<string, { categories?: string[]; trust?: 'good' | 'bad' }>;
  /** Ordered; the first that matches decides. */
  rules?: PolicyRule[];
  /** What happens to a request no list entry or rule matches. Required. */
  default: { action: 'allow' | 'deny' | 'challenge'; rateLimit?: RateLimitSpec };
}

/** The facts a policy is evaluated on (built by the guard from the request and the verifiers' results). */
export interface PolicyContext {
  readonly principal: {
    readonly id: string;
    readonly kind: string;
    readonly verified: boolean;
    readonly via?: string;
    readonly agent?: string;
    readonly issuer?: string;
    readonly appId?: string;
    readonly keyid?: string;
    readonly claims?: Readonly<Record<string, unknown>>;
  };
  /** Which proofs verified on this request. */
  readonly proven: { readonly attestation: boolean; readonly signature: boolean };
  readonly method: string;
  /** The normalised path (as routes match it). */
  readonly path: string;
  readonly ip: string | undefined;
  readonly userAgent: string | null;
  /** Header presence by lower-case name. */
  hasHeader(name: string): boolean;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

/** Where a decision came from. */
export type PolicySource = 'list:bad' | 'list:good' | 'category' | 'rule' | 'default';

/** The outcome of evaluating a compiled policy: pure data. */
export interface PolicyResult {
  readonly action: PolicyAction;
  readonly source: PolicySource;
  /** The rule id (for `rule`), or the list entry / category key that matched. */
  readonly match: string | null;
  /** The rate limit to apply (from the rule or the default), if any. */
  readonly rateLimit: CompiledRateLimit | undefined;
  /** The proof the matched rule requires, if any. */
  readonly require: ProofRequirement | undefined;
  /** Dry-run rules that matched before the deciding one: what they would have done. */
  readonly dryRun: readonly { readonly rule: string; readonly wouldAction: PolicyAction }[];
  /** The categories of the principal after the document's overrides. */
  readonly categories: readonly string[];
}

/** A rate limit ready to use: numbers resolved, a stable id (for the store key and RateLimit-Policy). */
export interface CompiledRateLimit {
  /** Stable across reloads while the spec is unchanged: `<rule id>` or `default`. */
  readonly id: string;
  readonly algorithm: 'gcra' | 'sliding-window';
  readonly limit: number;
  readonly periodMs: number;
  readonly burst: number;
  readonly key: 'principal' | 'ip' | 'token' | `header:${string}`;
  readonly ipv6Prefix: number;
}
