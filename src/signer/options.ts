import { randomBytes, type KeyObject } from 'node:crypto';
import { isValidKeyStr } from 'structured-headers';
import { ConfigError } from '../errors.js';
import type { Jwk } from '../keys/key.js';
import type { Duration } from '../lib/duration.js';
import { checkObject, duration, httpsUrl, invalid, missing, oneOf, optionalBoolean, optionalFunction, optionalString } from '../lib/validate.js';
import type { DigestAlgorithm } from '../signatures/content-digest.js';
import { directoryOrigin } from '../signatures/directory.js';
import { parseComponentId, serializeSignatureParams } from '../signatures/parse.js';
import { SIGNATURE_ALGORITHMS, type ComponentId, type SignatureAlgorithm } from '../signatures/types.js';
import { joseAlgFor, orderedJwk } from './jwk.js';
import { importPrivateKey } from './private-key.js';
import { secretForm } from '../signatures/keys.js';

function isSecretInput(value: unknown): value is SecretSigningKey & Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && 'secret' in value;
}

/** A shared secret for hmac-sha256 (plain RFC 9421 only). `encoding` says how a string is read (default `utf8`). */
export interface SecretSigningKey {
  secret: string | Uint8Array;
  encoding?: 'utf8' | 'base64' | 'base64url';
}

/** Options of `createSigner` and `signedFetch`. Validated at construction: a bad value throws a ConfigError naming the option. */
export interface SignerOptions {
  /**
   * The private key: a `KeyObject`, a private JWK (object or JSON text) or a PEM (PKCS#8, SEC1 or
   * PKCS#1). Ed25519 is recommended (small, fast, deterministic). A public key, a secret key or an
   * encrypted PEM is refused (`ERR_CONFIG_INVALID_KEY`). With `profile: "rfc9421"` it may also be a
   * shared secret `{ secret, encoding? }` (hmac-sha256, at least 32 bytes; `keyid` required). Required.
   */
  key: KeyObject | Jwk | string | SecretSigningKey;
  /**
   * The `keyid` signature parameter (RFC 9421 §2.3). Default: the RFC 7638 JWK thumbprint of the
   * public key, which is the only form Web Bot Auth allows, so with that profile any other value is
   * refused.
   */
  keyid?: string;
  /**
   * The signature algorithm (RFC 9421 §3.3). Default: the one the key implies (Ed25519 → `ed25519`,
   * P-256 → `ecdsa-p256-sha256`, P-384 → `ecdsa-p384-sha384`, RSA-PSS → `rsa-pss-sha512`, or the JWK
   * `alg`). Required for a plain RSA key: `rsa-pss-sha512` (what Web Bot Auth uses) or
   * `rsa-v1_5-sha256`. `hmac-sha256` comes with a `{ secret }` key, `rfc9421` only: Web Bot Auth
   * forbids shared secrets.
   */
  algorithm?: SignatureAlgorithm;
  /**
   * `web-bot-auth` (default): draft-meunier-webbotauth-httpsig-protocol, i.e. `tag="web-bot-auth"`,
   * `created`, `expires`, a thumbprint `keyid`, a Signature-Agent header and coverage of `@authority`
   * and of this signature's Signature-Agent member. `rfc9421`: plain RFC 9421, no Signature-Agent.
   */
  profile?: 'web-bot-auth' | 'rfc9421';
  /**
   * Web Bot Auth: the Signature-Agent URL, where verifiers find your keys. With `agentType:
   * 'directory'` an https origin (`https://bot.example`) whose
   * `/.well-known/http-message-signatures-directory` serves your key directory (see
   * `createDirectory`); with `jwks_uri` an https URL of a JWKS. Required for `web-bot-auth`; not
   * allowed with `rfc9421`.
   */
  agent?: string;
  /**
   * What `agent` points at (the member's `type` parameter, Web Bot Auth §Signature-Agent). Default
   * `directory`, which is sent without a `type` parameter; `jwks_uri` is sent as `;type=jwks_uri`.
   */
  agentType?: 'directory' | 'jwks_uri';
  /**
   * The key of this signer's Signature-Agent dictionary member (`agent2="https://…"`), covered as
   * `"signature-agent";key="<agentKey>"`. Default: the signature's label. If the request already
   * has a different member under that key, a free one is chosen (`agent3`, …).
   */
  agentKey?: string;
  /**
   * Send the legacy Signature-Agent form, a bare sf-string (`Signature-Agent: "https://…"`) covered
   * as `"signature-agent"`, which older verifiers (Cloudflare directory-03, ChatGPT agent) use.
   * Default `false`: the dictionary form the current draft requires of signers.
   */
  legacyAgentHeader?: boolean;
  /**
   * The label of the signature in Signature-Input and Signature (RFC 9421 §4). Default `sig1`. When
   * the request already carries a signature under that label, the next free one is used (`sig2`, …).
   */
  label?: string;
  /**
   * Components to cover (RFC 9421 §2), as in `Signature-Input`: `@method`, `@path`, `@query`,
   * `content-type`, `"@query-param";name="id"`. With `web-bot-auth` they are covered after
   * `@authority` and before the Signature-Agent member, which are always covered. With `rfc9421`
   * they replace the default `['@method', '@authority', '@path', '@query']`; `@query` is in that
   * default so a signature cannot be replayed with another query string (drop it if an intermediary
   * rewrites queries). A `content-digest` is added whenever the signer adds one (see `contentDigest`).
   */
  components?: string[];
  /**
   * The `tag` signature parameter (RFC 9421 §2.3). Default `web-bot-auth` for that profile, which
   * requires exactly that value; none for `rfc9421`.
   */
  tag?: string;
  /**
   * Lifetime of each signature: `expires` = `created` + this (RFC 9421 §2.3), in seconds or a string
   * like `"5m"`; rounded up to whole seconds, at least 1 s. Default 300 s. Web Bot Auth recommends at
   * most 24 h; keep it short, since a signature replays until it expires.
   */
  expiresIn?: number | Duration;
  /**
   * The `nonce` signature parameter (RFC 9421 §2.3, §7.2.2). `true` (default): 64 random bytes,
   * base64url, per signature. `false`: no nonce. A function: its string is used as is (printable ASCII).
   */
  nonce?: boolean | (() => string);
  /**
   * Requests with a non-empty body get a `Content-Digest` (RFC 9530) over the body, which the
   * signature covers, binding the body to it (RFC 9421 §7.2.8). `true` (default) means `sha-256`;
   * `sha-512` may be chosen; `false` leaves bodies unsigned. A Content-Digest the request already
   * carries is checked against the body and covered instead of replaced.
   */
  contentDigest?: boolean | DigestAlgorithm;
  /**
   * Send the `alg` signature parameter (RFC 9421 §2.3), as the Web Bot Auth test vectors do. It only
   * lets a verifier refuse a mismatch early; the algorithm always comes from the key. Default `true`.
   */
  includeAlg?: boolean;
  /** The clock, in milliseconds since the epoch, for `created` and `expires`. Default `Date.now`. */
  now?: () => number;
}

/** Where this signer's Signature-Agent points, once validated. */
export interface ResolvedAgent {
  /** The URL as sent: a normalized origin for `directory`, a normalized URL for `jwks_uri`. */
  readonly url: string;
  readonly type: 'directory' | 'jwks_uri';
  readonly legacy: boolean;
  /** The configured member key, when not defaulted to the label. */
  readonly key: string | undefined;
}

/** Signer options as the signer uses them. */
export interface ResolvedSignerOptions {
  readonly key: KeyObject;
  readonly algorithm: SignatureAlgorithm;
  readonly keyid: string;
  readonly publicJwk: Jwk;
  readonly profile: 'web-bot-auth' | 'rfc9421';
  readonly agent: ResolvedAgent | undefined;
  readonly label: string;
  /** The user's (or the rfc9421 default) components; the profile's own are added per request. */
  readonly components: readonly ComponentId[];
  readonly tag: string | undefined;
  readonly expiresIn: number;
  readonly nonce: (() => string) | undefined;
  readonly includeAlg: boolean;
  readonly digest: DigestAlgorithm | undefined;
  readonly now: () => number;
}

const KEYS = [
  'key', 'keyid', 'algorithm', 'profile', 'agent', 'agentType', 'agentKey', 'legacyAgentHeader', 'label', 'components',
  'tag', 'expiresIn', 'nonce', 'contentDigest', 'includeAlg', 'now',
] as const;
const WBA_ONLY = ['agent', 'agentType', 'agentKey', 'legacyAgentHeader'] as const;
const WBA_TAG = 'web-bot-auth';
const RFC9421_DEFAULT_COMPONENTS = ['@method', '@authority', '@path', '@query'];
const NONCE_BYTES = 64;

/** 64 random bytes, base64url (the size the Web Bot Auth drafts recommended). */
export function randomNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64url');
}

/** An sf-key (RFC 8941 §3.2): lower-case letter or `*`, then lower-case letters, digits, `_-.*`. */
function sfKey(value: unknown, path: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !isValidKeyStr(value)) {
    throw invalid(path, 'a structured-field key: a lower-case letter or `*`, then lower-case letters, digits, `_`, `-`, `.` or `*`', value);
  }
  return value;
}

/** A string that can be a signature parameter value (printable ASCII, RFC 8941 §3.3.3). */
function paramString(value: unknown, path: string): string | undefined {
  const text = optionalString(value, path);
  if (text === undefined) return undefined;
  try {
    serializeSignatureParams([], { keyid: text });
  } catch {
    throw invalid(path, 'printable ASCII text', value);
  }
  return text;
}

function resolveComponents(value: unknown, wba: boolean): ComponentId[] {
  if (value === undefined) return wba ? [] : RFC9421_DEFAULT_COMPONENTS.map((text) => parseComponentId(text) as ComponentId);
  if (!Array.isArray(value)) throw invalid('components', 'an array of component identifiers such as `@method`', value);
  const out: ComponentId[] = [];
  value.forEach((text: unknown, i) => {
    const at = `components[${i}]`;
    const id = typeof text === 'string' ? parseComponentId(text) : undefined;
    if (id === undefined) throw invalid(at, 'a component identifier such as `@method`, `content-type` or `"@query-param";name="id"`', text);
    if (id.name === '@status' || id.params.has('req') || id.params.has('tr')) {
      throw invalid(at, 'a request component (`@status`, `;req` and `;tr` do not apply to a request a client sends)', text);
    }
    if (wba && id.name === 'signature-agent') {
      throw invalid(at, 'a component other than `signature-agent` (Web Bot Auth covers its own Signature-Agent member automatically)', text);
    }
    if (!out.some((c) => c.id === id.id)) out.push(id);
  });
  return out;
}

function resolveAgent(o: Record<string, unknown>): ResolvedAgent {
  if (o.agent === undefined) {
    throw missing('agent', 'Web Bot Auth signatures name where their keys are (Signature-Agent): the https origin of your key directory, e.g. "https://bot.example"');
  }
  const type = oneOf(o.agentType, 'agentType', ['directory', 'jwks_uri'] as const, 'directory');
  const legacy = optionalBoolean(o.legacyAgentHeader, 'legacyAgentHeader') ?? false;
  if (legacy && type !== 'directory') {
    throw new ConfigError('ERR_CONFIG_INVALID_VALUE', 'legacyAgentHeader', '`legacyAgentHeader` sends a bare URL, which cannot say `type=jwks_uri`; use the dictionary form (the default).');
  }
  let url: string;
  if (type === 'directory') {
    // Checked first as a URL so that http:// gets the "must use https" answer.
    httpsUrl(o.agent, 'agent');
    const origin = directoryOrigin(o.agent as string);
    if (origin === undefined) {
      throw invalid('agent', 'an https origin such as "https://bot.example" (no path, query or fragment; use `agentType: "jwks_uri"` for a JWKS URL)', o.agent);
    }
    url = origin;
  } else {
    url = httpsUrl(o.agent, 'agent');
  }
  const key = o.agentKey === undefined ? undefined : sfKey(o.agentKey, 'agentKey', '');
  if (legacy && key !== undefined) {
    throw new ConfigError('ERR_CONFIG_INVALID_VALUE', 'agentKey', '`agentKey` names a dictionary member; the legacy form (`legacyAgentHeader`) has none.');
  }
  return { url, type, legacy, key };
}

function resolveNonce(value: unknown): (() => string) | undefined {
  if (value === undefined || value === true) return randomNonce;
  if (value === false) return undefined;
  const fn = optionalFunction<() => string>(value, 'nonce');
  if (fn === undefined) throw invalid('nonce', 'true, false or a function returning a string', value);
  return fn;
}

function resolveDigest(value: unknown): DigestAlgorithm | undefined {
  if (value === undefined || value === true) return 'sha-256';
  if (value === false) return undefined;
  return oneOf(value, 'contentDigest', ['sha-256', 'sha-512'] as const, 'sha-256');
}

/** Validates `createSigner` options. Throws ConfigError with the option's path; never quotes key material. */
export function resolveSignerOptions(options: unknown): ResolvedSignerOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid('options', 'an object with at least `key`', options);
  const o = checkObject(options, '', KEYS);
  const profile = oneOf(o.profile, 'profile', ['web-bot-auth', 'rfc9421'] as const, 'web-bot-auth');
  const wba = profile === 'web-bot-auth';
  if (o.key === undefined) throw missing('key', 'the private key to sign with (a KeyObject, a private JWK or a PEM)');
  if (o.algorithm !== undefined) {
    oneOf(o.algorithm, 'algorithm', SIGNATURE_ALGORITHMS, 'ed25519');
    if (o.algorithm === 'hmac-sha256' && (wba || !isSecretInput(o.key))) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID_VALUE',
        'algorithm',
        wba
          ? 'Web Bot Auth forbids shared secrets (hmac-sha256): sign with an Ed25519, ECDSA or RSA key.'
          : '`algorithm` hmac-sha256 needs `key: { secret }` (a shared secret of at least 32 bytes).',
      );
    }
  }
  if (!wba) {
    for (const name of WBA_ONLY) {
      if (o[name] !== undefined) {
        throw new ConfigError('ERR_CONFIG_INVALID_VALUE', name, `\`${name}\` only applies to \`profile: "web-bot-auth"\` (Signature-Agent is a Web Bot Auth header).`);
      }
    }
  }
  const agent = wba ? resolveAgent(o) : undefined;
  let signing: { key: KeyObject; algorithm: SignatureAlgorithm; thumbprint: string | undefined; publicMembers: Jwk };
  if (isSecretInput(o.key)) {
    if (wba) throw new ConfigError('ERR_CONFIG_INVALID_KEY', 'key', 'Web Bot Auth forbids shared secrets: sign with an Ed25519, ECDSA or RSA key, or use `profile: "rfc9421"`.');
    const { secret, encoding, ...rest } = o.key;
    checkObject(rest, 'key', []);
    const imported = secretForm({ keyid: o.keyid, secret, encoding }, 'key');
    // No key material in the published JWK of a shared secret: only what names it.
    signing = { key: imported.key, algorithm: 'hmac-sha256', thumbprint: undefined, publicMembers: { kty: 'oct' } };
  } else {
    signing = importPrivateKey(o.key, 'key', { value: o.algorithm, path: 'algorithm' });
  }

  const keyid = paramString(o.keyid, 'keyid') ?? (signing.thumbprint as string);
  if (wba && keyid !== signing.thumbprint) {
    throw new ConfigError('ERR_CONFIG_INVALID_VALUE', 'keyid', 'Web Bot Auth requires `keyid` to be the key\'s JWK thumbprint (RFC 7638); leave `keyid` out to use it.');
  }
  const tag = paramString(o.tag, 'tag') ?? (wba ? WBA_TAG : undefined);
  if (wba && tag !== WBA_TAG) {
    throw new ConfigError('ERR_CONFIG_INVALID_VALUE', 'tag', `Web Bot Auth requires \`tag\` "${WBA_TAG}"; leave \`tag\` out, or use \`profile: "rfc9421"\`.`);
  }
  const expiresIn = duration(o.expiresIn, 'expiresIn', 300);
  if (expiresIn <= 0) throw invalid('expiresIn', 'a positive duration, such as 300 or "5m"', o.expiresIn);

  const publicJwk = orderedJwk(signing.publicMembers, { kid: keyid, alg: signing.algorithm === 'hmac-sha256' ? 'HS256' : joseAlgFor(signing.algorithm), use: 'sig' });
  return Object.freeze({
    key: signing.key,
    algorithm: signing.algorithm,
    keyid,
    publicJwk: Object.freeze(publicJwk),
    profile,
    agent,
    label: sfKey(o.label, 'label', 'sig1'),
    components: resolveComponents(o.components, wba),
    tag,
    expiresIn: Math.ceil(expiresIn),
    nonce: resolveNonce(o.nonce),
    includeAlg: optionalBoolean(o.includeAlg, 'includeAlg') ?? true,
    digest: resolveDigest(o.contentDigest),
    now: optionalFunction<() => number>(o.now, 'now') ?? Date.now,
  });
}
