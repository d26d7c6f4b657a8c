import type { PolicyHandle } from './handle.js';

/**
 * Where a guard's policy comes from when it lives outside the process, e.g. Redis
 * (`redisPolicySource` from `bonafide/redis`). Given as `policy: { source }`, it is started with the
 * guard and stopped by `guard.close()`. A source hands every document it sees to
 * `handle.update(document, name)`, which validates it and refuses one that is invalid or older.
 */
export interface PolicySource {
  /** Starts keeping `handle` in step with the source. */
  follow(handle: PolicyHandle): PolicySubscription;
}

/** A running source. */
export interface PolicySubscription {
  /** Resolves (never rejects) once the first load was attempted, whatever its outcome. */
  readonly ready: Promise<void>;
  /** Stops following; resolves once nothing of it is left running. */
  stop(): void | Promise<void>;
}
