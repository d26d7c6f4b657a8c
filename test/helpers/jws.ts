import { createHash, createHmac, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/** Test-only JWS minting. Adversarial cases need tokens no well-behaved library would produce. */

export const b64u = (value: object | string | Buffer): string =>
  Buffer.from(typeof value === 'object' && !Buffer.isBuffer(value) ? JSON.stringify(value) : value).toString('base64url');

export function hs256(payload: object, secret: Uint8Array | string, header: object = { alg: 'HS256', typ: 'JWT' }): string {
  const signingInput = `${b64u(header)}.${b64u(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

export function hmacWith(alg: 'HS256' | 'HS384' | 'HS512', payload: object, secret: Uint8Array | string, extra: object = {}): string {
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  const signingInput = `${b64u({ alg, typ: 'JWT', ...extra })}.${b64u(payload)}`;
  return `${signingInput}.${createHmac(hash, secret).update(signingInput).digest('base64url')}`;
}

export function signAsymmetric(alg: 'RS256' | 'ES256' | 'PS256' | 'EdDSA', payload: object, key: KeyObject, header: object = {}): string {
  const signingInput = `${b64u({ alg, typ: 'JWT', ...header })}.${b64u(payload)}`;
  const data = Buffer.from(signingInput);
  let signature: Buffer;
  if (alg === 'RS256') signature = sign('sha256', data, key);
  else if (alg === 'PS256') signature = sign('sha256', data, { key, padding: 6, saltLength: 32 });
  else if (alg === 'ES256') signature = sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  else signature = sign(null, data, key);
  return `${signingInput}.${signature.toString('base64url')}`;
}

export const payHash = (...values: string[]): string => createHash('sha256').update(values.join('')).digest('base64');

export function approovSecret(): { bytes: Buffer; base64: string } {
  const bytes = randomBytes(32);
  return { bytes, base64: bytes.toString('base64') };
}

let rsa: { publicKey: KeyObject; privateKey: KeyObject } | undefined;
export function rsaKeys(): { publicKey: KeyObject; privateKey: KeyObject } {
  rsa ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
  return rsa;
}

export function ecKeys(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export { createPrivateKey };

/** A plain GuardRequest for tests. */
export function request(headers: Record<string, string | string[]> = {}, url = 'https://api.example.com/v1/items?q=1', method = 'GET') {
  return { method, url, headers };
}
