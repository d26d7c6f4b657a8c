// Mints an Approov-style test token signed with APPROOV_SECRET, for trying the example servers:
//   APPROOV_SECRET=... npx tsx examples/mint-token.ts [--bind 'Bearer alice'] [--ttl 3600]
// `--bind` binds the token to a header value (pass the same value as the header the server binds).
import { parseArgs } from 'node:util';
import { approovSecretFromEnv } from './lib/env.js';
import { mintApproovToken } from './lib/approov-token.js';

const { values } = parseArgs({
  options: {
    bind: { type: 'string', multiple: true },
    ttl: { type: 'string', default: '3600' },
  },
});
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) {
  console.error('--ttl must be a positive number of seconds');
  process.exit(2);
}
console.log(mintApproovToken({ secret: approovSecretFromEnv(), expiresIn: ttl, bindTo: values.bind }));
