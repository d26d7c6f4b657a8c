import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { createGuard, ConfigError, type Guard, type GuardRequest } from '../index.js';
import { SigningError } from '../signer/errors.js';
import { signatureBase } from '../signatures/base.js';
import { parseSignatures } from '../signatures/parse.js';
import type { SignedMessage } from '../signatures/types.js';
import { flagOfOption, guardOptionsFrom, SIGNATURE_PROFILES, type Profile, type VerifyFlags } from './guard-options.js';
import { readAll, UsageError, type CliIo } from './io.js';
import { keygen } from './keygen.js';
import { policy } from './policy.js';
import { parseRequests } from './requests.js';
import { sign } from './sign.js';
import { MAIN_USAGE, VERIFY_USAGE } from './usage.js';

export type { CliIo } from './io.js';

/** Exit statuses: every request allowed, at least one denied, the command was used wrongly. */
export const EXIT_ALLOWED = 0;
export const EXIT_DENIED = 1;
export const EXIT_USAGE = 2;

const COMMANDS = new Set(['verify', 'sign', 'keygen', 'policy']);

/**
 * Runs the `bonafide` command with `argv` (without the node and script paths) and resolves its exit
 * status. Never throws and never prints a stack trace, a token or a secret.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'verify':
        return await verify(rest, io);
      case 'sign':
        return await sign(rest, io);
      case 'keygen':
        return await keygen(rest, io);
      case 'policy':
        return await policy(rest, io);
      case '-h':
      case '--help':
      case 'help':
        io.stdout.write(MAIN_USAGE);
        return EXIT_ALLOWED;
      case '-v':
      case '--version':
        io.stdout.write(`${version()}\n`);
        return EXIT_ALLOWED;
      case undefined:
        io.stderr.write(MAIN_USAGE);
        return EXIT_USAGE;
      default:
        throw new UsageError(command.startsWith('-') ? `unknown option ${command}` : `unknown command ${command}`);
    }
  } catch (error) {
    return fail(error, command !== undefined && COMMANDS.has(command) ? `bonafide ${command}` : 'bonafide', io);
  }
}

async function verify(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    io.stdout.write(VERIFY_USAGE);
    return EXIT_ALLOWED;
  }
  if (positionals.length > 1) throw new UsageError('expected at most one FILE');
  const file = positionals[0];

  const options = await guardOptionsFrom(values, io.env ?? {});
  const guard = createGuard(options);
  try {
    const { text, source } = await readInput(file, io);
    const requests = withBodies(parseRequests(text, source), text);
    const debug = values.debug === true ? debugSignatures(values, io) : undefined;
    return await decideAll(guard, requests, io, debug);
  } finally {
    await guard.close();
  }
}

function parse(argv: string[]) {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        profile: { type: 'string' },
        'approov-secret': { type: 'string' },
        jwks: { type: 'string' },
        binding: { type: 'string', multiple: true },
        'project-number': { type: 'string' },
        'app-id': { type: 'string', multiple: true },
        header: { type: 'string' },
        alg: { type: 'string', multiple: true },
        issuer: { type: 'string', multiple: true },
        audience: { type: 'string', multiple: true },
        now: { type: 'string' },
        keys: { type: 'string' },
        tag: { type: 'string' },
        'require-nonce': { type: 'boolean' },
        'max-age': { type: 'string' },
        hmac: { type: 'string', multiple: true },
        'allow-test-keys': { type: 'boolean' },
        'no-directory': { type: 'boolean' },
        debug: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    return { values: values as VerifyFlags & { help?: boolean }, positionals };
  } catch (error) {
    // parseArgs names the option, never its value.
    throw new UsageError((error as Error).message);
  }
}

async function readInput(file: string | undefined, io: CliIo): Promise<{ text: string; source: string }> {
  if (file === undefined || file === '-') {
    if (typeof io.stdin === 'object' && (io.stdin as { isTTY?: boolean }).isTTY === true) {
      io.stderr.write('bonafide verify: reading requests from stdin (end with Ctrl-D)\n');
    }
    return { text: await readAll(io.stdin), source: 'stdin' };
  }
  try {
    return { text: await readFile(file, 'utf8'), source: file };
  } catch (error) {
    throw new UsageError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'read error'})`);
  }
}

/**
 * The `body` of each request (text, as a signed Content-Digest is computed over it): the request
 * gets `readBody`, and a Content-Length when it has none, since the guard decides whether a request
 * has a body from its headers. `text` is what `parseRequests` accepted, read the same way.
 */
function withBodies(requests: unknown[], text: string): unknown[] {
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let raw: unknown[];
  try {
    const whole: unknown = JSON.parse(input);
    raw = whole !== null && typeof whole === 'object' && !Array.isArray(whole) ? [whole] : [];
  } catch {
    raw = input.split(/\r?\n/).filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown);
  }
  return requests.map((request, i) => {
    const body = (raw[i] as { body?: unknown } | null | undefined)?.body;
    if (typeof body !== 'string' || request === null || typeof request !== 'object') return request;
    const bytes = Buffer.from(body, 'utf8');
    const headers = { ...((request as { headers?: Record<string, string> }).headers ?? {}) };
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-length' || name.toLowerCase() === 'transfer-encoding')) {
      headers['content-length'] = String(bytes.length);
    }
    return { ...request, headers, readBody: async () => bytes };
  });
}

/**
 * `--debug`: writes to stderr the signature base of each signature the guard would try (the tag
 * filter applied), built with the same parser and base builder as the verifier. Only what the
 * request itself carries is printed: never a key or a secret.
 */
function debugSignatures(flags: VerifyFlags, io: CliIo): (request: unknown, index: number) => void {
  const profile = flags.profile as Profile;
  const tag = flags.tag ?? (profile === 'web-bot-auth' ? 'web-bot-auth' : undefined);
  const say = (text: string): void => {
    io.stderr.write(`bonafide verify: ${text}\n`);
  };
  return (request, index) => {
    const where = `request ${index + 1}`;
    if (!SIGNATURE_PROFILES.includes(profile) || request === null || typeof request !== 'object') return;
    const { method, url, headers } = request as { method?: unknown; url?: unknown; headers?: unknown };
    if (typeof method !== 'string' || typeof url !== 'string' || headers === null || typeof headers !== 'object') return;
    const fields = new Map(Object.entries(headers as Record<string, unknown>).map(([name, value]) => [name.toLowerCase(), String(value)]));
    const message: SignedMessage = { method, url, fieldLines: (name) => (fields.has(name) ? [fields.get(name)!] : undefined) };
    const input = fields.get('signature-input');
    const signature = fields.get('signature');
    if (input === undefined || signature === undefined) return say(`${where}: no Signature-Input and Signature to check`);
    const parsed = parseSignatures(input, signature);
    if (typeof parsed === 'string') return say(`${where}: the Signature-Input / Signature headers are ${parsed}`);
    for (const entry of parsed) {
      const name = `${where}, signature ${JSON.stringify(entry.label)}`;
      if (tag !== undefined && entry.params.tag !== tag) {
        say(`${name}: skipped (tag is not ${JSON.stringify(tag)})`);
        continue;
      }
      const base = entry.problem === undefined ? signatureBase(message, entry) : entry.problem;
      if (!base.includes('"@signature-params": ')) {
        say(`${name}: no signature base (${base})`);
        continue;
      }
      const keyid = entry.params.keyid === undefined ? '' : ` (keyid ${JSON.stringify(entry.params.keyid)})`;
      say(`${name}${keyid}, signature base:\n${base}`);
    }
  };
}

/** Every request through the same guard, in order, so caches behave as in a server. */
async function decideAll(guard: Guard, requests: unknown[], io: CliIo, debug?: (request: unknown, index: number) => void): Promise<number> {
  let status = EXIT_ALLOWED;
  for (const [index, request] of requests.entries()) {
    debug?.(request, index);
    const decision = await guard.check(request as GuardRequest);
    if (decision.outcome === 'deny') status = EXIT_DENIED;
    io.stdout.write(`${JSON.stringify(decision)}\n`);
  }
  return status;
}

/** The package version, read through the package's own exports map (works from src/ and from dist/). */
function version(): string {
  try {
    return (createRequire(import.meta.url)('bonafide/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function fail(error: unknown, prefix: string, io: CliIo): number {
  if (error instanceof UsageError) {
    io.stderr.write(`${prefix}: ${error.message}\nRun \`${prefix} --help\` for usage.\n`);
    return EXIT_USAGE;
  }
  if (error instanceof SigningError) {
    io.stderr.write(`${prefix}: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof ConfigError) {
    const flag = flagOfOption(error.path);
    io.stderr.write(`${prefix}: ${flag ? `${flag}: ` : ''}${error.message}\n`);
    return EXIT_USAGE;
  }
  const what = error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
  io.stderr.write(`${prefix}: unexpected error (${what}); please report it\n`);
  return EXIT_USAGE;
}
