import { serve } from '@hono/node-server';
import type { Server as HttpServer } from 'node:http';
import express5 from 'express';
import express4 from 'express4';
import fastify5 from 'fastify';
import fastify4 from 'fastify4';
import { Hono } from 'hono';
import Koa3 from 'koa';
import Koa2 from 'koa2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bonafide as expressGuard } from '../../adapters/express.js';
import { bonafide as fastifyGuard } from '../../adapters/fastify.js';
import { bonafide as fetchGuard, hono } from '../../adapters/fetch.js';
import { bonafide as koaGuard } from '../../adapters/koa.js';
import { createGuard, type Guard } from '../../src/index.js';
import { contentDigest } from '../../src/signatures/content-digest.js';
import { ed25519Pair, sign } from '../helpers/http-sig.js';
import { closeNode, listenNode, type RunningServer } from './harnesses/harness.js';

/**
 * Content-Digest needs the raw body bytes. Each adapter must hand them to the guard and still let the
 * application's own body parsing read the whole body afterwards.
 */

const agent = ed25519Pair();
const NOW = Math.floor(Date.now() / 1000);

function makeGuard(): Guard {
  return createGuard({
    signatures: { keys: [agent.publicJwk], directory: false, replay: false, require: { contentDigest: true } },
  });
}

type Starter = (guard: Guard) => Promise<RunningServer>;

async function readStream(stream: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const servers: [string, Starter][] = [
  ...([['Express 4', express4], ['Express 5', express5]] as const).map(([name, express]): [string, Starter] => [
    name,
    (guard) => {
      const app = (express as typeof express5)();
      app.use(expressGuard(guard));
      app.use((express as typeof express5).json({ limit: '2mb' }));
      app.post('/items', (req, res) => void res.json({ body: req.body, principal: req.bonafide?.principal.id }));
      return listenNode(app);
    },
  ]),
  ...([['Koa 2', Koa2], ['Koa 3', Koa3]] as const).map(([name, Koa]): [string, Starter] => [
    name,
    (guard) => {
      const app = new (Koa as typeof Koa3)();
      app.use(koaGuard(guard));
      app.use(async (ctx) => {
        ctx.body = { body: JSON.parse(await readStream(ctx.req)), principal: ctx.state.bonafide?.principal.id };
      });
      return listenNode(app.callback());
    },
  ]),
  ...([['Fastify 4', fastify4], ['Fastify 5', fastify5]] as const).map(([name, fastify]): [string, Starter] => [
    name,
    async (guard) => {
      const app = (fastify as typeof fastify5)({ logger: false, bodyLimit: 2 * 1024 * 1024 });
      await app.register(fastifyGuard, { guard });
      app.post('/items', async (request) => ({ body: request.body, principal: request.bonafide?.principal.id }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address() as { port: number };
      return { origin: `http://127.0.0.1:${address.port}`, close: () => app.close() };
    },
  ]),
  [
    'Hono',
    (guard) => {
      const app = new Hono<{ Variables: { bonafide: import('../../src/index.js').Decision } }>();
      app.use(hono(guard));
      app.post('/items', async (c) => c.json({ body: await c.req.json(), principal: c.get('bonafide').principal.id }));
      return new Promise((resolve) => {
        const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
          resolve({ origin: `http://127.0.0.1:${info.port}`, close: () => closeNode(server as HttpServer) }),
        );
      });
    },
  ],
  [
    'fetch',
    (guard) => {
      const check = fetchGuard(guard);
      const handler = async (request: Request): Promise<Response> => {
        const denied = await check(request);
        if (denied) return denied;
        return Response.json({ body: await request.json() });
      };
      return new Promise((resolve) => {
        const server = serve({ fetch: handler, port: 0, hostname: '127.0.0.1' }, (info) =>
          resolve({ origin: `http://127.0.0.1:${info.port}`, close: () => closeNode(server as HttpServer) }),
        );
      });
    },
  ],
];

function signedPost(origin: string, body: string, options: { digestOf?: string; cover?: boolean } = {}) {
  const url = `${origin}/items`;
  const headers: Record<string, string> = {
    host: new URL(origin).host,
    'content-type': 'application/json',
    'content-digest': contentDigest(Buffer.from(options.digestOf ?? body)),
  };
  const components = ['@authority', '@method', '@path', ...(options.cover === false ? [] : ['content-digest'])];
  const signed = sign(
    { method: 'POST', url, headers },
    { key: agent.privateKey, algorithm: 'ed25519', keyid: agent.thumbprint, components, params: { created: NOW, expires: NOW + 300, keyid: agent.thumbprint, tag: 'web-bot-auth' } },
  );
  const { host: _host, ...sent } = signed.headers;
  return fetch(url, { method: 'POST', headers: sent, body });
}

describe.each(servers)('Content-Digest through %s', (_name, start) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start(makeGuard());
  });
  afterAll(() => server.close());

  it('allows a body that matches its signed digest, and the app still parses the body', async () => {
    const response = await signedPost(server.origin, JSON.stringify({ hello: 'world' }));
    expect(response.status).toBe(200);
    expect((await response.json()).body).toEqual({ hello: 'world' });
  });

  it('reads a body that arrives in many chunks', async () => {
    const big = { items: Array.from({ length: 20_000 }, (_, i) => `item-${i}`) };
    const response = await signedPost(server.origin, JSON.stringify(big));
    expect(response.status).toBe(200);
    expect((await response.json()).body.items).toHaveLength(20_000);
  });

  it('denies a changed body with 401 ERR_DIGEST_MISMATCH', async () => {
    const response = await signedPost(server.origin, JSON.stringify({ hello: 'mallory' }), { digestOf: JSON.stringify({ hello: 'world' }) });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe('ERR_DIGEST_MISMATCH');
  });

  it('denies a body whose digest is not signed with ERR_DIGEST_MISSING', async () => {
    const response = await signedPost(server.origin, JSON.stringify({ hello: 'world' }), { cover: false });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe('ERR_DIGEST_MISSING');
  });

  it('answers a body over the cap with 413 ERR_BODY_TOO_LARGE', async () => {
    const response = await signedPost(server.origin, JSON.stringify({ big: 'x'.repeat(1024 * 1024 + 10) }));
    expect(response.status).toBe(413);
    expect((await response.json()).code).toBe('ERR_BODY_TOO_LARGE');
  });
});

/**
 * A body parser that runs before the guard has consumed the stream; the adapters then take the
 * bytes it kept: Express's `req.body` Buffer from `express.raw()`, Koa's `ctx.request.rawBody` text
 * (as koa-bodyparser keeps it).
 */
const parsedFirst: [string, Starter][] = [
  ...([['Express 4', express4], ['Express 5', express5]] as const).map(([name, express]): [string, Starter] => [
    name,
    (guard) => {
      const app = (express as typeof express5)();
      app.use((express as typeof express5).raw({ type: '*/*', limit: '2mb' }));
      app.use(expressGuard(guard));
      app.post('/items', (req, res) => void res.json({ body: JSON.parse((req.body as Buffer).toString('utf8')) }));
      return listenNode(app);
    },
  ]),
  ...([['Koa 2', Koa2], ['Koa 3', Koa3]] as const).map(([name, Koa]): [string, Starter] => [
    name,
    (guard) => {
      const app = new (Koa as typeof Koa3)();
      app.use(async (ctx, next) => {
        const text = await readStream(ctx.req);
        Object.assign(ctx.request, { rawBody: text, body: JSON.parse(text) });
        await next();
      });
      app.use(koaGuard(guard));
      app.use((ctx) => {
        ctx.body = { body: (ctx.request as unknown as { body: unknown }).body };
      });
      return listenNode(app.callback());
    },
  ]),
];

describe.each(parsedFirst)('Content-Digest through %s after a body parser', (_name, start) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start(makeGuard());
  });
  afterAll(() => server.close());

  it('checks the digest against the bytes the parser kept', async () => {
    const response = await signedPost(server.origin, JSON.stringify({ hello: 'wörld' }));
    expect(response.status).toBe(200);
    expect((await response.json()).body).toEqual({ hello: 'wörld' });
  });

  it('denies a changed body with 401 ERR_DIGEST_MISMATCH', async () => {
    const response = await signedPost(server.origin, JSON.stringify({ hello: 'mallory' }), { digestOf: JSON.stringify({ hello: 'world' }) });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe('ERR_DIGEST_MISMATCH');
  });
});
