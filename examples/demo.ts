// `npm start`: a self-contained tour of bonafide, with nothing to set up.
// It starts an Express API guarded by the Approov profile (tokens bound to the Authorization
// header), plays a scripted client against it — one genuine caller and four impostors — and then
// keeps serving so you can try it with curl. The secret is random and lives only in this process.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createGuard } from '../src/index.js';
import { bonafide } from '../adapters/express.js';
import { mintApproovToken, newApproovSecret } from './lib/approov-token.js';

const HOST = '127.0.0.1';
const secret = newApproovSecret();

const guard = createGuard({
  // `binding`: the token's `pay` claim must be the hash of this request's Authorization header, so a
  // token lifted from one user's session cannot be replayed with another's credentials.
  attestation: { approov: { secret, binding: 'Authorization' } },
  // Every route needs a genuine token (fail closed) except the ones marked off here.
  routes: [{ path: '/health', require: { attestation: 'off' } }],
});

const app = express();
app.use(bonafide(guard));
app.get('/hello', (req, res) => {
  // The middleware attached its decision: who proved what.
  res.json({ hello: 'bona fide caller', reason: req.bonafide?.reason, principal: req.bonafide?.principal.id });
});
app.get('/health', (_req, res) => {
  res.json({ ok: true });
});

/** Listens on PORT, or 3000; when 3000 is taken (and PORT was not set), on any free port. */
async function start(): Promise<Server> {
  const wanted = process.env.PORT === undefined ? 3000 : Number(process.env.PORT);
  try {
    return await listen(wanted);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || process.env.PORT !== undefined) throw error;
    console.log(`Port ${wanted} is taken; using a free port instead.`);
    return listen(0);
  }
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(app);
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

interface Probe {
  label: string;
  headers: Record<string, string>;
}

/** The scripted client: one genuine request and four that a bona fide check must refuse. */
function probes(): Probe[] {
  const authorization = 'Bearer demo-user-session';
  const now = Math.floor(Date.now() / 1000);
  return [
    {
      label: 'genuine token, bound to Authorization',
      headers: { authorization, 'approov-token': mintApproovToken({ secret, bindTo: authorization }) },
    },
    {
      label: 'expired token',
      headers: { authorization, 'approov-token': mintApproovToken({ secret, bindTo: authorization, exp: now - 60 }) },
    },
    {
      label: 'forged token (another secret)',
      headers: { authorization, 'approov-token': mintApproovToken({ secret: newApproovSecret(), bindTo: authorization }) },
    },
    {
      label: 'token bound to another Authorization',
      headers: { authorization, 'approov-token': mintApproovToken({ secret, bindTo: 'Bearer someone-else' }) },
    },
    { label: 'no token', headers: { authorization } },
  ];
}

async function play(base: string): Promise<void> {
  await fetch(`${base}/health`).then((r) => r.arrayBuffer()); // open the keep-alive connection first
  const list = probes();
  const width = Math.max(...list.map((p) => p.label.length));
  for (const probe of list) {
    const started = performance.now();
    const response = await fetch(`${base}/hello`, { headers: probe.headers });
    const body = (await response.json()) as { code?: string; reason?: string };
    const ms = performance.now() - started;
    const reason = body.code ?? body.reason ?? '-';
    console.log(`  ${probe.label.padEnd(width)}  ${response.status}  ${reason.padEnd(27)}  ${ms.toFixed(1).padStart(6)} ms`);
  }
}

const server = await start();
const { port } = server.address() as AddressInfo;
const base = `http://${HOST}:${port}`;
console.log(`bonafide demo: Express on ${base}`);
console.log('  GET /hello   needs an Approov token bound to the Authorization header');
console.log('  GET /health  open\n');
await play(base);

const authorization = 'Bearer demo-user-session';
const token = mintApproovToken({ secret, bindTo: authorization, expiresIn: 3600 });
console.log('\nStill serving. Try it yourself (the token is valid for 1 hour):\n');
console.log(`  curl -i ${base}/hello -H 'Authorization: ${authorization}' -H 'Approov-Token: ${token}'\n`);
console.log('Change the Authorization value or drop the token to see it refused. Ctrl-C to stop.');

function stop(): void {
  console.log('\nStopping.');
  server.close(() => {
    void guard.close().then(() => process.exit(0));
  });
  server.closeAllConnections();
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
