import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request, type RequestOptions } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { classifyAddress } from '../lib/ip.js';

/**
 * How a guarded fetch runs. The URL it fetches comes from a request header (a caller-chosen
 * Signature-Agent origin), so every knob here is a bound on what a caller can make us do.
 */
export interface GuardedFetchOptions {
  /** Wall-clock budget for the whole exchange: DNS, connect, TLS, headers and body. */
  readonly timeoutMs: number;
  /** Largest body accepted, in bytes (we never decompress, so this is also the size on the wire). */
  readonly maxBytes: number;
  /** Test-only: extra CA certificates to trust (the local self-signed test server); its TLS context is built once per CA (`trustingContext`). */
  readonly ca?: string | Buffer;
  /** Test-only: allow loopback / private addresses (never set in production). */
  readonly allowPrivateAddresses?: boolean;
  /** DNS resolver; default dns.promises.lookup(host, { all: true, verbatim: true }). Injectable for tests. */
  readonly resolve?: (hostname: string) => Promise<readonly { address: string; family: number }[]>;
  /** Extra request headers. `accept-encoding` is always `identity`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Abandons the fetch (answering `network`), so a closing client does not leave sockets open. */
  readonly signal?: AbortSignal;
}

/**
 * Why a guarded fetch produced no usable response:
 * - `not-https`: the URL is not a plain `https:` URL (another scheme, unparsable, userinfo, no host);
 * - `blocked-address`: the host is, or resolves to, an address that is not public;
 * - `dns`: the host could not be resolved (or the resolver answered garbage);
 * - `timeout`: the deadline passed; `too-large`: the body is over the cap;
 * - `redirect`: a 3xx (never followed); `status`: any other non-2xx;
 * - `network`: connection, TLS or protocol failure, or the fetch was aborted.
 */
export type GuardedFetchError = 'not-https' | 'blocked-address' | 'dns' | 'timeout' | 'too-large' | 'redirect' | 'network' | 'status';

export type GuardedResponse =
  | { readonly ok: true; readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: Buffer }
  | { readonly ok: false; readonly error: GuardedFetchError; readonly status?: number; readonly headers?: IncomingHttpHeaders };

class LookupRefused extends Error {
  override name = 'LookupRefused';
  readonly kind: 'dns' | 'blocked-address';
  constructor(kind: 'dns' | 'blocked-address') {
    super(kind === 'dns' ? 'host could not be resolved' : 'host resolves to a non-public address');
    this.kind = kind;
    // Node's net layer reads `code` from lookup errors.
    (this as { code?: string }).code = kind === 'dns' ? 'ENOTFOUND' : 'EACCES';
  }
}

/** Contexts for `trustingContext`, by CA text; a few at most (the option is test-only, usually one CA per process). */
const trustContexts = new Map<string, SecureContext>();
const MAX_TRUST_CONTEXTS = 8;

/**
 * A TLS context that trusts Node's root certificates plus `ca`, built on first use and reused after:
 * building one parses every root certificate (~140), far more work than the fetch it would serve.
 */
export function trustingContext(ca: string | Buffer): SecureContext {
  const id = typeof ca === 'string' ? ca : ca.toString('latin1');
  let context = trustContexts.get(id);
  if (context === undefined) {
    context = createSecureContext({ ca: [...rootCertificates, ca] });
    if (trustContexts.size >= MAX_TRUST_CONTEXTS) trustContexts.delete(trustContexts.keys().next().value!);
    trustContexts.set(id, context);
  }
  return context;
}

const defaultResolve = (hostname: string): Promise<readonly LookupAddress[]> => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * A GET that a caller cannot aim at our own network. `https:` only, no userinfo, no redirects.
 * Hostnames are resolved inside the socket's `lookup` hook and every answer must be a public
 * address: the address checked is exactly the one connected to, so a DNS record that changes between
 * a check and the connect (rebinding) gains nothing. IP literals skip `lookup` in `net.connect`, so
 * they are checked up front. One deadline covers the whole exchange; the body is counted while it
 * streams and the socket destroyed as soon as it passes the cap. A fresh agent per request keeps
 * these sockets out of the application's pool. Never rejects.
 */
export function guardedGet(url: string, options: GuardedFetchOptions): Promise<GuardedResponse> {
  return new Promise<GuardedResponse>((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ ok: false, error: 'not-https' });
      return;
    }
    if (target.protocol !== 'https:' || target.username !== '' || target.password !== '' || target.hostname === '') {
      resolve({ ok: false, error: 'not-https' });
      return;
    }
    const allowPrivate = options.allowPrivateAddresses === true;
    const permitted = (address: string): 'ok' | 'dns' | 'blocked-address' => {
      const cls = classifyAddress(address);
      if (cls === 'invalid') return 'dns';
      return cls === 'public' || allowPrivate ? 'ok' : 'blocked-address';
    };
    const bracketed = target.hostname.startsWith('[');
    const host = bracketed ? target.hostname.slice(1, -1) : target.hostname;
    const literal = isIP(host) !== 0;
    if (literal && permitted(host) !== 'ok') {
      resolve({ ok: false, error: 'blocked-address' });
      return;
    }
    if (options.signal?.aborted) {
      resolve({ ok: false, error: 'network' });
      return;
    }

    let settled = false;
    let refusal: 'dns' | 'blocked-address' | undefined;
    let req: ReturnType<typeof request> | undefined;
    const onAbort = (): void => finish({ ok: false, error: 'network' });
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), options.timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });

    function finish(result: GuardedResponse): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      req?.destroy();
      resolve(result);
    }

    const resolver = options.resolve ?? defaultResolve;
    const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
      const refuse = (kind: 'dns' | 'blocked-address'): void => {
        refusal ??= kind;
        callback(new LookupRefused(kind), '', 0);
      };
      let answer: Promise<readonly { address: string; family: number }[]>;
      try {
        answer = resolver(hostname);
      } catch {
        refuse('dns');
        return;
      }
      answer.then(
        (found) => {
          if (settled) return refuse('dns');
          if (!Array.isArray(found) || found.length === 0) return refuse('dns');
          const addresses: LookupAddress[] = [];
          for (const entry of found as readonly { address: unknown }[]) {
            const address = typeof entry?.address === 'string' ? entry.address : '';
            const verdict = permitted(address);
            if (verdict !== 'ok') return refuse(verdict);
            // The family is derived from the address itself, never taken from the resolver.
            addresses.push({ address, family: isIP(address) });
          }
          if (lookupOptions.all) callback(null, addresses);
          else callback(null, addresses[0]!.address, addresses[0]!.family);
        },
        () => refuse('dns'),
      );
    };

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
    headers['accept-encoding'] = 'identity';

    // `secureContext` reaches tls.connect, though the https request type does not list it.
    const requestOptions: RequestOptions & { secureContext?: SecureContext } = {
      method: 'GET',
      host,
      port: target.port === '' ? 443 : Number(target.port),
      path: `${target.pathname}${target.search}`,
      headers,
      agent: false,
    };
    if (!literal) {
      requestOptions.lookup = guardedLookup;
      requestOptions.servername = host;
    }

    try {
      if (options.ca !== undefined) requestOptions.secureContext = trustingContext(options.ca);
      req = request(requestOptions);
    } catch {
      finish({ ok: false, error: 'network' });
      return;
    }
    req.on('error', () => finish({ ok: false, error: refusal ?? 'network' }));
    req.on('response', (res: IncomingMessage) => readResponse(res, options.maxBytes, finish, () => settled));
    req.end();
  });
}

function readResponse(res: IncomingMessage, maxBytes: number, finish: (result: GuardedResponse) => void, settled: () => boolean): void {
  const status = res.statusCode ?? 0;
  const headers = res.headers;
  if (status >= 300 && status < 400) return finish({ ok: false, error: 'redirect', status, headers });
  if (status < 200 || status >= 300) return finish({ ok: false, error: 'status', status, headers });
  const declared = headers['content-length'];
  if (declared !== undefined && !(Number(declared) <= maxBytes)) return finish({ ok: false, error: 'too-large', status, headers });
  const chunks: Buffer[] = [];
  let total = 0;
  res.on('data', (chunk: Buffer) => {
    if (settled()) return;
    total += chunk.length;
    if (total > maxBytes) finish({ ok: false, error: 'too-large', status, headers });
    else chunks.push(chunk);
  });
  res.on('end', () => finish({ ok: true, status, headers, body: Buffer.concat(chunks, total) }));
  res.on('error', () => finish({ ok: false, error: 'network' }));
  res.on('close', () => {
    if (!res.complete) finish({ ok: false, error: 'network' });
  });
}
