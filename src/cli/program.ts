import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { createGuard, ConfigError, type Guard, type GuardRequest } from '../index.js';
import { flagOfOption, guardOptionsFrom, type VerifyFlags } from './guard-options.js';
import { readAll, UsageError, type CliIo } from './io.js';
import { parseRequests } from './requests.js';
import { MAIN_USAGE, VERIFY_USAGE } from './usage.js';

export type { CliIo } from './io.js';

/** Exit statuses: every request allowed, at least one denied, the command was used wrongly. */
export const EXIT_ALLOWED = 0;
export const EXIT_DENIED = 1;
export const EXIT_USAGE = 2;

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
    return fail(error, command === 'verify' ? 'bonafide verify' : 'bonafide', io);
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
    const requests = parseRequests(text, source);
    return await decideAll(guard, requests, io);
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

/** Every request through the same guard, in order, so caches behave as in a server. */
async function decideAll(guard: Guard, requests: unknown[], io: CliIo): Promise<number> {
  let status = EXIT_ALLOWED;
  for (const request of requests) {
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
  if (error instanceof ConfigError) {
    const flag = flagOfOption(error.path);
    io.stderr.write(`${prefix}: ${flag ? `${flag}: ` : ''}${error.message}\n`);
    return EXIT_USAGE;
  }
  const what = error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
  io.stderr.write(`${prefix}: unexpected error (${what}); please report it\n`);
  return EXIT_USAGE;
}
