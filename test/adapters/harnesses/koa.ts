import Koa3 from 'koa';
import Koa2 from 'koa2';
import mount from 'koa-mount';
import { bonafide, type KoaOptions } from '../../../adapters/koa.js';
import { echoOf } from '../fixtures/guard.js';
import { listenNode, type Harness } from './harness.js';

type KoaClass = typeof Koa3;

function koaHarness(name: string, Koa: KoaClass): Harness {
  return {
    name,
    hostCheckedBy: 'adapter',
    forwardedEntry: 'first',
    directIp: '127.0.0.1',
    start({ guard, trustProxy = false, teapot = false, mount: mounted = false }) {
      const app = new Koa();
      app.proxy = trustProxy;
      const options: KoaOptions | undefined = teapot
        ? {
            onDeny: (decision, ctx) => {
              ctx.status = 418;
              ctx.type = 'text/plain';
              ctx.body = `denied:${decision.reason}`;
            },
          }
        : undefined;
      const inner = mounted ? new Koa() : app;
      inner.use(bonafide(guard, options));
      inner.use((ctx) => {
        ctx.body = echoOf(ctx.state.bonafide);
      });
      // koa-mount strips the prefix from ctx.path; the guard must still see the full original URL.
      if (mounted) app.use(mount('/api', inner as never));
      return listenNode(app.callback());
    },
  };
}

export const koa2Harness = koaHarness('Koa 2', Koa2 as unknown as KoaClass);
export const koa3Harness = koaHarness('Koa 3', Koa3);
