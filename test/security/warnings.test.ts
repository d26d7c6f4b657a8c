import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, createGuard, type GuardOptions } from '../../src/index.js';
import { ed25519Pair } from '../helpers/http-sig.js';
import { capture, Secrets } from './capture.js';

/**
 * "Risky-but-legal setups warn once" (DESIGN, Security defaults): every option that weakens security
 * logs exactly one `warn` line when the guard is built, through the configured logger, naming the
 * option and saying why it is risky, with no secret in it. A default configuration logs nothing, and
 * a configuration that does not validate logs nothing either (it throws).
 */

const approovSecret = randomBytes(32).toString('base64');
const hmacSecret = randomBytes(32).toString('base64');
const agent = ed25519Pair();
const approov = { approov: { secret: approovSecret } };
const rfc9421 = { profile: 'rfc9421' as const, keys: [{ keyid: 'partner', secret: hmacSecret, encoding: 'base64' as const }] };

/** The log lines of building a guard with `options` (and the guard closed again). */
async function constructionLines(options: GuardOptions) {
  const cap = capture();
  const guard = createGuard({ ...options, logger: cap.logger });
  await guard.close();
  return cap.lines;
}

const WARNINGS = {
  'failOpen.attestation': 'bonafide: attestation fails open: requests pass while keys are unavailable',
  'failOpen.signature': 'bonafide: signatures fail open: requests pass while a key directory, the replay store or the body is unavailable',
  'failOpen.rateLimit': 'bonafide: rate limits fail open: requests pass uncounted while the store is unavailable',
  mode: 'bonafide: monitor mode: denials are reported, not enforced',
  'signatures.allowTestKeys':
    'bonafide: the RFC 9421 example keys are accepted (tests and demos only): their private keys are published, so anyone can sign with them',
  'signatures.replay': 'bonafide: replay protection is off: a captured signed request can be sent again until its signature expires',
  'signatures.directory.fetch.allowPrivateAddresses':
    'bonafide: key directories may be fetched from loopback and private addresses (test-only): a Signature-Agent header can aim fetches at your own network',
  'signatures.directory.fetch.ca':
    'bonafide: key directory fetches trust an extra certificate authority (test-only): whoever holds its key can serve keys for any agent',
  tokenTolerance: 'bonafide: a clock tolerance over 5 minutes accepts tokens long after they expire',
  signatureSkew: 'bonafide: a clock skew over 5 minutes accepts signatures long after they expire and long before they were created',
} as const;

const warn = (option: string, msg: string, seconds?: number) => ({ level: 'warn', obj: seconds === undefined ? { option } : { option, seconds }, msg });

describe('each option that weakens security warns once at construction', () => {
  it.each([
    ['failOpen.attestation', { attestation: approov, failOpen: { attestation: true } }, [warn('failOpen.attestation', WARNINGS['failOpen.attestation'])]],
    ['failOpen.signature', { signatures: rfc9421, failOpen: { signature: true } }, [warn('failOpen.signature', WARNINGS['failOpen.signature'])]],
    ['failOpen.rateLimit', { attestation: approov, failOpen: { rateLimit: true } }, [warn('failOpen.rateLimit', WARNINGS['failOpen.rateLimit'])]],
    ["mode: 'monitor'", { attestation: approov, mode: 'monitor' }, [warn('mode', WARNINGS.mode)]],
    ['signatures.allowTestKeys', { signatures: { ...rfc9421, allowTestKeys: true } }, [warn('signatures.allowTestKeys', WARNINGS['signatures.allowTestKeys'])]],
    ['signatures.replay: false', { signatures: { ...rfc9421, replay: false } }, [warn('signatures.replay', WARNINGS['signatures.replay'])]],
    [
      'signatures.directory.fetch.allowPrivateAddresses',
      { signatures: { directory: { fetch: { allowPrivateAddresses: true } } } },
      [warn('signatures.directory.fetch.allowPrivateAddresses', WARNINGS['signatures.directory.fetch.allowPrivateAddresses'])],
    ],
    [
      'signatures.directory.fetch.ca',
      { signatures: { directory: { fetch: { ca: '-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n' } } } },
      [warn('signatures.directory.fetch.ca', WARNINGS['signatures.directory.fetch.ca'])],
    ],
    ['signatures.clockSkew over 5 minutes', { signatures: { ...rfc9421, clockSkew: '10m' } }, [warn('signatures.clockSkew', WARNINGS.signatureSkew, 600)]],
    [
      'installSignature.clockSkew over 5 minutes',
      { attestation: approov, installSignature: { clockSkew: 301 } },
      [warn('installSignature.clockSkew', WARNINGS.signatureSkew, 301)],
    ],
    [
      'attestation.approov.clockTolerance over 5 minutes',
      { attestation: { approov: { secret: approovSecret, clockTolerance: '1h' } } },
      [warn('attestation.approov.clockTolerance', WARNINGS.tokenTolerance, 3600)],
    ],
    [
      'attestation.firebase.clockTolerance over 5 minutes',
      { attestation: { firebase: { projectNumber: '123', keys: agent.publicJwk, clockTolerance: 400 } } },
      [warn('attestation.firebase.clockTolerance', WARNINGS.tokenTolerance, 400)],
    ],
    [
      'attestation.jwt.clockTolerance over 5 minutes',
      { attestation: { jwt: { algorithms: ['HS256'], keys: { secret: hmacSecret, encoding: 'base64' }, clockTolerance: '6m' } } },
      [warn('attestation.jwt.clockTolerance', WARNINGS.tokenTolerance, 360)],
    ],
  ] as const)('%s', async (_name, options, expected) => {
    expect(await constructionLines(options as GuardOptions)).toEqual(expected);
  });

  it('all of them at once: one line each, in a fixed order, with no secret in any', async () => {
    const cap = capture();
    const guard = createGuard({
      mode: 'monitor',
      attestation: { approov: { secret: approovSecret, clockTolerance: 600 } },
      installSignature: { clockSkew: 600 },
      signatures: { allowTestKeys: true, replay: false, clockSkew: 600, directory: { fetch: { allowPrivateAddresses: true, ca: 'test CA' } } },
      failOpen: { attestation: true, signature: true, rateLimit: true },
      logger: cap.logger,
    });
    await guard.close();
    expect(cap.lines.map((l) => [l.level, (l.obj as { option: string }).option])).toEqual([
      ['warn', 'attestation.approov.clockTolerance'],
      ['warn', 'signatures.directory.fetch.allowPrivateAddresses'],
      ['warn', 'signatures.directory.fetch.ca'],
      ['warn', 'signatures.allowTestKeys'],
      ['warn', 'signatures.replay'],
      ['warn', 'signatures.clockSkew'],
      ['warn', 'installSignature.clockSkew'],
      ['warn', 'failOpen.rateLimit'],
      ['warn', 'failOpen.attestation'],
      ['warn', 'failOpen.signature'],
      ['warn', 'mode'],
    ]);
    new Secrets().bytes('Approov secret', Buffer.from(approovSecret, 'base64')).expectNone(cap.emitted);
  });

  it('warns at the 5-minute boundary only above it', async () => {
    expect(await constructionLines({ signatures: { ...rfc9421, clockSkew: 300 }, attestation: { approov: { secret: approovSecret, clockTolerance: '5m' } }, installSignature: { clockSkew: '5m' } })).toEqual([]);
    expect(await constructionLines({ signatures: { ...rfc9421, clockSkew: 301 } })).toEqual([warn('signatures.clockSkew', WARNINGS.signatureSkew, 301)]);
  });

  it('a configuration that does not validate throws and logs no warning', () => {
    const cap = capture();
    expect(() =>
      createGuard({
        mode: 'monitor',
        signatures: { ...rfc9421, allowTestKeys: true, replay: false },
        failOpen: { attestation: true, signature: true },
        routes: [{ path: 'no-leading-slash' }],
        logger: cap.logger,
      }),
    ).toThrow(ConfigError);
    expect(cap.lines).toEqual([]);
  });

  it('goes only through the configured logger: without one, nothing reaches the console', () => {
    const spies = (['log', 'info', 'warn', 'error'] as const).map((method) => vi.spyOn(console, method).mockImplementation(() => undefined));
    try {
      createGuard({ attestation: approov, mode: 'monitor', failOpen: { attestation: true }, signatures: { ...rfc9421, replay: false } });
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it("warns for a route with `mode: 'monitor'`, naming the route, unless the whole guard is in monitor mode", () => {
    const cap = capture();
    createGuard({ attestation: approov, routes: [{ path: '/a' }, { path: '/watch', mode: 'monitor' }], logger: cap.logger });
    expect(cap.lines).toEqual([
      { level: 'warn', obj: { option: 'routes[1].mode' }, msg: 'bonafide: monitor mode on a route: its denials are reported, not enforced' },
    ]);
    const all = capture();
    createGuard({ attestation: approov, mode: 'monitor', routes: [{ path: '/watch', mode: 'monitor' }], logger: all.logger });
    expect(all.lines.map((l) => (l.obj as { option: string }).option)).toEqual(['mode']);
  });
});

describe('a default, secure configuration logs nothing at construction', () => {
  it.each([
    ['Approov', { attestation: approov }],
    ['Approov with binding and installation signatures', { attestation: { approov: { secret: approovSecret, binding: 'Authorization' } }, installSignature: true }],
    ['Firebase with fixed keys', { attestation: { firebase: { projectNumber: '123', keys: agent.publicJwk } } }],
    ['Firebase with the Google JWKS', { attestation: { firebase: { projectNumber: '123' } } }],
    ['JWT with a JWKS', { attestation: { jwt: { algorithms: ['ES256'], jwks: { url: 'https://auth.example/jwks.json' } } } }],
    ['Web Bot Auth with key discovery', { signatures: {} }],
    ['Web Bot Auth with an allowlist and signed directories', { signatures: { directory: { allow: ['https://agent.example'], verifySignatures: true } } }],
    ['Web Bot Auth with configured keys only', { signatures: { keys: agent.publicJwk, directory: false } }],
    ['RFC 9421 with an HMAC secret', { signatures: rfc9421 }],
    ['everything, enforced, fail closed', { attestation: approov, signatures: {}, require: { signature: 'optional' }, failOpen: { attestation: false, signature: false, rateLimit: false }, mode: 'enforce' }],
    ['with a policy', { attestation: approov, policy: { metadata: { version: 1 }, default: { action: 'allow' } } }],
  ] as const)('%s', async (_name, options) => {
    expect(await constructionLines(options as GuardOptions)).toEqual([]);
  });
});
