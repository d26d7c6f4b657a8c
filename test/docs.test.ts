import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REASONS, toProblem, type DenyReason } from '../src/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const errors = readFileSync(new URL('../src/errors.ts', import.meta.url), 'utf8');

describe('README stays true to the code', () => {
  it.each(Object.keys(REASONS))('documents reason %s with its status', (code) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    expect(row, `README reason table lacks ${code}`).toBeDefined();
    expect(row).toContain(`| ${REASONS[code as keyof typeof REASONS].status} |`);
  });

  it('documents every configuration error code', () => {
    const codes = [...errors.matchAll(/'(ERR_CONFIG_[A-Z_]+)'/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(3);
    for (const code of new Set(codes)) expect(readme).toContain(`| \`${code}\` |`);
  });

  it('gives every deny reason a distinct problem type', () => {
    const types = Object.keys(REASONS).filter((r) => r !== 'OK').map((r) => toProblem(r as DenyReason).type);
    expect(new Set(types).size).toBe(types.length);
  });
});
