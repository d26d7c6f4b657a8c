/**
 * Web Bot Auth requests for the signature benchmarks: Ed25519, covering `@authority`, `@method`,
 * `@path` and this signature's Signature-Agent member, with `created`, `expires`, `keyid`, `nonce`
 * (optional) and `tag="web-bot-auth"`.
 *
 * They are signed with bonafide's own signer (`createSigner`, src/signer/index.ts) when that module
 * exists and signs, else with the test helper (test/helpers/http-sig.ts). Either way the signature
 * base is also built here, by hand and independently of both, and every signature is checked
 * against it with `crypto.verify` before the benchmark uses it: the floor verifies exactly what the
 * signer signed, and a signer that disagrees with RFC 9421 stops the run instead of skewing it.
 */
import { randomBytes, verify, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Jwk } from '../../src/index.js';
import { ed25519Pair, sign } from '../../test/helpers/http-sig.js';

/** `dictionary`: `Signature-Agent: sig1="https://…"`, covered as `"signature-agent";key="sig1"` (the current draft). `legacy`: a bare sf-string, covered as `"signature-agent"`. */
export type AgentForm = 'dictionary' | 'legacy';

export interface SignOptions {
  readonly agent: AgentForm;
  /** A fresh 64-byte nonce per signature, or none. */
  readonly nonce: boolean;
}

/** One signed request, as a client sends it, with the base its signature covers. */
export interface SignedRequest {
  readonly method: string;
  /** Absolute URL: what an adapter hands the guard. */
  readonly url: string;
  /** Lower-case names: host, user-agent, accept, signature-agent, signature-input, signature. */
  readonly headers: Readonly<Record<string, string>>;
  /** The signature base (RFC 9421 §2.5), built here. */
  readonly base: string;
  readonly signature: Buffer;
}

export interface RequestSigner {
  /** Which signer made the headers, for the notes. */
  readonly via: string;
  readonly publicJwk: Jwk;
  readonly publicKey: KeyObject;
  readonly keyid: string;
  sign(url: string, options: SignOptions): SignedRequest;
}

export const AGENT_URL = 'https://agent.example';
/** Signatures stay valid this long: far longer than a full run. */
const LIFETIME_SECONDS = 2 * 3600;
const LABEL = 'sig1';

/** The headers a request carries before it is signed. */
function unsignedHeaders(url: URL): Record<string, string> {
  return { host: url.host, 'user-agent': 'bench-agent/1.0 (+https://agent.example)', accept: 'application/json' };
}

// ---------------------------------------------------------------------------------------------
// The signature base, by hand (RFC 9421 §2.5) for exactly the components these requests cover.

/** `@authority` (RFC 9421 §2.2.3): lower-case host, default port dropped. */
function authorityOf(url: URL): string {
  return url.host.toLowerCase();
}

function componentValue(id: string, url: URL, method: string, headers: Readonly<Record<string, string>>): string {
  switch (id) {
    case '"@authority"':
      return authorityOf(url);
    case '"@method"':
      return method;
    case '"@path"':
      return url.pathname;
    case `"signature-agent";key="${LABEL}"`: {
      // §2.1.2: the member re-serialized on its own. Ours is always `sig1="<url>"`.
      const header = headers['signature-agent'] ?? '';
      if (header !== `${LABEL}="${AGENT_URL}"`) throw new Error(`unexpected Signature-Agent ${JSON.stringify(header)}`);
      return `"${AGENT_URL}"`;
    }
    case '"signature-agent"':
      return headers['signature-agent'] ?? '';
    default:
      throw new Error(`the bench base builder does not know component ${id}`);
  }
}

/** The base for a request whose Signature-Input holds one member, `sig1=(…);…`. */
function baseOf(method: string, url: URL, headers: Readonly<Record<string, string>>): string {
  const input = headers['signature-input'] ?? '';
  if (!input.startsWith(`${LABEL}=(`)) throw new Error(`unexpected Signature-Input ${JSON.stringify(input)}`);
  const paramsValue = input.slice(LABEL.length + 1);
  const ids = paramsValue.slice(1, paramsValue.indexOf(')')).split(' ');
  const lines = ids.map((id) => `${id}: ${componentValue(id, url, method, headers)}`);
  return [...lines, `"@signature-params": ${paramsValue}`].join('\n');
}

function signatureOf(headers: Readonly<Record<string, string>>): Buffer {
  const match = /^sig1=:([A-Za-z0-9+/=]+):$/.exec(headers.signature ?? '');
  if (match === null) throw new Error(`unexpected Signature ${JSON.stringify(headers.signature)}`);
  return Buffer.from(match[1]!, 'base64');
}

/** Completes a request the signer returned, and proves its signature covers the base built here. */
function checked(publicKey: KeyObject, method: string, url: URL, headers: Record<string, string>): SignedRequest {
  const base = baseOf(method, url, headers);
  const signature = signatureOf(headers);
  if (!verify(null, Buffer.from(base), publicKey, signature)) {
    throw new Error(`the signer's signature does not verify over the RFC 9421 base the bench built:\n${base}`);
  }
  return { method, url: url.href, headers, base, signature };
}

// ---------------------------------------------------------------------------------------------
// The two signers

/** The part of `bonafide/signer` this uses. */
interface OwnSignerModule {
  createSigner(options: Record<string, unknown>): {
    headers(request: { method: string; url: string; headers: Record<string, string> }): Record<string, string>;
    readonly keyid: string;
    readonly publicJwk: Jwk;
  };
}

const OWN_SIGNER = new URL('../../src/signer/index.ts', import.meta.url);
/** The package's own entry point: the built signer when this runs compiled on plain node (bench/lib/compiled.ts). */
const PACKAGE_SIGNER = 'bonafide/signer';

/** bonafide's `createSigner`, or `undefined` (with the reason) when src/signer/index.ts is absent or does not sign. */
async function ownSigner(publicKey: KeyObject, privateKey: KeyObject): Promise<RequestSigner | string> {
  const source = existsSync(fileURLToPath(OWN_SIGNER));
  try {
    // A computed specifier: the module is optional, so the type checker must not require it.
    const { createSigner } = (await import(source ? OWN_SIGNER.href : PACKAGE_SIGNER)) as OwnSignerModule;
    const common = { key: privateKey, agent: AGENT_URL, components: ['@method', '@path'], includeAlg: false, expiresIn: LIFETIME_SECONDS };
    // One signer per request shape: the shape is an option of the signer, not of the request.
    const shapes = new Map<string, ReturnType<OwnSignerModule['createSigner']>>();
    for (const agent of ['dictionary', 'legacy'] as const) {
      for (const nonce of [true, false]) shapes.set(`${agent}/${nonce}`, createSigner({ ...common, legacyAgentHeader: agent === 'legacy', nonce }));
    }
    const first = shapes.get('dictionary/true')!;
    const signer: RequestSigner = {
      via: '`createSigner` from src/signer (bonafide/signer)',
      publicJwk: first.publicJwk,
      publicKey,
      keyid: first.keyid,
      sign(href, options) {
        const url = new URL(href);
        const headers = unsignedHeaders(url);
        const added = shapes.get(`${options.agent}/${options.nonce}`)!.headers({ method: 'GET', url: url.href, headers });
        return checked(publicKey, 'GET', url, { ...headers, ...added });
      },
    };
    signer.sign('https://api.example.com/', { agent: 'dictionary', nonce: true });
    return signer;
  } catch (error) {
    return `src/signer/index.ts did not sign (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
}

/** The test helper, which signs exactly what it is told. */
function helperSigner(why: string): RequestSigner {
  const pair = ed25519Pair();
  return {
    via: `test/helpers/http-sig.ts (${why})`,
    publicJwk: pair.publicJwk,
    publicKey: pair.publicKey,
    keyid: pair.thumbprint,
    sign(href, options) {
      const url = new URL(href);
      const created = Math.floor(Date.now() / 1000);
      const legacy = options.agent === 'legacy';
      const signed = sign(
        { method: 'GET', url: url.href, headers: unsignedHeaders(url) },
        {
          key: pair.privateKey,
          algorithm: 'ed25519',
          keyid: pair.thumbprint,
          label: LABEL,
          components: ['@authority', '@method', '@path', legacy ? '"signature-agent"' : `"signature-agent";key="${LABEL}"`],
          params: {
            created,
            expires: created + LIFETIME_SECONDS,
            keyid: pair.thumbprint,
            nonce: options.nonce ? randomBytes(64).toString('base64url') : undefined,
            tag: 'web-bot-auth',
          },
          agent: { url: AGENT_URL, legacy },
        },
      );
      return checked(pair.publicKey, 'GET', url, signed.headers);
    },
  };
}

/** bonafide's own signer when it is there and works, else the test helper. */
export async function requestSigner(): Promise<RequestSigner> {
  const { publicKey, privateKey } = ed25519Pair();
  const own = await ownSigner(publicKey, privateKey);
  return typeof own === 'string' ? helperSigner(own) : own;
}

/** `size` distinct signed requests to `url` (each with its own `created`, and its own nonce when asked). */
export function signedPool(signer: RequestSigner, url: string, size: number, options: SignOptions): SignedRequest[] {
  const pool = new Array<SignedRequest>(size);
  for (let i = 0; i < size; i++) pool[i] = signer.sign(url, options);
  return pool;
}
