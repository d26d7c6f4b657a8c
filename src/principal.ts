/** What kind of caller a principal is. */
export type PrincipalKind = 'app' | 'service' | 'agent' | 'anonymous';

/**
 * Who the caller is, as far as it could prove. Policy matches on this, never on raw headers.
 * Contains claims, never the token itself.
 */
export interface Principal {
  /** `app:approov`, `app:<firebase app id>`, `service:<sub>` (generic JWT), or `anonymous`. */
  readonly id: string;
  readonly kind: PrincipalKind;
  /** True when a verifier proved this identity on this request. */
  readonly verified: boolean;
  /** The verifier that proved it (`approov`, `firebase`, or the JWT verifier's name). */
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
}

export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', kind: 'anonymous', verified: false });
