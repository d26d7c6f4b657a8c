/** What kind of caller a principal is. */
export type PrincipalKind = 'app' | 'service' | 'agent' | 'anonymous';

/**
 * Who the caller is, as far as it could prove. Policy matches on this, never on raw headers.
 * Contains claims, never the token itself.
 */
export interface Principal {
  /**
   * `app:approov`, `app:<firebase app id>`, `service:<sub>` (generic JWT), `agent:<origin>#<thumbprint>`
   * (Web Bot Auth), `service:<keyid>` (RFC 9421 with configured keys), a configured name, or `anonymous`.
   */
  readonly id: string;
  readonly kind: PrincipalKind;
  /** True when a verifier proved this identity on this request. */
  readonly verified: boolean;
  /** The verifier that proved it (`approov`, `firebase`, the JWT verifier's name, `web-bot-auth` or `rfc9421`). */
  readonly via?: string;
  /** Firebase app id (`sub`). */
  readonly appId?: string;
  /** Approov device id (`did`). */
  readonly deviceId?: string;
  /** Approov installation public key (`ipk`, base64 DER SubjectPublicKeyInfo of a P-256 key). */
  readonly installPublicKey?: string;
  /** Token issuer (`iss`), when it has one. */
  readonly issuer?: string;
  /** Token subject (`sub`), when it has one. */
  readonly subject?: string;
  /** The verified token's claims. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** Signatures: the keyid of the first verified signature (a JWK thumbprint for Web Bot Auth). */
  readonly keyid?: string;
  /** Signatures: the agent origin (or JWKS URL) whose key directory vouched for the key. */
  readonly agent?: string;
  /** Signatures: the label of the first verified signature. */
  readonly label?: string;
}

export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', kind: 'anonymous', verified: false });
