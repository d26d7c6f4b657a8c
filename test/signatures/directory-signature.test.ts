import { describe, expect, it } from 'vitest';
import { directoryKeysSignedIn } from '../../src/signatures/directory-signature.js';
import { importDirectoryKeys } from '../../src/signatures/keys.js';

/** The signed directory response of draft-meunier-webbotauth-httpsig-protocol-02 (web-bot-auth.md §1.6). */
const BODY = '{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U","x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs","use":"sig"}]}';
const HEADERS = {
  'content-digest': 'sha-256=:CADMT2aBdV/rqQr/NIru64ERQkCobVvllA4V0fLFDu0=:',
  'signature-input':
    'binding=("@authority";req "content-digest");created=1735689600;expires=4889289600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";tag="http-message-signatures-directory"',
  signature: 'binding=:l6P8R67tm3kujAxbHWio7ll01qrEZ0dKD/WWlGhNYEmTnFZM8Wt0VQ9zqGfvo7T/UMkBxsigzChM1Gpz7gOVBg==:',
};
const URL_ = 'https://signature-agent.test/.well-known/http-message-signatures-directory';
const NOW = 1_735_689_600_000;
const { keys } = importDirectoryKeys(JSON.parse(BODY), 16);

describe('directory response signatures (protocol-02 vector)', () => {
  it('keeps the key whose signature over the response verifies', () => {
    const kept = directoryKeysSignedIn({ status: 200, headers: HEADERS, body: Buffer.from(BODY) }, URL_, keys, NOW);
    expect(kept.map((k) => k.thumbprint)).toEqual(['poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U']);
  });

  it.each([
    ['fetched from another authority', { url: 'https://other.test/.well-known/http-message-signatures-directory' }],
    ['a body that does not match the digest', { body: BODY.replace('sig', 'enc') }],
    ['no signature', { headers: { 'content-digest': HEADERS['content-digest'] } }],
    ['a created time in the future', { now: 1_735_689_600_000 - 120_000 }],
    ['a wrong tag', { headers: { ...HEADERS, 'signature-input': HEADERS['signature-input'].replace('tag="http-message-signatures-directory"', 'tag="web-bot-auth"') } }],
  ])('drops every key for %s', (_name, change: { url?: string; body?: string; headers?: Record<string, string>; now?: number }) => {
    const kept = directoryKeysSignedIn(
      { status: 200, headers: change.headers ?? HEADERS, body: Buffer.from(change.body ?? BODY) },
      change.url ?? URL_,
      keys,
      change.now ?? NOW,
    );
    expect(kept).toEqual([]);
  });
});
