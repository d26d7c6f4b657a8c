// A Hono API (on Node, through @hono/node-server) guarded by bonafide's Approov profile.
// It imports the published entry points (`bonafide`, `bonafide/fetch`), which resolve to dist/:
//   npm run build && APPROOV_SECRET=... npx tsx examples/hono/server.ts
// The same middleware runs on Bun, Deno and Cloudflare Workers. See examples/README.md for how to
// mint a token to call it with.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createGuard, type Decision } from 'bonafide';
import { hono } from 'bonafide/fetch';
import { approovSecretFromEnv, portFromEnv } from '../lib/env.js';

const guard = createGuard({
  attestation: { approov: { secret: approovSecretFromEnv() } },
  // Every route needs a genuine token (fail closed: /v1/** and anything else), except /health.
  routes: [{ path: '/health', require: { attestation: 'off' } }],
});

const app = new Hono<{ Variables: { bonafide: Decision } }>();
app.use(hono(guard));

app.get('/health', (c) => c.json({ ok: true }));

app.get('/v1/items', (c) => {
  // The decision the middleware made for this request: who the caller proved to be, and how.
  const decision = c.get('bonafide');
  return c.json({ items: ['apple', 'pear'], caller: decision.principal.id, device: decision.principal.deviceId ?? null });
});

const port = portFromEnv();
const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => {
  console.log(`Hono example on http://127.0.0.1:${port} (GET /v1/items guarded, GET /health open)`);
});
process.once('SIGINT', () => server.close(() => process.exit(0)));
