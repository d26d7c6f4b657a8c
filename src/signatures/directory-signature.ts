import type { IncomingHttpHeaders } from 'node:http';
import { verifyWith, type SignatureKey } from './algorithms.js';
import { covers, signatureBase } from './base.js';
import { checkContentDigest } from './content-digest.js';
import { parseSignatures } from './parse.js';
import type { SignedMessage } from './types.js';

/** The tag of a directory response's own signatures (web-bot-auth.md §1.4). */
export const DIRECTORY_SIGNATURE_TAG = 'http-message-signatures-directory';

/** Leeway for a directory signature's `created` in the future and `expires` in the past, in seconds. */
const SKEW_SECONDS = 60;

/** A fetched directory response, as the directory client holds it. */
export interface DirectoryResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array;
}

/**
 * The keys whose own signature over the directory response verifies (the "possession proof"): a
 * signature tagged `http-message-signatures-directory`, keyid = the key's thumbprint, covering
 * `"@authority";req` (the authority we fetched from) and `content-digest`, which must match the body;
 * `created` not in the future and `expires` not passed. Keys without such a signature are dropped.
 */
export function directoryKeysSignedIn(response: DirectoryResponse, requestUrl: string, keys: readonly SignatureKey[], nowMs: number): SignatureKey[] {
  const input = headerText(response.headers['signature-input']);
  const signature = headerText(response.headers['signature']);
  const digest = headerText(response.headers['content-digest']);
  if (input === undefined || signature === undefined || digest === undefined) return [];
  if (checkContentDigest(digest, response.body) !== 'ok') return [];
  const entries = parseSignatures(input, signature);
  if (typeof entries === 'string') return [];

  const request: SignedMessage = { method: 'GET', url: requestUrl, fieldLines: () => undefined };
  const message: SignedMessage = {
    status: response.status,
    request,
    fieldLines: (name) => {
      const value = response.headers[name];
      if (value === undefined) return undefined;
      return Array.isArray(value) ? value : [String(value)];
    },
  };
  const now = nowMs / 1000;
  const proven = new Set<string>();
  for (const entry of entries) {
    const { params } = entry;
    if (entry.problem !== undefined || params.tag !== DIRECTORY_SIGNATURE_TAG || params.keyid === undefined) continue;
    if (params.created === undefined || params.created > now + SKEW_SECONDS) continue;
    if (params.expires !== undefined && params.expires + SKEW_SECONDS < now) continue;
    if (!covers(entry, '@authority', { req: true }) || !covers(entry, 'content-digest')) continue;
    const key = keys.find((k) => k.thumbprint === params.keyid);
    if (key === undefined || (params.alg !== undefined && params.alg !== key.algorithm)) continue;
    const base = signatureBase(message, entry);
    if (!base.startsWith('"')) continue;
    if (verifyWith(key, base, entry.signature)) proven.add(params.keyid);
  }
  return keys.filter((k) => k.thumbprint !== undefined && proven.has(k.thumbprint));
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
