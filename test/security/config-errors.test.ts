import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, createGuard, type GuardOptions } from '../../src/index.js';
import { capture, Secrets } from './capture.js';

/**
 * Configuration errors name the option and say what to do; they never quote a secret or key
 * (errors.ts: "The message never contains a secret or key material"). Each case below passes a
 * secret or a private key the wrong way and checks the ConfigError's code and path, then searches
 * its message, its JSON form and its stack for the secret. A guard that fails to build logs nothing.
 */

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const goodSecret = randomBytes(32);
const shortSecret = randomBytes(20);
const wordSecret = randomBytes(24).toString('hex');
const notBase64 = `${randomBytes(32).toString('hex')}!!`;

const secrets = new Secrets()
  .bytes('good secret', goodSecret)
  .bytes('short secret', shortSecret)
  .text('secret text', wordSecret)
  .text('not-base64 secret', notBase64)
  .privateKey('RSA private key', rsa.privateKey)
  .privateKey('EC private key', ec.privateKey)
  .privateKey('Ed25519 private key', ed.privateKey);

const jwk = (key: typeof rsa.privateKey): Record<string, unknown> => key.export({ format: 'jwk' }) as Record<string, unknown>;
const pem = (key: typeof rsa.privateKey): string => key.export({ format: 'pem', type: 'pkcs8' }).toString();
const approov = (extra: Record<string, unknown>): unknown => ({ attestation: { approov: extra } });
const jwt = (extra: Record<string, unknown>): unknown => ({ attestation: { jwt: { algorithms: ['RS256'], ...extra } } });
const rfc9421 = (keys: unknown): unknown => ({ signatures: { profile: 'rfc9421', keys } });

const CASES: ReadonlyArray<readonly [string, unknown, string, string]> = [
  // Approov account secret of the wrong type, too short, not base64, misspelt.
  ['approov secret as an object', approov({ secret: { base64: goodSecret.toString('base64') } }), 'ERR_CONFIG_INVALID_VALUE', 'attestation.approov.secret'],
  ['approov secret as an array', approov({ secret: [goodSecret.toString('base64')] }), 'ERR_CONFIG_INVALID_VALUE', 'attestation.approov.secret'],
  ['approov secret as a Buffer JSON', approov({ secret: goodSecret.toJSON() }), 'ERR_CONFIG_INVALID_VALUE', 'attestation.approov.secret'],
  ['approov secret too short (base64)', approov({ secret: shortSecret.toString('base64') }), 'ERR_CONFIG_WEAK_SECRET', 'attestation.approov.secret'],
  ['approov secret too short (bytes)', approov({ secret: new Uint8Array(shortSecret) }), 'ERR_CONFIG_WEAK_SECRET', 'attestation.approov.secret'],
  ['approov secret not base64', approov({ secret: notBase64 }), 'ERR_CONFIG_INVALID_VALUE', 'attestation.approov.secret'],
  ['approov secret misspelt', approov({ secrte: goodSecret.toString('base64') }), 'ERR_CONFIG_UNKNOWN_OPTION', 'attestation.approov.secrte'],
  ['approov binding given a header value', approov({ secret: goodSecret.toString('base64'), binding: `Bearer ${wordSecret}` }), 'ERR_CONFIG_INVALID_VALUE', 'attestation.approov.binding[0]'],
  // JWT keys: HMAC secrets, private keys where public ones belong, JWKS URLs carrying credentials.
  ['jwt HMAC secret too short', jwt({ algorithms: ['HS256'], keys: { secret: shortSecret } }), 'ERR_CONFIG_INVALID_KEY', 'attestation.jwt.keys'],
  ['jwt HMAC secret not base64', jwt({ algorithms: ['HS256'], keys: { secret: notBase64, encoding: 'base64' } }), 'ERR_CONFIG_INVALID_KEY', 'attestation.jwt.keys'],
  ['jwt HMAC secret for RS256', jwt({ keys: { secret: goodSecret } }), 'ERR_CONFIG_INVALID_KEY', 'attestation.jwt.algorithms'],
  ['jwt oct JWK for RS256', jwt({ keys: { kty: 'oct', k: goodSecret.toString('base64url') } }), 'ERR_CONFIG_INVALID_KEY', 'attestation.jwt.algorithms'],
  ['jwt private RSA JWK', jwt({ keys: jwk(rsa.privateKey) }), 'ERR_CONFIG_INVALID_KEY', 'attestation.jwt.keys'],
  ['jwt private RSA PEM', jwt({ keys: pem(rsa.privateKey) }), 'ERR_CONFIG_INVALID_KEY', 'attestation.jwt.keys'],
  ['jwt private RSA KeyObject', jwt({ keys: rsa.privateKey }), 'ERR_CONFIG_INVALID_KEY', 'attestation.jwt.keys'],
  ['jwt private EC JWK second', jwt({ algorithms: ['ES256'], keys: [jwk(ec.publicKey), jwk(ec.privateKey)] }), 'ERR_CONFIG_INVALID_KEY', 'attestation.jwt.keys[1]'],
  ['jwt JWKS URL over http with a key in the query', jwt({ jwks: { url: `http://keys.example/jwks?key=${wordSecret}` } }), 'ERR_CONFIG_INVALID_VALUE', 'attestation.jwt.jwks.url'],
  ['jwt JWKS URL unparsable', jwt({ jwks: { url: `keys ${wordSecret}` } }), 'ERR_CONFIG_INVALID_VALUE', 'attestation.jwt.jwks.url'],
  ['firebase private RSA JWK', { attestation: { firebase: { projectNumber: '123', keys: jwk(rsa.privateKey) } } }, 'ERR_CONFIG_INVALID_KEY', 'attestation.firebase.keys'],
  // Signature keys: HMAC secrets, private keys.
  ['rfc9421 HMAC secret too short', rfc9421({ keyid: 'k', secret: shortSecret }), 'ERR_CONFIG_WEAK_SECRET', 'signatures.keys.secret'],
  ['rfc9421 HMAC secret not base64', rfc9421({ keyid: 'k', secret: notBase64, encoding: 'base64' }), 'ERR_CONFIG_INVALID_VALUE', 'signatures.keys.secret'],
  ['rfc9421 HMAC secret as an object', rfc9421({ keyid: 'k', secret: { text: wordSecret } }), 'ERR_CONFIG_INVALID_VALUE', 'signatures.keys.secret'],
  ['rfc9421 HMAC secret for ed25519', rfc9421({ keyid: 'k', secret: goodSecret, algorithm: 'ed25519' }), 'ERR_CONFIG_INVALID_VALUE', 'signatures.keys.algorithm'],
  ['web-bot-auth HMAC secret', { signatures: { keys: { keyid: 'k', secret: goodSecret } } }, 'ERR_CONFIG_INVALID_KEY', 'signatures.keys'],
  ['rfc9421 private Ed25519 JWK', rfc9421(jwk(ed.privateKey)), 'ERR_CONFIG_INVALID_KEY', 'signatures.keys'],
  ['rfc9421 private Ed25519 PEM', rfc9421({ key: pem(ed.privateKey) }), 'ERR_CONFIG_INVALID_KEY', 'signatures.keys.key'],
  ['rfc9421 private EC KeyObject', rfc9421({ keyid: 'k', key: ec.privateKey }), 'ERR_CONFIG_INVALID_KEY', 'signatures.keys.key'],
  ['rfc9421 private RSA JWKS', rfc9421({ keys: [jwk(rsa.privateKey)] }), 'ERR_CONFIG_INVALID_KEY', 'signatures.keys.keys[0]'],
  // A valid secret, and a mistake elsewhere: the message is about the mistake only.
  ['valid secret, bad mode', { mode: 'strict', attestation: { approov: { secret: goodSecret.toString('base64') } } }, 'ERR_CONFIG_INVALID_VALUE', 'mode'],
];

describe('configuration errors never quote a secret or a key', () => {
  it.each(CASES)('%s', (_name, options, code, path) => {
    const cap = capture();
    let thrown: unknown;
    try {
      createGuard({ ...(options as GuardOptions), logger: cap.logger });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const error = thrown as ConfigError;
    expect({ code: error.code, path: error.path }).toEqual({ code, path });
    expect(cap.lines).toEqual([]);
    secrets.expectNone([
      { where: 'message', text: error.message },
      { where: 'String(error)', text: String(error) },
      { where: 'JSON', text: JSON.stringify(error) },
      { where: 'stack', text: error.stack ?? '' },
    ]);
  });
});
