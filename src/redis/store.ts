import type { Cluster, Redis } from 'ioredis';
import { validateRateLimitRequest } from '../limits/rate-limit.js';
import type { RateLimitRequest, RateLimitState, Store } from '../stores/store.js';
import { GCRA_SCRIPT, SLIDING_WINDOW_SCRIPT } from './scripts.js';

/** Options of `RedisStore`. */
export interface RedisStoreOptions {
  /**
   * An ioredis client (`Redis` or `Cluster`) you created; the store never closes it unless `ownsClient`.
   * Recommended settings: `enableOfflineQueue: false` (a command sent while disconnected fails at
   * once instead of waiting in a queue for a reconnection) and `maxRetriesPerRequest: 1` (a command
   * is not retried for seconds behind the guard's back). With a `Redis` client, wait for its `ready`
   * event before the first request: without the offline queue, commands sent while it connects fail.
   */
  client: Redis | Cluster;
  /**
   * Key prefix, default `'bonafide:'`. A key is stored as `<prefix>{<key>}`: the hash tag around the
   * per-key part puts every key of one operation in one Cluster slot. The prefix must not contain `{`.
   */
  prefix?: string;
  /**
   * Per-command timeout in ms (default 50): a slow or unreachable Redis makes the call reject within
   * this time (the guard then follows its failure mode). The command itself may still run on Redis.
   */
  timeoutMs?: number;
  /** When true, `close()` quits the client too. Default false. */
  ownsClient?: boolean;
}

/**
 * How long past `resetMs` a rate-limit key is kept in real time. The scripts decide expiry on the
 * callers' clock (a field holding `now + resetMs`), so keeping a key a little longer changes no
 * answer; it spares callers whose clocks lag Redis's (or a test's injected clock) a premature expiry.
 */
const EXPIRY_GRACE_MS = 1000;

const GCRA_COMMAND = 'bonafideGcra';
const WINDOW_COMMAND = 'bonafideSlidingWindow';

/** The commands `defineCommand` adds to the client (EVALSHA, with EVAL on NOSCRIPT). */
type ScriptCommand = (key: string, ...args: string[]) => Promise<unknown>;

/**
 * A `Store` on Redis (or Redis Cluster) through ioredis, for a fleet of processes that must share
 * nonces and rate limits. Every call is one command touching one key, in one round trip:
 *
 * - `recordNonce`: `SET <prefix>{<key>} 1 NX PX <ttl>`;
 * - `rateLimit`: one EVALSHA of a Lua script (`src/redis/scripts.ts`) that runs the exact integer
 *   arithmetic of the memory store on the request's `now` (never Redis's clock), so every process
 *   and the memory store give the same answers; the key gets a PEXPIRE once its limit would have
 *   fully reset, and is deleted when there is nothing to keep.
 *
 * Each call rejects within `timeoutMs` when Redis does not answer; the late answer, if any, is
 * dropped without an unhandled rejection. Malformed rate-limit requests reject with a RangeError
 * before anything is sent.
 */
export class RedisStore implements Store {
  readonly #client: Redis | Cluster;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #ownsClient: boolean;
  readonly #gcra: ScriptCommand;
  readonly #window: ScriptCommand;

  constructor(options: RedisStoreOptions) {
    const { client } = options;
    if (client === null || typeof client !== 'object' || typeof client.defineCommand !== 'function') {
      throw new TypeError('bonafide: RedisStore needs an ioredis client (Redis or Cluster)');
    }
    const prefix = options.prefix ?? 'bonafide:';
    if (prefix.includes('{')) throw new RangeError('bonafide: RedisStore prefix must not contain "{"');
    const timeoutMs = options.timeoutMs ?? 50;
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw new RangeError('bonafide: RedisStore timeoutMs must be a positive number');
    this.#client = client;
    this.#prefix = prefix;
    this.#timeoutMs = timeoutMs;
    this.#ownsClient = options.ownsClient ?? false;
    // Defining the same script twice (two stores on one client) just redefines it identically.
    client.defineCommand(GCRA_COMMAND, { numberOfKeys: 1, lua: GCRA_SCRIPT });
    client.defineCommand(WINDOW_COMMAND, { numberOfKeys: 1, lua: SLIDING_WINDOW_SCRIPT });
    const commands = client as unknown as Record<string, ScriptCommand>;
    this.#gcra = (key, ...args) => (commands[GCRA_COMMAND] as ScriptCommand).call(client, key, ...args);
    this.#window = (key, ...args) => (commands[WINDOW_COMMAND] as ScriptCommand).call(client, key, ...args);
  }

  /** The Redis key for a store key: `<prefix>{<key>}`. */
  #key(key: string): string {
    return `${this.#prefix}{${key}}`;
  }

  async recordNonce(key: string, ttlMs: number): Promise<boolean> {
    if (typeof key !== 'string' || key === '') throw new RangeError('bonafide: nonce key must be a non-empty string');
    if (!Number.isFinite(ttlMs)) throw new RangeError('bonafide: nonce ttlMs must be a finite number');
    // PX needs a positive integer; a TTL of 0 or less still records the nonce for the shortest time.
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const reply = await this.#timed(() => this.#client.set(this.#key(key), '1', 'PX', ttl, 'NX'));
    return reply === 'OK';
  }

  async rateLimit(request: RateLimitRequest): Promise<RateLimitState> {
    const cost = validateRateLimitRequest(request);
    const { limit, periodMs, burst } = request;
    const now = Math.floor(request.now);
    const command = request.algorithm === 'gcra' ? this.#gcra : this.#window;
    const args = [limit, periodMs, request.algorithm === 'gcra' ? burst : 0, cost, now, EXPIRY_GRACE_MS].map(String);
    const reply = await this.#timed(() => command(this.#key(request.key), ...args));
    if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((n) => typeof n === 'number')) {
      throw new Error('bonafide: unexpected reply from the Redis rate-limit script');
    }
    const [allowed, remaining, retryAfterMs, resetMs] = reply as [number, number, number, number];
    return { allowed: allowed === 1, limit, remaining, retryAfterMs, resetMs };
  }

  /** Quits the client when the store owns it; otherwise leaves it to its creator. */
  async close(): Promise<void> {
    if (this.#ownsClient) await this.#client.quit();
  }

  /** Runs one command, rejecting after `timeoutMs`; a late rejection of the command is swallowed. */
  #timed<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bonafide: Redis did not answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      timer.unref?.();
      let pending: Promise<T>;
      try {
        pending = run();
      } catch (error) {
        clearTimeout(timer);
        reject(error);
        return;
      }
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }
}
