import { createPublicKey } from 'node:crypto';
import type { Duration } from '../lib/duration.js';
import { BoundedCache } from '../lib/lru.js';
import { checkObject, duration, optionalString } from '../lib/validate.js';
import type { SignatureKey } from './algorithms.js';
import { DEFAULT_MAX_NONCE_AGE, resolveSignatureRequirements, type ResolvedSignatureConfig } from './options.js';

/**
 * Installation message signing: the app signs each request with the per-install ECDSA P-256 key
 * whose public half rides in its verified attestation token (Approov's `ipk`). The two verifiers
 * composed: the token proves a genuine app, the signature proves this request came from it.
 */
export interface InstallSignatureOptions {
  /** The label of the installation signature. Default `install`. */
  label?: string;
  /** Components the signature must cover. Default `["@method", "@target-uri"]`. */
  components?: string[];
  /** Leeway for `created` in the future and `expires` in the past. Default 60 s. */
  clockSkew?: Duration;
  /** Oldest `created` accepted. Default 5 minutes. */
  maxAge?: Duration;
}

/** Validates `installSignature` into the configuration of a signature verifier that takes its key from the token. */
export function resolveInstallSignature(value: unknown, path: string, cacheSize: number): ResolvedSignatureConfig {
  const o = value === true ? {} : checkObject(value, path, ['label', 'components', 'clockSkew', 'maxAge']);
  const components = o.components ?? ['@method', '@target-uri'];
  return Object.freeze({
    profile: 'rfc9421',
    tag: undefined,
    label: optionalString(o.label, `${path}.label`) ?? 'install',
    keys: new Map(),
    directory: undefined,
    agents: new Map(),
    algorithms: new Set(['ecdsa-p256-sha256'] as const),
    clockSkew: duration(o.clockSkew, `${path}.clockSkew`, 60),
    maxAge: duration(o.maxAge, `${path}.maxAge`, 300),
    maxNonceAge: DEFAULT_MAX_NONCE_AGE,
    requireNonce: false,
    replay: true,
    maxSignatures: 1,
    allowTestKeys: true,
    require: resolveSignatureRequirements({ components }, path),
    maxBodyBytes: 1024 * 1024,
    cacheSize,
  });
}

/** `ipk` values are a few hundred bytes; imported keys are remembered by their text. */
const keys = new BoundedCache<{ readonly key: SignatureKey | undefined; readonly expiresAt: number }>(10_000);

/** The installation key from an `ipk` claim (base64 DER SubjectPublicKeyInfo of a P-256 key), or undefined. */
export function installKeyOf(ipk: string, nowMs: number): SignatureKey | undefined {
  const hit = keys.get(ipk, nowMs);
  if (hit !== undefined) return hit.key;
  let key: SignatureKey | undefined;
  try {
    const imported = createPublicKey({ key: Buffer.from(ipk, 'base64'), format: 'der', type: 'spki' });
    if (imported.asymmetricKeyType === 'ec' && imported.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
      // The keyid names the key itself, so verified-signature cache entries never cross installations.
      key = { keyid: `install:${ipk}`, algorithm: 'ecdsa-p256-sha256', key: imported };
    }
  } catch {
    key = undefined;
  }
  keys.set(ipk, { key, expiresAt: nowMs + 3_600_000 });
  return key;
}
