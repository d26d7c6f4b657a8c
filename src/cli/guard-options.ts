import { readFile } from 'node:fs/promises';
import type { GuardOptions, JwsAlgorithm, KeyInput } from '../index.js';
import { UsageError } from './io.js';

export const PROFILES = ['approov', 'firebase', 'jwt', 'web-bot-auth', 'rfc9421'] as const;
export type Profile = (typeof PROFILES)[number];
/** The profiles that verify HTTP message signatures (RFC 9421) rather than attestation tokens. */
export const SIGNATURE_PROFILES: readonly Profile[] = ['web-bot-auth', 'rfc9421'];

type SignatureOptions = NonNullable<GuardOptions['signatures']>;
type SignatureKeyInput = Extract<NonNullable<SignatureOptions['keys']>, readonly unknown[]>[number];

/** The parsed `verify` flags. */
export interface VerifyFlags {
  profile?: string;
  'approov-secret'?: string;
  jwks?: string;
  binding?: string[];
  'project-number'?: string;
  'app-id'?: string[];
  header?: string;
  alg?: string[];
  issuer?: string[];
  audience?: string[];
  now?: string;
  keys?: string;
  tag?: string;
  'require-nonce'?: boolean;
  'max-age'?: string;
  hmac?: string[];
  'allow-test-keys'?: boolean;
  'no-directory'?: boolean;
  debug?: boolean;
}

/** Flags that only mean something for some profiles: given with another profile, they are a mistake. */
const PROFILE_FLAGS: Partial<Record<keyof VerifyFlags, readonly Profile[]>> = {
  'approov-secret': ['approov'],
  binding: ['approov'],
  'project-number': ['firebase'],
  'app-id': ['firebase'],
  jwks: ['firebase', 'jwt'],
  alg: ['jwt'],
  issuer: ['jwt'],
  audience: ['jwt'],
  header: ['approov', 'firebase', 'jwt'],
  keys: SIGNATURE_PROFILES,
  tag: SIGNATURE_PROFILES,
  'require-nonce': SIGNATURE_PROFILES,
  'max-age': SIGNATURE_PROFILES,
  'allow-test-keys': SIGNATURE_PROFILES,
  debug: SIGNATURE_PROFILES,
  hmac: ['rfc9421'],
  'no-directory': ['web-bot-auth'],
};

/** The flag behind each option path, so a ConfigError can name what the user typed. */
const FLAG_OF_OPTION: ReadonlyArray<readonly [RegExp, string]> = [
  [/^attestation\.approov\.secret/, '--approov-secret (or APPROOV_SECRET)'],
  [/^attestation\.approov\.binding/, '--binding'],
  [/^attestation\.\w+\.header/, '--header'],
  [/^attestation\.firebase\.projectNumber/, '--project-number'],
  [/^attestation\.firebase\.appIds/, '--app-id'],
  [/^attestation\.\w+\.(keys|jwks)/, '--jwks'],
  [/^attestation\.jwt\.algorithms/, '--alg'],
  [/^attestation\.jwt\.issuer/, '--issuer'],
  [/^attestation\.jwt\.audience/, '--audience'],
  [/^signatures\.keys(\[\d+\])?\.(secret|keyid|encoding)/, '--hmac'],
  [/^signatures\.keys/, '--keys'],
  [/^signatures\.tag/, '--tag'],
  [/^signatures\.maxAge/, '--max-age'],
];

export function flagOfOption(path: string): string | undefined {
  return FLAG_OF_OPTION.find(([pattern]) => pattern.test(path))?.[1];
}

/** Repeated flag values as one list; split at commas too unless the values may contain them (URIs). */
function list(values: string[] | undefined, flag: string, commas = true): string[] | undefined {
  if (values === undefined) return undefined;
  const items = values.flatMap((v) => (commas ? v.split(',') : [v])).map((v) => v.trim()).filter((v) => v.length > 0);
  if (items.length === 0) throw new UsageError(`${flag} needs a value`);
  return items;
}

function profileOf(value: string | undefined): Profile {
  if (value === undefined) throw new UsageError(`--profile is required (${PROFILES.join(', ')})`);
  if (!(PROFILES as readonly string[]).includes(value)) {
    throw new UsageError(`--profile must be one of ${PROFILES.join(', ')}`);
  }
  return value as Profile;
}

/** `--now` in Unix seconds, as the guard's millisecond clock. */
function clockOf(value: string | undefined): (() => number) | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,12}(\.\d+)?$/.test(value.trim())) throw new UsageError('--now must be a Unix time in seconds, e.g. 1767225600');
  const ms = Number(value) * 1000;
  return () => ms;
}

/** `--jwks`: an https URL (fetched by the guard) or a file holding a JWKS, one JWK or a PEM public key. */
async function jwksOf(value: string): Promise<{ keys: KeyInput } | { jwks: { url: string } }> {
  if (/^https:\/\//i.test(value)) return { jwks: { url: value } };
  let text: string;
  try {
    text = await readFile(value, 'utf8');
  } catch (error) {
    throw new UsageError(`--jwks: cannot read ${value} (${(error as NodeJS.ErrnoException).code ?? 'read error'})`);
  }
  if (text.trimStart().startsWith('-----BEGIN')) return { keys: text };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--jwks: ${value} is not valid JSON (expected a JWKS, a JWK or a PEM public key)`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--jwks: ${value} must hold a JWKS object ({ "keys": [...] }) or one JWK`);
  }
  return { keys: parsed as KeyInput };
}

/** `--keys`: a file holding a JWKS, one JWK or a PEM public key (or certificate), for signature verification. */
async function signatureKeysOf(value: string): Promise<SignatureKeyInput> {
  let text: string;
  try {
    text = await readFile(value, 'utf8');
  } catch (error) {
    throw new UsageError(`--keys: cannot read ${value} (${(error as NodeJS.ErrnoException).code ?? 'read error'})`);
  }
  if (text.trimStart().startsWith('-----BEGIN')) return { key: text };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--keys: ${value} is not valid JSON (expected a JWKS, a JWK or a PEM public key)`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--keys: ${value} must hold a JWKS object ({ "keys": [...] }) or one JWK`);
  }
  return parsed as SignatureKeyInput;
}

/** `--hmac KEYID=BASE64`: a shared secret for `rfc9421` (the secret is never echoed). */
function hmacOf(value: string): SignatureKeyInput {
  const eq = value.indexOf('=');
  const keyid = eq < 0 ? '' : value.slice(0, eq).trim();
  const secret = eq < 0 ? '' : value.slice(eq + 1).trim();
  if (keyid === '' || secret === '') throw new UsageError('--hmac must be KEYID=BASE64 (the shared secret in base64)');
  return { keyid, secret, encoding: 'base64' };
}

/** `--max-age SECONDS`. */
function secondsOf(value: string, flag: string): number {
  if (!/^\d{1,9}$/.test(value.trim())) throw new UsageError(`${flag} must be a whole number of seconds, e.g. 300`);
  return Number(value);
}

/** The `signatures` options of the web-bot-auth and rfc9421 profiles. */
async function signatureOptionsFrom(flags: VerifyFlags, profile: 'web-bot-auth' | 'rfc9421'): Promise<SignatureOptions> {
  const keys: SignatureKeyInput[] = [];
  if (flags.keys !== undefined) keys.push(await signatureKeysOf(flags.keys));
  for (const value of flags.hmac ?? []) keys.push(hmacOf(value));
  if (profile === 'rfc9421' && keys.length === 0) throw new UsageError('--profile rfc9421 needs --keys FILE (or --hmac KEYID=BASE64)');
  if (flags['no-directory'] === true && keys.length === 0) throw new UsageError('--no-directory needs --keys FILE: without a directory, only those keys are trusted');
  const signatures: SignatureOptions = { profile };
  if (keys.length > 0) signatures.keys = keys;
  if (profile === 'web-bot-auth' && flags['no-directory'] === true) signatures.directory = false;
  if (flags.tag !== undefined) signatures.tag = flags.tag;
  if (flags['require-nonce'] === true) signatures.requireNonce = true;
  if (flags['max-age'] !== undefined) signatures.maxAge = secondsOf(flags['max-age'], '--max-age');
  if (flags['allow-test-keys'] === true) signatures.allowTestKeys = true;
  return signatures;
}

/** Turns `verify` flags into guard options. Throws UsageError; the guard itself throws ConfigError. */
export async function guardOptionsFrom(
  flags: VerifyFlags,
  env: Readonly<Record<string, string | undefined>>,
): Promise<GuardOptions> {
  const profile = profileOf(flags.profile);
  for (const [flag, profiles] of Object.entries(PROFILE_FLAGS) as [keyof VerifyFlags, readonly Profile[]][]) {
    if (flags[flag] !== undefined && !profiles.includes(profile)) {
      throw new UsageError(`--${flag} does not apply to --profile ${profile} (only to ${profiles.join(', ')})`);
    }
  }
  const header = flags.header === undefined ? {} : { header: flags.header };
  const options: GuardOptions = {};
  const now = clockOf(flags.now);
  if (now !== undefined) options.now = now;

  switch (profile) {
    case 'approov': {
      const secret = flags['approov-secret'] ?? env.APPROOV_SECRET;
      if (secret === undefined || secret === '') {
        throw new UsageError('--profile approov needs --approov-secret BASE64 (or the APPROOV_SECRET environment variable)');
      }
      const binding = list(flags.binding, '--binding');
      options.attestation = { approov: { secret, ...header, ...(binding ? { binding } : {}) } };
      break;
    }
    case 'firebase': {
      const projectNumber = flags['project-number'];
      if (projectNumber === undefined) throw new UsageError('--profile firebase needs --project-number N');
      const appIds = list(flags['app-id'], '--app-id');
      const keys = flags.jwks === undefined ? {} : await jwksOf(flags.jwks);
      options.attestation = { firebase: { projectNumber, ...header, ...keys, ...(appIds ? { appIds } : {}) } };
      break;
    }
    case 'jwt': {
      const algorithms = list(flags.alg, '--alg');
      if (algorithms === undefined) throw new UsageError('--profile jwt needs --alg LIST (e.g. --alg RS256,ES256)');
      if (flags.jwks === undefined) throw new UsageError('--profile jwt needs --jwks FILE (or an https JWKS URL)');
      const issuer = list(flags.issuer, '--issuer', false);
      const audience = list(flags.audience, '--audience', false);
      options.attestation = {
        jwt: {
          // Checked by the guard against its list of supported algorithms.
          algorithms: algorithms as JwsAlgorithm[],
          ...header,
          ...(await jwksOf(flags.jwks)),
          ...(issuer ? { issuer } : {}),
          ...(audience ? { audience } : {}),
        },
      };
      break;
    }
    case 'web-bot-auth':
    case 'rfc9421':
      options.signatures = await signatureOptionsFrom(flags, profile);
      break;
  }
  return options;
}
