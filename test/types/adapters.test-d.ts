import express, { type Request, type RequestHandler } from 'express';
import fastify, { type FastifyRequest } from 'fastify';
import { Hono } from 'hono';
import Koa, { type Middleware } from 'koa';
import { describe, expectTypeOf, it } from 'vitest';
import { bonafide as expressBonafide } from '../../adapters/express.js';
import { bonafide as fastifyBonafide } from '../../adapters/fastify.js';
import { bonafide as fetchBonafide, hono, type FetchDecision } from '../../adapters/fetch.js';
import { bonafide as koaBonafide } from '../../adapters/koa.js';
import { createGuard, type Decision, type DenyDecision, type DenyStatus } from '../../src/index.js';

const guard = createGuard({ attestation: { approov: { secret: 'c2VjcmV0' } } });

describe('bonafide/express types', () => {
  it('returns a RequestHandler and types req.bonafide as Decision | undefined', () => {
    expectTypeOf(expressBonafide(guard)).toEqualTypeOf<RequestHandler>();
    expectTypeOf<Request['bonafide']>().toEqualTypeOf<Decision | undefined>();
    const app = express();
    app.use(expressBonafide({ attestation: { approov: { secret: 'c2VjcmV0' } } }));
    app.get('/', (req) => {
      expectTypeOf(req.bonafide).toEqualTypeOf<Decision | undefined>();
    });
  });

  it('gives onDeny a DenyDecision', () => {
    expressBonafide(guard, {
      onDeny: (decision, _req, res) => {
        expectTypeOf(decision).toEqualTypeOf<DenyDecision>();
        res.status(decision.status).end();
      },
    });
    // @ts-expect-error onDeny must be a function
    expressBonafide(guard, { onDeny: 'deny' });
  });
});

describe('bonafide/koa types', () => {
  it('returns a Koa middleware and types ctx.state.bonafide', () => {
    expectTypeOf(koaBonafide(guard)).toExtend<Middleware>();
    const app = new Koa();
    app.use(
      koaBonafide(guard, {
        onDeny: (decision, ctx) => {
          expectTypeOf(decision).toEqualTypeOf<DenyDecision>();
          ctx.status = decision.status;
        },
      }),
    );
    app.use((ctx) => {
      expectTypeOf(ctx.state.bonafide).toEqualTypeOf<Decision | undefined>();
    });
  });
});

describe('bonafide/fastify types', () => {
  it('registers with a guard or options and types request.bonafide as Decision | null', async () => {
    const app = fastify();
    await app.register(fastifyBonafide, { guard });
    await app.register(fastifyBonafide, { guard: { attestation: { approov: { secret: 'c2VjcmV0' } } } });
    expectTypeOf<FastifyRequest['bonafide']>().toEqualTypeOf<Decision | null>();
    app.get('/', async (request) => {
      expectTypeOf(request.bonafide).toEqualTypeOf<Decision | null>();
      return {};
    });
    // @ts-expect-error `guard` is required
    await app.register(fastifyBonafide, {});
  });
});

describe('bonafide/fetch types', () => {
  it('returns a FetchGuard and a Hono middleware', async () => {
    const check = fetchBonafide(guard, { trustProxy: true, getIp: () => undefined });
    expectTypeOf(check).parameter(0).toEqualTypeOf<globalThis.Request>();
    expectTypeOf(check).returns.toEqualTypeOf<Promise<Response | null>>();
    expectTypeOf(check.decide).returns.toEqualTypeOf<Promise<FetchDecision>>();
    const app = new Hono<{ Variables: { bonafide: Decision } }>();
    app.use(hono(guard));
    app.get('/', (c) => {
      expectTypeOf(c.get('bonafide')).toEqualTypeOf<Decision>();
      return c.text('ok');
    });
  });
});

describe('Decision narrowing', () => {
  it('narrows to a deny status on outcome', () => {
    const d = {} as Decision;
    if (d.outcome === 'deny') {
      expectTypeOf(d.status).toEqualTypeOf<400 | 401 | 403 | 413 | 429 | 503>();
      expectTypeOf(d.status).toEqualTypeOf<DenyStatus>();
      expectTypeOf(d.monitor).toEqualTypeOf<false>();
    } else {
      expectTypeOf(d.status).toEqualTypeOf<200>();
    }
  });
});
