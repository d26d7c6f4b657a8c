import type { Decision } from '../decision.js';
import { invalid } from '../lib/validate.js';

/**
 * The labels of one decision. All are low-cardinality: reason codes, policy rule ids, modes. Never an
 * IP, token, `keyid`, principal id or path.
 */
export interface DecisionLabels {
  /** `allow` or `deny`. */
  outcome: string;
  /** `OK` or a reason code (e.g. `ERR_TOKEN_EXPIRED`). */
  reason: string;
  /** What in the policy decided (a rule id, `list:bad`, a category key, `default`), or `none`. */
  rule: string;
  /** `enforce` or `monitor`. */
  mode: string;
}

/**
 * What a metrics backend implements (prom-client, OpenTelemetry metrics, StatsD…). Labels are
 * low-cardinality only. Suggested Prometheus names: a counter `<prefix>_decisions_total` and a
 * histogram `<prefix>_decision_duration_seconds`, both labelled `outcome`, `reason`, `rule` and `mode`.
 */
export interface Metrics {
  /** One call per decision, with its labels and the time spent deciding, in seconds. Must not block. */
  decision(labels: DecisionLabels, durationSeconds: number): void;
}

/**
 * Checks a `metrics` option. Throws ConfigError (`ERR_CONFIG_INVALID_VALUE`, at `path`) unless the
 * value is an object with a `decision` function.
 */
export function validateMetrics(value: unknown, path: string): Metrics {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof (value as Partial<Metrics>).decision !== 'function') {
    throw invalid(path, 'an object with a decision(labels, durationSeconds) function', value);
  }
  return value as Metrics;
}

/**
 * Reports one decision to a metrics backend. Never throws: an error thrown (or a promise rejected) by
 * the backend is swallowed, so metrics can never change a decision.
 */
export function recordDecision(metrics: Metrics | undefined, decision: Decision): void {
  if (metrics === undefined) return;
  try {
    const ms = decision.durationMs;
    const labels: DecisionLabels = {
      outcome: decision.outcome,
      reason: decision.reason,
      rule: decision.rule ?? 'none',
      mode: decision.mode,
    };
    const result: unknown = metrics.decision(labels, Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0);
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      // An async backend: its rejection must not become an unhandled rejection.
      Promise.resolve(result).catch(() => undefined);
    }
  } catch {
    // A broken metrics backend must not turn a decision into a crash.
  }
}
