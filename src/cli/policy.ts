import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { compilePolicy, PolicyError } from '../policy/compile.js';
import { policyContext } from '../policy/context.js';
import type { PolicyContext } from '../policy/types.js';
import { policyHistory, pushPolicy, type PolicyHistoryEntry } from '../redis/policy-source.js';
import { normalizeRequest } from '../request.js';
import { UsageError, type CliIo } from './io.js';
import { POLICY_USAGE } from './usage.js';

/**
 * `bonafide policy validate FILE`, `policy explain FILE REQUEST.json`, `policy push FILE --redis URL`
 * and `policy history --redis URL`.
 */
export async function policy(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    io.stdout.write(POLICY_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'push' || sub === 'history') {
    const { values, positionals } = parse(rest, sub === 'push' ? PUSH_OPTIONS : HISTORY_OPTIONS);
    if (values.help) return help(io);
    return sub === 'push' ? push(positionals, values, io) : history(positionals, values, io);
  }
  const { values, positionals } = parse(rest, {});
  if (values.help) return help(io);
  const [file, requestFile, ...extra] = positionals;
  if (sub === 'validate') {
    if (file === undefined) throw new UsageError('expected the policy FILE');
    if (requestFile !== undefined) throw new UsageError('validate takes one FILE');
    return validate(file, io);
  }
  if (sub === 'explain') {
    if (file === undefined) throw new UsageError('expected the policy FILE');
    if (requestFile === undefined || extra.length > 0) throw new UsageError('explain takes the policy FILE and one REQUEST.json');
    return explain(file, requestFile, io);
  }
  throw new UsageError(`unknown policy command ${sub}`);
}

type StringOrBoolean = { type: 'string' } | { type: 'boolean' };

const PUSH_OPTIONS = {
  redis: { type: 'string' },
  prefix: { type: 'string' },
  by: { type: 'string' },
  comment: { type: 'string' },
} as const satisfies Record<string, StringOrBoolean>;

const HISTORY_OPTIONS = {
  redis: { type: 'string' },
  prefix: { type: 'string' },
  count: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies Record<string, StringOrBoolean>;

interface RedisFlags {
  help?: boolean;
  redis?: string;
  prefix?: string;
  by?: string;
  comment?: string;
  count?: string;
  json?: boolean;
}

function parse(args: string[], options: Record<string, StringOrBoolean>): { values: RedisFlags; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { ...options, help: { type: 'boolean', short: 'h' } } });
    return { values: values as RedisFlags, positionals };
  } catch (error) {
    // parseArgs names the option, never its value.
    throw new UsageError((error as Error).message);
  }
}

function help(io: CliIo): number {
  io.stdout.write(POLICY_USAGE);
  return 0;
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read the ${what} ${file}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`the ${what} ${file} is not valid JSON`);
  }
}

async function validate(file: string, io: CliIo): Promise<number> {
  const document = await readJson(file, 'policy');
  try {
    const compiled = compilePolicy(document);
    io.stdout.write(`${JSON.stringify({ valid: true, version: compiled.version, hash: compiled.hash })}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    for (const problem of error.problems) io.stderr.write(`${file}: ${problem.path || '/'}: ${problem.message}\n`);
    io.stdout.write(`${JSON.stringify({ valid: false, problems: error.problems })}\n`);
    return 1;
  }
}

/**
 * Evaluates the policy for the request in REQUEST.json (`{ method, url, headers?, ip?, principal?,
 * proven? }`): no verifier runs, so the principal (default anonymous) and what it proved are given.
 */
async function explain(file: string, requestFile: string, io: CliIo): Promise<number> {
  const document = await readJson(file, 'policy');
  let compiled: ReturnType<typeof compilePolicy>;
  try {
    compiled = compilePolicy(document);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    for (const problem of error.problems) io.stderr.write(`${file}: ${problem.path || '/'}: ${problem.message}\n`);
    return 2;
  }
  const input = (await readJson(requestFile, 'request')) as Record<string, unknown>;
  const request = normalizeRequest({
    method: input?.method as string,
    url: input?.url as string,
    headers: (input?.headers ?? {}) as Record<string, string>,
    ip: input?.ip as string | undefined,
  });
  if (request === undefined) throw new UsageError(`${requestFile} needs a "method" and an absolute "url"`);
  const principal = (input.principal ?? { id: 'anonymous', kind: 'anonymous', verified: false }) as PolicyContext['principal'];
  const proven = (input.proven ?? { attestation: false, signature: false }) as PolicyContext['proven'];
  const { result, trace } = compiled.explain(policyContext(request, principal, proven, Date.now()));
  io.stdout.write(`${JSON.stringify({ policy: { version: compiled.version, hash: compiled.hash }, result, trace }, null, 2)}\n`);
  return result.action === 'deny' || result.action === 'challenge' ? 1 : 0;
}

/**
 * Publishes the document in FILE with `pushPolicy`. It is validated here first, so an invalid
 * document is reported (exit 1) without connecting to Redis; `pushPolicy` validates it again and
 * refuses a version lower than the stored one (`ERR_POLICY_STALE`, exit 1, nothing stored).
 */
async function push(positionals: string[], flags: RedisFlags, io: CliIo): Promise<number> {
  const [file, ...extra] = positionals;
  if (file === undefined) throw new UsageError('expected the policy FILE');
  if (extra.length > 0) throw new UsageError('push takes one FILE');
  const target = redisTarget(flags);
  const document = await readJson(file, 'policy');
  let compiled: ReturnType<typeof compilePolicy>;
  try {
    compiled = compilePolicy(document);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    return refused(error, file, io);
  }
  const metadata = compiled.document.metadata;
  // pushPolicy records the document's own metadata in preference to the flags: say so when they differ.
  if (flags.by !== undefined && metadata.updatedBy !== undefined && metadata.updatedBy !== flags.by) {
    io.stderr.write(`bonafide policy push: recording metadata.updatedBy ${JSON.stringify(metadata.updatedBy)}, not --by\n`);
  }
  if (flags.comment !== undefined && metadata.comment !== undefined && metadata.comment !== flags.comment) {
    io.stderr.write('bonafide policy push: recording metadata.comment, not --comment\n');
  }
  const by = flags.by ?? osUserName();
  return withRedis(target, 'push', io, async (client) => {
    let pushed: { version: number; hash: string; previousVersion: number | null };
    try {
      pushed = await pushPolicy(client, document, { prefix: target.prefix, by, comment: flags.comment });
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      return refused(error, file, io);
    }
    const previous = pushed.previousVersion;
    const after = previous === null ? ' (no previous version)' : ` (previous version ${previous})`;
    io.stdout.write(`pushed version ${pushed.version} (sha256:${pushed.hash}) to ${target.shown}${after}\n`);
    return 0;
  });
}

/** The problems of a refused document, one per line as `policy validate` prints them; exit 1. */
function refused(error: PolicyError, file: string, io: CliIo): number {
  for (const problem of error.problems) io.stderr.write(`${file}: ${problem.path || '/'}: ${problem.message}\n`);
  const why = error.code === 'ERR_POLICY_STALE' ? 'an older version than the one in Redis' : 'invalid';
  io.stderr.write(`bonafide policy push: nothing pushed: the document is ${why} (${error.code})\n`);
  return 1;
}

/** Lists the audit entries of `pushPolicy`, oldest first: a table, or with `--json` one JSON array. */
async function history(positionals: string[], flags: RedisFlags, io: CliIo): Promise<number> {
  if (positionals.length > 0) throw new UsageError('history takes no FILE');
  const target = redisTarget(flags);
  let count: number | undefined;
  if (flags.count !== undefined) {
    count = /^[0-9]+$/.test(flags.count) ? Number(flags.count) : NaN;
    if (!Number.isSafeInteger(count) || count < 1) throw new UsageError('--count must be a positive integer');
  }
  return withRedis(target, 'history', io, async (client) => {
    const entries = await policyHistory(client, { prefix: target.prefix, count });
    if (flags.json) io.stdout.write(`${JSON.stringify(entries)}\n`);
    else io.stdout.write(historyTable(entries, target.prefix ?? DEFAULT_PREFIX));
    return 0;
  });
}

const DEFAULT_PREFIX = 'bonafide:';

/** The audit entries as an aligned table; control characters in free text become spaces. */
export function historyTable(entries: readonly PolicyHistoryEntry[], prefix: string): string {
  if (entries.length === 0) return `no policy pushes recorded under the prefix ${JSON.stringify(prefix)}\n`;
  const text = (value: string | null): string => (value === null || value === '' ? '-' : value.replace(/\p{Cc}/gu, ' '));
  const rows = [
    ['ID', 'AT', 'VERSION', 'PREVIOUS', 'HASH', 'BY', 'COMMENT'],
    ...entries.map((e) => [e.id, e.at || '-', String(e.version), e.previousVersion === null ? '-' : String(e.previousVersion), e.hash.slice(0, 12) || '-', text(e.by), text(e.comment)]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd() + '\n').join('');
}

interface RedisTarget {
  url: string;
  /** The URL without credentials, for messages. */
  shown: string;
  /** The password in the URL (to scrub from error messages), if any. */
  secret: string | undefined;
  prefix: string | undefined;
}

function redisTarget(flags: RedisFlags): RedisTarget {
  if (flags.redis === undefined) throw new UsageError('expected --redis URL (e.g. redis://127.0.0.1:6379)');
  const url = URL.canParse(flags.redis) ? new URL(flags.redis) : undefined;
  // Never echo the value: it may hold a password.
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    throw new UsageError('--redis must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379');
  }
  const secret = url.password === '' ? undefined : decodeURIComponent(url.password);
  return { url: flags.redis, shown: redactRedisUrl(flags.redis), secret, prefix: flags.prefix };
}

/**
 * `url` without its credentials: the user and password, and the query parameters ioredis would take
 * a secret from (`password`, `sentinelPassword`, ...). Anything that is not a URL becomes `<redis>`.
 */
export function redactRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '<redis>';
  }
  const query = new URLSearchParams();
  for (const [name, value] of parsed.searchParams) {
    if (!/pass|secret|token|auth|user|key/i.test(name)) query.append(name, value);
  }
  const search = query.size === 0 ? '' : `?${query.toString()}`;
  return `${parsed.protocol}//${parsed.host}${parsed.pathname || '/'}${search}`;
}

/** The OS user name, the default `--by`; undefined where the OS has none (e.g. some containers). */
function osUserName(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

/** Thrown when the ioredis peer dependency cannot be loaded. */
class MissingIoredis extends Error {}

/** Loads ioredis only for the commands that need it: it is an optional peer dependency. */
async function loadRedis(): Promise<typeof import('ioredis').Redis> {
  try {
    const { Redis } = await import('ioredis');
    return Redis;
  } catch (error) {
    throw new MissingIoredis((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'is not installed' : `cannot be loaded (${(error as Error).message})`);
  }
}

/**
 * Connects to the target (failing within seconds: no retries, no offline queue, a 3 s connect
 * timeout), runs `work` and always closes the connection, so the process can exit. A Redis that
 * cannot be reached or fails a command is reported with exit 1, never with the URL's password.
 */
async function withRedis(target: RedisTarget, command: string, io: CliIo, work: (client: Redis) => Promise<number>): Promise<number> {
  const prefix = `bonafide policy ${command}`;
  const scrub = (message: string): string => (target.secret === undefined ? message : message.split(target.secret).join('***'));
  let RedisClient: typeof import('ioredis').Redis;
  try {
    RedisClient = await loadRedis();
  } catch (error) {
    if (!(error instanceof MissingIoredis)) throw error;
    io.stderr.write(`${prefix}: needs the ioredis package, which ${scrub(error.message)}: run \`npm install ioredis\`\n`);
    return 1;
  }
  const client = new RedisClient(target.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // A server that accepts the connection but never answers must not hang the command.
    commandTimeout: COMMAND_TIMEOUT_MS,
    // How long a closing socket may wait for the server's side before it is destroyed.
    disconnectTimeout: 500,
  });
  // connect() rejects with a bare "Connection is closed."; the cause is the last error event (which
  // also needs a listener, or ioredis prints it as unhandled).
  let lastError: unknown;
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  // connectTimeout bounds the TCP connection only; this bounds the handshake (AUTH, ready check) too.
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    client.disconnect();
  }, CONNECT_TIMEOUT_MS);
  try {
    try {
      await client.connect();
    } catch (error) {
      const why = timedOut ? `no answer within ${CONNECT_TIMEOUT_MS / 1000} s` : scrub(reason(lastError ?? error));
      io.stderr.write(`${prefix}: cannot reach Redis at ${target.shown} (${why})\n`);
      return 1;
    } finally {
      clearTimeout(deadline);
    }
    try {
      return await work(client);
    } catch (error) {
      if (error instanceof PolicyError || error instanceof UsageError) throw error;
      io.stderr.write(`${prefix}: Redis at ${target.shown} failed: ${scrub(reason(error))}\n`);
      return 1;
    }
  } finally {
    await close(client);
  }
}

const CONNECT_TIMEOUT_MS = 3000;
const COMMAND_TIMEOUT_MS = 3000;

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message || (error as NodeJS.ErrnoException).code || error.name;
}

/** QUIT when connected (bounded by the command timeout), else drop the socket unless already gone. */
async function close(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // Fall through: drop the connection.
    }
  }
  client.disconnect();
}
