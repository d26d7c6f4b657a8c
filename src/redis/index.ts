/**
 * The Redis store: nonces and rate limits shared by a fleet, through an ioredis client you create
 * (ioredis is an optional peer dependency).
 */
export { RedisStore, type RedisStoreOptions } from './store.js';
