// An agent that signs every request it sends (Web Bot Auth, RFC 9421), with bonafide/signer.
//   npm run build
//   AGENT_KEY=agent.jwk npx tsx examples/agent/client.ts http://127.0.0.1:3000/v1/items
// AGENT_ORIGIN is the https origin where the agent serves its key directory (createDirectory).
import { readFileSync } from 'node:fs';
import { createSigner } from 'bonafide/signer';

const keyFile = process.env.AGENT_KEY;
if (!keyFile) {
  console.error('AGENT_KEY is not set: make a key with `npx bonafide keygen --out agent.jwk --format jwk` first.');
  process.exit(1);
}
const signer = createSigner({
  key: JSON.parse(readFileSync(keyFile, 'utf8')),
  agent: process.env.AGENT_ORIGIN ?? 'https://agent.example',
  components: ['@method', '@path'],
});

const url = process.argv[2] ?? 'http://127.0.0.1:3000/v1/items';
const response = await signer.fetch(url);
console.log(response.status, await response.text());
