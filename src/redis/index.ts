/**
 * The Redis store: nonces and rate limits shared by a fleet, through an ioredis client you create
 * (ioredis is an optional peer dependency).
 */
export { RedisStore, type RedisStoreOptions } from './store.js';
/**
 * A policy document shared through Redis: push it (validated, versioned, audited) and keep every
 * process's policy handle in step with it.
 */
export {
  followRedisPolicy,
  policyHistory,
  pushPolicy,
  redisPolicySource,
  type PolicyHistoryEntry,
  type RedisPolicySourceConfig,
  type RedisPolicySourceOptions,
} from './policy-source.js';
