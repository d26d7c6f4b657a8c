/**
 * Runs one benchmark part in a child process on plain `node`, compiled by esbuild the way tsup
 * builds the package (dist/), instead of under `tsx`.
 *
 * `npm run bench` itself runs under tsx, which compiles every file of the project on the fly with
 * esbuild's keepNames: every function gets a `__name(fn, "name")` call, a property definition each
 * time a closure is created. That is not what users run and it is not neutral: code that creates
 * closures per call (bonafide's, or a peer's) pays for it and a hand-written floor with none does not.
 * The part's module is bundled with the project's own code (bench helpers and src/, compiled from
 * TypeScript without keepNames); packages stay external and load from node_modules as usual.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BENCH = fileURLToPath(new URL('..', import.meta.url));
const JSON_SET_KEY = '__benchSet';

/**
 * Compiles `bench/<file>` and calls its export `run(log)` in a child `node`; resolves with the report it
 * returns (plain data and Sets, passed back as JSON). Log lines go to `log` as they come.
 */
export async function runCompiled<T>(file: string, run: string, log: (line: string) => void = console.log): Promise<T> {
  const { build } = await import('esbuild');
  const outdir = join(ROOT, '.bench');
  await mkdir(outdir, { recursive: true });
  const outfile = join(outdir, `${file.replace(/\W+/g, '-')}.mjs`);
  const entry = [
    `import { ${run} } from ${JSON.stringify(join(BENCH, file))};`,
    `const report = await ${run}((line) => process.stderr.write(line + '\\n'));`,
    // Sets (a table's numeric columns) travel as { [SET]: [...] }.
    `process.stdout.write(JSON.stringify(report, (_key, value) => (value instanceof Set ? { ${JSON_SET_KEY}: [...value] } : value)));`,
  ].join('\n');
  await build({
    stdin: { contents: entry, resolveDir: BENCH, sourcefile: `${file}-entry.ts`, loader: 'ts' },
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile,
    logLevel: 'warning',
  });
  // Imported from --eval, so the module's own "am I the main script?" check stays false.
  const child = spawn(process.execPath, ['--input-type=module', '--eval', `await import(${JSON.stringify(pathToFileURL(outfile).href)});`], {
    cwd: ROOT,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    for (const line of lines) log(line);
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (pending !== '') log(pending);
  if (code !== 0) throw new Error(`${file} (compiled, plain node) exited with ${String(code)}`);
  return JSON.parse(stdout, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && JSON_SET_KEY in value ? new Set((value as Record<string, unknown[]>)[JSON_SET_KEY]) : value,
  ) as T;
}
