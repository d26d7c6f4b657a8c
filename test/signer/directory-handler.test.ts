import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createGuard } from '../../src/index.js';
import { createDirectory, createSigner, generateKeyPair, type KeyDirectory } from '../../src/signer/index.js';
import { directoryKeysSignedIn } from '../../src/signatures/directory-signature.js';
import { importDirectoryKeys } from '../../src/signatures/keys.js';
import { resolveLocalhost, TEST_CA } from '../helpers/directory-server.js';

const NOW_MS = 1_767_225_600_000;
const NOW = NOW_MS / 1000;
const PATH = '/.well-known/http-message-signatures-directory';
const ed = generateKeyPair('ed25519');
const ec = generateKeyPair('ecdsa-p256-sha256');
const rsa = generateKeyPair('rsa-pss-sha512');

/** The keys whose own signature over this response verifies, as a verifier fetching `url` checks them. */
function provenKeys(response: { status: number; headers: Record<string, string>; body: string }, url: string, nowMs = NOW_MS): string[] {
  const { keys } = importDirectoryKeys(JSON.parse(response.body), 16);
  return directoryKeysSignedIn({ status: response.status, headers: response.headers, body: Buffer.from(response.body) }, url, keys, nowMs).map(
    (k) => k.thumbprint!,
  );
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('createDirectory options', () => {
  it.each<[string, unknown, string, string]>([
    ['no keys', {}, 'ERR_CONFIG_INVALID_VALUE', 'keys'],
    ['an empty key list', { keys: [] }, 'ERR_CONFIG_INVALID_VALUE', 'keys'],
    ['a public key', { keys: [ed.privateJwk, ec.publicJwk] }, 'ERR_CONFIG_INVALID_KEY', 'keys[1]'],
    ['the same key twice', { keys: [ed.privateJwk, ed.privateKey] }, 'ERR_CONFIG_INVALID_VALUE', 'keys[1]'],
    ['a zero lifetime', { keys: [ed.privateJwk], expiresIn: 0 }, 'ERR_CONFIG_INVALID_VALUE', 'expiresIn'],
    ['an unknown option', { keys: [ed.privateJwk], maxAge: 5 }, 'ERR_CONFIG_UNKNOWN_OPTION', 'maxAge'],
  ])('%s → %s at %s', (_name, options, code, path) => {
    expect(configError(() => createDirectory(options as never))).toMatchObject({ code, path });
  });
});

describe('the directory document and its signatures', () => {
  const directory = createDirectory({ keys: [ed.privateJwk, ec.privateKey, rsa.privateJwk], now: () => NOW_MS });
  const url = `https://bot.example${PATH}`;

  it('lists the public keys, kid = thumbprint, in the order given', () => {
    expect(directory.path).toBe(PATH);
    expect(directory.jwks.keys.map((k) => k.kid)).toEqual([ed.keyid, ec.keyid, rsa.keyid]);
    expect(directory.jwks.keys[0]).toEqual({ kty: 'OKP', crv: 'Ed25519', kid: ed.keyid, x: ed.publicJwk.x, use: 'sig' });
    expect(Object.keys(directory.jwks.keys[1]!)).toEqual(['kty', 'crv', 'kid', 'x', 'y', 'use']);
    expect(directory.jwks.keys[2]).toMatchObject({ kty: 'RSA', alg: 'PS512', use: 'sig' });
    expect(JSON.stringify(directory.jwks)).not.toMatch(/"(d|p|q|dp|dq|qi)"/);
  });

  it('signs each response once per key (binding, binding2, …) so that every key proves possession', () => {
    const response = directory.respond({ url });
    expect(response.status).toBe(200);
    expect(response.body).toBe(JSON.stringify(directory.jwks));
    expect(response.headers['signature-input']).toMatch(/^binding=\("@authority";req "content-digest"\);created=\d+;expires=\d+;keyid="[^"]+";tag="http-message-signatures-directory", binding2=/);
    expect(response.headers['signature-input']).toContain(', binding3=');
    expect(response.headers.signature).toMatch(/^binding=:[^:]+:, binding2=:[^:]+:, binding3=:[^:]+:$/);
    expect(provenKeys(response, url)).toEqual([ed.keyid, ec.keyid, rsa.keyid]);
  });

  it('binds the signatures to the authority the directory was fetched from', () => {
    const response = directory.respond({ url });
    expect(provenKeys(response, `https://impostor.example${PATH}`)).toEqual([]);
    // Host case and the default port do not change the authority.
    expect(directory.respond({ url: `https://BOT.example:443${PATH}` }).headers.signature).toBe(response.headers.signature);
    const elsewhere = directory.respond({ url: `https://bot.example:8443${PATH}` });
    expect(provenKeys(elsewhere, `https://bot.example:8443${PATH}`)).toHaveLength(3);
  });

  it('caches for no longer than the signatures live, and re-signs as time passes', () => {
    let clock = NOW_MS;
    const dir = createDirectory({ keys: [ed.privateJwk], now: () => clock });
    const first = dir.respond({ url });
    expect(first.headers['cache-control']).toBe('public, max-age=300');
    expect(first.headers['signature-input']).toContain(`created=${NOW};expires=${NOW + 300};`);
    clock += 20_000;
    const reused = dir.respond({ url });
    expect(reused.headers.signature).toBe(first.headers.signature);
    expect(reused.headers['cache-control']).toBe('public, max-age=280');
    clock += 40_000;
    const fresh = dir.respond({ url });
    expect(fresh.headers['signature-input']).toContain(`created=${NOW + 60};`);
    expect(provenKeys(fresh, url, clock)).toEqual([ed.keyid]);
  });

  it('answers 405 to other methods and 400 without an absolute URL', () => {
    expect(directory.respond({ url, method: 'POST' })).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } });
    expect(directory.respond({ url: PATH }).status).toBe(400);
    expect(directory.respond({ url: 'https://user@bot.example/' }).status).toBe(400);
  });
});

describe('serving the directory', () => {
  const directory = createDirectory({ keys: [ed.privateJwk], now: () => NOW_MS });

  it('fetch(): a Response, headers only for HEAD', async () => {
    const response = directory.fetch(new Request(`https://bot.example${PATH}`));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/http-message-signatures-directory+json');
    expect(await response.text()).toBe(JSON.stringify(directory.jwks));
    const head = directory.fetch(new Request(`https://bot.example${PATH}`, { method: 'HEAD' }));
    expect(head.status).toBe(200);
    expect(head.headers.get('signature')).toMatch(/^binding=:/);
    expect(await head.text()).toBe('');
  });

  describe('node(): a Node request handler', () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = createHttpServer(directory.node);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('signs for the Host header authority', async () => {
      const response = await fetch(`http://127.0.0.1:${port}${PATH}`);
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => (headers[name] = value));
      const body = await response.text();
      expect(response.status).toBe(200);
      expect(provenKeys({ status: 200, headers, body }, `https://127.0.0.1:${port}${PATH}`)).toEqual([ed.keyid]);
    });

    it('answers HEAD without a body and POST with 405', async () => {
      const head = await fetch(`http://127.0.0.1:${port}${PATH}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-digest')).toMatch(/^sha-256=:/);
      const post = await fetch(`http://127.0.0.1:${port}${PATH}`, { method: 'POST', body: 'x' });
      expect(post.status).toBe(405);
    });
  });
});

describe('end to end: the guard discovers the signer key from the directory it serves', () => {
  let server: ReturnType<typeof createHttpsServer>;
  let origin: string;
  let live: KeyDirectory;
  beforeAll(async () => {
    const key = readFileSync(new URL('../fixtures/tls/localhost-key.pem', import.meta.url), 'utf8');
    live = createDirectory({ keys: [ed.privateJwk] });
    server = createHttpsServer({ key, cert: TEST_CA }, live.node);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://localhost:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('allows a request signed for that origin and names the agent', async () => {
    const signer = createSigner({ key: ed.privateJwk, agent: origin, components: ['@method', '@path'] });
    const guard = createGuard({
      signatures: {
        // Test-only: trust the self-signed certificate and reach the loopback server.
        directory: { fetch: { ca: TEST_CA, allowPrivateAddresses: true, resolve: resolveLocalhost } },
      },
    });
    const request = { method: 'GET', url: 'https://api.example.com/data' };
    const decision = await guard.check({ ...request, headers: signer.headers(request) });
    expect(decision).toMatchObject({ outcome: 'allow', reason: 'OK', principal: { kind: 'agent', agent: origin, keyid: ed.keyid } });
    await guard.close();
  });
});
