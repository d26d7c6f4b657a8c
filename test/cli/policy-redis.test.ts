import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyTable, redactRedisUrl } from '../../src/cli/policy.js';
import { main } from '../../src/cli/program.js';
import { POLICY_USAGE } from '../../src/cli/usage.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { connect, deleteKeys, redisUrl, uniquePrefix, warnIfSkipped } from '../redis/helpers.js';

warnIfSkipped();

const execFileAsync = promisify(execFile);

const dir = mkdtempSync(join(tmpdir(), 'bonafide-policy-redis-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  let stdout = '';
  let stderr = '';
  const started = Date.now();
  const code = await main(argv, { stdin: '', stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr, ms: Date.now() - started };
}

function file(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

const doc = (version: number, metadata: Record<string, unknown> = {}): Record<string, unknown> => ({
  metadata: { version, ...metadata },
  rules: [{ id: 'admin', action: 'deny', match: { route: { path: '/admin/**' } } }],
  default: { action: 'allow' },
});

const hashOf = (document: unknown): string => compilePolicy(document).hash;

const osUser = ((): string | null => {
  try {
    return userInfo().username || null;
  } catch {
    return null;
  }
})();

describe('bonafide policy push / history: usage', () => {
  const valid = file('usage.json', doc(1));

  it('answers a missing --redis, a missing FILE and a bad --redis URL with exit 2', async () => {
    const noRedis = await run(['policy', 'push', valid]);
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toContain('bonafide policy: expected --redis URL');

    const noFile = await run(['policy', 'push', '--redis', 'redis://127.0.0.1:1']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('bonafide policy: expected the policy FILE');

    expect((await run(['policy', 'history'])).code).toBe(2);
    expect((await run(['policy', 'push', valid, valid, '--redis', 'redis://127.0.0.1:1'])).code).toBe(2);
    expect((await run(['policy', 'push', join(dir, 'missing.json'), '--redis', 'redis://127.0.0.1:1'])).code).toBe(2);

    // The value is never echoed: it may hold a password.
    const badUrl = await run(['policy', 'history', '--redis', 'http://user:secretpw@127.0.0.1:6379']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('--redis must be a redis:// or rediss:// URL');
    expect(badUrl.stderr).not.toContain('secretpw');
    expect((await run(['policy', 'history', '--redis', 'not a url'])).code).toBe(2);
  });

  it('answers bad history arguments and options of the other command with exit 2', async () => {
    for (const count of ['0', '-1', '1.5', 'x', '']) {
      const r = await run(['policy', 'history', '--redis', 'redis://127.0.0.1:1', `--count=${count}`]);
      expect(r.code, `--count ${JSON.stringify(count)}`).toBe(2);
      expect(r.stderr).toContain('--count must be a positive integer');
    }
    expect((await run(['policy', 'history', valid, '--redis', 'redis://127.0.0.1:1'])).code).toBe(2);
    expect((await run(['policy', 'push', valid, '--redis', 'redis://127.0.0.1:1', '--json'])).code).toBe(2);
    expect((await run(['policy', 'history', '--redis', 'redis://127.0.0.1:1', '--by', 'x'])).code).toBe(2);
    expect((await run(['policy', 'validate', valid, '--redis', 'redis://127.0.0.1:1'])).code).toBe(2);
  });

  it('prints the help for push and history', async () => {
    expect(await run(['policy', 'push', '--help'])).toMatchObject({ code: 0, stdout: POLICY_USAGE });
    expect(await run(['policy', 'history', '-h'])).toMatchObject({ code: 0, stdout: POLICY_USAGE });
    expect(POLICY_USAGE).toContain('bonafide policy push FILE --redis URL');
    expect(POLICY_USAGE).toContain('bonafide policy history --redis URL');
  });

  it('reports an invalid document with its JSON paths without connecting to Redis', async () => {
    const bad = file('invalid-offline.json', { metadata: { version: 1 }, rules: [{ id: 'x', action: 'nope' }], default: { action: 'allow' } });
    const r = await run(['policy', 'push', bad, '--redis', 'redis://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${bad}: /rules/0/action:`);
    expect(r.stderr).toContain('bonafide policy push: nothing pushed: the document is invalid (ERR_POLICY_INVALID)');
    expect(r.stderr).not.toContain('cannot reach');
  });
});

describe('bonafide policy push / history: Redis unreachable', () => {
  it('exits 1 quickly with a clear message when nothing listens, never printing the password', async () => {
    const valid = file('unreachable.json', doc(1));
    for (const argv of [
      ['policy', 'push', valid, '--redis', 'redis://user:secretpw@127.0.0.1:1'],
      ['policy', 'history', '--redis', 'redis://user:secretpw@127.0.0.1:1'],
    ]) {
      const r = await run(argv);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`bonafide policy ${argv[1]}: cannot reach Redis at redis://127.0.0.1:1/ (connect ECONNREFUSED 127.0.0.1:1)\n`);
      expect(r.ms).toBeLessThan(5000);
    }
  });

  describe('a server that accepts connections and never answers', () => {
    let server: Server;
    let port: number;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    it('gives up after the 3 s handshake deadline, in under 5 s', { timeout: 10_000 }, async () => {
      const r = await run(['policy', 'history', '--redis', `redis://:secretpw@127.0.0.1:${port}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`bonafide policy history: cannot reach Redis at redis://127.0.0.1:${port}/ (no answer within 3 s)\n`);
      expect(r.ms).toBeGreaterThanOrEqual(2900);
      expect(r.ms).toBeLessThan(5000);
    });
  });
});

describe('ioredis is an optional peer dependency', () => {
  // A child process whose module resolution refuses ioredis, as when the package is not installed.
  it('without ioredis, the CLI runs and push/history say to install it', { timeout: 30_000 }, async () => {
    const hooks = file('no-ioredis-hooks.mjs', `export async function resolve(specifier, context, next) {
  if (specifier === 'ioredis' || specifier.startsWith('ioredis/')) {
    throw Object.assign(new Error("Cannot find package 'ioredis'"), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}
`);
    const register = file('no-ioredis.mjs', `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const policyFile = file('no-ioredis-policy.json', doc(1));
    const script = file(
      'no-ioredis-run.mts',
      `import { main } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../src/cli/program.ts')).href)};
const results = [];
for (const argv of ${JSON.stringify([
        ['policy', 'validate', policyFile],
        ['policy', 'push', policyFile, '--redis', 'redis://127.0.0.1:1'],
        ['policy', 'history', '--redis', 'redis://127.0.0.1:1'],
      ])}) {
  let stderr = '';
  const code = await main(argv, { stdin: '', stdout: { write: () => true }, stderr: { write: (s) => (stderr += s) } });
  results.push({ code, stderr });
}
process.stdout.write(JSON.stringify(results));
`
    );
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '--import', pathToFileURL(register).href, script], {
      cwd: join(import.meta.dirname, '../..'),
      timeout: 25_000,
    });
    expect(JSON.parse(stdout)).toEqual([
      { code: 0, stderr: '' },
      { code: 1, stderr: 'bonafide policy push: needs the ioredis package, which is not installed: run `npm install ioredis`\n' },
      { code: 1, stderr: 'bonafide policy history: needs the ioredis package, which is not installed: run `npm install ioredis`\n' },
    ]);
  });

  it('is imported at run time by push and history only: the CLI imports ioredis for types alone', () => {
    const root = join(import.meta.dirname, '../../src');
    const sources = [...readdirSync(join(root, 'cli')).map((name) => join(root, 'cli', name)), join(root, 'redis/policy-source.ts')];
    for (const path of sources) {
      const text = readFileSync(path, 'utf8');
      const imports = text.match(/^import [^;]*from 'ioredis';$/gm) ?? [];
      for (const statement of imports) expect(statement, path).toMatch(/^import type /);
      expect(text.includes('require(\'ioredis\')'), path).toBe(false);
    }
  });
});

describe('redactRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379/'],
    ['redis://user:secretpw@127.0.0.1:6379', 'redis://127.0.0.1:6379/'],
    ['redis://:secretpw@cache.internal:6380/2', 'redis://cache.internal:6380/2'],
    ['rediss://default:s%40cret@redis.example.com', 'rediss://redis.example.com/'],
    ['redis://secretpw@127.0.0.1', 'redis://127.0.0.1/'],
    ['redis://127.0.0.1:6379/0?password=secretpw&family=6&sentinelPassword=x', 'redis://127.0.0.1:6379/0?family=6'],
    ['redis://[::1]:6379', 'redis://[::1]:6379/'],
    ['not a url secretpw', '<redis>'],
  ])('%s → %s', (url, shown) => {
    expect(redactRedisUrl(url)).toBe(shown);
  });
});

describe('historyTable', () => {
  it('aligns the columns, shortens the hash and makes free text one line', () => {
    const table = historyTable(
      [
        { id: '1700000000000-0', version: 1, hash: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', previousVersion: null, by: 'alice', at: '2023-11-14T22:13:20.000Z', comment: 'first\npush' },
        { id: '1700000000001-0', version: 12, hash: 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut', previousVersion: 1, by: null, at: '2023-11-14T22:13:21.000Z', comment: null },
      ],
      'bonafide:'
    );
    expect(table).toBe(
      [
        'ID               AT                        VERSION  PREVIOUS  HASH          BY     COMMENT',
        '1700000000000-0  2023-11-14T22:13:20.000Z  1        -         abcdefghijkl  alice  first push',
        '1700000000001-0  2023-11-14T22:13:21.000Z  12       1         ZYXWVUTSRQPO  -      -',
        '',
      ].join('\n')
    );
    expect(historyTable([], 'x:')).toBe('no policy pushes recorded under the prefix "x:"\n');
  });
});

describe.skipIf(!redisUrl)('bonafide policy push / history against a real Redis', () => {
  let client: Redis;
  const url = redisUrl as string;
  const shown = redactRedisUrl(url);
  const prefixes: string[] = [];
  const fresh = (): string => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    return prefix;
  };
  const history = async (prefix: string, ...more: string[]): Promise<Record<string, unknown>[]> => {
    const r = await run(['policy', 'history', '--redis', url, '--prefix', prefix, '--json', ...more]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(r.stdout) as Record<string, unknown>[];
  };

  beforeAll(async () => {
    client = await connect();
  });

  afterAll(async () => {
    if (client === undefined) return;
    for (const prefix of prefixes) await deleteKeys(client, prefix);
    await client.quit();
  });

  it('pushes a document, prints one line and records who, why and the previous version', async () => {
    const prefix = fresh();
    const first = file('v1.json', doc(1));
    const second = file('v2.json', doc(2));

    const r1 = await run(['policy', 'push', first, '--redis', url, '--prefix', prefix, '--by', 'alice', '--comment', 'first push']);
    expect(r1).toMatchObject({ code: 0, stderr: '' });
    expect(r1.stdout).toBe(`pushed version 1 (sha256:${hashOf(doc(1))}) to ${shown} (no previous version)\n`);

    const r2 = await run(['policy', 'push', second, '--redis', url, '--prefix', prefix, '--comment', 'tighten']);
    expect(r2).toMatchObject({ code: 0, stderr: '' });
    expect(r2.stdout).toBe(`pushed version 2 (sha256:${hashOf(doc(2))}) to ${shown} (previous version 1)\n`);

    expect(JSON.parse((await client.get(`${prefix}{policy}`)) as string)).toEqual(compilePolicy(doc(2)).document);
    const entries = await history(prefix);
    expect(entries).toEqual([
      { id: expect.stringMatching(/^\d+-\d+$/), version: 1, hash: hashOf(doc(1)), previousVersion: null, by: 'alice', at: expect.any(String), comment: 'first push' },
      // No --by: the OS user name.
      { id: expect.stringMatching(/^\d+-\d+$/), version: 2, hash: hashOf(doc(2)), previousVersion: 1, by: osUser, at: expect.any(String), comment: 'tighten' },
    ]);

    const table = await run(['policy', 'history', '--redis', url, '--prefix', prefix]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ID +AT +VERSION +PREVIOUS +HASH +BY +COMMENT$/);
    expect(lines[1]!.split(/ {2,}/)).toEqual([entries[0]!.id, entries[0]!.at, '1', '-', hashOf(doc(1)).slice(0, 12), 'alice', 'first push']);
    expect(lines[2]!.split(/ {2,}/)).toEqual([entries[1]!.id, entries[1]!.at, '2', '1', hashOf(doc(2)).slice(0, 12), osUser ?? '-', 'tighten']);
  });

  it('records metadata.updatedBy and metadata.comment over --by and --comment, and says so', async () => {
    const prefix = fresh();
    const own = file('own-metadata.json', doc(4, { updatedBy: 'carol', comment: 'from the file' }));
    const r = await run(['policy', 'push', own, '--redis', url, '--prefix', prefix, '--by', 'dave', '--comment', 'from the flag']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('bonafide policy push: recording metadata.updatedBy "carol", not --by\nbonafide policy push: recording metadata.comment, not --comment\n');
    expect(await history(prefix)).toMatchObject([{ version: 4, by: 'carol', comment: 'from the file' }]);
  });

  it('refuses an older version: exit 1, ERR_POLICY_STALE, nothing stored', async () => {
    const prefix = fresh();
    const newer = file('v5.json', doc(5));
    const older = file('v3.json', doc(3));
    expect((await run(['policy', 'push', newer, '--redis', url, '--prefix', prefix])).code).toBe(0);
    const before = await client.get(`${prefix}{policy}`);

    const r = await run(['policy', 'push', older, '--redis', url, '--prefix', prefix]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `${older}: /metadata/version: version 3 is lower than the version stored in Redis (5)\n` +
        'bonafide policy push: nothing pushed: the document is an older version than the one in Redis (ERR_POLICY_STALE)\n'
    );
    expect(await client.get(`${prefix}{policy}`)).toBe(before);
    expect(await history(prefix)).toMatchObject([{ version: 5 }]);
  });

  it('refuses an invalid document: exit 1, the problems with their JSON paths, nothing stored', async () => {
    const prefix = fresh();
    const bad = file('invalid.json', { metadata: { version: 1 }, rules: [{ id: 'x', action: 'nope' }, { id: 'x', action: 'deny' }], default: { action: 'allow' } });
    const r = await run(['policy', 'push', bad, '--redis', url, '--prefix', prefix]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${bad}: /rules/0/action:`);
    expect(r.stderr).toContain(`${bad}: /rules/1/id:`);
    expect(r.stderr).toContain('(ERR_POLICY_INVALID)');
    expect(await client.exists(`${prefix}{policy}`, `${prefix}{policy}:audit`)).toBe(0);
  });

  it('history --json prints an array of exactly the audit fields; --count keeps the latest', async () => {
    const prefix = fresh();
    expect(await history(prefix)).toEqual([]);
    const empty = await run(['policy', 'history', '--redis', url, '--prefix', prefix]);
    expect(empty).toMatchObject({ code: 0, stdout: `no policy pushes recorded under the prefix ${JSON.stringify(prefix)}\n` });

    const before = Date.now();
    for (const version of [1, 2, 3]) {
      expect((await run(['policy', 'push', file(`h${version}.json`, doc(version)), '--redis', url, '--prefix', prefix, '--by', 'ci'])).code).toBe(0);
    }
    const all = await history(prefix);
    expect(all.map((e) => e.version)).toEqual([1, 2, 3]);
    for (const entry of all) {
      expect(Object.keys(entry).sort()).toEqual(['at', 'by', 'comment', 'hash', 'id', 'previousVersion', 'version']);
      expect(Date.parse(entry.at as string)).toBeGreaterThanOrEqual(before - 1000);
      expect(entry).toMatchObject({ by: 'ci', comment: null });
    }
    expect(all.map((e) => e.previousVersion)).toEqual([null, 1, 2]);

    const latest = await history(prefix, '--count', '1');
    expect(latest).toEqual([all[2]]);
    expect(await history(prefix, '--count', '10')).toEqual(all);
  });

  it('keeps prefixes apart', async () => {
    const a = fresh();
    const b = fresh();
    expect((await run(['policy', 'push', file('a.json', doc(9)), '--redis', url, '--prefix', a])).code).toBe(0);
    expect(await history(b)).toEqual([]);
    expect(await history(a)).toMatchObject([{ version: 9 }]);
  });
});
