import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, type GuardOptions } from '../../src/index.js';
import { ed25519Pair, sign, type TestRequest } from '../helpers/http-sig.js';
import { resolveLocalhost, startDirectoryServer, TEST_CA, type DirectoryServer } from '../helpers/directory-server.js';

/** Key discovery through the guard, against a real local HTTPS directory server. */

const agent = ed25519Pair();
const NOW = Math.floor(Date.now() / 1000);
let server: DirectoryServer;

beforeAll(async () => {
  server = await startDirectoryServer({ status: 200, headers: { 'cache-control': 'max-age=600' }, body: { keys: [agent.publicJwk] } });
});
afterAll(() => server.close());

function options(directory: Record<string, unknown> = {}): GuardOptions {
  return {
    signatures: {
      // Test-only: trust the self-signed certificate and reach the loopback server.
      directory: { fetch: { ca: TEST_CA, allowPrivateAddresses: true, resolve: resolveLocalhost }, ...directory },
    },
  };
}

function signedBy(agentUrl: string, extra: { type?: string } = {}): TestRequest {
  return sign(
    { method: 'GET', url: 'https://api.example.com/data', headers: { host: 'api.example.com' } },
    {
      key: agent.privateKey,
      algorithm: 'ed25519',
      keyid: agent.thumbprint,
      components: ['@authority', '"signature-agent";key="sig1"'],
      params: { created: NOW, expires: NOW + 300, keyid: agent.thumbprint, tag: 'web-bot-auth' },
      agent: { url: agentUrl, ...extra },
    },
  );
}

describe('key discovery through the guard', () => {
  it('finds the key in the agent directory and names the principal by origin and thumbprint', async () => {
    const guard = createGuard(options());
    const before = server.count();
    const d = await guard.check(signedBy(server.origin));
    expect(d.reason).toBe('OK');
    expect(d.principal).toMatchObject({ id: `agent:${server.origin}#${agent.thumbprint}`, kind: 'agent', agent: server.origin, keyid: agent.thumbprint });
    // Cached: a second request is decided without a fetch, synchronously.
    const again = guard.decide!(signedBy(server.origin));
    expect(again).not.toBeInstanceOf(Promise);
    expect((again as { reason: string }).reason).toBe('OK');
    expect(server.count() - before).toBe(1);
    await guard.close();
  });

  it('names a configured agent', async () => {
    const guard = createGuard({ ...options(), signatures: { ...options().signatures, agents: { [server.origin]: 'test-crawler' } } });
    expect((await guard.check(signedBy(server.origin))).principal.id).toBe('test-crawler');
    await guard.close();
  });

  it('fetches a type=jwks_uri agent from its URL', async () => {
    const guard = createGuard(options());
    const url = `${server.origin}/jwks.json`;
    const d = await guard.check(signedBy(url, { type: 'jwks_uri' }));
    expect(d.reason).toBe('OK');
    expect(d.principal.agent).toBe(url);
    expect(server.requests.some((r) => r.path === '/jwks.json')).toBe(true);
    await guard.close();
  });

  it('answers 503 ERR_DIRECTORY_UNAVAILABLE when the directory cannot be fetched, or lets it through with failOpen', async () => {
    const down = 'https://localhost:1';
    const guard = createGuard(options());
    const d = await guard.check(signedBy(down));
    expect(d).toMatchObject({ outcome: 'deny', status: 503, reason: 'ERR_DIRECTORY_UNAVAILABLE' });
    expect(d.checks[0]).toMatchObject({ outcome: 'unverified', agent: down });
    const open = createGuard({ ...options(), failOpen: { signature: true } });
    expect(await open.check(signedBy(down))).toMatchObject({ outcome: 'allow', failedOpen: true, reason: 'ERR_DIRECTORY_UNAVAILABLE' });
    await guard.close();
    await open.close();
  });

  it('refuses a private address without the test-only option, and an http agent', async () => {
    const guard = createGuard({ signatures: { directory: { fetch: { ca: TEST_CA, resolve: resolveLocalhost } } } });
    const before = server.count();
    expect((await guard.check(signedBy(server.origin))).reason).toBe('ERR_DIRECTORY_UNAVAILABLE');
    expect((await guard.check(signedBy('http://agent.example'))).reason).toBe('ERR_SIGNATURE_AGENT_INVALID');
    expect(server.count()).toBe(before);
    await guard.close();
  });

  it('fetches only listed origins in allowlist mode', async () => {
    const guard = createGuard(options({ allow: ['https://agent.example'] }));
    const before = server.count();
    const d = await guard.check(signedBy(server.origin));
    expect(d).toMatchObject({ outcome: 'deny', reason: 'ERR_SIGNATURE_KEY_UNKNOWN' });
    expect(server.count()).toBe(before);
    await guard.close();
  });

  it('with verifySignatures, ignores keys whose directory response is not signed', async () => {
    const guard = createGuard(options({ verifySignatures: true }));
    expect((await guard.check(signedBy(server.origin))).reason).toBe('ERR_SIGNATURE_KEY_UNKNOWN');
    await guard.close();
  });
});
