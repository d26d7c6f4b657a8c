import { createHash, createHmac, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../src/cli/program.js';
import type { Decision } from '../../src/index.js';

/** 2026-01-01T00:00:00Z: every test runs on this injected clock (--now). */
const NOW = 1_767_225_600;
const URL = 'https://api.example.com/v1/items?q=1';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  decisions: Decision[];
}

async function run(argv: string[], stdin: CliIo['stdin'] = '', env: Record<string, string> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdin,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
  });
  const decisions = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Decision);
  return { code, stdout, stderr, decisions };
}

const jsonl = (...requests: unknown[]): string => requests.map((r) => JSON.stringify(r)).join('\n') + '\n';
const get = (headers: Record<string, string | string[]>) => ({ method: 'GET', url: URL, headers });

// --- Approov: HS256 with the account secret, `pay` = base64(SHA-256(bound header values)) ---

const approovSecret = randomBytes(32);
const APPROOV_SECRET = approovSecret.toString('base64');
const b64u = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function approovToken(claims: Record<string, unknown>, secret: Uint8Array = approovSecret): string {
  const signingInput = `${b64u({ alg: 'HS256', typ: 'JWT' })}.${b64u({ exp: NOW + 300, ...claims })}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}
const pay = (value: string): string => createHash('sha256').update(value).digest('base64');

const approovArgs = ['verify', '--profile', 'approov', '--approov-secret', APPROOV_SECRET, '--now', String(NOW)];

describe('bonafide verify --profile approov', () => {
  it('allows a genuine token and exits 0', async () => {
    const r = await run(approovArgs, JSON.stringify(get({ 'Approov-Token': approovToken({ did: 'device-1' }) })));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.decisions).toHaveLength(1);
    expect(r.decisions[0]).toMatchObject({
      outcome: 'allow',
      status: 200,
      reason: 'OK',
      principal: { id: 'app:approov', kind: 'app', verified: true, deviceId: 'device-1' },
      checks: [{ check: 'attestation', verifier: 'approov', outcome: 'verified', reason: 'OK' }],
    });
  });

  it('denies a token bound to another Authorization header: exit 1, ERR_BINDING_MISMATCH', async () => {
    const token = approovToken({ pay: pay('Bearer alice') });
    const r = await run(
      [...approovArgs, '--binding', 'Authorization'],
      JSON.stringify(get({ 'approov-token': token, authorization: 'Bearer mallory' })),
    );
    expect(r.code).toBe(1);
    expect(r.decisions).toHaveLength(1);
    expect(r.decisions[0]).toMatchObject({ outcome: 'deny', status: 401, reason: 'ERR_BINDING_MISMATCH' });
  });

  it('reads the secret from APPROOV_SECRET and never prints it', async () => {
    const r = await run(
      ['verify', '--profile', 'approov', '--now', String(NOW)],
      JSON.stringify(get({ 'approov-token': approovToken({}) })),
      { APPROOV_SECRET },
    );
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(APPROOV_SECRET);
  });

  it('decides JSON Lines through one guard, one line each, and exits 1 when any is denied', async () => {
    const token = approovToken({ pay: pay('Bearer alice') });
    const input = jsonl(
      // Repeated header lines arrive as an array and are joined with ", " before hashing.
      get({ 'approov-token': token, authorization: ['Bearer alice'] }),
      get({ 'approov-token': token, authorization: 'Bearer bob' }),
    );
    const r = await run([...approovArgs, '--binding', 'Authorization'], `\n${input}\n\n`);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(2);
    expect(r.decisions.map((d) => [d.outcome, d.reason])).toEqual([
      ['allow', 'OK'],
      ['deny', 'ERR_BINDING_MISMATCH'],
    ]);
    // Same guard: the second request hit the verified-token cache of the first.
    expect(r.decisions[1]!.checks[0]!.cached).toBe(true);
  });

  it('joins an array of header lines with ", "', async () => {
    const token = approovToken({ pay: pay('a, b') });
    const r = await run([...approovArgs, '--binding', 'X-Bound'], JSON.stringify(get({ 'approov-token': token, 'x-bound': ['a', 'b'] })));
    expect(r.decisions[0]).toMatchObject({ outcome: 'allow', reason: 'OK' });
  });

  it('answers a valid JSON line that is not a request with ERR_REQUEST_INVALID', async () => {
    const r = await run(approovArgs, jsonl(get({ 'approov-token': approovToken({}) }), 42, { url: 'not a url' }));
    expect(r.code).toBe(1);
    expect(r.decisions.map((d) => [d.outcome, d.status, d.reason])).toEqual([
      ['allow', 200, 'OK'],
      ['deny', 400, 'ERR_REQUEST_INVALID'],
      ['deny', 400, 'ERR_REQUEST_INVALID'],
    ]);
  });

  it('reads a pretty-printed request as one request, and from a stream of bytes', async () => {
    const body = JSON.stringify(get({ 'approov-token': approovToken({}) }), null, 2);
    const r = await run(approovArgs, Readable.from([Buffer.from(body.slice(0, 10)), Buffer.from(body.slice(10))]));
    expect(r.code).toBe(0);
    expect(r.decisions).toHaveLength(1);
    expect(r.decisions[0]!.reason).toBe('OK');
  });

  it('denies a token without a binding claim when binding is configured', async () => {
    const r = await run([...approovArgs, '--binding', 'Authorization'], JSON.stringify(get({ 'approov-token': approovToken({}), authorization: 'x' })));
    expect(r.decisions[0]).toMatchObject({ outcome: 'deny', reason: 'ERR_BINDING_CLAIM_MISSING' });
  });

  it('denies a token forged with another secret and a request without a token', async () => {
    const forged = approovToken({}, randomBytes(32));
    const r = await run(approovArgs, jsonl(get({ 'approov-token': forged }), get({})));
    expect(r.code).toBe(1);
    expect(r.decisions.map((d) => d.reason)).toEqual(['ERR_TOKEN_SIGNATURE_INVALID', 'ERR_TOKEN_MISSING']);
  });

  it('reads the token from --header', async () => {
    const r = await run([...approovArgs, '--header', 'X-App-Token'], JSON.stringify(get({ 'x-app-token': approovToken({}) })));
    expect(r.code).toBe(0);
  });
});

describe('bonafide verify --now', () => {
  it('makes a token expired when the injected clock is past exp', async () => {
    const input = JSON.stringify(get({ 'approov-token': approovToken({ exp: NOW + 60 }) }));
    const before = await run(['verify', '--profile', 'approov', '--approov-secret', APPROOV_SECRET, '--now', String(NOW + 59)], input);
    expect(before.code).toBe(0);
    const after = await run(['verify', '--profile', 'approov', '--approov-secret', APPROOV_SECRET, '--now', String(NOW + 61)], input);
    expect(after.code).toBe(1);
    expect(after.decisions[0]).toMatchObject({
      outcome: 'deny',
      status: 401,
      reason: 'ERR_TOKEN_EXPIRED',
      checks: [{ verifier: 'approov', outcome: 'invalid', reason: 'ERR_TOKEN_EXPIRED', claim: 'exp' }],
    });
  });
});

// --- Keys on disk for the firebase and jwt profiles ---

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bonafide-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeJwks(name: string, publicKey: KeyObject, kid: string, alg: string): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' }] }));
  return path;
}

describe('bonafide verify --profile firebase', () => {
  const PROJECT = '123456789012';
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let jwks: string;
  beforeAll(() => {
    jwks = writeJwks('firebase.jwks.json', rsa.publicKey, 'fb-key-1', 'RS256');
  });

  const appCheckToken = (claims: { project?: string; sub?: string; exp?: number } = {}) => {
    const project = claims.project ?? PROJECT;
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'fb-key-1', typ: 'JWT' })
      .setIssuer(`https://firebaseappcheck.googleapis.com/${project}`)
      .setAudience([`projects/${project}`, `projects/my-project`])
      .setSubject(claims.sub ?? '1:123456789012:android:abc123')
      .setIssuedAt(NOW - 10)
      .setExpirationTime(claims.exp ?? NOW + 3600)
      .sign(rsa.privateKey);
  };
  const args = () => ['verify', '--profile', 'firebase', '--project-number', PROJECT, '--jwks', jwks, '--now', String(NOW)];

  it('allows a token of the project signed by a key in the --jwks file', async () => {
    const r = await run(args(), JSON.stringify(get({ 'X-Firebase-AppCheck': await appCheckToken() })));
    expect(r.code).toBe(0);
    expect(r.decisions[0]).toMatchObject({
      outcome: 'allow',
      reason: 'OK',
      principal: { id: 'app:1:123456789012:android:abc123', kind: 'app', via: 'firebase', appId: '1:123456789012:android:abc123' },
    });
  });

  it('denies a token of another project, and an app not in --app-id', async () => {
    const input = jsonl(
      get({ 'x-firebase-appcheck': await appCheckToken({ project: '999' }) }),
      get({ 'x-firebase-appcheck': await appCheckToken() }),
    );
    const r = await run([...args(), '--app-id', '1:123456789012:ios:other'], input);
    expect(r.code).toBe(1);
    expect(r.decisions.map((d) => [d.status, d.reason])).toEqual([
      [401, 'ERR_TOKEN_ISSUER_INVALID'],
      [403, 'ERR_TOKEN_APP_NOT_ALLOWED'],
    ]);
  });
});

describe('bonafide verify --profile jwt', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let jwks: string;
  beforeAll(() => {
    jwks = writeJwks('service.jwks.json', ec.publicKey, 'svc-1', 'ES256');
  });
  const serviceToken = (issuer: string, audience: string) =>
    new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg: 'ES256', kid: 'svc-1' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject('billing-worker')
      .setExpirationTime(NOW + 300)
      .sign(ec.privateKey);
  const args = () => [
    'verify', '--profile', 'jwt', '--alg', 'ES256', '--jwks', jwks,
    '--issuer', 'https://auth.example.com', '--audience', 'https://api.example.com', '--now', String(NOW),
  ];

  it('allows an ES256 bearer token with the right issuer and audience', async () => {
    const token = await serviceToken('https://auth.example.com', 'https://api.example.com');
    const r = await run(args(), JSON.stringify(get({ Authorization: `Bearer ${token}` })));
    expect(r.code).toBe(0);
    expect(r.decisions[0]).toMatchObject({
      outcome: 'allow',
      reason: 'OK',
      principal: { id: 'service:billing-worker', kind: 'service', via: 'jwt', issuer: 'https://auth.example.com' },
    });
  });

  it('denies a wrong issuer and a wrong audience', async () => {
    const input = jsonl(
      get({ authorization: `Bearer ${await serviceToken('https://evil.example.com', 'https://api.example.com')}` }),
      get({ authorization: `Bearer ${await serviceToken('https://auth.example.com', 'https://other.example.com')}` }),
    );
    const r = await run(args(), input);
    expect(r.code).toBe(1);
    expect(r.decisions.map((d) => d.reason)).toEqual(['ERR_TOKEN_ISSUER_INVALID', 'ERR_TOKEN_AUDIENCE_INVALID']);
  });

  it('refuses an algorithm that is not in --alg', async () => {
    const r = await run([...args().slice(0, 4), 'RS256', ...args().slice(5)], '{}');
    // The JWKS holds only an EC key, which cannot verify RS256: a configuration error.
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--alg');
    expect(r.stderr).toContain('ERR_CONFIG_INVALID_KEY');
  });
});

describe('usage errors exit 2', () => {
  const request = JSON.stringify(get({}));

  it.each([
    ['missing --profile', ['verify', '--approov-secret', APPROOV_SECRET], '--profile is required'],
    ['an unknown --profile', ['verify', '--profile', 'saml'], '--profile must be one of approov, firebase, jwt'],
    ['an unknown option', ['verify', '--profile', 'approov', '--approov-secret', APPROOV_SECRET, '--frobnicate'], "Unknown option '--frobnicate'"],
    ['a missing option value', ['verify', '--profile'], "argument missing"],
    ['a missing approov secret', ['verify', '--profile', 'approov'], '--approov-secret'],
    ['a missing project number', ['verify', '--profile', 'firebase'], '--project-number'],
    ['jwt without --alg', ['verify', '--profile', 'jwt'], '--alg'],
    ['an option of another profile', ['verify', '--profile', 'approov', '--approov-secret', APPROOV_SECRET, '--alg', 'RS256'], '--alg does not apply to --profile approov'],
    ['a bad --now', [...approovArgs.slice(0, 5), '--now', 'yesterday'], '--now must be a Unix time'],
    ['two files', [...approovArgs, 'a.json', 'b.json'], 'at most one FILE'],
    ['an unknown command', ['frobnicate'], 'unknown command frobnicate'],
  ])('%s', async (_title, argv, message) => {
    const r = await run(argv, request);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('bad JSON: names the line, not its content, and decides nothing', async () => {
    const token = approovToken({});
    const r = await run(approovArgs, `${JSON.stringify(get({ 'approov-token': token }))}\n{"method": "GET", "headers": {"approov-token": "${token}"\n`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('stdin, line 2: not valid JSON');
    expect(r.stderr).not.toContain(token);
  });

  it('empty input', async () => {
    const r = await run(approovArgs, '\n \n');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no request found');
  });

  it('an unreadable file', async () => {
    const r = await run([...approovArgs, join(tmpdir(), 'bonafide-does-not-exist.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read .*bonafide-does-not-exist\.jsonl \(ENOENT\)/);
  });

  it('an unreadable or invalid --jwks file', async () => {
    const missing = await run(['verify', '--profile', 'jwt', '--alg', 'ES256', '--jwks', join(dir, 'nope.json')], request);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--jwks: cannot read');
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ "keys": [');
    const broken = await run(['verify', '--profile', 'jwt', '--alg', 'ES256', '--jwks', path], request);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('is not valid JSON');
  });

  it('a weak secret: the ConfigError message, with its code and flag, without the secret or a stack', async () => {
    const weak = randomBytes(16).toString('base64');
    const r = await run(['verify', '--profile', 'approov', '--approov-secret', weak], request);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ERR_CONFIG_WEAK_SECRET');
    expect(r.stderr).toContain('--approov-secret');
    expect(r.stderr).not.toContain(weak);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('help', () => {
  it('bonafide --help prints the commands and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: bonafide <command>');
    expect(r.stdout).toContain('verify [FILE]');
  });

  it('bonafide verify --help prints every option and exits 0', async () => {
    const r = await run(['verify', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--profile', '--approov-secret', '--jwks', '--binding', '--project-number', '--header', '--alg', '--issuer', '--audience', '--now']) {
      expect(r.stdout).toContain(flag);
    }
  });

  it('bonafide --version prints the package version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
  });

  it('bonafide without a command prints usage to stderr and exits 2', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: bonafide <command>');
  });
});
