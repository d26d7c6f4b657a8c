import type { IncomingMessage, ServerResponse } from 'node:http';
import { serializeDictionary, type Dictionary } from 'structured-headers';
import { ConfigError } from '../errors.js';
import type { Jwk } from '../keys/key.js';
import { isAuthority } from '../lib/authority.js';
import type { Duration } from '../lib/duration.js';
import { checkObject, duration, invalid, optionalFunction } from '../lib/validate.js';
import { signWith } from '../signatures/algorithms.js';
import { signatureBase } from '../signatures/base.js';
import { resolveComponent } from '../signatures/components.js';
import { contentDigest } from '../signatures/content-digest.js';
import { DIRECTORY_MEDIA_TYPE, DIRECTORY_PATH } from '../signatures/directory.js';
import { componentId, serializeSignatureParams } from '../signatures/parse.js';
import { tryParseList } from '../signatures/structured-fields.js';
import type { ComponentId, SignedMessage } from '../signatures/types.js';
import { joseAlgFor, orderedJwk } from './jwk.js';
import { importPrivateKey, type PrivateKeyInput, type PrivateSigningKey } from './private-key.js';

/** Options of `createDirectory`. Validated at construction: a bad value throws a ConfigError naming the option. */
export interface DirectoryHandlerOptions {
  /**
   * Your private signing keys (KeyObject, private JWK or PEM), at least one. The directory lists
   * their public halves (`kid` = the RFC 7638 thumbprint) and signs every response once with each
   * (Web Bot Auth §Validating the Domain Binding), which Cloudflare requires before it uses a key.
   * A plain RSA key without a JWK `alg` signs with rsa-pss-sha512, the RSA algorithm Web Bot Auth uses.
   */
  keys: PrivateKeyInput[];
  /**
   * Lifetime of the response signatures: `expires` = `created` + this, in seconds or a string like
   * `"5m"` (rounded up to whole seconds, at least 1 s). Default 300 s. `Cache-Control: max-age`
   * never exceeds what is left of it (and is capped at one day).
   */
  expiresIn?: number | Duration;
  /** The clock, in milliseconds since the epoch, for `created` and `expires`. Default `Date.now`. */
  now?: () => number;
}

/** A directory response, framework-agnostic. */
export interface DirectoryResponse {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Record<string, string>;
  /** The body: the JWKS for 200, a short text otherwise. For HEAD, send the headers only. */
  readonly body: string;
}

/** A request to the directory: a Web `Request`, or its absolute URL (and method). */
export type DirectoryRequest = Request | { readonly url: string; readonly method?: string };

/** A signed Web Bot Auth key directory (`/.well-known/http-message-signatures-directory`). */
export interface KeyDirectory {
  /** Where to serve it: `/.well-known/http-message-signatures-directory`. */
  readonly path: typeof DIRECTORY_PATH;
  /** The directory document: the public JWKs, `kid` = thumbprint, `use: "sig"`, `alg` for RSA keys. */
  readonly jwks: { readonly keys: Jwk[] };
  /**
   * The response to a request for the directory: 200 with `content-type`
   * (application/http-message-signatures-directory+json), `cache-control`, `content-digest`
   * (RFC 9530) and one signature per key (`binding`, `binding2`, …) over `"@authority";req` and
   * `content-digest` with `created`, `expires`, `keyid` and `tag="http-message-signatures-directory"`.
   * `@authority` is the request's (absolute `url`), lower-cased, default port dropped. 405 for methods
   * other than GET and HEAD, 400 when the URL has no usable authority.
   */
  respond(request: DirectoryRequest): DirectoryResponse;
  /** A fetch handler (Hono `app.get(dir.path, (c) => dir.fetch(c.req.raw))`, Workers, Deno, Bun). */
  fetch(request: Request): Response;
  /**
   * A Node handler (`http.createServer`, Express `app.get(dir.path, dir.node)`, Koa with
   * `ctx.respond = false`, Fastify with `reply.hijack()`). The authority is the `Host` header
   * (`:authority` on HTTP/2), taken as https, since verifiers only fetch directories over https.
   */
  node(req: IncomingMessage, res: ServerResponse): void;
}

const TAG = 'http-message-signatures-directory';
const COMPONENTS: readonly ComponentId[] = [componentId('@authority', { req: true }), componentId('content-digest')];
const AUTHORITY = COMPONENTS[0] as ComponentId;
/** Cache-Control ceiling: a directory is how keys are revoked, so caches should come back daily. */
const MAX_CACHE_SECONDS = 86_400;
/** Authorities whose signatures are kept for reuse; the Host header is the client's, so this is bounded. */
const MAX_CACHED_AUTHORITIES = 64;

interface SignedHeaders {
  readonly created: number;
  readonly expires: number;
  readonly signatureInput: string;
  readonly signature: string;
}

function textResponse(status: number, text: string, extra: Record<string, string> = {}): DirectoryResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra }, body: `${text}\n` };
}

function resolveKeys(value: unknown): PrivateSigningKey[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('keys', 'a non-empty array of private keys', value);
  const seen = new Set<string>();
  return value.map((input: unknown, i) => {
    const key = importPrivateKey(input, `keys[${i}]`, undefined, 'rsa-pss-sha512');
    if (key.algorithm === 'hmac-sha256') throw invalid(`keys[${i}]`, 'an asymmetric private key', 'a secret');
    if (seen.has(key.thumbprint)) throw new ConfigError('ERR_CONFIG_INVALID_VALUE', `keys[${i}]`, `\`keys[${i}]\` is the same key as an earlier one; list each key once.`);
    seen.add(key.thumbprint);
    return key;
  });
}

/**
 * Creates a signed key directory for a Web Bot Auth signer: serve it at `dir.path` on the origin
 * your `Signature-Agent` names. Signatures are made per authority and reused for up to a minute
 * (a tenth of `expiresIn` at most), so a flood of requests does not become a flood of signing.
 */
export function createDirectory(options: DirectoryHandlerOptions): KeyDirectory {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid('options', 'an object with `keys`', options);
  const o = checkObject(options, '', ['keys', 'expiresIn', 'now']);
  const keys = resolveKeys(o.keys);
  const lifetime = duration(o.expiresIn, 'expiresIn', 300);
  if (lifetime <= 0) throw invalid('expiresIn', 'a positive duration, such as 300 or "5m"', o.expiresIn);
  const expiresIn = Math.ceil(lifetime);
  const now = optionalFunction<() => number>(o.now, 'now') ?? Date.now;
  const reuseFor = Math.min(60, Math.floor(expiresIn / 10));

  const publicJwks = keys.map((k) => Object.freeze(orderedJwk(k.publicMembers, { kid: k.thumbprint, alg: joseAlgFor(k.algorithm), use: 'sig' })));
  const jwks = Object.freeze({ keys: Object.freeze(publicJwks) as Jwk[] });
  const body = JSON.stringify(jwks);
  const digest = contentDigest(Buffer.from(body, 'utf8'), ['sha-256']);
  const cache = new Map<string, SignedHeaders>();

  /** One signature per key over this authority, members in key order. Undefined when the base cannot be built. */
  const sign = (response: SignedMessage, created: number): SignedHeaders | undefined => {
    const expires = created + expiresIn;
    const inputs: Dictionary = new Map();
    const signatures: Dictionary = new Map();
    for (const [i, key] of keys.entries()) {
      const label = i === 0 ? 'binding' : `binding${i + 1}`;
      const paramsValue = serializeSignatureParams(COMPONENTS, { created, expires, keyid: key.thumbprint, tag: TAG });
      const base = signatureBase(response, { components: COMPONENTS, paramsValue });
      const innerList = tryParseList(paramsValue)?.[0];
      if (!base.startsWith('"@authority";req: ') || innerList === undefined) return undefined;
      inputs.set(label, innerList);
      signatures.set(label, [new Uint8Array(signWith(key.key, key.algorithm, base)), new Map()]);
    }
    return { created, expires, signatureInput: serializeDictionary(inputs), signature: serializeDictionary(signatures) };
  };

  const respond = (request: DirectoryRequest): DirectoryResponse => {
    const method = request?.method;
    if (method !== undefined && method !== 'GET' && method !== 'HEAD') return textResponse(405, 'Method Not Allowed', { allow: 'GET, HEAD' });
    const url = request?.url;
    if (typeof url !== 'string') return textResponse(400, 'Bad Request');
    const requestMessage: SignedMessage = { method: method ?? 'GET', url, fieldLines: () => undefined };
    const response: SignedMessage = { status: 200, request: requestMessage, fieldLines: (name) => (name === 'content-digest' ? [digest] : undefined) };
    const authority = resolveComponent(response, AUTHORITY);
    if (typeof authority !== 'string') return textResponse(400, 'Bad Request');

    const nowSeconds = Math.floor(now() / 1000);
    let signed = cache.get(authority);
    if (signed === undefined || nowSeconds < signed.created || nowSeconds - signed.created >= Math.max(1, reuseFor)) {
      signed = sign(response, nowSeconds);
      if (signed === undefined) return textResponse(400, 'Bad Request');
      if (cache.size >= MAX_CACHED_AUTHORITIES) cache.delete(cache.keys().next().value as string);
      cache.delete(authority);
      cache.set(authority, signed);
    }
    const maxAge = Math.max(0, Math.min(MAX_CACHE_SECONDS, signed.expires - nowSeconds));
    return {
      status: 200,
      headers: {
        'content-type': DIRECTORY_MEDIA_TYPE,
        'cache-control': `public, max-age=${maxAge}`,
        'content-digest': digest,
        'signature-input': signed.signatureInput,
        signature: signed.signature,
      },
      body,
    };
  };

  const fetchHandler = (request: Request): Response => {
    const answer = respond(request);
    return new Response(request.method === 'HEAD' ? null : answer.body, { status: answer.status, headers: answer.headers });
  };

  const nodeHandler = (req: IncomingMessage, res: ServerResponse): void => {
    const header = req.headers[':authority'] ?? req.headers.host;
    const host = Array.isArray(header) ? header[0] : header;
    const answer =
      typeof host === 'string' && isAuthority(host) ? respond({ url: `https://${host}${DIRECTORY_PATH}`, method: req.method ?? 'GET' }) : textResponse(400, 'Bad Request');
    res.writeHead(answer.status, answer.headers);
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  };

  return Object.freeze({ path: DIRECTORY_PATH, jwks, respond, fetch: fetchHandler, node: nodeHandler });
}
