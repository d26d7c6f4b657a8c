import { spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The published `bonafide` bin. CI builds before testing; locally, run `npm run build` first.
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const built = existsSync(CLI);

const b64u = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('the built bonafide CLI', () => {
  it(
    'node dist/cli.js verify reads JSON Lines from stdin and exits 1 when one is denied',
    () => {
      if (!built) throw new Error('dist/cli.js is missing: run `npm run build` first (`npm test` builds before testing)');
      expect(readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
      const now = 1_767_225_600;
      const secret = randomBytes(32);
      const signingInput = `${b64u({ alg: 'HS256', typ: 'JWT' })}.${b64u({
        exp: now + 60,
        pay: createHash('sha256').update('Bearer alice').digest('base64'),
      })}`;
      const token = `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
      const request = (authorization: string) =>
        JSON.stringify({ method: 'GET', url: 'https://api.example.com/v1/items', headers: { 'approov-token': token, authorization } });

      const result = spawnSync(
        process.execPath,
        [CLI, 'verify', '--profile', 'approov', '--binding', 'Authorization', '--now', String(now)],
        {
          input: `${request('Bearer alice')}\n${request('Bearer bob')}\n`,
          env: { PATH: process.env.PATH, APPROOV_SECRET: secret.toString('base64') },
          encoding: 'utf8',
          timeout: 15_000,
        },
      );
      expect(result.stderr).toBe('');
      expect(result.status).toBe(1);
      const decisions = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { outcome: string; reason: string });
      expect(decisions.map((d) => [d.outcome, d.reason])).toEqual([
        ['allow', 'OK'],
        ['deny', 'ERR_BINDING_MISMATCH'],
      ]);
    },
  );
});
