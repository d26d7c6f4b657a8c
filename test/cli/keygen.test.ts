import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/program.js';
import { KEYGEN_USAGE } from '../../src/cli/usage.js';
import { jwkThumbprint } from '../../src/keys/thumbprint.js';
import { createSigner } from '../../src/signer/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bonafide-keygen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdin: '', stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

const SECRET_WARNING = 'bonafide keygen: the output holds a PRIVATE key; keep it secret (a secret store, never version control or logs)\n';

describe('bonafide keygen', () => {
  it('prints the private JWK, its thumbprint keyid, the public JWK and the directory, and warns on stderr', async () => {
    const r = await run(['keygen']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(SECRET_WARNING);
    const out = JSON.parse(r.stdout) as { keyid: string; privateJwk: Record<string, string>; publicJwk: Record<string, string>; directory: { keys: object[] } };
    expect(Object.keys(out)).toEqual(['keyid', 'privateJwk', 'publicJwk', 'directory']);
    expect(out.keyid).toBe(jwkThumbprint(out.publicJwk as never));
    expect(out.privateJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: out.keyid, x: out.publicJwk.x, use: 'sig' });
    expect(out.privateJwk.d).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(out.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', kid: out.keyid, x: out.privateJwk.x, use: 'sig' });
    expect(out.directory).toEqual({ keys: [out.publicJwk] });
    // A fresh key each time.
    expect(JSON.parse((await run(['keygen'])).stdout).keyid).not.toBe(out.keyid);
    // The printed key signs.
    expect(createSigner({ key: out.privateJwk as never, agent: 'https://bot.example' }).keyid).toBe(out.keyid);
  });

  it('--format jwk prints the private JWK alone', async () => {
    const r = await run(['keygen', '--format', 'jwk']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(SECRET_WARNING);
    const jwk = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(jwk)).toEqual(['kty', 'crv', 'kid', 'x', 'd', 'use']);
    expect(jwk.kid).toBe(jwkThumbprint(jwk as never));
  });

  it('--out writes the private JWK with mode 0600 and keeps it off stdout', async () => {
    const file = join(dir, 'bot.jwk');
    const r = await run(['keygen', '--out', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`bonafide keygen: wrote the private key to ${file} (mode 0600); keep it secret\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    const out = JSON.parse(r.stdout) as { keyid: string; publicJwk: object; directory: object };
    expect(Object.keys(out)).toEqual(['keyid', 'publicJwk', 'directory']);
    expect(r.stdout).not.toContain(saved.d);
    expect(saved.kid).toBe(out.keyid);
    expect(createSigner({ key: readFileSync(file, 'utf8'), agent: 'https://bot.example' }).keyid).toBe(out.keyid);
  });

  it('--format directory --out prints the directory document only', async () => {
    const file = join(dir, 'directory-key.jwk');
    const r = await run(['keygen', '--format', 'directory', '--out', file]);
    expect(r.code).toBe(0);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(JSON.parse(r.stdout)).toEqual({ keys: [{ kty: 'OKP', crv: 'Ed25519', kid: saved.kid, x: saved.x, use: 'sig' }] });
    const jwk = await run(['keygen', '--format', 'jwk', '--out', join(dir, 'public-too.jwk')]);
    expect(JSON.parse(jwk.stdout)).not.toHaveProperty('d');
  });

  it('--algorithm makes other key types', async () => {
    const r = await run(['keygen', '--algorithm', 'ecdsa-p256-sha256', '--format', 'jwk']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kty: 'EC', crv: 'P-256', use: 'sig' });
  });

  it.each([
    ['never overwrites a file', ['keygen', '--out', 'EXISTING'], 'bonafide keygen: --out: EXISTING already exists; not overwriting a key\n'],
    ['refuses --format directory without --out', ['keygen', '--format', 'directory'], 'bonafide keygen: --format directory needs --out FILE for the private key, or it would be lost\n'],
    ['refuses an unknown format', ['keygen', '--format', 'pem'], 'bonafide keygen: --format must be one of all, jwk, directory\n'],
    ['refuses hmac', ['keygen', '--algorithm', 'hmac-sha256'], 'bonafide keygen: --algorithm must be one of ed25519, ecdsa-p256-sha256, ecdsa-p384-sha384, rsa-pss-sha512, rsa-v1_5-sha256\n'],
    ['refuses a positional argument', ['keygen', 'extra'], "bonafide keygen: Unexpected argument 'extra'. This command does not take positional arguments\n"],
  ])('%s: exit 2', async (_name, argv, message) => {
    const existing = join(dir, 'existing.jwk');
    writeFileSync(existing, 'keep me');
    const r = await run(argv.map((a) => (a === 'EXISTING' ? existing : a)));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${message.replace('EXISTING', existing)}Run \`bonafide keygen --help\` for usage.\n`);
    expect(readFileSync(existing, 'utf8')).toBe('keep me');
  });

  it('--help prints the usage', async () => {
    expect(await run(['keygen', '--help'])).toEqual({ code: 0, stdout: KEYGEN_USAGE, stderr: '' });
  });
});
