import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { createSigner } from '../signer/sign-request.js';
import type { SignerOptions } from '../signer/options.js';
import { UsageError, type CliIo } from './io.js';
import { SIGN_USAGE } from './usage.js';

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        key: { type: 'string' },
        agent: { type: 'string' },
        method: { type: 'string' },
        header: { type: 'string', multiple: true },
        data: { type: 'string' },
        label: { type: 'string' },
        component: { type: 'string', multiple: true },
        'expires-in': { type: 'string' },
        profile: { type: 'string' },
        algorithm: { type: 'string' },
        'legacy-agent': { type: 'boolean' },
        'no-nonce': { type: 'boolean' },
        now: { type: 'string' },
        curl: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // parseArgs names the option, never its value.
    throw new UsageError((error as Error).message);
  }
}

/** The flag behind each signer option, so a ConfigError names what the user typed. */
const FLAG_OF_OPTION: ReadonlyArray<readonly [RegExp, string]> = [
  [/^key/, '--key'],
  [/^agent/, '--agent'],
  [/^legacyAgentHeader/, '--legacy-agent'],
  [/^label/, '--label'],
  [/^components/, '--component'],
  [/^expiresIn/, '--expires-in'],
  [/^profile/, '--profile'],
  [/^algorithm/, '--algorithm'],
];

/** Names of the headers the signer adds, as printed. */
const PRINTED_NAMES: Readonly<Record<string, string>> = {
  'signature-agent': 'Signature-Agent',
  'content-digest': 'Content-Digest',
  'signature-input': 'Signature-Input',
  signature: 'Signature',
};

async function readKey(path: string | undefined): Promise<string> {
  if (path === undefined) throw new UsageError('--key FILE is required (a private JWK or PEM; `bonafide keygen --out FILE` makes one)');
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--key: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'read error'})`);
  }
}

/** `--data STRING` or `--data @FILE` (the file's bytes, as curl reads them). */
async function readData(value: string | undefined): Promise<{ bytes: Uint8Array; file?: string; text?: string } | undefined> {
  if (value === undefined) return undefined;
  if (!value.startsWith('@')) return { bytes: Buffer.from(value, 'utf8'), text: value };
  const file = value.slice(1);
  if (file === '') throw new UsageError('--data @FILE needs a file name');
  try {
    return { bytes: await readFile(file), file };
  } catch (error) {
    throw new UsageError(`--data: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'read error'})`);
  }
}

/** `--header 'Name: value'` lines, in order. */
function headerLines(values: readonly string[] | undefined): [string, string][] {
  return (values ?? []).map((line) => {
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon).trim();
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw new UsageError("--header must be 'Name: value'");
    return [name, line.slice(colon + 1).trim()];
  });
}

function unixMs(value: string | undefined): (() => number) | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,12}$/.test(value.trim())) throw new UsageError('--now must be a Unix time in seconds, e.g. 1767225600');
  const ms = Number(value) * 1000;
  return () => ms;
}

function seconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value.trim())) throw new UsageError('--expires-in must be a whole number of seconds, e.g. 300');
  return Number(value);
}

/** A POSIX shell word in single quotes: `'` becomes `'\''`. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

function signerOptions(values: ReturnType<typeof parse>['values'], key: string): SignerOptions {
  const options: Record<string, unknown> = { key };
  if (values.profile !== undefined) options.profile = values.profile;
  if (values.agent !== undefined) options.agent = values.agent;
  if (values.label !== undefined) options.label = values.label;
  if (values.component !== undefined) options.components = values.component;
  if (values['expires-in'] !== undefined) options.expiresIn = seconds(values['expires-in']);
  if (values.algorithm !== undefined) options.algorithm = values.algorithm;
  if (values['legacy-agent'] === true) options.legacyAgentHeader = true;
  if (values['no-nonce'] === true) options.nonce = false;
  const now = unixMs(values.now);
  if (now !== undefined) options.now = now;
  return options as unknown as SignerOptions;
}

/**
 * `bonafide sign`: signs one request with a private key file and prints the headers to add, or a
 * curl command. Only public values are printed: never the key.
 */
export async function sign(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help === true) {
    io.stdout.write(SIGN_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one URL');
  const url = positionals[0]!;
  const data = await readData(values.data);
  const method = values.method ?? (data === undefined ? 'GET' : 'POST');
  const headers = headerLines(values.header);
  const key = await readKey(values.key);

  let signer: ReturnType<typeof createSigner>;
  try {
    signer = createSigner(signerOptions(values, key));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const flag = FLAG_OF_OPTION.find(([pattern]) => pattern.test(error.path))?.[1];
    throw new UsageError(`${flag ?? error.path}: ${error.message}`);
  }
  const added = signer.headers({ method, url, headers, ...(data !== undefined && { body: data.bytes }) });
  const lines = Object.entries(added).map(([name, value]) => `${PRINTED_NAMES[name] ?? name}: ${value}`);

  if (values.curl !== true) {
    io.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  }
  const target = new URL(url);
  target.hash = '';
  const words = ['curl', '-X', shellQuote(method)];
  for (const [name, value] of headers) words.push('-H', shellQuote(`${name}: ${value}`));
  for (const line of lines) words.push('-H', shellQuote(line));
  if (data !== undefined) words.push('--data-binary', data.file !== undefined ? shellQuote(`@${data.file}`) : shellQuote(data.text ?? ''));
  words.push(shellQuote(target.href));
  io.stdout.write(`${words.join(' ')}\n`);
  return 0;
}
