/**
 * Shapes shared by the RFC 9421 layers (parse → components → base → algorithms) and the profiles
 * built on them. Internal: the public types are re-exported from `src/index.ts` where needed.
 */

/** Why one signature failed, before the guard maps it to a reason code. Never carries key material. */
export type SignatureProblem =
  /** A structured field could not be parsed, or a member has the wrong type (RFC 9421 §4.1, §4.2). */
  | 'malformed'
  /** A covered component is not in the message (a header, a query parameter, `req` with no request). */
  | 'component-missing'
  /** A covered component is not allowed: duplicated, upper-case, `@signature-params`, unknown derived name, bad parameters. */
  | 'component-invalid'
  /** A signature parameter has the wrong type or value (negative `created`, `created` after `expires`). */
  | 'param-invalid';

/** One covered component identifier from `Signature-Input` (RFC 9421 §2). */
export interface ComponentId {
  /** The component name exactly as sent (`@authority`, `content-digest`). */
  readonly name: string;
  /**
   * Its parameters in the order sent: `sf`, `bs`, `req`, `tr` are `true`; `key` and `name` are
   * strings. Any other parameter, or a value of the wrong type, makes the component invalid.
   */
  readonly params: ReadonlyMap<string, string | boolean>;
  /** The serialized identifier as it appears in a signature base: `"signature-agent";key="agent2"`. */
  readonly id: string;
}

/** The well-known signature parameters (RFC 9421 §2.3), type-checked. Others are kept only in `paramsValue`. */
export interface SignatureParams {
  /** Unix seconds (an sf-integer ≥ 0). */
  readonly created?: number;
  /** Unix seconds (an sf-integer ≥ 0). */
  readonly expires?: number;
  readonly nonce?: string;
  readonly alg?: string;
  readonly keyid?: string;
  readonly tag?: string;
}

/** One labelled signature: its `Signature-Input` member joined with its `Signature` member. */
export interface ParsedSignature {
  readonly label: string;
  readonly components: readonly ComponentId[];
  readonly params: SignatureParams;
  /** The `@signature-params` value: the inner list re-serialized (label excluded), never the raw header text. */
  readonly paramsValue: string;
  /** The signature bytes (the `Signature` member's byte sequence). */
  readonly signature: Uint8Array;
  /** Set when this label is unusable (only in one of the two headers, wrong member types, bad parameter types). */
  readonly problem?: SignatureProblem;
}

/**
 * The message a signature is checked over. Requests have `method` and `url`; responses have `status`
 * and, for components with `req`, the `request` they answer.
 */
export interface SignedMessage {
  /** The request method as received (`GET`). */
  readonly method?: string;
  /** The absolute target URI, with the raw (undecoded) path and query. */
  readonly url?: string;
  /** The response status code. */
  readonly status?: number;
  /**
   * The field lines of one header, in order, exactly as received (before trimming), or `undefined`
   * when the message has none. `name` is lower-case. When only a combined value is available (a Web
   * `Headers`), it is one line.
   */
  fieldLines(name: string): readonly string[] | undefined;
  /** For a response: the request it answers (components with the `req` parameter read from it). */
  readonly request?: SignedMessage;
}

/** The HTTP signature algorithms (RFC 9421 §6.2 registry). */
export const SIGNATURE_ALGORITHMS = [
  'ed25519',
  'ecdsa-p256-sha256',
  'ecdsa-p384-sha384',
  'rsa-pss-sha512',
  'rsa-v1_5-sha256',
  'hmac-sha256',
] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];
