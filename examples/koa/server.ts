// A Koa API guarded by bonafide's Approov profile.
// It imports the published entry points (`bonafide`, `bonafide/koa`), which resolve to dist/:
//   npm run build && APPROOV_SECRET=... npx tsx examples/koa/server.ts
// See examples/README.md for how to mint a token to call it with.
import Koa from 'koa';
import { createGuard } from 'bonafide';
import { bonafide } from 'bonafide/koa';
import { approovSecretFromEnv, portFromEnv } from '../lib/env.js';

const guard = createGuard({
  attestation: { approov: { secret: approovSecretFromEnv() } },
  // Every route needs a genuine token (fail closed: /v1/** and anything else), except /health.
  routes: [{ path: '/health', require: { attestation: 'off' } }],
});

const app = new Koa();
app.use(bonafide(guard));

app.use((ctx) => {
  if (ctx.method !== 'GET') return;
  if (ctx.path === '/health') {
    ctx.body = { ok: true };
  } else if (ctx.path === '/v1/items') {
    // The decision the middleware made for this request: who the caller proved to be, and how.
    const decision = ctx.state.bonafide!;
    ctx.body = { items: ['apple', 'pear'], caller: decision.principal.id, device: decision.principal.deviceId ?? null };
  }
});

const port = portFromEnv();
const server = app.listen(port, '127.0.0.1', () => {
  console.log(`Koa example on http://127.0.0.1:${port} (GET /v1/items guarded, GET /health open)`);
});
process.once('SIGINT', () => server.close(() => process.exit(0)));
