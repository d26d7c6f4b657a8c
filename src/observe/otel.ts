import type { Decision } from '../decision.js';

/** Attribute values bonafide sets on a span. */
type AttributeValue = string | number | boolean;

/** The part of an OpenTelemetry span bonafide uses. */
interface SpanLike {
  isRecording(): boolean;
  setAttributes(attributes: Record<string, AttributeValue>): unknown;
}

/** The part of `@opentelemetry/api` bonafide uses. */
interface OpenTelemetryApi {
  readonly trace: { getActiveSpan(): SpanLike | undefined };
}

/** The API once loaded; `undefined` until then, or for good when it is not installed. */
let api: OpenTelemetryApi | undefined;
let loading: Promise<boolean> | undefined;

/**
 * Loads `@opentelemetry/api` when the application has it installed (an optional peer dependency).
 * Imported dynamically, once: later calls return the same promise. Resolves `true` when the API
 * loaded and `false` when it is not installed or not usable; never rejects.
 */
export function loadOpenTelemetry(): Promise<boolean> {
  loading ??= import('@opentelemetry/api').then(
    (module: unknown) => {
      const loaded = apiOf(module);
      if (loaded === undefined) return false;
      api = loaded;
      return true;
    },
    () => false,
  );
  return loading;
}

/**
 * The API from a module namespace: the ESM build exposes `trace` directly; a CommonJS module
 * imported from ESM may expose it only on `default`.
 */
function apiOf(module: unknown): OpenTelemetryApi | undefined {
  for (const candidate of [module, (module as { default?: unknown } | null)?.default]) {
    const trace = (candidate as Partial<OpenTelemetryApi> | null | undefined)?.trace;
    if (trace !== undefined && trace !== null && typeof trace.getActiveSpan === 'function') return candidate as OpenTelemetryApi;
  }
  return undefined;
}

/**
 * Sets the decision's attributes on the active span, if there is one and it records:
 *
 * - `bonafide.outcome`: `allow` or `deny`
 * - `bonafide.reason`: `OK` or the reason code
 * - `bonafide.rule`: what in the policy decided (absent without a policy)
 * - `bonafide.mode`: `enforce` or `monitor`
 * - `bonafide.policy.version`: the policy version (absent without a policy)
 * - `bonafide.principal.kind`: `app`, `service`, `agent` or `anonymous`
 * - `bonafide.principal.verified`: whether a verifier proved the principal
 * - `bonafide.principal.via`: the verifier that proved it (absent when none did)
 *
 * Never a token, signature, key, `keyid`, nonce or client IP. A no-op until `loadOpenTelemetry` has
 * loaded the API, and when it is not installed. Never throws.
 */
export function recordSpan(decision: Decision): void {
  if (api === undefined) return;
  try {
    const span = api.trace.getActiveSpan();
    if (span === undefined || !span.isRecording()) return;
    const attributes: Record<string, AttributeValue> = {
      'bonafide.outcome': decision.outcome,
      'bonafide.reason': decision.reason,
      'bonafide.mode': decision.mode,
      'bonafide.principal.kind': decision.principal.kind,
      'bonafide.principal.verified': decision.principal.verified,
    };
    if (typeof decision.rule === 'string') attributes['bonafide.rule'] = decision.rule;
    if (decision.policy !== null && decision.policy !== undefined) attributes['bonafide.policy.version'] = decision.policy.version;
    if (typeof decision.principal.via === 'string') attributes['bonafide.principal.via'] = decision.principal.via;
    span.setAttributes(attributes);
  } catch {
    // A broken tracer must not turn a decision into a crash.
  }
}
