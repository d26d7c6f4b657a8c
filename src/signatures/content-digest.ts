import { createHash, timingSafeEqual } from 'node:crypto';
import { types } from 'node:util';
import { parseDictionary, type Dictionary } from 'structured-headers';

/**
 * RFC 9530 `Content-Digest`. A signature that covers `content-digest` only proves the header was
 * signed; the body is bound only once the digest is recomputed over the bytes received (RFC 9421
 * §7.2.8), which is what `checkContentDigest` is for.
 */

/** The digest algorithms RFC 9530 §5 lists as active; the deprecated ones (md5, sha, crc32c…) are ignored. */
export type DigestAlgorithm = 'sha-256' | 'sha-512';

const HASHES: ReadonlyMap<string, { readonly hash: string; readonly bytes: number }> = new Map([
  ['sha-256', { hash: 'sha256', bytes: 32 }],
  ['sha-512', { hash: 'sha512', bytes: 64 }],
]);

const DEFAULT_ALGORITHMS: readonly DigestAlgorithm[] = ['sha-256'];

function digest(algorithm: string, body: Uint8Array): Buffer {
  const spec = HASHES.get(algorithm);
  if (spec === undefined) throw new TypeError(`unsupported digest algorithm ${algorithm}`);
  return createHash(spec.hash).update(body).digest();
}

/**
 * `Content-Digest` value for a body, e.g. `sha-256=:...:` (one member per algorithm, in the order
 * given). Throws TypeError for an empty list or an unknown algorithm (a signer-side mistake).
 */
export function contentDigest(body: Uint8Array, algorithms: readonly DigestAlgorithm[] = DEFAULT_ALGORITHMS): string {
  if (algorithms.length === 0) throw new TypeError('contentDigest needs at least one algorithm');
  return [...new Set(algorithms)].map((algorithm) => `${algorithm}=:${digest(algorithm, body).toString('base64')}:`).join(', ');
}

/** The byte sequence of every member, or undefined when any member is not a bare byte sequence. */
function byteSequences(dictionary: Dictionary): Map<string, Uint8Array> | undefined {
  const members = new Map<string, Uint8Array>();
  for (const [name, member] of dictionary) {
    const value = member[0];
    // An inner list's first element is an array; a byte sequence parses to an ArrayBuffer.
    if (!types.isArrayBuffer(value)) return undefined;
    members.set(name, new Uint8Array(value));
  }
  return members;
}

function matches(expected: Buffer, received: Uint8Array): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}

/**
 * Checks a received Content-Digest (an SF dictionary, parsed strictly — never a regex) against the
 * body bytes. 'ok' when every supported algorithm present matches (at least one supported present);
 * 'mismatch' when any supported one differs (constant-time compare); 'unsupported' when only
 * unknown algorithms (e.g. md5/sha only) are present; 'malformed' when not a non-empty dictionary
 * of byte sequences. Every supported digest is checked, not just the first: otherwise a correct
 * sha-256 could carry a wrong sha-512 past a verifier that prefers the other. Never throws.
 */
export function checkContentDigest(headerValue: string, body: Uint8Array): 'ok' | 'mismatch' | 'malformed' | 'unsupported' {
  let members: Map<string, Uint8Array> | undefined;
  try {
    members = byteSequences(parseDictionary(headerValue));
  } catch {
    return 'malformed';
  }
  if (members === undefined || members.size === 0) return 'malformed';
  let supported = 0;
  let mismatched = false;
  try {
    for (const [name, received] of members) {
      if (!HASHES.has(name)) continue;
      supported++;
      if (!matches(digest(name, body), received)) mismatched = true;
    }
  } catch {
    return 'malformed';
  }
  if (supported === 0) return 'unsupported';
  return mismatched ? 'mismatch' : 'ok';
}
