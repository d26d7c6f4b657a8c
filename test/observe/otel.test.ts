import {
  ROOT_CONTEXT,
  context,
  trace,
  type AttributeValue,
  type Attributes,
  type Context,
  type ContextManager,
  type Span,
  type SpanContext,
  type SpanStatus,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../src/decision.js';
import { loadOpenTelemetry, recordSpan } from '../../src/observe/otel.js';

/** A span that records the attributes set on it. */
class RecordingSpan implements Span {
  readonly attributes: Record<string, AttributeValue | undefined> = {};
  calls = 0;
  constructor(
    readonly name: string,
    private readonly recording = true,
  ) {}
  spanContext(): SpanContext {
    return { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
  }
  setAttribute(key: string, value: AttributeValue): this {
    this.calls++;
    this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    this.calls++;
    Object.assign(this.attributes, attributes);
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(_status: SpanStatus): this {
    return this;
  }
  updateName(): this {
    return this;
  }
  end(): void {}
  isRecording(): boolean {
    return this.recording;
  }
  recordException(): void {}
}

/** A synchronous context manager: enough for `context.with` around synchronous code. */
class StackContextManager implements ContextManager {
  readonly #stack: Context[] = [];
  active(): Context {
    return this.#stack.at(-1) ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    this.#stack.push(ctx);
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#stack.pop();
    }
  }
  bind<T>(_context: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#stack.length = 0;
    return this;
  }
}

class RecordingTracer implements Tracer {
  readonly spans: RecordingSpan[] = [];
  startSpan(name: string): RecordingSpan {
    const span = new RecordingSpan(name);
    this.spans.push(span);
    return span;
  }
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const fn = rest.at(-1) as (span: Span) => ReturnType<F>;
    const span = this.startSpan(name);
    return context.with(trace.setSpan(context.active(), span), fn, undefined, span);
  }
}

const tracer = new RecordingTracer();
const provider: TracerProvider = { getTracer: () => tracer };

/** Runs `fn` with `span` active. */
function inSpan(span: Span, fn: () => void): void {
  context.with(trace.setSpan(context.active(), span), fn);
}

const deny: Decision = {
  outcome: 'deny',
  status: 403,
  reason: 'ERR_POLICY_DENIED',
  monitor: false,
  failedOpen: false,
  principal: {
    id: 'agent:https://agent.example#poqkLGiymh',
    kind: 'agent',
    verified: true,
    via: 'web-bot-auth',
    keyid: 'poqkLGiymh',
    agent: 'https://agent.example',
    label: 'sig1',
  },
  checks: [{ check: 'signature', verifier: 'web-bot-auth', outcome: 'verified', reason: 'OK', keyid: 'poqkLGiymh', label: 'sig1' }],
  mode: 'enforce',
  route: '/v1/*',
  rule: 'block-scrapers',
  policy: { version: 12, hash: 'sha256:feed' },
  dryRun: [{ rule: 'maybe', wouldAction: 'deny' }],
  durationMs: 0.4,
};

const anonymousAllow: Decision = {
  outcome: 'allow',
  status: 200,
  reason: 'ERR_TOKEN_MISSING',
  monitor: true,
  failedOpen: false,
  principal: { id: 'anonymous', kind: 'anonymous', verified: false },
  checks: [{ check: 'attestation', verifier: 'approov', outcome: 'unverified', reason: 'ERR_TOKEN_MISSING' }],
  mode: 'monitor',
  route: null,
  rule: null,
  policy: null,
  dryRun: [],
  durationMs: 0.1,
};

beforeAll(() => {
  expect(context.setGlobalContextManager(new StackContextManager())).toBe(true);
  expect(trace.setGlobalTracerProvider(provider)).toBe(true);
});

afterAll(() => {
  trace.disable();
  context.disable();
});

describe('recordSpan before the API is loaded', () => {
  it('is a no-op', () => {
    tracer.startActiveSpan('request', (span: Span) => {
      recordSpan(deny);
      span.end();
    });
    expect(tracer.spans.at(-1)!.calls).toBe(0);
    expect(tracer.spans.at(-1)!.attributes).toStrictEqual({});
  });
});

describe('loadOpenTelemetry', () => {
  it('loads the installed API once and caches the result', async () => {
    const first = loadOpenTelemetry();
    expect(loadOpenTelemetry()).toBe(first);
    await expect(first).resolves.toBe(true);
    await expect(loadOpenTelemetry()).resolves.toBe(true);
  });
});

describe('recordSpan with the API loaded', () => {
  beforeAll(async () => {
    await loadOpenTelemetry();
  });

  it('sets exactly the decision attributes on the active span', () => {
    tracer.startActiveSpan('GET /v1/items', (span: Span) => {
      recordSpan(deny);
      span.end();
    });
    expect(tracer.spans.at(-1)!.attributes).toStrictEqual({
      'bonafide.outcome': 'deny',
      'bonafide.reason': 'ERR_POLICY_DENIED',
      'bonafide.rule': 'block-scrapers',
      'bonafide.mode': 'enforce',
      'bonafide.policy.version': 12,
      'bonafide.principal.kind': 'agent',
      'bonafide.principal.verified': true,
      'bonafide.principal.via': 'web-bot-auth',
    });
  });

  it('leaves out the rule, policy version and via when the decision has none', () => {
    const span = new RecordingSpan('request');
    inSpan(span, () => recordSpan(anonymousAllow));
    expect(span.attributes).toStrictEqual({
      'bonafide.outcome': 'allow',
      'bonafide.reason': 'ERR_TOKEN_MISSING',
      'bonafide.mode': 'monitor',
      'bonafide.principal.kind': 'anonymous',
      'bonafide.principal.verified': false,
    });
  });

  it('never sets the keyid, agent, principal id, route or policy hash', () => {
    const span = new RecordingSpan('request');
    inSpan(span, () => recordSpan(deny));
    const text = JSON.stringify(span.attributes);
    for (const secret of ['poqkLGiymh', 'agent.example', 'sig1', '/v1/', 'feed']) expect(text).not.toContain(secret);
  });

  it('sets attributes on the innermost active span only', () => {
    const outer = new RecordingSpan('outer');
    const inner = new RecordingSpan('inner');
    inSpan(outer, () => inSpan(inner, () => recordSpan(deny)));
    expect(outer.calls).toBe(0);
    expect(inner.attributes['bonafide.outcome']).toBe('deny');
  });

  it('does nothing without an active span', () => {
    const before = tracer.spans.map((s) => s.calls);
    expect(() => recordSpan(deny)).not.toThrow();
    expect(tracer.spans.map((s) => s.calls)).toStrictEqual(before);
  });

  it('does nothing on a span that does not record', () => {
    const span = new RecordingSpan('sampled-out', false);
    inSpan(span, () => recordSpan(deny));
    expect(span.calls).toBe(0);
  });

  it('swallows a span that throws', () => {
    const span = new RecordingSpan('broken');
    span.setAttributes = () => {
      throw new Error('exporter exploded');
    };
    expect(() => inSpan(span, () => recordSpan(deny))).not.toThrow();
  });

  it('swallows a malformed decision', () => {
    const span = new RecordingSpan('request');
    expect(() => inSpan(span, () => recordSpan(null as unknown as Decision))).not.toThrow();
    expect(() => inSpan(span, () => recordSpan({ outcome: 'deny' } as unknown as Decision))).not.toThrow();
    expect(span.calls).toBe(0);
  });
});
