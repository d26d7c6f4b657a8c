/**
 * A Redis Cluster of the test's own: three masters (no replicas) started from `redis-server` on free
 * ports in a temporary directory, joined with `redis-cli --cluster create`, and killed (SIGKILL) with
 * the directory removed by `stop()`, whatever state `start()` reached.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { sleep } from './helpers.js';

/** Both binaries the cluster needs are on the PATH. */
export const hasClusterTools: boolean = ['redis-server', 'redis-cli'].every((bin) => spawnSync(bin, ['--version']).status === 0);

/** `count` distinct free ports: all listened on at once, so none is handed out twice. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<Server>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Runs a command to its end; rejects with its output when it fails or takes longer than `timeoutMs`. */
function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

export class TestCluster {
  /** The client ports of the three masters, once `start()` has picked them. */
  ports: number[] = [];
  readonly #children: ChildProcess[] = [];
  readonly #clients: Cluster[] = [];
  #dir: string | undefined;
  /** If the worker exits without `stop()`, the servers die with it. */
  readonly #killAll = (): void => {
    for (const child of this.#children) child.kill('SIGKILL');
  };

  /** Starts the three servers, joins them, and resolves once every node reports `cluster_state:ok`. */
  async start(): Promise<void> {
    process.once('exit', this.#killAll);
    this.#dir = await mkdtemp(join(tmpdir(), 'bonafide-cluster-'));
    // The cluster bus defaults to port + 10000, which may be taken or above 65535: give it a free port too.
    const ports = await freePorts(6);
    this.ports = ports.slice(0, 3);
    await Promise.all(this.ports.map((port, i) => this.#startServer(port, ports[3 + i] as number)));
    const nodes = this.ports.map((port) => `127.0.0.1:${port}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], 8000);
    for (const port of this.ports) {
      const deadline = Date.now() + 5000;
      while (!(await run('redis-cli', ['-p', String(port), 'cluster', 'info'], 1000)).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`the Redis Cluster node on port ${port} did not reach cluster_state:ok within 5 s`);
        await sleep(50);
      }
    }
  }

  #startServer(port: number, busPort: number): Promise<void> {
    const dir = this.#dir as string;
    const args = ['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--cluster-enabled', 'yes'];
    args.push('--cluster-config-file', join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--dir', dir);
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.push(child);
    let output = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on port ${port} was not ready within 5 s:\n${output}`)), 5000);
      const onData = (chunk: Buffer): void => {
        // Keep only the tail, for an error message; the listener stays so the pipe never fills up.
        output = (output + chunk.toString()).slice(-4000);
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on port ${port} exited with ${String(code)}:\n${output}`));
      });
    });
  }

  /**
   * A Cluster client with the settings the store documents (no offline queue, one retry), ready for
   * commands; `stop()` disconnects it.
   */
  async connect(): Promise<Cluster> {
    const client = new Cluster([{ host: '127.0.0.1', port: this.ports[0] as number }], {
      enableOfflineQueue: false,
      redisOptions: { maxRetriesPerRequest: 1 },
    });
    this.#clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => {
        client.off('error', reject);
        resolve();
      });
      client.once('error', reject);
    });
    return client;
  }

  /** Disconnects the clients, kills every server started (SIGKILL) and removes the directory. */
  async stop(): Promise<void> {
    for (const client of this.#clients.splice(0)) {
      // Errors while the servers go away are expected; nothing must reconnect.
      client.on('error', () => undefined);
      client.disconnect();
    }
    await Promise.all(
      this.#children.splice(0).map(
        (child) =>
          new Promise<void>((resolve) => {
            child.removeAllListeners('exit');
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    process.off('exit', this.#killAll);
    if (this.#dir !== undefined) await rm(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}
