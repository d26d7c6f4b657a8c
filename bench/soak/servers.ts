/** Starting, asking and stopping the soak's server processes (bench/soak/server.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DriverMessage, Framework, ServerConfig, ServerMessage, ServerStats } from './config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const TEST_CERT = fileURLToPath(new URL('../../test/fixtures/tls/localhost-cert.pem', import.meta.url));

export interface ServerProcess {
  readonly framework: Framework;
  readonly port: number;
  readonly pid: number;
  /** The counters and memory of the server; `gc` forces a collection first. */
  stats(gc: boolean): Promise<ServerStats>;
  /** The last lines it wrote to stderr. */
  stderr(): string;
  /** Whether it exited (and how) before it was told to stop. */
  exited(): string | undefined;
  stop(): Promise<void>;
}

export async function startServer(framework: Framework, config: ServerConfig): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', SERVER, framework], {
    cwd: ROOT,
    // The key directory's test certificate (test/fixtures/tls), trusted like a public CA would be.
    env: { ...process.env, NODE_ENV: 'production', SOAK_SERVER_CONFIG: JSON.stringify(config), NODE_EXTRA_CA_CERTS: TEST_CERT },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  let exit: string | undefined;
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) exit = `exited with ${String(code ?? signal)}`;
  });
  const waiting = new Map<number, (stats: ServerStats) => void>();
  let nextId = 0;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${framework} server did not start within 30 s: ${stderr.slice(-1000)}`)), 30_000);
    child.on('message', (message: ServerMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.port);
      } else if (message.type === 'stats') {
        waiting.get(message.id)?.(message.stats);
        waiting.delete(message.id);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${framework} server exited (${String(code ?? signal)}) before it listened: ${stderr.slice(-1000)}`));
    });
  });
  const send = (message: DriverMessage): void => {
    if (child.connected) child.send(message);
  };
  return {
    framework,
    port,
    pid: child.pid!,
    stats: (gc) =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${framework} server did not answer a stats request within 20 s`));
        }, 20_000);
        waiting.set(id, (stats) => {
          clearTimeout(timer);
          resolve(stats);
        });
        send({ type: 'stats', id, gc });
      }),
    stderr: () => stderr,
    exited: () => exit,
    stop: () =>
      new Promise((resolve) => {
        stopping = true;
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        send({ type: 'stop' });
      }),
  };
}
