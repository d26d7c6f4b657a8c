/**
 * `bonafide/signer`: the client side of HTTP message signatures (RFC 9421) and Web Bot Auth. Sign
 * requests (`createSigner`, `signedFetch`), serve your signed key directory (`createDirectory`) and
 * make keys (`generateKeyPair`).
 */
export { createSigner, signedFetch, type Signer, type SignableRequest } from './sign-request.js';
export type { SecretSigningKey, SignerOptions } from './options.js';
export type { SignerHeaders } from './request-fields.js';
export { SigningError, type SigningErrorCode } from './errors.js';
export {
  createDirectory,
  type DirectoryHandlerOptions,
  type DirectoryRequest,
  type DirectoryResponse,
  type KeyDirectory,
} from './directory-handler.js';
export { generateKeyPair, type GeneratedKeyPair, type KeyPairAlgorithm } from './keygen.js';
export type { PrivateKeyInput } from './private-key.js';
export { ConfigError, type ConfigErrorCode } from '../errors.js';
export type { Jwk } from '../keys/key.js';
export type { Duration } from '../lib/duration.js';
export type { DigestAlgorithm } from '../signatures/content-digest.js';
export type { SignatureAlgorithm } from '../signatures/types.js';
