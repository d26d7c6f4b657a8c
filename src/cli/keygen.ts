import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { generateKeyPair, type KeyPairAlgorithm } from '../signer/keygen.js';
import { UsageError, type CliIo } from './io.js';
import { KEYGEN_USAGE } from './usage.js';

const FORMATS = ['all', 'jwk', 'directory'] as const;
const ALGORITHMS: readonly KeyPairAlgorithm[] = ['ed25519', 'ecdsa-p256-sha256', 'ecdsa-p384-sha384', 'rsa-pss-sha512', 'rsa-v1_5-sha256'];

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        format: { type: 'string' },
        out: { type: 'string' },
        algorithm: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** Writes the private JWK readable by its owner only, refusing to replace a file (an existing key). */
async function writePrivateKey(path: string, jwk: object): Promise<void> {
  try {
    await writeFile(path, json(jwk), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'write error';
    throw new UsageError(code === 'EEXIST' ? `--out: ${path} already exists; not overwriting a key` : `--out: cannot write ${path} (${code})`);
  }
}

/**
 * `bonafide keygen`: a new signing key (Ed25519 by default), its keyid and its key directory.
 * The private key goes to `--out` (mode 0600) or, only when no file is given, to stdout with a
 * warning on stderr.
 */
export async function keygen(argv: string[], io: CliIo): Promise<number> {
  const values = parse(argv);
  if (values.help === true) {
    io.stdout.write(KEYGEN_USAGE);
    return 0;
  }
  const format = values.format ?? 'all';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const algorithm = (values.algorithm ?? 'ed25519') as KeyPairAlgorithm;
  if (!ALGORITHMS.includes(algorithm)) throw new UsageError(`--algorithm must be one of ${ALGORITHMS.join(', ')}`);
  const out = values.out;
  if (out === '') throw new UsageError('--out needs a file name');
  if (format === 'directory' && out === undefined) {
    throw new UsageError('--format directory needs --out FILE for the private key, or it would be lost');
  }

  const pair = generateKeyPair(algorithm);
  const directory = { keys: [pair.publicJwk] };
  if (out !== undefined) {
    await writePrivateKey(out, pair.privateJwk);
    io.stderr.write(`bonafide keygen: wrote the private key to ${out} (mode 0600); keep it secret\n`);
  } else {
    io.stderr.write('bonafide keygen: the output holds a PRIVATE key; keep it secret (a secret store, never version control or logs)\n');
  }

  if (format === 'jwk') io.stdout.write(json(out === undefined ? pair.privateJwk : pair.publicJwk));
  else if (format === 'directory') io.stdout.write(json(directory));
  else if (out === undefined) io.stdout.write(json({ keyid: pair.keyid, privateJwk: pair.privateJwk, publicJwk: pair.publicJwk, directory }));
  else io.stdout.write(json({ keyid: pair.keyid, publicJwk: pair.publicJwk, directory }));
  return 0;
}
