/**
 * Helpers for the Redis store tests: they run against the server at `REDIS_URL` and are skipped,
 * with one visible warning, when it is not set.
 */
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';

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
