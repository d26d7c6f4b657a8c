import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/program.js';
import type { Decision } from '../../src/index.js';
import { createSigner, generateKeyPair } from '../../src/signer/index.js';
import vectors from '../vectors/rfc9421.json' with { type: 'json' };

/** `bonafide verify` with the web-bot-auth and rfc9421 profiles, run in-process. */

const dir = mkdtempSync(join(tmpdir(), 'bonafide-verify-sig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  decisions: Decision[];
}

async function run(argv: string[], stdin = ''): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdin, stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: {} });
  const decisions = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Decision);
  return { code, stdout, stderr, decisions };
}

// --- RFC 9421 B.2.6 (ed25519) and B.2.5 (hmac-sha256) over the B.2 test-request ---

const B14_PUBLIC = file('b14.jwk', vectors.keys['test-key-ed25519'].publicJwk);
const HMAC_SECRET = vectors.keys['test-shared-secret'].secretBase64;
const vector = (label: string) => vectors.vectors.find((v) => v.label === label)!;

/** The B.2 test-request as `verify` reads it, with the vector's signature headers. */
function testRequest(label: string): string {
  const [, ...lines] = vectors.messages['test-request'].head;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  headers['Signature-Input'] = vector(label).signatureInput;
  headers.Signature = vector(label).signature;
  return JSON.stringify({ method: 'POST', url: 'https://example.com/foo?param=Value&Pet=dog', headers, body: vectors.messages['test-request'].body });
}

const B26 = ['verify', '--profile', 'rfc9421', '--keys', B14_PUBLIC, '--now', '1618884473'];

describe('bonafide verify --profile rfc9421 (RFC 9421 B.2.6)', () => {
  it('allows the ed25519 vector with --allow-test-keys', async () => {
    const r = await run([...B26, '--allow-test-keys'], testRequest('sig-b26'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.decisions).toHaveLength(1);
    expect(r.decisions[0]).toMatchObject({
      outcome: 'allow',
      status: 200,
      reason: 'OK',
      principal: { id: 'service:test-key-ed25519', kind: 'service', verified: true, keyid: 'test-key-ed25519', label: 'sig-b26' },
      checks: [{ check: 'signature', verifier: 'rfc9421', outcome: 'verified', reason: 'OK', label: 'sig-b26', keyid: 'test-key-ed25519' }],
    });
  });

  it('denies it with ERR_SIGNATURE_TEST_KEY without --allow-test-keys', async () => {
    const r = await run(B26, testRequest('sig-b26'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.decisions[0]).toMatchObject({ outcome: 'deny', status: 401, reason: 'ERR_SIGNATURE_TEST_KEY' });
  });

  it('--debug prints the exact B.2.6 signature base to stderr', async () => {
    const r = await run([...B26, '--allow-test-keys', '--debug'], testRequest('sig-b26'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`bonafide verify: request 1, signature "sig-b26" (keyid "test-key-ed25519"), signature base:\n${vector('sig-b26').base}\n`);
    expect(r.stderr).toContain(
      [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@method": POST',
        '"@path": /foo',
        '"@authority": example.com',
        '"content-type": application/json',
        '"content-length": 18',
        '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
      ].join('\n'),
    );
  });

  it('--debug reports what it could not build, and requests without signatures', async () => {
    const noSignature = JSON.stringify({ method: 'GET', url: 'https://example.com/', headers: {} });
    const broken = JSON.parse(testRequest('sig-b26')) as { headers: Record<string, string> };
    delete broken.headers.Date;
    const r = await run([...B26, '--allow-test-keys', '--debug'], `${noSignature}\n${JSON.stringify(broken)}\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'bonafide verify: request 1: no Signature-Input and Signature to check\n' +
        'bonafide verify: request 2, signature "sig-b26": no signature base (component-missing)\n',
    );
    expect(r.decisions.map((d) => d.reason)).toEqual(['ERR_SIGNATURE_MISSING', 'ERR_SIGNATURE_COMPONENT_MISSING']);
  });

  it('--hmac verifies the B.2.5 hmac-sha256 vector (a test secret: --allow-test-keys)', async () => {
    const argv = ['verify', '--profile', 'rfc9421', '--hmac', `test-shared-secret=${HMAC_SECRET}`, '--now', '1618884473'];
    const allowed = await run([...argv, '--allow-test-keys'], testRequest('sig-b25'));
    expect(allowed.code).toBe(0);
    expect(allowed.decisions[0]).toMatchObject({ outcome: 'allow', principal: { keyid: 'test-shared-secret' } });
    expect(allowed.stdout + allowed.stderr).not.toContain(HMAC_SECRET);
    const refused = await run(argv, testRequest('sig-b25'));
    expect(refused.decisions[0]).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_TEST_KEY' });
  });

  it('--tag only considers signatures with that tag', async () => {
    const r = await run([...B26, '--allow-test-keys', '--tag', 'app'], testRequest('sig-b26'));
    expect(r.code).toBe(1);
    expect(r.decisions[0]).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_TAG_INVALID' });
  });

  it('--require-nonce refuses a signature without one', async () => {
    const r = await run([...B26, '--allow-test-keys', '--require-nonce'], testRequest('sig-b26'));
    expect(r.decisions[0]).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_PARAM_MISSING' });
  });

  it('--max-age refuses an old signature', async () => {
    const r = await run(['verify', '--profile', 'rfc9421', '--keys', B14_PUBLIC, '--allow-test-keys', '--now', '1618884773', '--max-age', '60'], testRequest('sig-b26'));
    expect(r.decisions[0]).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_TOO_OLD' });
  });
});

describe('bonafide verify --profile web-bot-auth', () => {
  const agent = generateKeyPair();
  const KEYS = file('agent.jwks.json', { keys: [agent.publicJwk] });
  const NOW_MS = 1_767_225_600_000;
  const signer = createSigner({ key: agent.privateJwk, agent: 'https://bot.example', components: ['@method', '@path'], now: () => NOW_MS });
  const wba = ['verify', '--profile', 'web-bot-auth', '--keys', KEYS, '--no-directory', '--now', String(NOW_MS / 1000)];

  it('allows a request signed by a key in --keys, with its body checked against the Content-Digest', async () => {
    const request = { method: 'POST', url: 'https://api.example.com/items', headers: { 'content-type': 'application/json' }, body: '{"a":1}' };
    const headers = { ...request.headers, ...signer.headers(request) };
    const r = await run(wba, `${JSON.stringify({ ...request, headers })}\n${JSON.stringify({ ...request, headers, body: '{"a":2}' })}\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.decisions.map((d) => [d.outcome, d.reason])).toEqual([
      ['allow', 'OK'],
      ['deny', 'ERR_DIGEST_MISMATCH'],
    ]);
    expect(r.decisions[0]!.principal).toMatchObject({ kind: 'agent', keyid: agent.keyid, verified: true });
  });

  it('allows the protocol-02 Ed25519 vector (dictionary Signature-Agent) with the test key allowed', async () => {
    const headers = {
      'Signature-Agent': 'agent2="https://signature-agent.test"',
      'Signature-Input':
        'sig2=("@authority" "signature-agent";key="agent2");created=1735689600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=4889289600;nonce="n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==";tag="web-bot-auth"',
      Signature: 'sig2=:RdNFx5Bj6au3YgAMQL/RzmUlZE8QZLIaXGRpw985hWnwPfMxT228NMk6ehRS1PSl4e8PhbNZACSanGdhEwYCCg==:',
    };
    const argv = ['verify', '--profile', 'web-bot-auth', '--keys', B14_PUBLIC, '--no-directory', '--allow-test-keys', '--now', '1735689600', '--debug'];
    const r = await run(argv, JSON.stringify({ method: 'GET', url: 'https://example.com/', headers }));
    expect(r.code).toBe(0);
    expect(r.decisions[0]).toMatchObject({ outcome: 'allow', reason: 'OK' });
    expect(r.stderr).toBe(
      'bonafide verify: request 1, signature "sig2" (keyid "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U"), signature base:\n' +
        '"@authority": example.com\n' +
        '"signature-agent";key="agent2": "https://signature-agent.test"\n' +
        `"@signature-params": ${headers['Signature-Input'].slice('sig2='.length)}\n`,
    );
  });

  it('--debug skips signatures of another tag, as the guard does', async () => {
    const other = createSigner({ key: agent.privateJwk, profile: 'rfc9421', tag: 'other', now: () => NOW_MS });
    const request = { method: 'GET', url: 'https://api.example.com/items' };
    const r = await run([...wba, '--debug'], JSON.stringify({ ...request, headers: other.headers(request) }));
    expect(r.stderr).toBe('bonafide verify: request 1, signature "sig1": skipped (tag is not "web-bot-auth")\n');
    expect(r.decisions[0]).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_TAG_INVALID' });
  });
});

describe('usage errors of the signature profiles exit 2', () => {
  const request = JSON.stringify({ method: 'GET', url: 'https://example.com/', headers: {} });

  it.each([
    ['rfc9421 without keys', ['verify', '--profile', 'rfc9421'], '--profile rfc9421 needs --keys FILE (or --hmac KEYID=BASE64)'],
    ['--no-directory without keys', ['verify', '--profile', 'web-bot-auth', '--no-directory'], '--no-directory needs --keys FILE'],
    ['--hmac with web-bot-auth', ['verify', '--profile', 'web-bot-auth', '--hmac', 'k=AAAA'], '--hmac does not apply to --profile web-bot-auth (only to rfc9421)'],
    ['--no-directory with rfc9421', ['verify', '--profile', 'rfc9421', '--keys', 'B14', '--no-directory'], '--no-directory does not apply to --profile rfc9421'],
    ['--keys with an attestation profile', ['verify', '--profile', 'jwt', '--alg', 'ES256', '--keys', 'B14'], '--keys does not apply to --profile jwt'],
    ['--header with a signature profile', ['verify', '--profile', 'web-bot-auth', '--header', 'X-Token'], '--header does not apply to --profile web-bot-auth'],
    ['a malformed --hmac', ['verify', '--profile', 'rfc9421', '--hmac', 'no-equals-sign'], '--hmac must be KEYID=BASE64'],
    ['a bad --max-age', ['verify', '--profile', 'rfc9421', '--keys', 'B14', '--max-age', '5m'], '--max-age must be a whole number of seconds'],
    ['an unreadable --keys file', ['verify', '--profile', 'rfc9421', '--keys', '/nonexistent/keys.json'], '--keys: cannot read /nonexistent/keys.json (ENOENT)'],
  ])('%s', async (_name, argv, message) => {
    const r = await run(argv.map((a) => (a === 'B14' ? B14_PUBLIC : a)), request);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`bonafide verify: ${message}`);
  });

  it('a private key in --keys: the ConfigError names --keys and quotes no key material', async () => {
    const privateFile = file('private.jwk', vectors.keys['test-key-ed25519'].privateJwk);
    const r = await run(['verify', '--profile', 'rfc9421', '--keys', privateFile], request);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bonafide verify: --keys: ');
    expect(r.stderr).toContain('ERR_CONFIG_INVALID_KEY');
    expect(r.stderr).not.toContain(vectors.keys['test-key-ed25519'].privateJwk.d);
  });

  it('a weak --hmac secret: ERR_CONFIG_WEAK_SECRET names --hmac, not the secret', async () => {
    const weak = Buffer.from('sixteen byte key').toString('base64');
    const r = await run(['verify', '--profile', 'rfc9421', '--hmac', `k=${weak}`], request);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--hmac');
    expect(r.stderr).toContain('ERR_CONFIG_WEAK_SECRET');
    expect(r.stderr).not.toContain(weak);
  });

  it('verify --help lists the signature options', async () => {
    const r = await run(['verify', '--help']);
    for (const flag of ['web-bot-auth', 'rfc9421', '--keys', '--no-directory', '--hmac', '--tag', '--require-nonce', '--max-age', '--allow-test-keys', '--debug']) {
      expect(r.stdout).toContain(flag);
    }
  });
});
