import type { RequestHandler } from 'express';
import express5 from 'express';
import express4 from 'express4';
import { bonafide, type ExpressOptions } from '../../../adapters/express.js';
import { echoOf } from '../fixtures/guard.js';
import { listenNode, type Harness } from './harness.js';

type ExpressFactory = typeof express5;

function expressHarness(name: string, express: ExpressFactory): Harness {
  return {
    name,
    hostCheckedBy: 'adapter',
    forwardedEntry: 'first',
    directIp: '127.0.0.1',
    start({ guard, trustProxy = false, teapot = false, mount = false }) {
      const app = express();
      app.set('trust proxy', trustProxy);
      const options: ExpressOptions | undefined = teapot
        ? { onDeny: (decision, _req, res) => void res.status(418).type('text/plain').send(`denied:${decision.reason}`) }
        : undefined;
      const guarded = bonafide(guard, options);
      const echo: RequestHandler = (req, res) => void res.json(echoOf(req.bonafide));
      if (mount) {
        const router = express.Router();
        router.use(guarded);
        router.use(echo);
        app.use('/api', router);
      } else {
        app.use(guarded);
        app.use(echo);
      }
      return listenNode(app);
    },
  };
}

export const express4Harness = expressHarness('Express 4', express4 as unknown as ExpressFactory);
export const express5Harness = expressHarness('Express 5', express5);
