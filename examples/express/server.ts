// An Express 5 API guarded by bonafide's Approov profile.
// It imports the published entry points (`bonafide`, `bonafide/express`), which resolve to dist/:
//   npm run build && APPROOV_SECRET=... npx tsx examples/express/server.ts
// See examples/README.md for how to mint a token to call it with.
import express from 'express';
import { createGuard } from 'bonafide';
import { bonafide } from 'bonafide/express';
import { approovSecretFromEnv, portFromEnv } from '../lib/env.js';

const guard = createGuard({
  attestation: { approov: { secret: approovSecretFromEnv() } },
  // Every route needs a genuine token (fail closed: /v1/** and anything else), except /health.
  routes: [{ path: '/health', require: { attestation: 'off' } }],
});

const app = express();
app.use(bonafide(guard));

app.get('/health', (_req, res) => {
  res.json({ ok: true });
});

app.get('/v1/items', (req, res) => {
  // The decision the middleware made for this request: who the caller proved to be, and how.
  const decision = req.bonafide!;
  res.json({ items: ['apple', 'pear'], caller: decision.principal.id, device: decision.principal.deviceId ?? null });
});

const port = portFromEnv();
const server = app.listen(port, '127.0.0.1', () => {
  console.log(`Express example on http://127.0.0.1:${port} (GET /v1/items guarded, GET /health open)`);
});
process.once('SIGINT', () => server.close(() => process.exit(0)));
