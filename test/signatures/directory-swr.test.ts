import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SignatureKey } from '../../src/signatures/algorithms.js';
import { DIRECTORY_MEDIA_TYPE, DirectoryClient, type DirectoryLookup, type DirectoryOptions } from '../../src/signatures/directory.js';
import type { Logger } from '../../src/observe/logger.js';
import { resolveLocalhost, TEST_CA } from '../helpers/directory-server.js';

/**
 * Stale-while-revalidate for key directories (issue 6 review): a key held by a directory whose
 * lifetime ended less than `staleWhileRevalidateSeconds` ago (default 300) answers at once while one
 * background fetch refreshes the directory; a key that fetch omits is refused once it lands; staler
 * than that, a lookup waits for the fetch as before. The directory server here answers only when the
 * test opens its gate, so "did not wait" is shown by order, not by timing.
 */

const START = 1_800_000_000_000;
const TEST_KEY = readFileSync(new URL('../fixtures/tls/localhost-key.pem', import.meta.url), 'utf8');

interface TestKey {
  jwk: Record<string, unknown>;
  thumbprint: string;
}

function newKey(): TestKey {
  const { publicKey } = generateKeyPairSync('ed25519');
  const { crv, kty, x } = publicKey.export({ format: 'jwk' });
  const thumbprint = createHash('sha256').update(JSON.stringify({ crv, kty, x })).digest('base64url');
  return { jwk: { kty, crv, x, kid: thumbprint }, thumbprint };
}

const randomKeyid = (): string => randomBytes(32).toString('base64url');
const isKey = (value: DirectoryLookup | Promise<DirectoryLookup>): value is SignatureKey => typeof value === 'object' && !(value instanceof Promise);
/** Lets pending I/O callbacks and promise jobs run. */
const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** A directory server whose answers wait, when a gate is set, until the test opens it. */
class GatedDirectory {
  readonly #server: Server;
  /** Directory requests received. */
  requests = 0;
  status = 200;
  keys: TestKey[] = [];
  maxAge = 60;
  #gate: Promise<void> | undefined;
  #arrived: (() => void) | undefined;

  constructor() {
    this.#server = createServer({ cert: TEST_CA, key: TEST_KEY }, (req, res) => void this.#handle(req, res));
  }

  get origin(): string {
    return `https://localhost:${(this.#server.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  }

  /** The next answers wait for `open()`; `arrived` resolves when the next request is in. */
  hold(): { arrived: Promise<void>; open: () => void } {
    let open!: () => void;
    this.#gate = new Promise((resolve) => (open = resolve));
    const arrived = new Promise<void>((resolve) => (this.#arrived = resolve));
    return {
      arrived,
      open: () => {
        this.#gate = undefined;
        open();
      },
    };
  }

  async #handle(_req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    this.#arrived?.();
    this.#arrived = undefined;
    if (this.#gate !== undefined) await this.#gate;
    if (res.destroyed) return;
    const body = this.status === 200 ? JSON.stringify({ keys: this.keys.map((k) => k.jwk) }) : 'unavailable';
    res.writeHead(this.status, { 'content-type': DIRECTORY_MEDIA_TYPE, 'cache-control': `max-age=${this.maxAge}` });
    res.end(body);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

let server: GatedDirectory;
let clock: number;
let warnings: Record<string, unknown>[];
const clients: DirectoryClient[] = [];
const logger: Logger = { info() {}, error() {}, warn: (obj) => void warnings.push(obj as Record<string, unknown>) };

beforeEach(async () => {
  server = new GatedDirectory();
  await server.start();
  clock = START;
  warnings = [];
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server.close();
});

const advance = (seconds: number): void => {
  clock += seconds * 1000;
};

function localClient(options: DirectoryOptions = {}): DirectoryClient {
  const client = new DirectoryClient(
    { logger, ...options, fetch: { ca: TEST_CA, allowPrivateAddresses: true, resolve: resolveLocalhost } },
    () => clock,
  );
  clients.push(client);
  return client;
}

/** A client that has fetched a directory of `keys` (lifetime 60 s) and holds `first`. */
async function primed(keys: TestKey[], options: DirectoryOptions = {}): Promise<{ client: DirectoryClient; held: SignatureKey }> {
  server.keys = keys;
  const client = localClient(options);
  const held = await client.lookup(server.origin, keys[0]!.thumbprint);
  if (!isKey(held)) throw new Error(`priming failed: ${String(held)}`);
  expect(server.requests).toBe(1);
  return { client, held };
}

describe('DirectoryClient: stale-while-revalidate', () => {
  it('answers a held key of a stale directory at once, refreshes once in the background, then revokes what it omits', async () => {
    const a = newKey();
    const b = newKey();
    const { client, held } = await primed([a, b]);
    advance(61);
    server.keys = [b];
    const gate = server.hold();

    // Answered without a promise while the refresh it started has not even reached the server.
    expect(client.lookup(server.origin, a.thumbprint)).toBe(held);
    await gate.arrived;
    // The refresh is in flight and held at the server: still answered at once, by the same single fetch.
    expect(client.lookup(server.origin, a.thumbprint)).toBe(held);
    expect(isKey(client.lookup(server.origin, b.thumbprint))).toBe(true);
    await turn();
    expect(server.requests).toBe(2);

    gate.open();
    // A key the stale directory does not hold waits for that same fetch: when it answers, the refresh has landed.
    expect(await client.lookup(server.origin, randomKeyid())).toBe('unknown');
    expect(client.lookup(server.origin, a.thumbprint)).toBe('unknown');
    expect(isKey(client.lookup(server.origin, b.thumbprint))).toBe(true);
    expect(server.requests).toBe(2);
  });

  it('a key the stale directory does not hold waits for the refetch (it may just have been added)', async () => {
    const a = newKey();
    const c = newKey();
    const { client } = await primed([a]);
    advance(61);
    server.keys = [a, c];
    const gate = server.hold();
    const lookup = client.lookup(server.origin, c.thumbprint);
    expect(lookup).toBeInstanceOf(Promise);
    await gate.arrived;
    gate.open();
    const found = await lookup;
    expect(isKey(found) && found.keyid).toBe(c.thumbprint);
    expect(server.requests).toBe(2);
  });

  it('staler than staleWhileRevalidateSeconds, a lookup waits for the refetch as before', async () => {
    const a = newKey();
    const { client, held } = await primed([a]);
    // 60 s fresh, then 299 s stale: still answered at once.
    advance(60 + 299);
    const early = server.hold();
    expect(client.lookup(server.origin, a.thumbprint)).toBe(held);
    await early.arrived;
    early.open();
    expect(await client.lookup(server.origin, randomKeyid())).toBe('unknown');

    // The refresh made it fresh again; let it go 300 s stale: the lookup waits.
    advance(60 + 300);
    server.keys = [];
    const late = server.hold();
    const lookup = client.lookup(server.origin, a.thumbprint);
    expect(lookup).toBeInstanceOf(Promise);
    let answered = false;
    void (lookup as Promise<DirectoryLookup>).then(() => (answered = true));
    await late.arrived;
    await turn();
    expect(answered).toBe(false);
    late.open();
    // The refetch revoked the key before anyone was told it was good.
    expect(await lookup).toBe('unknown');
    expect(server.requests).toBe(3);
  });

  it('beyond the stale window a failed refetch still keeps the cached keys (stale-on-error), as before', async () => {
    const a = newKey();
    const { client, held } = await primed([a]);
    advance(60 + 301);
    server.status = 500;
    expect(await client.lookup(server.origin, a.thumbprint)).toBe(held);
    expect(warnings).toEqual([{ origin: server.origin, error: 'status' }]);
  });

  it('staleWhileRevalidateSeconds: 0 makes every lookup of a stale directory wait', async () => {
    const a = newKey();
    const { client, held } = await primed([a], { staleWhileRevalidateSeconds: 0 });
    advance(61);
    const lookup = client.lookup(server.origin, a.thumbprint);
    expect(lookup).toBeInstanceOf(Promise);
    const found = await lookup;
    expect(isKey(found) && found.keyid).toBe(held.keyid);
    expect(server.requests).toBe(2);
  });

  it('a failed background refresh keeps serving the cached keys and backs off for negativeTtl', async () => {
    const a = newKey();
    const { client, held } = await primed([a], { negativeTtlSeconds: 30 });
    advance(61);
    server.status = 500;
    expect(client.lookup(server.origin, a.thumbprint)).toBe(held);
    expect(await client.lookup(server.origin, randomKeyid())).toBe('unavailable');
    expect(warnings).toEqual([{ origin: server.origin, error: 'status' }]);
    advance(29);
    expect(client.lookup(server.origin, a.thumbprint)).toBe(held);
    // Backing off: not even an unknown key makes it fetch.
    expect(client.lookup(server.origin, randomKeyid())).toBe('unavailable');
    // Backed off long enough: the next lookup answers at once and refreshes again.
    advance(1);
    server.status = 200;
    const gate = server.hold();
    expect(client.lookup(server.origin, a.thumbprint)).toBe(held);
    await gate.arrived;
    gate.open();
    expect(await client.lookup(server.origin, randomKeyid())).toBe('unknown');
    expect(server.requests).toBe(3);
  });

  it('a logger that throws during a background refresh leaves no unhandled rejection and still records the back-off', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const a = newKey();
      let warned!: () => void;
      const warnedOnce = new Promise<void>((resolve) => (warned = resolve));
      const throwing: Logger = {
        info() {},
        error() {},
        warn() {
          warned();
          throw new Error('logger down');
        },
      };
      const { client, held } = await primed([a], { logger: throwing, negativeTtlSeconds: 30 });
      advance(61);
      server.status = 500;
      expect(client.lookup(server.origin, a.thumbprint)).toBe(held);
      await warnedOnce;
      await turn();
      await turn();
      expect(unhandled).toEqual([]);
      // The failure was recorded despite the logger: backing off, not even an unknown key makes it fetch.
      advance(10);
      expect(client.lookup(server.origin, a.thumbprint)).toBe(held);
      expect(client.lookup(server.origin, randomKeyid())).toBe('unavailable');
      expect(server.requests).toBe(2);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('closing the client during a background refresh leaves nothing behind', async () => {
    const a = newKey();
    const { client, held } = await primed([a]);
    advance(61);
    const gate = server.hold();
    expect(client.lookup(server.origin, a.thumbprint)).toBe(held);
    await gate.arrived;
    client.close();
    gate.open();
    await turn();
    expect(client.lookup(server.origin, a.thumbprint)).toBe('unavailable');
  });

  it('with every fetch slot taken, a held key of a stale directory is still answered at once', async () => {
    const a = newKey();
    const { client, held } = await primed([a], { maxConcurrentFetches: 1 });
    advance(61);
    const gate = server.hold();
    // A lookup of another origin's directory takes the only slot.
    const other = client.lookup(`https://127.0.0.1:${new URL(server.origin).port}`, a.thumbprint);
    expect(other).toBeInstanceOf(Promise);
    await gate.arrived;
    expect(client.lookup(server.origin, a.thumbprint)).toBe(held);
    gate.open();
    expect(isKey(await other)).toBe(true);
    // No refresh was started for the stale origin while the slot was taken.
    expect(server.requests).toBe(2);
  });

  it('refuses a negative or fractional staleWhileRevalidateSeconds at construction', () => {
    for (const value of [-1, 1.5, '60']) {
      expect(() => localClient({ staleWhileRevalidateSeconds: value as number })).toThrow(
        expect.objectContaining({ name: 'ConfigError', code: 'ERR_CONFIG_INVALID_VALUE', path: 'signatures.directory.staleWhileRevalidateSeconds' }),
      );
    }
  });
});
