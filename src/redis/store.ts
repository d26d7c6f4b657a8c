import type { Cluster, Redis } from 'ioredis';
import { validateRateLimitRequest } from '../limits/rate-limit.js';
import type { AccountRequest, AccountResult, RateLimitRequest, RateLimitState, Store } from '../stores/store.js';
import { GCRA_NONCE_SCRIPT, GCRA_SCRIPT, SLIDING_WINDOW_NONCE_SCRIPT, SLIDING_WINDOW_SCRIPT } from './scripts.js';

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
  /**
   * A store that counts rate limits while Redis cannot answer, e.g. `new MemoryStore()`: each
   * process then limits on its own (a fleet of N lets up to N × the limit through), and the
   * decision's `rateLimit.standIn` is true. Nonces never stand in: they follow the signature
   * check's failure mode. Default: none (a rate-limit check fails and follows `failOpen.rateLimit`).
   */
  standIn?: Pick<Store, 'rateLimit'>;
  /**
   * After 3 commands in a row time out or lose their connection, further commands fail at once for
   * this many ms (then the next one tries Redis again), so an outage costs no request the full
   * timeout. A reconnection ends the pause sooner. Default 1000; 0 turns it off.
   */
  retryAfterMs?: number;
}

/**
 * How long past `resetMs` a rate-limit key is kept in real time. The scripts decide expiry on the
 * callers' clock (a field holding `now + resetMs`), so keeping a key a little longer changes no
 * answer; it spares callers whose clocks lag Redis's (or a test's injected clock) a premature expiry.
 */
const EXPIRY_GRACE_MS = 1000;

/** Failures in a row (timeouts, lost connections) after which commands pause for `retryAfterMs`. */
const PAUSE_AFTER_FAILURES = 3;

const GCRA_COMMAND = 'bonafideGcra';
const WINDOW_COMMAND = 'bonafideSlidingWindow';
const GCRA_NONCE_COMMAND = 'bonafideNonceGcra';
const WINDOW_NONCE_COMMAND = 'bonafideNonceSlidingWindow';

/** The commands `defineCommand` adds to the client (EVALSHA, with EVAL on NOSCRIPT): keys first, then arguments. */
type ScriptCommand = (...keysAndArgs: string[]) => Promise<unknown>;

/** Thrown (as a rejection) while Redis is known to be down or not connected: the guard's failure mode applies. */
class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/**
 * A `Store` on Redis (or Redis Cluster) through ioredis, for a fleet of processes that must share
 * nonces and rate limits. Every call is one command, in one round trip:
 *
 * - `recordNonce`: `SET <prefix>{<key>} 1 NX PX <ttl>`;
 * - `rateLimit`: one EVALSHA of a Lua script (`src/redis/scripts.ts`) that runs the exact integer
 *   arithmetic of the memory store on the request's `now` (never Redis's clock), so every process
 *   and the memory store give the same answers; the key gets a PEXPIRE once its limit would have
 *   fully reset, and is deleted when there is nothing to keep;
 * - `account` (a nonce and a rate limit for one request): on standalone Redis one EVALSHA of a
 *   script that records the nonce and, for a first use only, runs the limit. On Cluster the two keys
 *   live in different slots, so it is `recordNonce` then `rateLimit`: two round trips, and still a
 *   replay takes nothing from the limit (a captured request replayed cannot drain its signer's limit).
 *
 * Each call rejects within `timeoutMs` when Redis does not answer (the late answer, if any, is
 * dropped without an unhandled rejection), and at once while the client is not connected or within
 * `retryAfterMs` of three failures in a row, so nothing queues up during an outage. Malformed rate-limit requests
 * reject with a RangeError before anything is sent.
 */
export class RedisStore implements Store {
  readonly #client: Redis | Cluster;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #ownsClient: boolean;
  readonly #gcra: ScriptCommand;
  readonly #window: ScriptCommand;
  readonly #gcraNonce: ScriptCommand;
  readonly #windowNonce: ScriptCommand;
  readonly #cluster: boolean;
  readonly #standIn: Pick<Store, 'rateLimit'> | undefined;
  readonly #retryAfterMs: number;
  /** Until when (ms, `Date.now`) commands fail at once after a failure. */
  #downUntil = 0;
  /** Commands in a row that timed out or lost their connection (an error reply from Redis is not counted). */
  #failures = 0;
  /** When the last outage failure was seen: commands sent before it that fail too are the same failure. */
  #lastFailureAt = 0;
  readonly #onReady: () => void;

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
    const standIn = options.standIn;
    if (standIn !== undefined && (standIn === null || typeof standIn.rateLimit !== 'function')) {
      throw new TypeError('bonafide: RedisStore standIn must be a store with a rateLimit method, e.g. new MemoryStore()');
    }
    this.#standIn = standIn;
    const retryAfterMs = options.retryAfterMs ?? 1000;
    if (!(retryAfterMs >= 0) || !Number.isFinite(retryAfterMs)) throw new RangeError('bonafide: RedisStore retryAfterMs must be a number ≥ 0');
    this.#retryAfterMs = retryAfterMs;
    this.#cluster = (client as { isCluster?: boolean }).isCluster === true;
    // A (re)connection ends the pause after a failure at once.
    this.#onReady = () => {
      this.#downUntil = 0;
    };
    client.on('ready', this.#onReady);
    // A lazyConnect client connects on its first command, which `#timed` would refuse: connect now.
    if (client.status === 'wait') client.connect().catch(() => undefined);
    // Defining the same script twice (two stores on one client) just redefines it identically.
    client.defineCommand(GCRA_COMMAND, { numberOfKeys: 1, lua: GCRA_SCRIPT });
    client.defineCommand(WINDOW_COMMAND, { numberOfKeys: 1, lua: SLIDING_WINDOW_SCRIPT });
    client.defineCommand(GCRA_NONCE_COMMAND, { numberOfKeys: 2, lua: GCRA_NONCE_SCRIPT });
    client.defineCommand(WINDOW_NONCE_COMMAND, { numberOfKeys: 2, lua: SLIDING_WINDOW_NONCE_SCRIPT });
    const commands = client as unknown as Record<string, ScriptCommand>;
    const bind = (name: string): ScriptCommand => (...keysAndArgs) => (commands[name] as ScriptCommand).call(client, ...keysAndArgs);
    this.#gcra = bind(GCRA_COMMAND);
    this.#window = bind(WINDOW_COMMAND);
    this.#gcraNonce = bind(GCRA_NONCE_COMMAND);
    this.#windowNonce = bind(WINDOW_NONCE_COMMAND);
  }

  /** The Redis key for a store key: `<prefix>{<key>}`. */
  #key(key: string): string {
    return `${this.#prefix}{${key}}`;
  }

  async recordNonce(key: string, ttlMs: number): Promise<boolean> {
    const ttl = nonceTtl(key, ttlMs);
    const reply = await this.#timed(() => this.#client.set(this.#key(key), '1', 'PX', ttl, 'NX'));
    return reply === 'OK';
  }

  async rateLimit(request: RateLimitRequest): Promise<RateLimitState> {
    const args = limitArgs(request);
    const command = request.algorithm === 'gcra' ? this.#gcra : this.#window;
    try {
      return limitState(request, await this.#timed(() => command(this.#key(request.key), ...args)));
    } catch (error) {
      return this.#standInFor(request, error);
    }
  }

  /**
   * The nonce, then the limit for a first use: one EVALSHA on standalone Redis, two commands in turn
   * on Cluster. A replay takes nothing from the limit. When Redis cannot answer, this rejects (the
   * nonce is unknown); the guard then follows the signature's failure mode and asks `rateLimit`,
   * which the stand-in may answer.
   */
  async account(request: AccountRequest): Promise<AccountResult> {
    const { nonce, rateLimit } = request;
    const args = limitArgs(rateLimit);
    const ttl = nonceTtl(nonce.key, nonce.ttlMs);
    if (this.#cluster) {
      if (!(await this.recordNonce(nonce.key, nonce.ttlMs))) return { nonce: false };
      return { nonce: true, rateLimit: await this.rateLimit(rateLimit) };
    }
    const command = rateLimit.algorithm === 'gcra' ? this.#gcraNonce : this.#windowNonce;
    const reply = await this.#timed(() => command(this.#key(nonce.key), this.#key(rateLimit.key), ...args, String(ttl)));
    if (Array.isArray(reply) && reply.length === 1 && reply[0] === -1) return { nonce: false };
    return { nonce: true, rateLimit: limitState(rateLimit, reply) };
  }

  /** The stand-in's answer for a rate limit Redis could not give, or the failure itself without one. */
  async #standInFor(request: RateLimitRequest, error: unknown): Promise<RateLimitState> {
    if (this.#standIn === undefined || error instanceof RangeError) throw error;
    const state = await this.#standIn.rateLimit(request);
    return { ...state, standIn: true };
  }

  /** Quits the client when the store owns it; otherwise leaves it to its creator. */
  async close(): Promise<void> {
    this.#client.off('ready', this.#onReady);
    if (this.#ownsClient) await this.#client.quit();
  }

  /**
   * Runs one command, rejecting after `timeoutMs`; a late rejection of the command is swallowed.
   * Rejects at once, sending nothing, while the client is not connected (so no offline queue grows)
   * or while paused after failures in a row (`retryAfterMs`).
   *
   * The timeout is checked once more after the event loop has read its sockets (`setImmediate`):
   * after a stall of the process, expired timers run before pending replies are read, and a reply
   * that had arrived in time must not count as a timeout.
   */
  #timed<T>(run: () => Promise<T>): Promise<T> {
    if (this.#client.status !== 'ready') return Promise.reject(new RedisUnavailableError('bonafide: Redis is not connected'));
    if (this.#downUntil !== 0) {
      if (Date.now() < this.#downUntil) return Promise.reject(new RedisUnavailableError('bonafide: Redis failed recently; retrying shortly'));
      this.#downUntil = 0;
    }
    const sentAt = performance.now();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // Only an outage pauses the store: an error reply means Redis is there and answering.
        // Commands in flight together that fail together (one stall) count once: only a command sent
        // after the previous failure was seen counts as the next failure in a row.
        if (error.name !== 'ReplyError' && sentAt > this.#lastFailureAt) {
          this.#lastFailureAt = performance.now();
          if (++this.#failures >= PAUSE_AFTER_FAILURES && this.#retryAfterMs > 0) this.#downUntil = Date.now() + this.#retryAfterMs;
        }
        reject(error);
      };
      const timer = setTimeout(() => {
        // Not unref'd: an unref'd immediate does not shorten the poll phase, and could wait for unrelated I/O.
        setImmediate(() => fail(new RedisUnavailableError(`bonafide: Redis did not answer within ${this.#timeoutMs} ms`)));
      }, this.#timeoutMs);
      timer.unref?.();
      let pending: Promise<T>;
      try {
        pending = run();
      } catch (error) {
        fail(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      pending.then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.#failures = 0;
          resolve(value);
        },
        (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
      );
    });
  }
}

/** The PX of a nonce: a positive integer (a TTL of 0 or less still records it for the shortest time). */
function nonceTtl(key: string, ttlMs: number): number {
  if (typeof key !== 'string' || key === '') throw new RangeError('bonafide: nonce key must be a non-empty string');
  if (!Number.isFinite(ttlMs)) throw new RangeError('bonafide: nonce ttlMs must be a finite number');
  return Math.max(1, Math.ceil(ttlMs));
}

/** The script arguments of a (validated) rate-limit request: limit, periodMs, burst, cost, now, graceMs. */
function limitArgs(request: RateLimitRequest): string[] {
  const cost = validateRateLimitRequest(request);
  const burst = request.algorithm === 'gcra' ? request.burst : 0;
  return [request.limit, request.periodMs, burst, cost, Math.floor(request.now), EXPIRY_GRACE_MS].map(String);
}

/** The state a rate-limit script replied. */
function limitState(request: RateLimitRequest, reply: unknown): RateLimitState {
  if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((n) => typeof n === 'number')) {
    throw new Error('bonafide: unexpected reply from the Redis rate-limit script');
  }
  const [allowed, remaining, retryAfterMs, resetMs] = reply as [number, number, number, number];
  return { allowed: allowed === 1, limit: request.limit, remaining, retryAfterMs, resetMs };
}
