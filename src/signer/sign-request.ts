import type { Jwk } from '../keys/key.js';
import { invalid } from '../lib/validate.js';
import { signWith } from '../signatures/algorithms.js';
import { signatureBase } from '../signatures/base.js';
import { resolveComponent } from '../signatures/components.js';
import { checkContentDigest, contentDigest } from '../signatures/content-digest.js';
import { componentId, serializeSignatureParams } from '../signatures/parse.js';
import { isAsciiText, tryParseList } from '../signatures/structured-fields.js';
import type { ComponentId, SignatureProblem, SignedMessage } from '../signatures/types.js';
import { dictionaryOf, freeKey, withMember } from './dictionary-members.js';
import { SigningError } from './errors.js';
import { resolveSignerOptions, type ResolvedSignerOptions, type SignerOptions } from './options.js';
import { RequestFields, type SignerHeaders } from './request-fields.js';
import { signatureAgentMember } from './signature-agent-member.js';

/** A request to sign, as `Signer.headers` takes it. */
export interface SignableRequest {
  /** The method exactly as it will be sent (`@method` is case-sensitive, RFC 9421 §2.2.1). */
  method: string;
  /** The absolute http(s) URL it will be sent to; the fragment is ignored, as HTTP never sends it. */
  url: string | URL;
  /** Its headers. A Signature, Signature-Input or Signature-Agent already present is added to, not replaced. */
  headers?: SignerHeaders;
  /** Its body, exactly as it will be sent (a string is sent as UTF-8). */
  body?: Uint8Array | ArrayBuffer | string;
}

/** Signs requests under one key and profile. Create one with `createSigner` and reuse it. */
export interface Signer {
  /**
   * The headers to set on this request (lower-case names): `signature-input` and `signature`, plus
   * `signature-agent` (Web Bot Auth) and `content-digest` (when the body gets one) when added. Each
   * value is the complete field, other signers' members kept: set it, do not append it. Throws a
   * SigningError when the request cannot be signed.
   */
  headers(request: SignableRequest): Record<string, string>;
  /** A copy of `request` with the signature headers set (its body is read into memory first). */
  sign(request: Request): Promise<Request>;
  /** `fetch` that signs every request before sending it with the global `fetch`. */
  readonly fetch: typeof fetch;
  /** The `keyid` this signer sends (by default the key's JWK thumbprint). */
  readonly keyid: string;
  /**
   * The public key as a JWK (`kid` = keyid, `use: "sig"`, and `alg` for RSA keys): what a verifier
   * configures, and what your key directory lists. For a shared secret it holds no key material:
   * `{ kty: "oct", kid, alg: "HS256", use: "sig" }`.
   */
  readonly publicJwk: Jwk;
}

const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const AUTHORITY: ComponentId = componentId('@authority');
const CONTENT_DIGEST: ComponentId = componentId('content-digest');
/** What `signatureBase` returns instead of a base; a base always ends with its `@signature-params` line, so never equals one. */
const BASE_PROBLEMS: ReadonlySet<string> = new Set<SignatureProblem>(['malformed', 'component-missing', 'component-invalid', 'param-invalid']);

/** The absolute target URI as a client sends it: WHATWG-normalized (what `fetch` sends), no fragment. */
function targetUri(url: unknown): string {
  let parsed: URL;
  try {
    if (typeof url !== 'string' && !(url instanceof URL)) throw new TypeError('not a URL');
    parsed = new URL(String(url));
  } catch {
    throw new SigningError('ERR_SIGN_INVALID_REQUEST', 'the request url must be an absolute http(s) URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new SigningError('ERR_SIGN_INVALID_REQUEST', 'the request url must be an absolute http(s) URL');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new SigningError('ERR_SIGN_INVALID_REQUEST', 'the request url must not carry user credentials');
  }
  parsed.hash = '';
  return parsed.href;
}

function bodyBytes(body: unknown): Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new SigningError('ERR_SIGN_INVALID_REQUEST', 'the request body must be a string, a Uint8Array or an ArrayBuffer');
}

function nonceValue(config: ResolvedSignerOptions): string | undefined {
  if (config.nonce === undefined) return undefined;
  const nonce: unknown = config.nonce();
  if (typeof nonce !== 'string' || nonce.length === 0 || !isAsciiText(nonce) || nonce.includes('\t')) {
    throw new SigningError('ERR_SIGN_INVALID_NONCE', 'the `nonce` function must return a non-empty printable ASCII string');
  }
  return nonce;
}

/**
 * Adds or checks the Content-Digest (RFC 9530) of a non-empty body. Returns the value added, `true`
 * when the request's own digest matches and is to be covered, or `false` when nothing is covered.
 */
function digestBody(config: ResolvedSignerOptions, fields: RequestFields, body: Uint8Array | undefined): string | boolean {
  if (config.digest === undefined || body === undefined || body.length === 0) return false;
  const existing = fields.combined('content-digest');
  if (existing !== undefined) {
    if (checkContentDigest(existing, body) !== 'ok') {
      throw new SigningError('ERR_SIGN_DIGEST_MISMATCH', 'the request already carries a Content-Digest that does not match its body (or uses no sha-256/sha-512 member)');
    }
    return true;
  }
  const value = contentDigest(body, [config.digest]);
  fields.set('content-digest', value);
  return value;
}

/** Names the first component the message cannot produce, as the error for a failed signature base. */
function componentError(message: SignedMessage, components: readonly ComponentId[]): SigningError {
  for (const component of components) {
    const value = resolveComponent(message, component);
    if (typeof value === 'string') continue;
    return value.problem === 'component-missing'
      ? new SigningError('ERR_SIGN_COMPONENT_MISSING', `cannot cover ${component.id}: the request has no such component`)
      : new SigningError('ERR_SIGN_COMPONENT_INVALID', `cannot cover ${component.id}: it cannot be derived from this request`);
  }
  return new SigningError('ERR_SIGN_COMPONENT_INVALID', 'the signature base could not be built');
}

/** The covered components, in order: the profile's, the configured ones, the agent member, the digest. */
function coveredComponents(config: ResolvedSignerOptions, agent: ComponentId | undefined, digest: boolean): ComponentId[] {
  const list: ComponentId[] = config.profile === 'web-bot-auth' ? [AUTHORITY] : [];
  const add = (component: ComponentId): void => {
    if (!list.some((c) => c.id === component.id)) list.push(component);
  };
  config.components.forEach(add);
  if (agent !== undefined) add(agent);
  if (digest) add(CONTENT_DIGEST);
  return list;
}

/** The signature headers for one request (see `Signer.headers`). */
export function signRequestHeaders(config: ResolvedSignerOptions, request: SignableRequest): Record<string, string> {
  if (request === null || typeof request !== 'object') throw new SigningError('ERR_SIGN_INVALID_REQUEST', 'the request must be an object');
  const { method } = request;
  if (typeof method !== 'string' || !METHOD.test(method)) throw new SigningError('ERR_SIGN_INVALID_REQUEST', 'the request method must be an HTTP method token');
  const url = targetUri(request.url);
  const fields = new RequestFields(request.headers);
  const out: Record<string, string> = {};

  const existingInput = fields.combined('signature-input');
  const existingSignature = fields.combined('signature');
  const inputs = dictionaryOf(existingInput);
  const signatures = dictionaryOf(existingSignature);
  if (inputs === undefined || signatures === undefined) {
    throw new SigningError('ERR_SIGN_CONFLICT', 'the request already carries a Signature or Signature-Input that is not a structured-field dictionary');
  }
  const label = freeKey(config.label, (key) => inputs.has(key) || signatures.has(key));

  let agentComponent: ComponentId | undefined;
  if (config.agent !== undefined) {
    const member = signatureAgentMember(config.agent, config.agent.key ?? label, fields.combined('signature-agent'));
    agentComponent = member.component;
    if (member.value !== undefined) {
      fields.set('signature-agent', member.value);
      out['signature-agent'] = member.value;
    }
  }

  const digest = digestBody(config, fields, bodyBytes(request.body));
  if (typeof digest === 'string') out['content-digest'] = digest;
  const components = coveredComponents(config, agentComponent, digest !== false);

  const created = Math.floor(config.now() / 1000);
  const paramsValue = serializeSignatureParams(components, {
    created,
    keyid: config.keyid,
    alg: config.includeAlg ? config.algorithm : undefined,
    expires: created + config.expiresIn,
    nonce: nonceValue(config),
    tag: config.tag,
  });
  const message: SignedMessage = { method, url, fieldLines: (name) => fields.lines(name) };
  const base = signatureBase(message, { components, paramsValue });
  if (BASE_PROBLEMS.has(base)) throw componentError(message, components);
  const signature = signWith(config.key, config.algorithm, base);

  const innerList = tryParseList(paramsValue)?.[0];
  if (innerList === undefined) throw new SigningError('ERR_SIGN_COMPONENT_INVALID', 'the signature parameters could not be serialized');
  out['signature-input'] = withMember(existingInput, label, innerList);
  out['signature'] = withMember(existingSignature, label, [new Uint8Array(signature), new Map()]);
  return out;
}

/** A Request like `request`, with the signature headers set and its body buffered. */
async function signWebRequest(config: ResolvedSignerOptions, request: Request): Promise<Request> {
  const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
  const headers = new Headers(request.headers);
  const added = signRequestHeaders(config, { method: request.method, url: request.url, headers, body });
  for (const [name, value] of Object.entries(added)) headers.set(name, value);
  return new Request(request, body === undefined ? { headers } : { headers, body });
}

function signingFetch(config: ResolvedSignerOptions, fetchImpl: typeof fetch | undefined): typeof fetch {
  const send = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const signed = await signWebRequest(config, new Request(input, init));
    return (fetchImpl ?? globalThis.fetch)(signed);
  };
  return send as typeof fetch;
}

/**
 * Creates a signer for HTTP message signatures (RFC 9421), by default under the Web Bot Auth
 * profile. Options are validated here: a bad value throws a ConfigError naming the option.
 *
 * @example
 * const signer = createSigner({ key: process.env.BOT_KEY!, agent: 'https://bot.example' });
 * const response = await signer.fetch('https://api.example.com/items');
 */
export function createSigner(options: SignerOptions): Signer {
  const config = resolveSignerOptions(options);
  return Object.freeze({
    headers: (request: SignableRequest) => signRequestHeaders(config, request),
    sign: (request: Request) => signWebRequest(config, request),
    fetch: signingFetch(config, undefined),
    keyid: config.keyid,
    publicJwk: config.publicJwk,
  });
}

/**
 * A `fetch` that signs every request (see `createSigner`), sending with `fetchImpl` (default: the
 * global `fetch`, looked up at call time).
 */
export function signedFetch(options: SignerOptions, fetchImpl?: typeof fetch): typeof fetch {
  if (fetchImpl !== undefined && typeof fetchImpl !== 'function') throw invalid('fetchImpl', 'a fetch function', fetchImpl);
  return signingFetch(resolveSignerOptions(options), fetchImpl);
}
