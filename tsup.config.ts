import { defineConfig } from 'tsup';

const entry = {
  index: 'src/index.ts',
  express: 'adapters/express.ts',
  koa: 'adapters/koa.ts',
  fastify: 'adapters/fastify.ts',
  fetch: 'adapters/fetch.ts',
  signer: 'src/signer/index.ts',
  redis: 'src/redis/index.ts',
};

export default defineConfig([
  {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    // Shared chunks for both formats, so `bonafide` and `bonafide/express` load one copy of the core.
    splitting: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    external: ['express', 'koa', 'fastify', 'fastify-plugin', 'jose', '@opentelemetry/api', 'ioredis'],
    // The policy JSON Schema ships beside the code, for editors and other validators.
    onSuccess: 'node -e "require(\'node:fs\').copyFileSync(\'src/policy/policy.schema.json\', \'dist/policy.schema.json\')"',
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    splitting: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
    // Loaded on demand by `policy push|history` only; an optional peer dependency.
    external: ['ioredis'],
  },
]);
