/**
 * One benchmark server: `server.ts <express|koa|fastify> <bare|guarded>`, on 127.0.0.1 and an
 * ephemeral port, which it prints as `BENCH_PORT=<port>` once it listens. GET /hello answers
 * 200 `hello world`. In guarded mode every request goes through bonafide with the Approov secret
 * from BENCH_APPROOV_SECRET; in bare mode the same route has no middleware at all.
 */
import type { AddressInfo } from 'node:net';
import { createGuard, type Guard } from '../../src/index.js';

const FRAMEWORKS = ['express', 'koa', 'fastify'] as const;
const MODES = ['bare', 'guarded'] as const;
type Framework = (typeof FRAMEWORKS)[number];
type Mode = (typeof MODES)[number];

const BODY = 'hello world';

interface Running {
  readonly port: number;
  close(): Promise<void>;
}

function usage(message: string): never {
  process.stderr.write(`bench server: ${message}\nusage: server.ts <${FRAMEWORKS.join('|')}> <${MODES.join('|')}>\n`);
  process.exit(2);
}

async function startExpress(guard: Guard | undefined): Promise<Running> {
  const { default: express } = await import('express');
  const { bonafide } = await import('../../adapters/express.js');
  const app = express();
  if (guard !== undefined) app.use(bonafide(guard));
  app.get('/hello', (_req, res) => {
    res.send(BODY);
  });
  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function startKoa(guard: Guard | undefined): Promise<Running> {
  const { default: Koa } = await import('koa');
  const { bonafide } = await import('../../adapters/koa.js');
  const app = new Koa();
  if (guard !== undefined) app.use(bonafide(guard));
  app.use((ctx) => {
    if (ctx.method === 'GET' && ctx.path === '/hello') ctx.body = BODY;
  });
  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function startFastify(guard: Guard | undefined): Promise<Running> {
  const { default: Fastify } = await import('fastify');
  const { bonafide } = await import('../../adapters/fastify.js');
  const app = Fastify({ logger: false });
  if (guard !== undefined) await app.register(bonafide, { guard });
  app.get('/hello', async () => BODY);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

const [framework, mode] = process.argv.slice(2) as [string | undefined, string | undefined];
if (!FRAMEWORKS.includes(framework as Framework)) usage(`unknown framework ${JSON.stringify(framework)}`);
if (!MODES.includes(mode as Mode)) usage(`unknown mode ${JSON.stringify(mode)}`);

let guard: Guard | undefined;
if (mode === 'guarded') {
  const secret = process.env.BENCH_APPROOV_SECRET;
  if (secret === undefined) usage('guarded mode needs BENCH_APPROOV_SECRET (base64)');
  guard = createGuard({ attestation: { approov: { secret } } });
}

const start = { express: startExpress, koa: startKoa, fastify: startFastify }[framework as Framework];
const running = await start(guard);
process.stdout.write(`BENCH_PORT=${running.port}\n`);

const stop = (): void => {
  void running.close().finally(() => process.exit(0));
  // Keep-alive sockets from the load generator may hold close() open; do not wait for them.
  setTimeout(() => process.exit(0), 500).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
