import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { compilePolicy, PolicyError } from '../policy/compile.js';
import { policyContext } from '../policy/context.js';
import type { PolicyContext } from '../policy/types.js';
import { normalizeRequest } from '../request.js';
import { UsageError, type CliIo } from './io.js';
import { POLICY_USAGE } from './usage.js';

/** `bonafide policy validate FILE` and `bonafide policy explain FILE REQUEST.json`. */
export async function policy(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (sub === undefined || sub === '-h' || sub === '--help' || parsed.values.help) {
    io.stdout.write(POLICY_USAGE);
    return sub === undefined ? 2 : 0;
  }
  const [file, requestFile, ...extra] = parsed.positionals;
  if (file === undefined) throw new UsageError('expected the policy FILE');
  if (sub === 'validate') {
    if (requestFile !== undefined) throw new UsageError('validate takes one FILE');
    return validate(file, io);
  }
  if (sub === 'explain') {
    if (requestFile === undefined || extra.length > 0) throw new UsageError('explain takes the policy FILE and one REQUEST.json');
    return explain(file, requestFile, io);
  }
  throw new UsageError(`unknown policy command ${sub}`);
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
