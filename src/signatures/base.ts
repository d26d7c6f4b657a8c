/**
 * The signature base (RFC 9421 §2.5): the exact bytes a signature covers. Built from the covered
 * components in the order the signer listed them, then the re-serialized `@signature-params` line.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9421.html#section-2.5
 */
import type { ComponentId, ParsedSignature, SignatureProblem, SignedMessage } from './types.js';
import { resolveComponent } from './components.js';

/**
 * The signature base (RFC 9421 §2.5): one `id: value` line per covered component, then
 * `"@signature-params": paramsValue`, joined with LF, no trailing LF. The first component that cannot
 * be produced decides the problem; a component covered twice is invalid (§2.5 step 2.1), checked here
 * too because signers may build the list by hand.
 */
export function signatureBase(
  message: SignedMessage,
  signature: Pick<ParsedSignature, 'components' | 'paramsValue'>,
): string | SignatureProblem {
  const { components } = signature;
  let base = '';
  for (let i = 0; i < components.length; i++) {
    const component = components[i] as ComponentId;
    if (component.name === '@signature-params' || coveredBefore(components, i)) return 'component-invalid';
    const value = resolveComponent(message, component);
    if (typeof value !== 'string') return value.problem;
    base += `${component.id}: ${value}\n`;
  }
  return `${base}"@signature-params": ${signature.paramsValue}`;
}

/** A linear scan: at most a few dozen components (the parser caps them), so no Set allocation per request. */
function coveredBefore(components: readonly ComponentId[], index: number): boolean {
  const { id } = components[index] as ComponentId;
  for (let i = 0; i < index; i++) if ((components[i] as ComponentId).id === id) return true;
  return false;
}

/**
 * True when the signature covers a component with this name and exactly these parameters, in any
 * order (e.g. `covers(sig, 'signature-agent', { key: 'agent2' })`). A `false` flag means "absent", as
 * in `componentId`. Profiles use this to require coverage (RFC 9421 §3.2 step 3, Web Bot Auth's
 * "each signature MUST cover its own Signature-Agent member").
 */
export function covers(
  signature: Pick<ParsedSignature, 'components'>,
  name: string,
  params?: Record<string, string | boolean>,
): boolean {
  const { components } = signature;
  if (params === undefined) {
    // The common question (is `@authority` covered?), asked on every request: no allocation.
    for (let i = 0; i < components.length; i++) {
      const c = components[i] as ComponentId;
      if (c.name === name && c.params.size === 0) return true;
    }
    return false;
  }
  const wanted = Object.entries(params).filter(([, value]) => value !== false);
  return components.some(
    (c) => c.name === name && c.params.size === wanted.length && wanted.every(([key, value]) => c.params.get(key) === value),
  );
}
