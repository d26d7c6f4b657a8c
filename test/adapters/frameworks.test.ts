import express5, { type ErrorRequestHandler } from 'express';
import express4 from 'express4';
import fastify5 from 'fastify';
import fastify4 from 'fastify4';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { bonafide as expressBonafide } from '../../adapters/express.js';
import fastifyDefault, { bonafide as fastifyBonafide } from '../../adapters/fastify.js';
import { bonafide as koaBonafide } from '../../adapters/koa.js';
import { ConfigError } from '../../src/index.js';
import { contractGuard } from './fixtures/guard.js';
import { listenNode, type RunningServer } from './harnesses/harness.js';

/** Behaviour specific to one framework's adapter, beyond the shared contract. */

const { guard, seen } = contractGuard();
const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
  seen.length = 0;
});

describe.each([
  { name: 'Express 4', express: express4 as unknown as typeof express5 },
  { name: 'Express 5', express: express5 },
])('bonafide/express on $name', ({ express }) => {
  it('passes an error thrown by onDeny to the error handler (the user owns onDeny)', async () => {
    const app = express();
    app.use(
      expressBonafide(guard, {
        onDeny: () => {
          throw new Error('onDeny failed');
        },
      }),
    );
    const handler: ErrorRequestHandler = (err: Error, _req, res, _next) => void res.status(502).send(err.message);
    app.use(handler);
    const server = await listenNode(app);
    running.push(server);
    const res = await fetch(`${server.origin}/v1/items`);
    expect(res.status).toBe(502);
    expect(await res.text()).toBe('onDeny failed');
  });

  it('lets onDeny continue with next()', async () => {
    const app = express();
    app.use(expressBonafide(guard, { onDeny: (_decision, _req, _res, next) => next() }));
    app.use((req, res) => void res.json({ reason: req.bonafide?.reason }));
    const server = await listenNode(app);
    running.push(server);
    const res = await fetch(`${server.origin}/v1/items`);
    expect(await res.json()).toEqual({ reason: 'ERR_TOKEN_MISSING' });
  });

  it('keeps headers set before it on a deny', async () => {
    const app = express();
    app.use((_req, res, next) => {
      res.setHeader('access-control-allow-origin', '*');
      next();
    });
    app.use(expressBonafide(guard));
    const server = await listenNode(app);
    running.push(server);
    const res = await fetch(`${server.origin}/v1/items`);
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('content-length')).toBe(String((await res.text()).length));
  });
});

describe('adapter options are validated at construction', () => {
  it('express and koa refuse unknown options, a non-function onDeny and a bad guard', () => {
    for (const factory of [expressBonafide, koaBonafide] as const) {
      expect(() => factory(guard, { onDeny: 42 } as never)).toThrow(ConfigError);
      expect(() => factory(guard, { ondeny: () => undefined } as never)).toThrow(
        expect.objectContaining({ code: 'ERR_CONFIG_UNKNOWN_OPTION' }),
      );
      expect(() => factory(null as never)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID_VALUE', path: 'guard' }));
      expect(() => factory({ attestation: { approov: { secret: 'c2hvcnQ=' } } })).toThrow(
        expect.objectContaining({ code: 'ERR_CONFIG_WEAK_SECRET' }),
      );
    }
  });
});

describe('bonafide/koa', () => {
  it('keeps headers set before it on a deny and answers problem+json', async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      ctx.set('access-control-allow-origin', '*');
      await next();
    });
    app.use(koaBonafide(guard));
    const server = await listenNode(app.callback());
    running.push(server);
    const res = await fetch(`${server.origin}/v1/items`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe.each([
  { name: 'Fastify 4', fastify: fastify4 as unknown as typeof fastify5 },
  { name: 'Fastify 5', fastify: fastify5 },
])('bonafide/fastify on $name', ({ fastify }) => {
  it('is a fastify-plugin named bonafide for Fastify 4 and 5, also the default export', () => {
    expect(fastifyDefault).toBe(fastifyBonafide);
    const meta = (fastifyBonafide as unknown as Record<symbol, unknown>)[Symbol.for('plugin-meta')];
    expect(meta).toMatchObject({ name: 'bonafide', fastify: '4.x || 5.x' });
  });

  it('refuses to load without a guard', async () => {
    const app = fastify();
    await expect(app.register(fastifyBonafide, {} as never)).rejects.toMatchObject({
      code: 'ERR_CONFIG_MISSING_OPTION',
      path: 'guard',
    });
    await app.close();
  });

  it('guards only the scope it is registered in', async () => {
    const app = fastify();
    app.get('/open', async () => 'open');
    await app.register(
      async (api) => {
        await api.register(fastifyBonafide, { guard });
        api.get('/items', async (request) => ({ reason: request.bonafide?.reason }));
      },
      { prefix: '/api' },
    );
    expect((await app.inject('/open')).statusCode).toBe(200);
    expect(seen).toEqual([]);
    const denied = await app.inject('/api/items');
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['content-type']).toBe('application/problem+json');
    expect(seen[0]?.url).toBe('http://localhost:80/api/items');
    await app.close();
  });

  it('checks the URL the client sent, not the result of rewriteUrl', async () => {
    const app = fastify({ rewriteUrl: (req) => (req.url === '/health' ? '/private' : (req.url ?? '/')) });
    await app.register(fastifyBonafide, { guard });
    app.get('/private', async (request) => ({ reason: request.bonafide?.reason }));
    const res = await app.inject('/health');
    expect(res.statusCode).toBe(200);
    expect(seen[0]?.url).toBe('http://localhost:80/health');
    await app.close();
  });

  it('sets request.bonafide to null before the hook and to the decision after', async () => {
    const app = fastify();
    const before: unknown[] = [];
    app.addHook('onRequest', async (request) => void before.push(request.bonafide));
    await app.register(fastifyBonafide, { guard });
    app.get('/health', async (request) => ({ reason: request.bonafide?.reason }));
    const res = await app.inject('/health');
    expect(before).toEqual([null]);
    expect(res.json()).toEqual({ reason: 'OK' });
    await app.close();
  });
});
