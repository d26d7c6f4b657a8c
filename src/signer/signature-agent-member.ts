import { Token, serializeItem, type Item } from 'structured-headers';
import { componentId } from '../signatures/parse.js';
import { serializeMember, tryParseItem } from '../signatures/structured-fields.js';
import type { ComponentId } from '../signatures/types.js';
import { dictionaryOf, freeKey, withMember } from './dictionary-members.js';
import { SigningError } from './errors.js';
import type { ResolvedAgent } from './options.js';

/** This signer's Signature-Agent: the component that covers it, and the new field value (undefined when the request already has it). */
export interface AgentMember {
  readonly component: ComponentId;
  readonly value: string | undefined;
}

/**
 * The Signature-Agent (Web Bot Auth §Signature-Agent) for one signature. Dictionary form: our
 * member, `key="https://…"` (`;type=jwks_uri` when so), is added under `wantedKey`, or under the
 * next free key when another signer's member holds it; an identical member is reused. Legacy form:
 * the bare string, which cannot be shared, so a different Signature-Agent already present is a conflict.
 */
export function signatureAgentMember(agent: ResolvedAgent, wantedKey: string, existing: string | undefined): AgentMember {
  if (agent.legacy) {
    const bare = componentId('signature-agent');
    if (existing === undefined) return { component: bare, value: serializeItem(agent.url) };
    const item = tryParseItem(existing);
    if (item !== undefined && item[0] === agent.url && item[1].size === 0) return { component: bare, value: undefined };
    throw new SigningError('ERR_SIGN_CONFLICT', 'the request already carries another Signature-Agent, which the legacy form cannot share; use the dictionary form');
  }
  const dictionary = dictionaryOf(existing);
  if (dictionary === undefined) {
    throw new SigningError('ERR_SIGN_CONFLICT', 'the request already carries a Signature-Agent that is not a dictionary (the legacy form?), which this signer cannot add to');
  }
  const params = new Map(agent.type === 'jwks_uri' ? [['type', new Token('jwks_uri')]] : []);
  const member: Item = [agent.url, params];
  const current = dictionary.get(wantedKey);
  if (current !== undefined && serializeMember(current) === serializeItem(member)) {
    return { component: componentId('signature-agent', { key: wantedKey }), value: undefined };
  }
  const key = freeKey(wantedKey, (k) => dictionary.has(k));
  return { component: componentId('signature-agent', { key }), value: withMember(existing, key, member) };
}
