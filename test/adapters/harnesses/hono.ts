import { serve } from '@hono/node-server';
import type { Server as HttpServer } from 'node:http';
import { Hono, type Context } from 'hono';
import { hono, type FetchOptions } from '../../../adapters/fetch.js';
import type { Decision } from '../../../src/index.js';
import { echoOf } from '../fixtures/guard.js';
import { MAX_HEADER_SIZE, closeNode, type Harness } from './harness.js';

type Env = { Variables: { bonafide: Decision } };

export const honoHarness: Harness = {
  name: 'Hono (node-server)',
  forwardedEntry: 'first',
  // @hono/node-server answers 400 itself for a Host that does not parse as one.
  hostCheckedBy: 'server',
  // A Web Request carries no peer address; the fetch adapter's `getIp` would supply one.
  directIp: undefined,
  start({ guard, trustProxy = false, teapot = false, mount = false }) {
    const options: FetchOptions = { trustProxy };
    if (teapot) {
      options.onDeny = (decision) =>
        new Response(`denied:${decision.reason}`, { status: 418, headers: { 'content-type': 'text/plain' } });
    }
    const echo = (c: Context<Env>) => c.json(echoOf(c.get('bonafide')));
    const app = new Hono<Env>();
    if (mount) {
      const api = new Hono<Env>();
      api.use(hono(guard, options));
      api.all('*', echo);
      app.route('/api', api);
    } else {
      app.use(hono(guard, options));
      app.all('*', echo);
    }
    return new Promise((resolve) => {
      const server = serve(
        { fetch: app.fetch, port: 0, hostname: '127.0.0.1', serverOptions: { maxHeaderSize: MAX_HEADER_SIZE } },
        (info) => resolve({ origin: `http://127.0.0.1:${info.port}`, close: () => closeNode(server as HttpServer) }),
      );
    });
  },
};
