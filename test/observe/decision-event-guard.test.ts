import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { decisionEvent } from '../../src/observe/decision-event.js';
import { approovSecret, hs256, request } from '../helpers/jws.js';

const NOW = 1_800_000_000;

describe('decisionEvent for decisions of a real guard', () => {
  it('reports no token, query string, header value or device id', async () => {
    const secret = approovSecret();
    const guard = createGuard({ attestation: { approov: { secret: secret.base64 } }, now: () => NOW * 1000 });
    const expired = hs256({ exp: NOW - 60, did: 'device-9' }, secret.bytes);
    const input = request({ 'Approov-Token': expired, 'User-Agent': 'Bot/1.0' }, 'https://api.example.com/v1/items?api_key=k3y');
    const event = decisionEvent(await guard.check(input), input);
    expect(event).toMatchObject({ outcome: 'deny', status: 401, reason: 'ERR_TOKEN_EXPIRED', method: 'GET', path: '/v1/items', rateLimited: false });
    expect(event.checks).toStrictEqual([{ check: 'attestation', verifier: 'approov', outcome: 'invalid', reason: 'ERR_TOKEN_EXPIRED', claim: 'exp' }]);
    const text = JSON.stringify(event);
    for (const secretText of [expired, expired.split('.')[2]!, 'k3y', 'api_key', 'Bot/1.0', 'device-9']) expect(text).not.toContain(secretText);
    await guard.close();
  });

  it('describes a verified allow', async () => {
    const secret = approovSecret();
    const guard = createGuard({ attestation: { approov: { secret: secret.base64 } }, now: () => NOW * 1000 });
    const token = hs256({ exp: NOW + 60, did: 'device-9' }, secret.bytes);
    const input = request({ 'Approov-Token': token }, 'https://api.example.com/v1/items?token=' + token);
    const event = decisionEvent(await guard.check(input), input);
    expect(event).toMatchObject({
      outcome: 'allow',
      status: 200,
      reason: 'OK',
      principal: { id: 'app:approov', kind: 'app', verified: true, via: 'approov' },
      path: '/v1/items',
    });
    expect(JSON.stringify(event)).not.toContain(token.split('.')[2]!);
    await guard.close();
  });
});
