// A Fastify 5 API guarded by bonafide's Approov profile.
// It imports the published entry points (`bonafide`, `bonafide/fastify`), which resolve to dist/:
//   npm run build && APPROOV_SECRET=... npx tsx examples/fastify/server.ts
// See examples/README.md for how to mint a token to call it with.
import Fastify from 'fastify';
import { createGuard } from 'bonafide';
import { bonafide } from 'bonafide/fastify';
import { approovSecretFromEnv, portFromEnv } from '../lib/env.js';

const guard = createGuard({
  attestation: { approov: { secret: approovSecretFromEnv() } },
  // Every route needs a genuine token (fail closed: /v1/** and anything else), except /health.
  routes: [{ path: '/health', require: { attestation: 'off' } }],
});

const app = Fastify();
await app.register(bonafide, { guard });

app.get('/health', async () => ({ ok: true }));

app.get('/v1/items', async (request) => {
  // The decision the plugin made for this request: who the caller proved to be, and how.
  const decision = request.bonafide!;
  return { items: ['apple', 'pear'], caller: decision.principal.id, device: decision.principal.deviceId ?? null };
});

const port = portFromEnv();
await app.listen({ port, host: '127.0.0.1' });
console.log(`Fastify example on http://127.0.0.1:${port} (GET /v1/items guarded, GET /health open)`);
process.once('SIGINT', () => void app.close().then(() => process.exit(0)));
