import fastify5, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastify4 from 'fastify4';
import { bonafide, type FastifyBonafideOptions } from '../../../adapters/fastify.js';
import { echoOf } from '../fixtures/guard.js';
import { MAX_HEADER_SIZE, type Harness } from './harness.js';

// Both majors are driven through Fastify 5's types; the runtime API used here is the same in 4 and 5.
type FastifyFactory = typeof fastify5;

function fastifyHarness(name: string, fastify: FastifyFactory, forwardedEntry: 'first' | 'last'): Harness {
  return {
    name,
    hostCheckedBy: 'adapter',
    forwardedEntry,
    directIp: '127.0.0.1',
    async start({ guard, trustProxy = false, teapot = false, mount = false }) {
      const app = fastify({ trustProxy, http: { maxHeaderSize: MAX_HEADER_SIZE }, logger: false });
      const options: FastifyBonafideOptions = { guard };
      if (teapot) {
        options.onDeny = async (decision, _request, reply) => {
          await reply.code(418).type('text/plain').send(`denied:${decision.reason}`);
        };
      }
      const routes = async (scope: FastifyInstance) => {
        await scope.register(bonafide, options);
        scope.all('/*', async (request: FastifyRequest, reply: FastifyReply) => reply.send(echoOf(request.bonafide)));
      };
      if (mount) await app.register(routes, { prefix: '/api' });
      else await routes(app);
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('fastify did not listen on TCP');
      return { origin: `http://127.0.0.1:${address.port}`, close: () => app.close() };
    },
  };
}

export const fastify4Harness = fastifyHarness('Fastify 4', fastify4 as unknown as FastifyFactory, 'last');
export const fastify5Harness = fastifyHarness('Fastify 5', fastify5, 'last');
