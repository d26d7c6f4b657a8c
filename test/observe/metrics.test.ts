import { describe, expect, it, vi } from 'vitest';
import type { Decision } from '../../src/decision.js';
import { ConfigError } from '../../src/errors.js';
import { recordDecision, validateMetrics, type DecisionLabels, type Metrics } from '../../src/observe/metrics.js';

function decision(overrides: Partial<Record<keyof Decision, unknown>> = {}): Decision {
  return {
    outcome: 'deny',
    status: 403,
    reason: 'ERR_POLICY_DENIED',
    monitor: false,
    failedOpen: false,
    principal: { id: 'agent:https://agent.example#kid', kind: 'agent', verified: true, via: 'web-bot-auth', keyid: 'kid' },
    checks: [{ check: 'signature', verifier: 'web-bot-auth', outcome: 'verified', reason: 'OK', keyid: 'kid' }],
    mode: 'enforce',
    route: '/v1/*',
    rule: 'block-scrapers',
    policy: { version: 3, hash: 'sha256:abc' },
    dryRun: [],
    durationMs: 2.5,
    ...overrides,
  } as Decision;
}

function recorder() {
  const calls: Array<[DecisionLabels, number]> = [];
  const metrics: Metrics = { decision: (labels, seconds) => void calls.push([labels, seconds]) };
  return { calls, metrics };
}

describe('recordDecision', () => {
  it('reports exactly outcome, reason, rule and mode, and the duration in seconds', () => {
    const { calls, metrics } = recorder();
    recordDecision(metrics, decision());
    expect(calls).toStrictEqual([[{ outcome: 'deny', reason: 'ERR_POLICY_DENIED', rule: 'block-scrapers', mode: 'enforce' }, 0.0025]]);
  });

  it("labels a decision without a policy rule 'none'", () => {
    const { calls, metrics } = recorder();
    recordDecision(metrics, decision({ outcome: 'allow', status: 200, reason: 'OK', rule: null, policy: null, durationMs: 1000 }));
    expect(calls).toStrictEqual([[{ outcome: 'allow', reason: 'OK', rule: 'none', mode: 'enforce' }, 1]]);
  });

  it('labels a monitor-mode allow with the reason it would have been denied', () => {
    const { calls, metrics } = recorder();
    recordDecision(metrics, decision({ outcome: 'allow', status: 200, monitor: true, mode: 'monitor', rule: 'list:bad' }));
    expect(calls[0]![0]).toStrictEqual({ outcome: 'allow', reason: 'ERR_POLICY_DENIED', rule: 'list:bad', mode: 'monitor' });
  });

  it('never labels with a principal id, keyid, route or path', () => {
    const { calls, metrics } = recorder();
    recordDecision(metrics, decision());
    expect(Object.keys(calls[0]![0]).sort()).toStrictEqual(['mode', 'outcome', 'reason', 'rule']);
    expect(JSON.stringify(calls)).not.toMatch(/kid|agent|\/v1/);
  });

  it('reports a negative or non-finite duration as 0 seconds', () => {
    const { calls, metrics } = recorder();
    recordDecision(metrics, decision({ durationMs: -1 }));
    recordDecision(metrics, decision({ durationMs: Number.NaN }));
    recordDecision(metrics, decision({ durationMs: Number.POSITIVE_INFINITY }));
    expect(calls.map(([, seconds]) => seconds)).toStrictEqual([0, 0, 0]);
  });

  it('does nothing without a backend', () => {
    expect(() => recordDecision(undefined, decision())).not.toThrow();
  });

  it('swallows a backend that throws', () => {
    const metrics: Metrics = {
      decision: () => {
        throw new Error('registry exploded');
      },
    };
    expect(() => recordDecision(metrics, decision())).not.toThrow();
  });

  it('swallows a backend that rejects, without an unhandled rejection', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const metrics = { decision: async () => Promise.reject(new Error('push failed')) } as unknown as Metrics;
      expect(() => recordDecision(metrics, decision())).not.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('swallows a malformed decision', () => {
    const { calls, metrics } = recorder();
    expect(() => recordDecision(metrics, null as unknown as Decision)).not.toThrow();
    expect(calls).toStrictEqual([]);
  });
});

describe('validateMetrics', () => {
  it('returns a valid backend as-is, including a class instance', () => {
    const plain = { decision: () => undefined };
    expect(validateMetrics(plain, 'metrics')).toBe(plain);
    class Backend implements Metrics {
      decision(): void {}
    }
    const instance = new Backend();
    expect(validateMetrics(instance, 'metrics')).toBe(instance);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'prom'],
    ['a function', () => undefined],
    ['an array', [{ decision: () => undefined }]],
    ['an object without decision', { inc: () => undefined }],
    ['an object whose decision is not a function', { decision: 'counter' }],
  ])('rejects %s with ERR_CONFIG_INVALID_VALUE at the path', (_name, value) => {
    let error: unknown;
    try {
      validateMetrics(value, 'observe.metrics');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'ERR_CONFIG_INVALID_VALUE', path: 'observe.metrics' });
    expect((error as Error).message).toContain('`observe.metrics` must be an object with a decision(labels, durationSeconds) function');
  });
});
