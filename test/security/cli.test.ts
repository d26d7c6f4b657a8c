import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/program.js';
import type { Decision } from '../../src/index.js';
import { ed25519Pair, sign } from '../helpers/http-sig.js';
import { approovSecret, hs256, payHash } from '../helpers/jws.js';
import { Secrets, type Emitted } from './capture.js';

/**
 * `bonafide verify` never echoes a secret: not the Approov secret or an HMAC secret it was given (by
 * flag or environment), not the tokens, signatures or bound header values of the requests it checks,
 * not private key material of a key file given by mistake — on success, on denial, and in every
 * usage or configuration error. Run in-process, as test/cli does.
 */

const NOW = 1_767_225_600;
const QUERY_TOKEN = randomBytes(18).toString('base64url');
const URL = `https://api.example.com/v1/items?access_token=${QUERY_TOKEN}`;
const dir = mkdtempSync(join(tmpdir(), 'bonafide-security-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

interface Run {
  code: number;
  out: Emitted[];
  decisions: Decision[];
  stderr: string;
}

async function run(argv: string[], stdin = '', env: Record<string, string> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdin, stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env });
  const decisions = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Decision);
  return { code, decisions, stderr, out: [{ where: 'stdout', text: stdout }, { where: 'stderr', text: stderr }] };
}

const jsonl = (...requests: unknown[]): string => requests.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('bonafide verify --profile approov echoes no secret', () => {
  const secret = approovSecret();
  const session = `Bearer ${randomBytes(24).toString('base64url')}`;
  const other = `Bearer ${randomBytes(24).toString('base64url')}`;
  const tokens = {
    good: hs256({ exp: NOW + 300, did: 'device-1', pay: payHash(session) }, secret.bytes),
    forged: hs256({ exp: NOW + 300, pay: payHash(session) }, randomBytes(32)),
    expired: hs256({ exp: NOW - 300, pay: payHash(session) }, secret.bytes),
  };
  const secrets = new Secrets()
    .bytes('Approov secret', secret.bytes)
    .text('bound Authorization', session)
    .text('other Authorization', other)
    .text('query access_token', QUERY_TOKEN);
  for (const [name, token] of Object.entries(tokens)) secrets.token(`token ${name}`, token);
  const input = jsonl(
    { method: 'GET', url: URL, headers: { 'Approov-Token': tokens.good, Authorization: session } },
    { method: 'GET', url: URL, headers: { 'Approov-Token': tokens.good, Authorization: other } },
    { method: 'GET', url: URL, headers: { 'Approov-Token': tokens.forged, Authorization: session } },
    { method: 'GET', url: URL, headers: { 'Approov-Token': tokens.expired, Authorization: session } },
  );
  const expected = ['OK', 'ERR_BINDING_MISMATCH', 'ERR_TOKEN_SIGNATURE_INVALID', 'ERR_TOKEN_EXPIRED'];

  it('with --approov-secret', async () => {
    const r = await run(['verify', '--profile', 'approov', '--approov-secret', secret.base64, '--binding', 'Authorization', '--now', String(NOW)], input);
    expect([r.code, r.decisions.map((d) => d.reason)]).toEqual([1, expected]);
    secrets.expectNone(r.out);
  });

  it('with APPROOV_SECRET', async () => {
    const r = await run(['verify', '--profile', 'approov', '--binding', 'Authorization', '--now', String(NOW)], input, { APPROOV_SECRET: secret.base64 });
    expect([r.code, r.decisions.map((d) => d.reason)]).toEqual([1, expected]);
    secrets.expectNone(r.out);
  });

  it.each([
    ['too short (flag)', ['--approov-secret', randomBytes(20).toString('base64')], {}, 'ERR_CONFIG_WEAK_SECRET'],
    ['too short (environment)', [], { APPROOV_SECRET: randomBytes(20).toString('base64') }, 'ERR_CONFIG_WEAK_SECRET'],
    ['not base64 (flag)', ['--approov-secret', `!!${randomBytes(32).toString('hex')}`], {}, 'ERR_CONFIG_INVALID_VALUE'],
    ['not base64 (environment)', [], { APPROOV_SECRET: `${randomBytes(32).toString('hex')}%%` }, 'ERR_CONFIG_INVALID_VALUE'],
  ] as const)('a bad secret, %s: exit 2, the problem named, the value not echoed', async (_name, flags, env, code) => {
    const r = await run(['verify', '--profile', 'approov', ...flags, '--now', String(NOW)], input, env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--approov-secret (or APPROOV_SECRET): \`attestation.approov.secret\``);
    expect(r.stderr).toContain(code);
    const given = flags[1] ?? (env as { APPROOV_SECRET?: string }).APPROOV_SECRET!;
    new Secrets().text('the bad secret', given).expectNone(r.out);
  });

  it('a mistyped flag or a flag for another profile names the flag, not its value', async () => {
    const typo = await run(['verify', '--profile', 'approov', `--aproov-secret=${secret.base64}`], input);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("Unknown option '--aproov-secret'");
    const elsewhere = await run(['verify', '--profile', 'jwt', '--approov-secret', secret.base64, '--alg', 'RS256'], input);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain('--approov-secret does not apply to --profile jwt');
    secrets.expectNone([...typo.out, ...elsewhere.out]);
  });
});

describe('bonafide verify --profile rfc9421 --hmac echoes no secret', () => {
  const hmacSecret = randomBytes(32);
  const attacker = randomBytes(32);
  const secrets = new Secrets().bytes('HMAC secret', hmacSecret).bytes('attacker secret', attacker);

  function signed(secret: Buffer, nonce: string) {
    const out = sign(
      { method: 'GET', url: URL, headers: { host: 'api.example.com' } },
      { key: createSecretKey(secret), algorithm: 'hmac-sha256', keyid: 'partner', components: ['@method', '@target-uri'], params: { created: NOW, expires: NOW + 60, keyid: 'partner', nonce } },
    );
    secrets.signatureHeader('Signature', out.headers.signature!);
    return out;
  }

  it('allows, refuses a forgery and a replay, with and without --debug', async () => {
    for (const debug of [[], ['--debug']]) {
      const good = signed(hmacSecret, randomBytes(12).toString('base64url'));
      const input = jsonl(good, good, signed(attacker, randomBytes(12).toString('base64url')));
      const r = await run(['verify', '--profile', 'rfc9421', '--hmac', `partner=${hmacSecret.toString('base64')}`, '--now', String(NOW), ...debug], input);
      expect([r.code, r.decisions.map((d) => d.reason)]).toEqual([1, ['OK', 'ERR_SIGNATURE_REPLAYED', 'ERR_SIGNATURE_INVALID']]);
      secrets.expectNone(r.out);
      if (debug.length > 0) {
        // --debug prints each signature base: the covered values as sent (here the target URI with its
        // query), but never the signature or the secret, checked above.
        expect(r.stderr).toContain('signature base:');
      } else {
        new Secrets().text('query access_token', QUERY_TOKEN).expectNone(r.out);
      }
    }
  });

  it.each([
    ['too short', randomBytes(20).toString('base64'), 'ERR_CONFIG_WEAK_SECRET'],
    ['not base64', `${randomBytes(32).toString('hex')}!!`, 'ERR_CONFIG_INVALID_VALUE'],
  ] as const)('a bad --hmac secret, %s: exit 2, not echoed', async (_name, value, code) => {
    const r = await run(['verify', '--profile', 'rfc9421', '--hmac', `partner=${value}`], '');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--hmac: \`signatures.keys[0].secret\``);
    expect(r.stderr).toContain(code);
    new Secrets().text('the bad secret', value).expectNone(r.out);
  });
});

describe('bonafide verify with a private key file given by mistake echoes no key material', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = ed25519Pair();
  const secrets = new Secrets().privateKey('RSA private key', rsa.privateKey).privateKey('Ed25519 private key', ed.privateKey);
  const rsaJwk = file('rsa-private.jwk', rsa.privateKey.export({ format: 'jwk' }));
  const rsaPem = file('rsa-private.pem', rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const edJwks = file('ed-private.jwks', { keys: [ed.privateKey.export({ format: 'jwk' })] });
  const edPem = file('ed-private.pem', ed.privateKey.export({ format: 'pem', type: 'pkcs8' }));

  it.each([
    ['jwt --jwks <private JWK>', ['--profile', 'jwt', '--alg', 'RS256', '--jwks', rsaJwk]],
    ['jwt --jwks <private PEM>', ['--profile', 'jwt', '--alg', 'RS256', '--jwks', rsaPem]],
    ['firebase --jwks <private JWK>', ['--profile', 'firebase', '--project-number', '123', '--jwks', rsaJwk]],
    ['web-bot-auth --keys <private JWKS>', ['--profile', 'web-bot-auth', '--keys', edJwks]],
    ['rfc9421 --keys <private PEM>', ['--profile', 'rfc9421', '--keys', edPem]],
    ['rfc9421 --keys <private RSA PEM>', ['--profile', 'rfc9421', '--keys', rsaPem]],
  ])('%s: exit 2, no key material', async (_name, flags) => {
    const r = await run(['verify', ...flags], '');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ERR_CONFIG_INVALID_KEY/);
    secrets.expectNone(r.out);
  });
});
