// Prometheus metrics for bonafide decisions, with prom-client.
//
// An Express API guarded by bonafide (Approov tokens on /v1/**) that counts every decision in
// `bonafide_decisions_total{outcome,reason,rule,mode}` and times it in
// `bonafide_decision_duration_seconds`, and serves them on GET /metrics. The labels are all
// low-cardinality (reason codes, policy rule ids, modes): never an IP, token, keyid or principal id.
//
//   npx tsx examples/metrics/prom-client.ts          # plays a few requests, prints the metrics, keeps serving
//   npx tsx examples/metrics/prom-client.ts --once   # plays, prints and exits
//
// It imports the library from source, so it needs no build. The Approov secret is random (or
// APPROOV_SECRET when set) and the scripted client mints its tokens with it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createGuard } from '../../src/index.js';
import { bonafide } from '../../adapters/express.js';
import { mintApproovToken, newApproovSecret } from '../lib/approov-token.js';

const HOST = '127.0.0.1';
const secret = process.env.APPROOV_SECRET?.trim() || newApproovSecret();

// A registry of our own, rather than prom-client's global one, so nothing else registers into it by accident.
const registry = new Registry();
collectDefaultMetrics({ register: registry });

const decisions = new Counter({
  name: 'bonafide_decisions_total',
  help: 'Requests decided by bonafide, by outcome, reason code, policy rule and mode.',
  labelNames: ['outcome', 'reason', 'rule', 'mode'] as const,
  registers: [registry],
});

const duration = new Histogram({
  name: 'bonafide_decision_duration_seconds',
  help: 'Time bonafide spent deciding a request.',
  labelNames: ['outcome'] as const,
  // Deciding is usually sub-millisecond; a key fetch or a remote store takes longer.
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  registers: [registry],
});

const guard = createGuard({
  attestation: { approov: { secret } },
  // One call per decision. It must not block: prom-client updates in memory and returns.
  metrics: {
    decision(labels, durationSeconds) {
      decisions.inc(labels);
      duration.observe({ outcome: labels.outcome }, durationSeconds);
    },
  },
});

const app = express();

// /metrics is mounted before the guard: Prometheus scrapes it without an attestation token, and the
// scrapes are not counted as decisions. It listens on 127.0.0.1 only; expose it on an internal
// network (or a separate port), never to the callers the guard checks.
app.get('/metrics', async (_req, res) => {
  try {
    res.type(registry.contentType).send(await registry.metrics());
  } catch {
    res.status(500).end();
  }
});

app.use(bonafide(guard));

app.get('/v1/items', (req, res) => {
  res.json({ items: ['apple', 'pear'], caller: req.bonafide?.principal.id });
});

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

/** A few callers, genuine and not, so the counters have something to show. */
async function play(base: string): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const probes: Array<[string, Record<string, string>]> = [
    ['genuine token', { 'approov-token': mintApproovToken({ secret }) }],
    ['genuine token', { 'approov-token': mintApproovToken({ secret }) }],
    ['expired token', { 'approov-token': mintApproovToken({ secret, exp: now - 60 }) }],
    ['forged token', { 'approov-token': mintApproovToken({ secret: newApproovSecret() }) }],
    ['no token', {}],
  ];
  for (const [label, headers] of probes) {
    const response = await fetch(`${base}/v1/items`, { headers });
    await response.arrayBuffer();
    console.log(`  ${label.padEnd(14)} ${response.status}`);
  }
}

const server = await listen(Number(process.env.PORT ?? 0));
const base = `http://${HOST}:${(server.address() as AddressInfo).port}`;
console.log(`bonafide + prom-client on ${base} (GET /v1/items guarded, GET /metrics for Prometheus)`);
await play(base);

const exposition = await (await fetch(`${base}/metrics`)).text();
console.log('\nGET /metrics (bonafide series):');
for (const line of exposition.split('\n')) {
  if (line.startsWith('bonafide_decisions_total') || line.startsWith('bonafide_decision_duration_seconds_count')) console.log(`  ${line}`);
}

if (process.argv.includes('--once')) {
  await guard.close();
  server.close();
} else {
  console.log(`\nServing; try: curl -s ${base}/metrics | grep ^bonafide_   (Ctrl-C stops)`);
  process.once('SIGINT', () => {
    void guard.close();
    server.close(() => process.exit(0));
  });
}
