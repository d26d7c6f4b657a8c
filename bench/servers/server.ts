/**
 * One benchmark server: `server.ts <express|koa|fastify> <bare|guarded> [approov|signatures|verify-floor|noop]`,
 * on 127.0.0.1 and an ephemeral port, which it prints as `BENCH_PORT=<port>` once it listens. GET
 * /hello answers 200 `hello world`. In bare mode the same route has no middleware at all. In guarded
 * mode every request goes through bonafide, which checks (default `approov`) an Approov token with
 * the secret from BENCH_APPROOV_SECRET, or (`signatures`) a Web Bot Auth signature with the public
 * JWK from BENCH_SIGNATURE_JWK (no key directory, no replay store). With `signatures` the server
 * counts its decisions and prints them as `BENCH_STATS=<json>` when it stops, so the benchmark can
 * tell a fresh verification from a cache hit. `verify-floor` (Fastify only) is not bonafide: a bare
 * `onRequest` hook that does what no verifier can skip, one `crypto.verify` of an Ed25519 signature
 * over a signature base built in advance (BENCH_SIGNATURE_JWK, BENCH_FLOOR_BASE, BENCH_FLOOR_SIGNATURE
 * in base64), and answers 401 if it fails. `noop` is not bonafide either: one middleware (Fastify:
 * one `onRequest` hook) that does nothing, the cost any middleware adds in that framework.
 */
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Decision, Guard, Jwk } from '../../src/index.js';

// The built package (dist/, through the package's own `exports`), as users run it; bench/lib/load.ts
// builds it and runs this file compiled to plain JavaScript on plain node, bare and guarded alike.
const { createGuard } = await import('bonafide');

const FRAMEWORKS = ['express', 'koa', 'fastify'] as const;
const MODES = ['bare', 'guarded'] as const;
const CHECKS = ['approov', 'signatures', 'verify-floor', 'noop'] as const;
type Framework = (typeof FRAMEWORKS)[number];
type Mode = (typeof MODES)[number];
type Check = (typeof CHECKS)[number];

/** What a guarded server decided: allowed after a fresh verification, allowed from a cache, denied. */
export interface DecisionStats {
  fresh: number;
  cached: number;
  denied: number;
}

const BODY = 'hello world';

interface Running {
  readonly port: number;
  close(): Promise<void>;
}

function usage(message: string): never {
  process.stderr.write(`bench server: ${message}\nusage: server.ts <${FRAMEWORKS.join('|')}> <${MODES.join('|')}> [${CHECKS.join('|')}]\n`);
  process.exit(2);
}

async function startExpress(guard: Guard | undefined): Promise<Running> {
  const { default: express } = await import('express');
  const { bonafide } = await import('bonafide/express');
  const app = express();
  if (guard !== undefined) app.use(bonafide(guard));
  if (noop) app.use((_req, _res, next) => next());
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
  const { bonafide } = await import('bonafide/koa');
  const app = new Koa();
  if (guard !== undefined) app.use(bonafide(guard));
  if (noop) app.use((_ctx, next) => next());
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

/** The `verify-floor` check: one Ed25519 verification of a fixed signature base per request, nothing else. */
function verifyFloor(): () => boolean {
  const { BENCH_SIGNATURE_JWK: jwk, BENCH_FLOOR_BASE: base, BENCH_FLOOR_SIGNATURE: signature } = process.env;
  if (jwk === undefined || base === undefined || signature === undefined) {
    usage('verify-floor needs BENCH_SIGNATURE_JWK, BENCH_FLOOR_BASE and BENCH_FLOOR_SIGNATURE');
  }
  const key = createPublicKey({ key: JSON.parse(jwk) as JsonWebKey, format: 'jwk' });
  const text = Buffer.from(base, 'base64').toString('utf8');
  const bytes = Buffer.from(signature, 'base64');
  return () => verify(null, Buffer.from(text), key, bytes);
}

async function startFastify(guard: Guard | undefined, floor?: () => boolean): Promise<Running> {
  const { default: Fastify } = await import('fastify');
  const { bonafide } = await import('bonafide/fastify');
  const app = Fastify({ logger: false });
  if (guard !== undefined) await app.register(bonafide, { guard });
  if (noop) app.addHook('onRequest', (_request, _reply, done) => done());
  if (floor !== undefined) {
    app.addHook('onRequest', (_request, reply, done) => {
      if (floor()) done();
      else reply.code(401).send();
    });
  }
  app.get('/hello', async () => BODY);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

function approovGuard(): Guard {
  const secret = process.env.BENCH_APPROOV_SECRET;
  if (secret === undefined) usage('guarded mode needs BENCH_APPROOV_SECRET (base64)');
  return createGuard({ attestation: { approov: { secret } } });
}

function signatureGuard(stats: DecisionStats): Guard {
  const jwk = process.env.BENCH_SIGNATURE_JWK;
  if (jwk === undefined) usage('guarded mode with signatures needs BENCH_SIGNATURE_JWK (a public JWK as JSON)');
  const count = (decision: Decision): void => {
    if (decision.outcome !== 'allow') stats.denied++;
    else if (decision.checks[0]?.cached === false) stats.fresh++;
    else stats.cached++;
  };
  return createGuard({ signatures: { keys: [JSON.parse(jwk) as Jwk], directory: false, replay: false }, onDecision: count });
}

const [framework, mode, check = 'approov'] = process.argv.slice(2) as [string | undefined, string | undefined, string | undefined];
if (!FRAMEWORKS.includes(framework as Framework)) usage(`unknown framework ${JSON.stringify(framework)}`);
if (!MODES.includes(mode as Mode)) usage(`unknown mode ${JSON.stringify(mode)}`);
if (!CHECKS.includes(check as Check)) usage(`unknown check ${JSON.stringify(check)}`);

if (check === 'verify-floor' && framework !== 'fastify') usage('verify-floor is for fastify only');
/** `guarded noop`: not bonafide, one middleware (hook) that does nothing: what any middleware costs. */
const noop = mode === 'guarded' && check === 'noop';

const stats: DecisionStats | undefined = mode === 'guarded' && check === 'signatures' ? { fresh: 0, cached: 0, denied: 0 } : undefined;
let guard: Guard | undefined;
if (mode === 'guarded' && check !== 'verify-floor' && !noop) guard = stats === undefined ? approovGuard() : signatureGuard(stats);

let running: Running;
if (mode === 'guarded' && check === 'verify-floor') running = await startFastify(undefined, verifyFloor());
else running = await { express: startExpress, koa: startKoa, fastify: startFastify }[framework as Framework](guard);
process.stdout.write(`BENCH_PORT=${running.port}\n`);

const stop = (): void => {
  if (stats !== undefined) process.stdout.write(`BENCH_STATS=${JSON.stringify(stats)}\n`);
  void running.close().finally(() => process.exit(0));
  // Keep-alive sockets from the load generator may hold close() open; do not wait for them.
  setTimeout(() => process.exit(0), 500).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
