import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The built package as users load it: through its own name (the exports map), once with require()
 * and once with import(). `npm test` builds first (pretest), so dist/ is there.
 */
const ENTRY_POINTS = ['bonafide', 'bonafide/express', 'bonafide/koa', 'bonafide/fastify', 'bonafide/fetch', 'bonafide/signer', 'bonafide/redis'];
const built = existsSync(new URL('../../dist/index.js', import.meta.url));
const require = createRequire(import.meta.url);

describe('built package entry points', () => {
  beforeAll(() => {
    if (!built) throw new Error('dist/ is missing: run `npm run build` first (`npm test` builds before testing)');
  });

  it.each(ENTRY_POINTS)('%s: require() and import() expose the same names', async (name) => {
    const cjs = require(name) as Record<string, unknown>;
    const esm = (await import(name)) as Record<string, unknown>;
    const names = (m: Record<string, unknown>) => Object.keys(m).filter((k) => k !== 'default' && k !== 'module.exports').sort();
    expect(names(cjs).length).toBeGreaterThan(0);
    expect(names(cjs)).toEqual(names(esm));
  });

  it('the core works from CommonJS in a fresh Node process', () => {
    const script = `
      const { createGuard, ConfigError } = require('bonafide');
      const secret = Buffer.alloc(32, 1).toString('base64');
      const guard = createGuard({ attestation: { approov: { secret } } });
      let code;
      try { createGuard({ attestation: {} }); } catch (e) { code = e instanceof ConfigError && e.code; }
      guard.check({ method: 'GET', url: 'https://a.example/', headers: {} })
        .then((d) => console.log(JSON.stringify({ reason: d.reason, status: d.status, code })));
    `;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ reason: 'ERR_TOKEN_MISSING', status: 401, code: 'ERR_CONFIG_MISSING_OPTION' });
  });

  it('the core works from ESM in a fresh Node process', () => {
    const script = `
      import { createGuard } from 'bonafide';
      import { bonafide } from 'bonafide/fetch';
      const guard = createGuard({ attestation: { approov: { secret: Buffer.alloc(32, 1).toString('base64') } } });
      const handle = bonafide(guard);
      const res = await handle(new Request('https://a.example/'));
      console.log(JSON.stringify({ status: res.status, type: res.headers.get('content-type') }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ status: 401, type: 'application/problem+json' });
  });

  it('a request signed with bonafide/signer verifies with the core, from CommonJS', () => {
    const script = `
      const { createGuard } = require('bonafide');
      const { createSigner, generateKeyPair } = require('bonafide/signer');
      const { privateJwk, publicJwk } = generateKeyPair();
      const signer = createSigner({ key: privateJwk, agent: 'https://agent.example' });
      const url = 'https://api.example/v1/items';
      const headers = { host: 'api.example', ...signer.headers({ method: 'GET', url }) };
      createGuard({ signatures: { keys: [publicJwk], directory: false } })
        .check({ method: 'GET', url, headers })
        .then((d) => console.log(JSON.stringify({ reason: d.reason, kind: d.principal.kind })));
    `;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ reason: 'OK', kind: 'agent' });
  });

  it('one copy of the core is shared between entry points (instanceof works across them)', async () => {
    const core = require('bonafide') as typeof import('../../src/index.js');
    const express = require('bonafide/express') as { bonafide: (o: unknown) => unknown };
    try {
      express.bonafide({ attestation: {} });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(core.ConfigError);
    }
  });
});
