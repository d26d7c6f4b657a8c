import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { serializeDictionary, Token } from 'structured-headers';
import { signWith } from '../../src/signatures/algorithms.js';
import { signatureBase } from '../../src/signatures/base.js';
import { componentId, parseComponentId, serializeSignatureParams } from '../../src/signatures/parse.js';
import type { ComponentId, SignatureAlgorithm } from '../../src/signatures/types.js';
import { jwkThumbprint } from '../../src/keys/thumbprint.js';
import type { Jwk } from '../../src/keys/key.js';

/**
 * Test-only request signing with full control: adversarial cases need signatures no well-behaved
 * signer would produce (wrong tags, missing parameters, odd coverage).
 */

export interface TestRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

export interface TestSignOptions {
  key: KeyObject;
  algorithm: SignatureAlgorithm;
  keyid: string;
  label?: string;
  /** Covered components as in Signature-Input (`@authority`, `"signature-agent";key="sig1"`). */
  components?: (string | ComponentId)[];
  /** Signature parameters in order; undefined ones are left out. */
  params?: Record<string, string | number | undefined>;
  /** Signature-Agent to add: a dictionary member `label="url"` (default), or the legacy string form. */
  agent?: { url: string; key?: string; legacy?: boolean; type?: string };
}

export interface TestKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: Jwk;
  thumbprint: string;
}

export function ed25519Pair(): TestKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicJwk = publicKey.export({ format: 'jwk' }) as Jwk;
  return { privateKey, publicKey, publicJwk, thumbprint: jwkThumbprint(publicJwk) };
}

const lines = (headers: Record<string, string>) => (name: string) => {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return [headers[key]!];
  return undefined;
};

/** Returns the request with Signature-Input, Signature (and Signature-Agent) added or extended. */
export function sign(request: TestRequest, options: TestSignOptions): TestRequest {
  const label = options.label ?? 'sig1';
  const headers = { ...request.headers };
  if (options.agent !== undefined) {
    const { url, key = label, legacy = false, type } = options.agent;
    headers['signature-agent'] = legacy
      ? JSON.stringify(url)
      : serializeDictionary(new Map([[key, [url, new Map(type ? [['type', new Token(type)]] : [])]]]));
  }
  const components = (options.components ?? ['@authority']).map((c) => (typeof c === 'string' ? parseComponentId(c) ?? componentId(c) : c));
  const paramsValue = serializeSignatureParams(components, options.params ?? { created: 1, keyid: options.keyid });
  const base = signatureBase({ method: request.method, url: request.url, fieldLines: lines(headers) }, { components, paramsValue });
  if (!base.startsWith('"')) throw new Error(`test signer could not build a base: ${base}`);
  const signature = Buffer.from(signWith(options.key, options.algorithm, base)).toString('base64');
  headers['signature-input'] = append(headers['signature-input'], `${label}=${paramsValue}`);
  headers['signature'] = append(headers['signature'], `${label}=:${signature}:`);
  return { ...request, headers };
}

function append(existing: string | undefined, member: string): string {
  return existing === undefined ? member : `${existing}, ${member}`;
}

