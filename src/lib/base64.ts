const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** True when `s` uses only the unpadded base64url alphabet (RFC 7515 §2) and has a possible length. */
export function isBase64Url(s: string): boolean {
  return s.length % 4 !== 1 && BASE64URL.test(s);
}

/**
 * Decodes a secret given as standard base64 (padded or not) or base64url, as Approov's CLI prints it
 * in either form (`approov secret -get base64` / `base64url`). `undefined` when it is neither.
 */
export function decodeBase64Secret(s: string): Buffer | undefined {
  const text = s.trim();
  if (text.length === 0 || text.length % 4 === 1) return undefined;
  if (BASE64.test(text)) return Buffer.from(text, 'base64');
  if (BASE64URL.test(text)) return Buffer.from(text, 'base64url');
  return undefined;
}
