import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/program.js';
import { POLICY_USAGE } from '../../src/cli/usage.js';

const dir = mkdtempSync(join(tmpdir(), 'bonafide-policy-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdin: '', stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

function file(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

const policy = file('policy.json', {
  metadata: { version: 7 },
  lists: { bad: { networks: ['203.0.113.0/24'] } },
  rules: [{ id: 'agents-only', match: { route: { path: '/feeds/**' }, principal: { kind: 'agent' } }, action: 'allow' }],
  default: { action: 'deny' },
});

describe('bonafide policy', () => {
  it('validates a document and prints its version and hash', async () => {
    const r = await run(['policy', 'validate', policy]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ valid: true, version: 7, hash: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
  });

  it('lists each problem with its JSON path and exits 1', async () => {
    const bad = file('bad.json', { metadata: { version: 1 }, rules: [{ id: 'x', action: 'nope' }], default: { action: 'allow' } });
    const r = await run(['policy', 'validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}: /rules/0/action:`);
    expect(JSON.parse(r.stdout).valid).toBe(false);
  });

  it('explains a request: the verdict and the trace', async () => {
    const request = file('request.json', { method: 'GET', url: 'https://api.example.com/feeds/1', ip: '198.51.100.1', principal: { id: 'agent:x', kind: 'agent', verified: true } });
    const r = await run(['policy', 'explain', policy, request]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.policy.version).toBe(7);
    expect(out.result).toMatchObject({ action: 'allow', source: 'rule', match: 'agents-only' });
    expect(out.trace.some((t: { id: string; matched: boolean }) => t.id === 'agents-only' && t.matched)).toBe(true);
  });

  it('exits 1 when the explained request is denied', async () => {
    const request = file('denied.json', { method: 'GET', url: 'https://api.example.com/feeds/1', ip: '203.0.113.9' });
    const r = await run(['policy', 'explain', policy, request]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).result).toMatchObject({ action: 'deny', source: 'list:bad' });
  });

  it('answers usage errors with exit 2', async () => {
    expect((await run(['policy'])).code).toBe(2);
    expect((await run(['policy', 'validate'])).code).toBe(2);
    expect((await run(['policy', 'frobnicate', policy])).code).toBe(2);
    expect((await run(['policy', 'validate', join(dir, 'missing.json')])).code).toBe(2);
    expect((await run(['policy', '--help'])).stdout).toBe(POLICY_USAGE);
  });
});
