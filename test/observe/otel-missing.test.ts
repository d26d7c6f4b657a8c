import { describe, expect, it, vi } from 'vitest';
import type { Decision } from '../../src/decision.js';
import { loadOpenTelemetry, recordSpan } from '../../src/observe/otel.js';

// As if `@opentelemetry/api` were not installed: importing it fails.
vi.mock('@opentelemetry/api', () => {
  throw new Error("Cannot find package '@opentelemetry/api'");
});

const decision = {
  outcome: 'allow',
  status: 200,
  reason: 'OK',
  monitor: false,
  failedOpen: false,
  principal: { id: 'anonymous', kind: 'anonymous', verified: false },
  checks: [],
  mode: 'enforce',
  route: null,
  rule: null,
  policy: null,
  dryRun: [],
  durationMs: 0,
} satisfies Decision;

describe('without @opentelemetry/api', () => {
  it('loadOpenTelemetry resolves false, once, without rejecting', async () => {
    const first = loadOpenTelemetry();
    expect(loadOpenTelemetry()).toBe(first);
    await expect(first).resolves.toBe(false);
  });

  it('recordSpan stays a no-op', async () => {
    await loadOpenTelemetry();
    expect(() => recordSpan(decision)).not.toThrow();
  });
});
