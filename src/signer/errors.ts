/** Codes of the errors a signer throws for one request (construction problems are ConfigErrors). */
export type SigningErrorCode =
  /** The request cannot be signed as given: not an absolute http(s) URL, a bad method, a bad header name or value. */
  | 'ERR_SIGN_INVALID_REQUEST'
  /** A component to cover is not in the request (RFC 9421 §2.5: a signer must not sign what is absent). */
  | 'ERR_SIGN_COMPONENT_MISSING'
  /** A component to cover cannot be produced from the request (e.g. a `;key` on a field that is not a dictionary). */
  | 'ERR_SIGN_COMPONENT_INVALID'
  /** The request already carries signature headers this signer cannot add to (not a dictionary, a legacy Signature-Agent). */
  | 'ERR_SIGN_CONFLICT'
  /** The request already carries a Content-Digest that does not match its body (RFC 9530). */
  | 'ERR_SIGN_DIGEST_MISMATCH'
  /** The `nonce` function returned something that is not a printable ASCII string. */
  | 'ERR_SIGN_INVALID_NONCE';

/**
 * Thrown by `Signer.headers` / `Signer.sign` when one request cannot be signed. `code` is stable;
 * the message names the header or component at fault and never holds a header value, a body or
 * key material.
 */
export class SigningError extends Error {
  readonly code: SigningErrorCode;

  constructor(code: SigningErrorCode, message: string) {
    super(`${message} (${code})`);
    this.name = 'SigningError';
    this.code = code;
  }
}
