import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { guardedGet, trustingContext, type GuardedFetchOptions } from '../../src/signatures/ssrf.js';
import { resolveLocalhost, startDirectoryServer, TEST_CA, type DirectoryServer } from '../helpers/directory-server.js';

/**
 * The test-only `ca` setting of the guarded fetch: its TLS context (Node's ~140 root certificates
 * plus the test CA) is built once and reused, not rebuilt by tls.connect on every fetch.
 */

let server: DirectoryServer;

beforeEach(async () => {
  server = await startDirectoryServer({ body: 'hello' });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await server.close();
});

const options = (extra: Partial<GuardedFetchOptions> = {}): GuardedFetchOptions => ({
  timeoutMs: 3000,
  maxBytes: 65536,
  ca: TEST_CA,
  allowPrivateAddresses: true,
  resolve: resolveLocalhost,
  ...extra,
});

describe('guardedGet with a test CA', () => {
  it('builds no TLS context per fetch: fetches after the first reuse the one context', async () => {
    // tls.connect calls tls.createSecureContext for every connection that brings no context of its own.
    const built = vi.spyOn(tls, 'createSecureContext');
    const first = await guardedGet(`${server.origin}/1`, options());
    expect(first.ok && first.body.toString()).toBe('hello');
    const afterFirst = built.mock.calls.length;
    expect(afterFirst).toBeLessThanOrEqual(1);
    for (const path of ['/2', '/3']) {
      const response = await guardedGet(`${server.origin}${path}`, options());
      expect(response.ok && response.status).toBe(200);
    }
    expect(built.mock.calls.length).toBe(afterFirst);
    expect(server.requests.map((r) => r.path)).toEqual(['/1', '/2', '/3']);
  });

  it('reuses one context per CA value, string or bytes', () => {
    const context = trustingContext(TEST_CA);
    expect(trustingContext(TEST_CA)).toBe(context);
    expect(trustingContext(Buffer.from(TEST_CA))).toBe(context);
    expect(trustingContext(`${TEST_CA}\n`)).not.toBe(context);
  });

  it('still trusts only what it is told: without the CA the self-signed server is refused', async () => {
    expect(await guardedGet(server.origin, options({ ca: undefined }))).toEqual({ ok: false, error: 'network' });
    expect(server.requests).toHaveLength(0);
  });

  it('a CA that is not a certificate fails the fetch; it does not throw', async () => {
    expect(await guardedGet(server.origin, options({ ca: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' }))).toEqual({
      ok: false,
      error: 'network',
    });
    expect(server.requests).toHaveLength(0);
  });
});
