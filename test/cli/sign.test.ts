import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/program.js';
import { SIGN_USAGE } from '../../src/cli/usage.js';
import { createGuard, type Decision } from '../../src/index.js';
import vectors from '../vectors/rfc9421.json' with { type: 'json' };

const dir = mkdtempSync(join(tmpdir(), 'bonafide-sign-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The RFC 9421 B.1.4 Ed25519 test key: deterministic signatures, so outputs are compared exactly. */
const TEST_KEY_FILE = join(dir, 'test-key.jwk');
writeFileSync(TEST_KEY_FILE, JSON.stringify(vectors.keys['test-key-ed25519'].privateJwk));
const TEST_PUBLIC_FILE = join(dir, 'test-key.pub.jwk');
writeFileSync(TEST_PUBLIC_FILE, JSON.stringify(vectors.keys['test-key-ed25519'].publicJwk));
const PRIVATE_D = vectors.keys['test-key-ed25519'].privateJwk.d;
const NOW = '1767225600';
const DETERMINISTIC = ['--key', TEST_KEY_FILE, '--now', NOW, '--no-nonce'];

async function run(argv: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdin, stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

/** `Name: value` lines as a header record. */
function headersOf(stdout: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of stdout.trimEnd().split('\n')) {
    const colon = line.indexOf(': ');
    headers[line.slice(0, colon)] = line.slice(colon + 2);
  }
  return headers;
}

describe('bonafide sign', () => {
  it('prints the headers to add, one per line (exact, Ed25519 test key)', async () => {
    const r = await run([
      'sign',
      ...DETERMINISTIC,
      '--agent',
      'https://signature-agent.test',
      '--component',
      '@method',
      '--component',
      '@path',
      '--data',
      '{"hello": "world"}',
      '--header',
      'Content-Type: application/json',
      'https://example.com/foo?param=Value',
    ]);
    expect(r).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'Signature-Agent: sig1="https://signature-agent.test"',
        'Content-Digest: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
        'Signature-Input: sig1=("@authority" "@method" "@path" "signature-agent";key="sig1" "content-digest");created=1767225600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=1767225900;tag="web-bot-auth"',
        'Signature: sig1=:Q7dNC+Z6wnyd2E86GOXkQkQtO3GrXtskngUJ/JJZBnYAHGH60MmwZ6VTQDDOEtFLyx5D0RWk6L0xLUFqLPwXBg==:',
        '',
      ].join('\n'),
    });
  });

  it('--curl prints a ready command, single-quote-escaped, with the URL as signed', async () => {
    const r = await run([
      'sign',
      ...DETERMINISTIC,
      '--agent',
      'https://signature-agent.test',
      '--label',
      'bot',
      '--curl',
      '--method',
      'DELETE',
      '--header',
      "X-Note: it's",
      "https://example.com/items/1?x='y'#top",
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      "curl -X 'DELETE' -H 'X-Note: it'\\''s' -H 'Signature-Agent: bot=\"https://signature-agent.test\"' " +
        '-H \'Signature-Input: bot=("@authority" "signature-agent";key="bot");created=1767225600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=1767225900;tag="web-bot-auth"\' ' +
        "-H 'Signature: bot=:ciFtWA1G4Any8ks/GPVDtRRSUJf94u0GgAwsID7+qh0Z3Eih8MDBznQRqDjB9MU6iQOfmg7lRm9ipJ2XXFK7DA==:' " +
        "'https://example.com/items/1?x=%27y%27'\n",
    );
  });

  it('--curl sends --data @FILE as a file, and POST by default', async () => {
    const body = join(dir, 'body.json');
    writeFileSync(body, '{"n":1}');
    const r = await run(['sign', ...DETERMINISTIC, '--agent', 'https://bot.example', '--data', `@${body}`, '--curl', 'https://api.example.com/items']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^curl -X 'POST' -H 'Signature-Agent: sig1="https:\/\/bot.example"' -H 'Content-Digest: sha-256=:[^']+:' -H 'Signature-Input: [^']+' -H 'Signature: [^']+' --data-binary '@[^']+body.json' 'https:\/\/api.example.com\/items'\n$/);
  });

  it('signs what the guard then allows, and never prints the private key', async () => {
    const keyFile = join(dir, 'agent.jwk');
    expect((await run(['keygen', '--out', keyFile])).code).toBe(0);
    const url = 'https://api.example.com/v1/items?page=2';
    const body = '{"name":"widget"}';
    const r = await run(['sign', '--key', keyFile, '--agent', 'https://bot.example', '--component', '@method', '--component', '@path', '--component', '@query', '--data', body, url]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const privateJwk = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, string>;
    expect(r.stdout).not.toContain(privateJwk.d);
    const headers = headersOf(r.stdout);
    expect(Object.keys(headers)).toEqual(['Signature-Agent', 'Content-Digest', 'Signature-Input', 'Signature']);

    const { d: _d, ...publicJwk } = privateJwk;
    const guard = createGuard({ signatures: { profile: 'web-bot-auth', keys: [publicJwk as never], directory: false } });
    const bytes = Buffer.from(body);
    const request = { method: 'POST', url, headers: { ...headers, 'content-length': String(bytes.length) }, readBody: async () => bytes };
    const decision = await guard.check(request);
    expect(decision).toMatchObject({ outcome: 'allow', reason: 'OK', principal: { keyid: privateJwk.kid } });
    expect(await guard.check({ ...request, method: 'PUT' })).toMatchObject({ outcome: 'deny' });
    await guard.close();
  });

  it('signs rfc9421 requests without an agent, and sign output passes bonafide verify', async () => {
    const url = 'https://example.com/foo?param=Value';
    const r = await run(['sign', ...DETERMINISTIC, '--profile', 'rfc9421', url]);
    expect(r.code).toBe(0);
    const headers = headersOf(r.stdout);
    expect(headers['Signature-Input']).toBe(
      'sig1=("@method" "@authority" "@path" "@query");created=1767225600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=1767225900',
    );
    const verified = await run(
      ['verify', '--profile', 'rfc9421', '--keys', TEST_PUBLIC_FILE, '--allow-test-keys', '--now', NOW],
      JSON.stringify({ method: 'GET', url, headers }),
    );
    expect(verified.code).toBe(0);
    expect((JSON.parse(verified.stdout) as Decision).reason).toBe('OK');
  });

  it.each([
    ['no --key', ['sign', '--agent', 'https://bot.example', 'https://a.example/'], '--key FILE is required (a private JWK or PEM; `bonafide keygen --out FILE` makes one)'],
    ['an unreadable key file', ['sign', '--key', '/nonexistent/bonafide.jwk', 'https://a.example/'], '--key: cannot read /nonexistent/bonafide.jwk (ENOENT)'],
    ['no URL', ['sign', '--key', 'KEY', '--agent', 'https://bot.example'], 'expected exactly one URL'],
    ['a bad --header', ['sign', '--key', 'KEY', '--header', 'no colon', 'https://a.example/'], "--header must be 'Name: value'"],
    ['a bad --expires-in', ['sign', '--key', 'KEY', '--expires-in', '5m', 'https://a.example/'], '--expires-in must be a whole number of seconds, e.g. 300'],
    ['an unknown option', ['sign', '--key', 'KEY', '--frobnicate', 'https://a.example/'], "Unknown option '--frobnicate'"],
  ])('%s: exit 2 with usage hint', async (_name, argv, message) => {
    const r = await run(argv.map((a) => (a === 'KEY' ? TEST_KEY_FILE : a)));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`bonafide sign: ${message}`);
    expect(r.stderr.endsWith('Run `bonafide sign --help` for usage.\n')).toBe(true);
  });

  it('names the flag of a configuration error, without key material', async () => {
    const publicKey = join(dir, 'public.jwk');
    writeFileSync(publicKey, JSON.stringify(vectors.keys['test-key-ed25519'].publicJwk));
    const r = await run(['sign', '--key', publicKey, '--agent', 'https://bot.example', 'https://a.example/']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bonafide sign: --key: `key` is a public JWK (no "d"); the signer needs the private key');
    expect(r.stderr).toContain('ERR_CONFIG_INVALID_KEY');
    const noAgent = await run(['sign', '--key', TEST_KEY_FILE, 'https://a.example/']);
    expect(noAgent.stderr).toContain('bonafide sign: --agent: `agent` is required');
    expect(noAgent.stderr).not.toContain(PRIVATE_D);
    const http = await run(['sign', '--key', TEST_KEY_FILE, '--agent', 'http://bot.example', 'https://a.example/']);
    expect(http.stderr).toContain('--agent: `agent` must use https');
  });

  it('reports a request it cannot sign with the signing error code', async () => {
    const r = await run(['sign', '--key', TEST_KEY_FILE, '--agent', 'https://bot.example', '--component', 'content-type', 'https://a.example/']);
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: 'bonafide sign: cannot cover "content-type": the request has no such component (ERR_SIGN_COMPONENT_MISSING)\n',
    });
    const relative = await run(['sign', '--key', TEST_KEY_FILE, '--agent', 'https://bot.example', '/relative']);
    expect(relative.stderr).toBe('bonafide sign: the request url must be an absolute http(s) URL (ERR_SIGN_INVALID_REQUEST)\n');
  });

  it('--help prints the usage', async () => {
    expect(await run(['sign', '--help'])).toEqual({ code: 0, stdout: SIGN_USAGE, stderr: '' });
  });
});
