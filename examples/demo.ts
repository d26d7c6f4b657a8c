// `npm start`: a self-contained tour of bonafide, with nothing to set up.
// It starts an Express API with two kinds of callers: the mobile app (Approov tokens bound to the
// Authorization header) on /hello, and signed agents (Web Bot Auth, RFC 9421) on /agents/*. It plays
// a scripted client against it — genuine callers and impostors — and then keeps serving so you can
// try it with curl. Secrets and keys are random and live only in this process.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createGuard } from '../src/index.js';
import { bonafide } from '../adapters/express.js';
import { createSigner, generateKeyPair } from '../src/signer/index.js';
import { mintApproovToken, newApproovSecret } from './lib/approov-token.js';

const HOST = '127.0.0.1';
const secret = newApproovSecret();
// The agent's key pair. A real agent publishes the public key in its key directory and bonafide
// discovers it from the Signature-Agent header; the demo configures it directly (no network).
const agentKey = generateKeyPair();
const signing = { agent: 'https://crawler.demo.example', components: ['@method', '@path'] };
const agent = createSigner({ key: agentKey.privateJwk, ...signing });
const impostor = createSigner({ key: generateKeyPair().privateJwk, ...signing });

const guard = createGuard({
  // `binding`: the token's `pay` claim must be the hash of this request's Authorization header, so a
  // token lifted from one user's session cannot be replayed with another's credentials.
  attestation: { approov: { secret, binding: 'Authorization' } },
  signatures: { keys: [agentKey.publicJwk], directory: false, agents: { [agentKey.keyid]: 'demo-crawler' } },
  // Fail closed: by default every route needs both proofs; each route relaxes the one it does not use.
  require: { signature: 'off' },
  routes: [
    { path: '/health', require: { attestation: 'off' } },
    { path: '/agents/**', require: { attestation: 'off', signature: 'required' }, signature: { components: ['@method', '@path'] } },
  ],
});

const app = express();
app.use(bonafide(guard));
app.get('/hello', (req, res) => {
  // The middleware attached its decision: who proved what.
  res.json({ hello: 'bona fide caller', reason: req.bonafide?.reason, principal: req.bonafide?.principal.id });
});
app.get('/agents/feed', (req, res) => {
  res.json({ feed: ['item-1', 'item-2'], reason: req.bonafide?.reason, principal: req.bonafide?.principal.id });
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
  path: string;
  headers: Record<string, string>;
}

/** The scripted client: genuine requests, and impostors a bona fide check must refuse. */
function probes(base: string): Probe[] {
  const authorization = 'Bearer demo-user-session';
  const now = Math.floor(Date.now() / 1000);
  return [
    {
      label: 'genuine token, bound to Authorization',
      path: '/hello',
      headers: { authorization, 'approov-token': mintApproovToken({ secret, bindTo: authorization }) },
    },
    {
      label: 'expired token',
      path: '/hello',
      headers: { authorization, 'approov-token': mintApproovToken({ secret, bindTo: authorization, exp: now - 60 }) },
    },
    {
      label: 'forged token (another secret)',
      path: '/hello',
      headers: { authorization, 'approov-token': mintApproovToken({ secret: newApproovSecret(), bindTo: authorization }) },
    },
    {
      label: 'token bound to another Authorization',
      path: '/hello',
      headers: { authorization, 'approov-token': mintApproovToken({ secret, bindTo: 'Bearer someone-else' }) },
    },
    { label: 'no token', path: '/hello', headers: { authorization } },
    ...agentProbes(base),
  ];
}

function agentProbes(base: string): Probe[] {
  const feed = `${base}/agents/feed`;
  const signed = agent.headers({ method: 'GET', url: feed });
  const forOtherPath = agent.headers({ method: 'GET', url: `${base}/agents/other` });
  return [
    { label: 'signed agent (Web Bot Auth)', path: '/agents/feed', headers: signed },
    { label: 'same signature replayed', path: '/agents/feed', headers: signed },
    { label: 'signature for another path', path: '/agents/feed', headers: forOtherPath },
    { label: 'signed with an unknown key', path: '/agents/feed', headers: impostor.headers({ method: 'GET', url: feed }) },
    { label: 'no signature', path: '/agents/feed', headers: {} },
  ];
}

async function play(base: string): Promise<void> {
  await fetch(`${base}/health`).then((r) => r.arrayBuffer()); // open the keep-alive connection first
  const list = probes(base);
  const width = Math.max(...list.map((p) => p.label.length));
  for (const probe of list) {
    const started = performance.now();
    const response = await fetch(`${base}${probe.path}`, { headers: probe.headers });
    const body = (await response.json()) as { code?: string; reason?: string };
    const ms = performance.now() - started;
    const reason = body.code ?? body.reason ?? '-';
    console.log(`  ${probe.label.padEnd(width)}  ${response.status}  ${reason.padEnd(35)}  ${ms.toFixed(1).padStart(6)} ms`);
  }
}

const server = await start();
const { port } = server.address() as AddressInfo;
const base = `http://${HOST}:${port}`;
console.log(`bonafide demo: Express on ${base}`);
console.log('  GET /hello        needs an Approov token bound to the Authorization header');
console.log('  GET /agents/feed  needs a Web Bot Auth signature covering @method and @path');
console.log('  GET /health       open\n');
await play(base);

const authorization = 'Bearer demo-user-session';
const token = mintApproovToken({ secret, bindTo: authorization, expiresIn: 3600 });
console.log('\nStill serving. Try it yourself (the token and the signature are valid for 1 hour):\n');
console.log(`  curl -i ${base}/hello -H 'Authorization: ${authorization}' -H 'Approov-Token: ${token}'\n`);
const agentHeaders = createSigner({ key: agentKey.privateJwk, ...signing, expiresIn: 3600, nonce: false })
  .headers({ method: 'GET', url: `${base}/agents/feed` });
const headerFlags = Object.entries(agentHeaders).map(([name, value]) => `-H '${name}: ${value}'`).join(' ');
console.log(`  curl -i ${base}/agents/feed ${headerFlags}\n`);
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
