// An Express API that lets in signed agents only (Web Bot Auth, RFC 9421).
// It imports the published entry points, which resolve to dist/:
//   npm run build
//   npx bonafide keygen --out agent.jwk --format jwk > agent.public.jwk
//   AGENT_PUBLIC_KEY=agent.public.jwk npx tsx examples/agent/server.ts
// With AGENT_PUBLIC_KEY the agent's key is configured here; without it, keys are discovered from
// each agent's https key directory (the Signature-Agent header), as in production.
import { readFileSync } from 'node:fs';
import express from 'express';
import { createGuard } from 'bonafide';
import { bonafide } from 'bonafide/express';
import { portFromEnv } from '../lib/env.js';

const publicKeyFile = process.env.AGENT_PUBLIC_KEY;
const guard = createGuard({
  signatures: publicKeyFile ? { keys: [JSON.parse(readFileSync(publicKeyFile, 'utf8'))], directory: false } : {},
  // Signatures must also cover the method and path, so one cannot be replayed against another route.
  routes: [
    { path: '/health', require: { signature: 'off' } },
    { path: '/v1/**', signature: { components: ['@method', '@path'] } },
  ],
});

const app = express();
app.use(bonafide(guard));
app.get('/health', (_req, res) => void res.json({ ok: true }));
app.get('/v1/items', (req, res) => {
  // Who signed: `agent:<origin>#<thumbprint>` for a discovered key, `agent:<keyid>` for a configured one.
  res.json({ items: ['apple', 'pear'], agent: req.bonafide?.principal.id });
});

const port = portFromEnv();
app.listen(port, '127.0.0.1', () => {
  console.log(`Agent-only API on http://127.0.0.1:${port} (GET /v1/items needs a Web Bot Auth signature)`);
});
