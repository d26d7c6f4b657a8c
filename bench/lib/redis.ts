/**
 * Redis helpers for the store benchmark (bench/redis.ts and its server, bench/lib/store-server.ts):
 * a client with the settings `RedisStore` documents, a count of the commands a client sends, the
 * server's own counters (`INFO commandstats`, `INFO cpu`), and the clean-up of a run's keys.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';

/** Where the benchmark's Redis is: `REDIS_URL` (as CI sets it), else the local default. */
export function redisUrl(): string {
  return process.env.REDIS_URL || 'redis://127.0.0.1:6379';
}

/** The URL without any password, for messages and notes. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return 'the configured Redis';
  }
}

/**
 * A client as `RedisStore` recommends (`enableOfflineQueue: false`, `maxRetriesPerRequest: 1`),
 * resolved once it is ready. Rejects (and disconnects) when Redis does not answer within
 * `timeoutMs`, so an unreachable Redis is found at once instead of after endless reconnections.
 */
export async function connectRedis(url: string, timeoutMs = 3000): Promise<Redis> {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: timeoutMs });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      client.once('error', (error: Error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    client.disconnect();
    throw error;
  }
  // Later connection errors surface as failed commands; without a listener ioredis would also log them.
  client.on('error', () => undefined);
  return client;
}

/** Commands a client sent, by lower-case name (`evalsha`, `set`, …). */
export type CommandCounts = Record<string, number>;

/**
 * Counts every command `client` sends from now on, by wrapping its `sendCommand`: every command of
 * ioredis goes through it, a script's EVALSHA and the EVAL it falls back to on NOSCRIPT included.
 * Returns the live counts.
 */
export function countCommands(client: Redis): CommandCounts {
  const counts: CommandCounts = {};
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    counts[command.name] = (counts[command.name] ?? 0) + 1;
    return send(command, stream);
  };
  return counts;
}

/** `after − before` for every name in either, dropping zeros. */
export function countDelta(before: Readonly<CommandCounts>, after: Readonly<CommandCounts>): CommandCounts {
  const delta: CommandCounts = {};
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[name] ?? 0) - (before[name] ?? 0);
    if (d !== 0) delta[name] = d;
  }
  return delta;
}

/** Adds `more` into `into`. */
export function addCounts(into: CommandCounts, more: Readonly<CommandCounts>): void {
  for (const [name, n] of Object.entries(more)) into[name] = (into[name] ?? 0) + n;
}

export const sumCounts = (counts: Readonly<CommandCounts>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * The server's `calls` per command from `INFO commandstats` (`cmdstat_evalsha:calls=12,…` → `evalsha: 12`).
 * Commands that a Lua script runs with `redis.call` are counted here too, under their own names.
 */
export async function commandStats(client: Redis): Promise<CommandCounts> {
  const text = await client.info('commandstats');
  const counts: CommandCounts = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts[match[1]!.toLowerCase()] = Number(match[2]);
  return counts;
}

/** CPU seconds (user + system) the Redis server has used, from `INFO cpu`. */
export async function redisCpuSeconds(client: Redis): Promise<number> {
  const text = await client.info('cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/**
 * Whether the Redis server runs on this machine (its `process_id` is a `redis-server` in /proc): then
 * its CPU shows in the machine's, and is not "other processes" getting in the way.
 */
export async function redisIsLocal(client: Redis): Promise<boolean> {
  const text = await client.info('server');
  const pid = /^process_id:(\d+)/m.exec(text)?.[1];
  if (pid === undefined) return false;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('redis');
  } catch {
    return false;
  }
}

/** Deletes every key under `prefix` (which must hold no glob characters); returns how many. */
export async function deleteKeys(client: Redis, prefix: string): Promise<number> {
  if (/[*?[\]\\]/.test(prefix)) throw new Error(`deleteKeys: prefix ${JSON.stringify(prefix)} holds glob characters`);
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
