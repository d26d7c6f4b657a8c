/**
 * Helpers for the Redis store tests: they run against the server at `REDIS_URL` and are skipped,
 * with one visible warning, when it is not set.
 */
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Guard } from '../../src/index.js';
import { sign, type TestKeyPair, type TestRequest } from '../helpers/http-sig.js';

/** The server to test against, from `REDIS_URL`; undefined skips the suites. */
export const redisUrl: string | undefined = process.env.REDIS_URL || undefined;

let warned = false;
/** Warns once per file that the Redis tests are skipped. */
export function warnIfSkipped(): void {
  if (redisUrl === undefined && !warned) {
    warned = true;
    console.warn('bonafide: REDIS_URL is not set, skipping the RedisStore tests (e.g. REDIS_URL=redis://127.0.0.1:6379)');
  }
}

/** The client settings the store documents: fail fast instead of queueing or retrying. */
export const FAIL_FAST: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1 };

/** A connected client to `REDIS_URL`, ready for commands (there is no offline queue). */
export async function connect(options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(redisUrl as string, { ...FAIL_FAST, ...options });
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** A key prefix unique to this run, so a shared server needs no flushing. */
export function uniquePrefix(): string {
  return `bonafide-test:${randomUUID()}:`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(client: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A deterministic PRNG (mulberry32), so a failing random sequence can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SIGNED_AT = Math.floor(Date.now() / 1000);

/** `GET https://api.example.com/feed` signed by `agent` (Web Bot Auth, Ed25519) with this nonce, valid for 5 minutes. */
export function signedFeed(agent: TestKeyPair, nonce: string): TestRequest {
  return sign(
    { method: 'GET', url: 'https://api.example.com/feed', headers: { host: 'api.example.com' } },
    {
      key: agent.privateKey,
      algorithm: 'ed25519',
      keyid: agent.thumbprint,
      params: { created: SIGNED_AT, expires: SIGNED_AT + 300, keyid: agent.thumbprint, nonce, tag: 'web-bot-auth' },
    },
  );
}

/** Polls `guard` until its policy is at `version`; resolves with the ms it took, or -1 after `limitMs`. */
export async function inForce(guard: Guard, version: number, limitMs = 3000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    if (guard.policy!.version === version && !guard.policy!.waiting) return performance.now() - started;
    await sleep(5);
  }
  return -1;
}

/** A client (Redis or Cluster) whose commands can be counted. */
interface CommandSender {
  sendCommand(command: never, ...rest: never[]): unknown;
}

/**
 * Records the name of every command `client` sends (its `sendCommand`, which every command goes
 * through) until `restore()`.
 */
export function recordCommands(client: CommandSender): { readonly sent: string[]; restore(): void } {
  const sent: string[] = [];
  const original = client.sendCommand;
  client.sendCommand = function (this: unknown, command: { name: string }, ...rest: unknown[]) {
    sent.push(command.name);
    return (original as (...args: unknown[]) => unknown).call(this, command, ...rest);
  } as CommandSender['sendCommand'];
  return {
    sent,
    restore: () => {
      client.sendCommand = original;
    },
  };
}
