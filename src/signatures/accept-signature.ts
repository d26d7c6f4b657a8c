import { serializeDictionary, type InnerList, type Item } from 'structured-headers';
import type { ResolvedSignatureConfig, ResolvedSignatureRequirements } from './options.js';
import type { ComponentId } from './types.js';

/** At most this many alternatives (one per accepted algorithm) are offered. */
const MAX_OFFERS = 6;

/**
 * The `Accept-Signature` value (RFC 9421 §5.1) that tells a client what to sign on a route: the
 * components the profile and the route require, the parameters (`created`, `expires`, `nonce` as
 * requests, `tag` with its value), one member per accepted algorithm. Built once per route.
 */
export function acceptSignature(config: ResolvedSignatureConfig, require: ResolvedSignatureRequirements): string {
  const wba = config.profile === 'web-bot-auth';
  const offers = new Map<string, InnerList>();
  let n = 0;
  for (const alg of config.algorithms) {
    if (n === MAX_OFFERS) break;
    const label = `sig${++n}`;
    const items: Item[] = [];
    const add = (name: string, params: Iterable<[string, string | boolean]> = []): void => {
      if (!items.some(([value, p]) => value === name && sameParams(p, params))) items.push([name, new Map(params)]);
    };
    if (wba) {
      add('@authority');
      add('signature-agent', [['key', label]]);
    }
    for (const component of require.components) add(component.name, paramsOf(component));
    if (require.contentDigest) add('content-digest');
    const params = new Map<string, string | boolean>([['created', true]]);
    if (wba || require.parameters.includes('expires')) params.set('expires', true);
    if (config.requireNonce || require.parameters.includes('nonce')) params.set('nonce', true);
    if (config.tag !== undefined) params.set('tag', config.tag);
    params.set('alg', alg);
    offers.set(label, [items, params]);
  }
  return serializeDictionary(offers);
}

function paramsOf(component: ComponentId): [string, string | boolean][] {
  return [...component.params.entries()];
}

function sameParams(a: Map<string, unknown>, b: Iterable<[string, string | boolean]>): boolean {
  const list = [...b];
  return a.size === list.length && list.every(([k, v]) => a.get(k) === v);
}
