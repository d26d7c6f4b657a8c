import type { Cluster, Redis } from 'ioredis';
import { compilePolicy, PolicyError } from '../policy/compile.js';
import type { PolicyHandle } from '../policy/handle.js';
import type { PolicySource } from '../policy/source.js';

/**
 * A policy document shared by a fleet through Redis: `pushPolicy` publishes a document (validated,
 * never older than the stored one, with an audit entry), `followRedisPolicy` keeps a `PolicyHandle`
 * in step with it. Keys, under the prefix (default `'bonafide:'`):
 *
 * - `<prefix>{policy}`: the document, as JSON;
 * - `<prefix>{policy}:audit`: a stream with one entry per push (the hash tag keeps both in one
 *   Cluster slot, so a push is one atomic script on Cluster too);
 * - channel `<prefix>policy:changed`: the new version, published on every push.
 */

/** Options of `followRedisPolicy`. */
export interface RedisPolicySourceOptions {
  /** For GET (and the writes of `pushPolicy`); never closed here. */
  client: Redis | Cluster;
  /** A separate connection for SUBSCRIBE (ioredis requires one); `client.duplicate()` is fine. Never closed here. */
  subscriber: Redis | Cluster;
  /** Key prefix, default `'bonafide:'`. */
  prefix?: string;
  /** Period of the version check that catches a missed change notice, in ms. Default 30000. */
  checkIntervalMs?: number;
}

/** One entry of the audit stream, as `policyHistory` returns it. */
export interface PolicyHistoryEntry {
  /** The stream entry id. */
  id: string;
  version: number;
  hash: string;
  /** The version stored before this push; null for the first one. */
  previousVersion: number | null;
  by: string | null;
  /** ISO 8601 time of the push (the pusher's clock). */
  at: string;
  comment: string | null;
}

const DEFAULT_PREFIX = 'bonafide:';
/** A GET that takes longer than this is given up (it never blocks the next check). */
const READ_TIMEOUT_MS = 5000;

interface PolicyKeys {
  document: string;
  audit: string;
  channel: string;
}

function keysOf(prefix: string | undefined): PolicyKeys {
  const p = prefix ?? DEFAULT_PREFIX;
  if (typeof p !== 'string') throw new TypeError('bonafide: the policy prefix must be a string');
  return {
    // One hash tag for both keys, so the push script's two keys share a Redis Cluster slot.
    document: `${p}{policy}`,
    audit: `${p}{policy}:audit`,
    channel: `${p}policy:changed`,
  };
}

/**
 * Compare-and-set, audit and notice in one atomic step, so two concurrent pushes cannot both pass
 * the version check against the same stored document.
 * KEYS: document, audit stream. ARGV: json, version, hash, at, channel, then optional pairs
 * ('by', value, 'comment', value). Replies { 1, previousVersion or '' } or { 0, storedVersion }.
 */
const PUSH_SCRIPT = `
local stored = redis.call('GET', KEYS[1])
local previous = nil
if stored then
  local ok, doc = pcall(cjson.decode, stored)
  if ok and type(doc) == 'table' and type(doc.metadata) == 'table' and type(doc.metadata.version) == 'number' then
    previous = doc.metadata.version
  end
end
local version = tonumber(ARGV[2])
if previous ~= nil and version < previous then
  return { 0, string.format('%.17g', previous) }
end
redis.call('SET', KEYS[1], ARGV[1])
local fields = { 'version', ARGV[2], 'hash', ARGV[3], 'at', ARGV[4] }
if previous ~= nil then
  table.insert(fields, 'previousVersion')
  table.insert(fields, string.format('%.17g', previous))
end
for i = 6, #ARGV do
  table.insert(fields, ARGV[i])
end
redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('PUBLISH', ARGV[5], ARGV[2])
if previous ~= nil then
  return { 1, string.format('%.17g', previous) }
end
return { 1, '' }
`;

/**
 * Publishes a policy document to Redis: validates it (`compilePolicy`; throws `PolicyError` with
 * code `ERR_POLICY_INVALID` when invalid, storing nothing), refuses a version lower than the stored
 * one (`PolicyError` code `ERR_POLICY_STALE`), stores the validated document, appends an audit entry
 * `{ version, hash, previousVersion, by, at, comment }` and publishes the version on the change
 * channel, all in one atomic script. Resolves with the version and hash pushed and the version
 * they replaced (`null` for the first push under the prefix). `by` and `comment` come from the document's
 * `metadata.updatedBy` / `metadata.comment`, else from the arguments. An equal version is accepted
 * (followers ignore it when the content is unchanged).
 */
export async function pushPolicy(
  client: Redis | Cluster,
  document: unknown,
  options: { prefix?: string; by?: string; comment?: string } = {}
): Promise<{ version: number; hash: string; previousVersion: number | null }> {
  const keys = keysOf(options.prefix);
  const compiled = compilePolicy(document);
  const { version, hash } = compiled;
  const metadata = compiled.document.metadata;
  const by = metadata.updatedBy ?? options.by;
  const comment = metadata.comment ?? options.comment;
  const args = [JSON.stringify(compiled.document), String(version), hash, new Date().toISOString(), keys.channel];
  if (typeof by === 'string') args.push('by', by);
  if (typeof comment === 'string') args.push('comment', comment);
  const reply = await client.eval(PUSH_SCRIPT, 2, keys.document, keys.audit, ...args);
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error('bonafide: unexpected reply from the Redis policy script');
  const [applied, stored] = reply as [unknown, unknown];
  if (applied !== 1) {
    throw new PolicyError('ERR_POLICY_STALE', [
      {
        path: '/metadata/version',
        message: `version ${version} is lower than the version stored in Redis (${String(stored)})`,
      },
    ]);
  }
  return { version, hash, previousVersion: stored === '' || stored === null || stored === undefined ? null : Number(stored) };
}

/** The audit entries of `pushPolicy`, oldest first; with `count`, the latest `count` of them. */
export async function policyHistory(client: Redis | Cluster, options: { prefix?: string; count?: number } = {}): Promise<PolicyHistoryEntry[]> {
  const keys = keysOf(options.prefix);
  const { count } = options;
  let entries: [string, string[]][];
  if (count === undefined) {
    entries = await client.xrange(keys.audit, '-', '+');
  } else {
    if (!Number.isInteger(count) || count < 1) throw new RangeError('bonafide: policyHistory count must be a positive integer');
    entries = (await client.xrevrange(keys.audit, '+', '-', 'COUNT', count)).reverse();
  }
  return entries.map(([id, flat]) => {
    const fields = new Map<string, string>();
    for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string);
    const previous = fields.get('previousVersion');
    return {
      id,
      version: Number(fields.get('version')),
      hash: fields.get('hash') ?? '',
      previousVersion: previous === undefined ? null : Number(previous),
      by: fields.get('by') ?? null,
      at: fields.get('at') ?? '',
      comment: fields.get('comment') ?? null,
    };
  });
}

/** Resolves like `run()`, or rejects after `ms`; a late rejection is swallowed. */
function withTimeout<T>(run: () => Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bonafide: Redis did not answer within ${ms} ms`)), ms);
    timer.unref?.();
    run().then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    );
  });
}

/**
 * Keeps `handle` in step with the document stored in Redis: loads it now (when present), on every
 * change notice, and every `checkIntervalMs` (which catches a notice missed while the subscriber was
 * disconnected), and again whenever the subscriber reconnects. Documents go through
 * `handle.update(document, 'redis:<key>')`, so an invalid or older document is refused (logged and
 * emitted by the handle) and the version in force stays. A stored text already seen is not applied
 * again, so a bad document is reported once, not at every check. Redis errors are swallowed (the
 * next check retries); nothing here throws or leaves an unhandled rejection.
 *
 * `ready` resolves (never rejects) once the subscription and the first load were attempted.
 * `stop()` unsubscribes, clears the timer and waits for a check in flight; it does not close the
 * connections, which belong to the caller.
 */
export function followRedisPolicy(handle: PolicyHandle, options: RedisPolicySourceOptions): { ready: Promise<void>; stop(): Promise<void> } {
  const { client, subscriber } = options;
  const keys = keysOf(options.prefix);
  const checkIntervalMs = options.checkIntervalMs ?? 30_000;
  if (!(checkIntervalMs > 0) || !Number.isFinite(checkIntervalMs)) {
    throw new RangeError('bonafide: followRedisPolicy checkIntervalMs must be a positive number');
  }
  const source = `redis:${keys.document}`;
  let stopped = false;
  let lastText: string | undefined;
  let inFlight: Promise<void> | undefined;
  let again = false;

  const load = async (): Promise<void> => {
    let text: string | null;
    try {
      text = await withTimeout(() => client.get(keys.document), READ_TIMEOUT_MS);
    } catch {
      return; // Redis unreachable or slow: the next notice or check retries.
    }
    if (stopped || text === null || text === lastText) return;
    lastText = text;
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      // Not JSON: handing the raw text to the handle refuses it through its refusal path.
      document = text;
    }
    try {
      handle.update(document, source);
    } catch {
      // update never throws; a listener of the handle's events might.
    }
  };

  /** One check at a time; a request during a check runs one more check after it. */
  const check = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (inFlight !== undefined) {
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      do {
        again = false;
        await load();
      } while (again && !stopped);
    })().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  /** Subscribes, once the subscriber is connected (without an offline queue, SUBSCRIBE fails before). */
  const subscribe = async (): Promise<void> => {
    if (subscriber.status !== 'ready') {
      await withTimeout(
        () =>
          new Promise<void>((resolve) => {
            const settle = (): void => {
              subscriber.off('ready', settle);
              resolve();
            };
            subscriber.on('ready', settle);
            // Stop settles the wait too, so `stop()` never waits for a connection.
            onStop.push(settle);
          }),
        READ_TIMEOUT_MS
      );
    }
    if (stopped) return;
    await withTimeout(() => subscriber.subscribe(keys.channel), READ_TIMEOUT_MS);
  };
  const onStop: (() => void)[] = [];

  const onMessage = (channel: string): void => {
    if (channel === keys.channel) void check();
  };
  // After a reconnection: subscribe again (harmless when ioredis already did) and catch up on any
  // notice missed meanwhile.
  const onReady = (): void => {
    subscribe().catch(() => undefined);
    void check();
  };
  subscriber.on('message', onMessage);

  const timer = setInterval(() => void check(), checkIntervalMs);
  timer.unref?.();

  const ready = (async () => {
    try {
      await subscribe();
    } catch {
      // Not subscribed for now: the next reconnection or the periodic check keeps the handle in step.
    }
    if (!stopped) subscriber.on('ready', onReady);
    await check();
  })();

  return {
    ready,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      subscriber.off('message', onMessage);
      subscriber.off('ready', onReady);
      for (const settle of onStop.splice(0)) settle();
      await ready;
      try {
        await withTimeout(() => subscriber.unsubscribe(keys.channel), READ_TIMEOUT_MS);
      } catch {
        // The subscriber is gone or closing: nothing to undo.
      }
      await inFlight;
    },
  };
}

/** Options of `redisPolicySource`: those of `followRedisPolicy`, with the subscriber optional. */
export interface RedisPolicySourceConfig extends Omit<RedisPolicySourceOptions, 'subscriber'> {
  /** The connection for SUBSCRIBE. Default: `client.duplicate()`, made when the guard starts and closed by `guard.close()`. */
  subscriber?: Redis | Cluster;
}

/**
 * The Redis policy as a guard option: `createGuard({ policy: { source: redisPolicySource({ client }) } })`.
 * The guard follows the document that `pushPolicy` (or `bonafide policy push`) stores, applying each
 * push within a round trip of its change notice; `guard.close()` stops following. Until the first
 * document is loaded the guard answers 503 `ERR_POLICY_UNAVAILABLE` (unless the option's `initial`
 * document is given): await `guard.policy.ready` before serving.
 */
export function redisPolicySource(options: RedisPolicySourceConfig): PolicySource {
  const { client } = options;
  if (client === null || typeof client !== 'object' || typeof client.duplicate !== 'function') {
    throw new TypeError('bonafide: redisPolicySource needs an ioredis client');
  }
  return {
    follow(handle) {
      const owned = options.subscriber === undefined;
      const subscriber = options.subscriber ?? client.duplicate();
      // Errors of a connection we made are ours to absorb (the follower retries on reconnection).
      if (owned) subscriber.on('error', () => undefined);
      const following = followRedisPolicy(handle, { ...options, subscriber });
      return {
        ready: following.ready,
        async stop() {
          await following.stop();
          if (owned) subscriber.disconnect();
        },
      };
    },
  };
}
