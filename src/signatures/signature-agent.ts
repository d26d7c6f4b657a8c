import { isInnerList, parseItem, Token } from 'structured-headers';
import { parseDictionaryShared } from './structured-fields.js';
import type { ParsedSignature } from './types.js';

/** The same cap as for Signature-Input and Signature: a longer Signature-Agent is never parsed. */
const MAX_HEADER_LENGTH = 8192;

/** Where a signature says its keys can be found (Web Bot Auth, web-bot-auth.md §1.3). */
export interface AgentReference {
  /** The member's URL exactly as sent. */
  readonly url: string;
  /** `directory` (the default): `url` is an origin whose well-known directory lists the keys; `jwks_uri`: `url` is a JWKS. */
  readonly type: 'directory' | 'jwks_uri';
  /** `dictionary` (`agent1="https://…"`, covered with `;key`) or `legacy` (a bare sf-string). */
  readonly form: 'dictionary' | 'legacy';
}

/**
 * Why a signature's agent could not be found. `not-covered`: a Signature-Agent header is present but
 * the signature covers none of it; `ambiguous`: it covers several members; `malformed`: the header is
 * not a structured field of the covered form; `member-missing`: the covered member is not in the
 * header; `unsupported`: a member of an unknown `type` (which a
 * verifier must ignore) or not an sf-string.
 */
export type AgentProblem = 'absent' | 'not-covered' | 'member-missing' | 'ambiguous' | 'malformed' | 'unsupported';

/**
 * The Signature-Agent member this signature covers — never a member it does not cover (protocol-02:
 * a verifier must not attribute a signature to a member it does not sign). A covered
 * `"signature-agent";key="x"` selects member `x` of the dictionary form; a covered bare
 * `"signature-agent"` reads the legacy sf-string form.
 */
export function agentOf(header: string | null, signature: Pick<ParsedSignature, 'components' | 'label'>): AgentReference | AgentProblem {
  let keyed: string | undefined;
  let bare = false;
  let count = 0;
  for (const component of signature.components) {
    if (component.name !== 'signature-agent') continue;
    const key = component.params.get('key');
    if (typeof key === 'string') {
      // Several members covered: the one keyed like the label wins, else it is ambiguous.
      if (keyed === undefined || key === signature.label) keyed = key;
      count++;
    } else if (component.params.size === 0) {
      bare = true;
      count++;
    }
  }
  if (header === null) return 'absent';
  if (header.length > MAX_HEADER_LENGTH) return 'malformed';
  if (count === 0) return 'not-covered';
  if (keyed !== undefined) {
    if (count > 1 && keyed !== signature.label) return 'ambiguous';
    return dictionaryMember(header, keyed);
  }
  return bare ? wholeHeader(header, signature.label) : 'not-covered';
}

/**
 * A bare `"signature-agent"` covers the whole header: the legacy sf-string form, or (as some signers
 * send it) a dictionary, signed in full. Of a dictionary, the member keyed like the label is used, or
 * the only member; several members and none keyed like the label is ambiguous.
 */
function wholeHeader(header: string, label: string): AgentReference | AgentProblem {
  const legacy = legacyValue(header);
  if (legacy !== 'malformed') return legacy;
  const dictionary = parseDictionaryShared(header);
  if (dictionary === undefined) return 'malformed';
  if (dictionary.has(label)) return dictionaryMember(header, label);
  if (dictionary.size !== 1) return dictionary.size === 0 ? 'malformed' : 'ambiguous';
  return dictionaryMember(header, dictionary.keys().next().value!);
}

function dictionaryMember(header: string, key: string): AgentReference | AgentProblem {
  const dictionary = parseDictionaryShared(header);
  if (dictionary === undefined) return 'malformed';
  const member = dictionary.get(key);
  if (member === undefined) return 'member-missing';
  if (isInnerList(member)) return 'unsupported';
  const [value, params] = member;
  if (typeof value !== 'string') return 'unsupported';
  const type = params.get('type');
  if (type === undefined) return { url: value, type: 'directory', form: 'dictionary' };
  if (!(type instanceof Token)) return 'unsupported';
  const name = type.toString();
  if (name === 'directory' || name === 'jwks_uri') return { url: value, type: name, form: 'dictionary' };
  return 'unsupported';
}

function legacyValue(header: string): AgentReference | AgentProblem {
  let item: ReturnType<typeof parseItem>;
  try {
    item = parseItem(header);
  } catch {
    return 'malformed';
  }
  return typeof item[0] === 'string' ? { url: item[0], type: 'directory', form: 'legacy' } : 'unsupported';
}
