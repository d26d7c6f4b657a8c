import { describe, expect, it } from 'vitest';
import { createGuard, type PolicyHandle, type PolicySource } from '../../src/index.js';
import { ed25519Pair, sign } from '../helpers/http-sig.js';

/** `policy: { source }` with a source of the test's own: waiting, first document, refusals, close. */

const agent = ed25519Pair();
const NOW = 1_800_000_000;
const request = () =>
  sign(
    { method: 'GET', url: 'https://api.example.com/feed', headers: { host: 'api.example.com' } },
    { key: agent.privateKey, algorithm: 'ed25519', keyid: agent.thumbprint, params: { created: NOW, expires: NOW + 300, keyid: agent.thumbprint, tag: 'web-bot-auth' } },
  );

function manualSource() {
  let handle: PolicyHandle | undefined;
  let stopped = 0;
  let resolveReady: () => void = () => undefined;
  const source: PolicySource = {
    follow(h) {
      handle = h;
      return { ready: new Promise<void>((resolve) => (resolveReady = resolve)), stop: () => void stopped++ };
    },
  };
  return {
    source,
    push: (document: unknown) => handle!.update(document, 'test'),
    ready: () => resolveReady(),
    stopped: () => stopped,
  };
}

const guardWith = (source: PolicySource) =>
  createGuard({ signatures: { keys: [agent.publicJwk], directory: false, replay: false }, policy: { source }, now: () => NOW * 1000 });

describe('a policy source', () => {
  it('answers 503 ERR_POLICY_UNAVAILABLE while waiting, then decides under the first document', async () => {
    const manual = manualSource();
    const guard = guardWith(manual.source);
    let ready = false;
    void guard.policy!.ready.then(() => (ready = true));
    await Promise.resolve();
    expect(ready).toBe(false);
    const waiting = await guard.check(request());
    expect(waiting).toMatchObject({ outcome: 'deny', status: 503, reason: 'ERR_POLICY_UNAVAILABLE', checks: [] });
    expect(guard.respond(waiting)).toMatchObject({ status: 503 });
    expect(JSON.parse(guard.respond(waiting).body)).toMatchObject({ status: 503, code: 'ERR_POLICY_UNAVAILABLE' });

    // A bad first document is refused: still waiting.
    expect(manual.push({ metadata: { version: 1 } })).toMatchObject({ ok: false, code: 'ERR_POLICY_INVALID' });
    expect(guard.policy!.waiting).toBe(true);

    expect(manual.push({ metadata: { version: 0 }, default: { action: 'allow' } })).toMatchObject({ ok: true, version: 0 });
    manual.ready();
    await guard.policy!.ready;
    expect(guard.policy!.waiting).toBe(false);
    expect(await guard.check(request())).toMatchObject({ outcome: 'allow', reason: 'OK', policy: { version: 0 } });
  });

  it('is stopped by guard.close()', async () => {
    const manual = manualSource();
    const guard = guardWith(manual.source);
    await guard.close();
    expect(manual.stopped()).toBe(1);
  });
});
