/**
 * The soak's HTTP client: node:http with keep-alive connections, one agent per server, and a
 * latency histogram of fixed size (millions of requests in memory mode must not grow the driver).
 */
import { Agent, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';

/** One request as the traffic generators build it. */
export interface SoakRequest {
  readonly method: string;
  /** Path and query, e.g. `/v1/app/items`. */
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  /** On a connection of its own, closed after it (see the `header-overflow` class). */
  readonly ownConnection?: boolean;
}

/** What came back: `<status> <reason>` (the deny's `code`, the allow's `reason`, `-` when there is none), or a transport error. */
export type Response =
  | { readonly ok: true; readonly status: number; readonly reason: string; readonly failedOpen: boolean; readonly standIn: boolean; readonly ms: number }
  | { readonly ok: false; readonly error: string; readonly ms: number };

/** A request that takes longer than this is a transport error (`timeout`). */
const REQUEST_TIMEOUT_MS = 15_000;

export class Client {
  readonly port: number;
  readonly #agent: Agent;

  constructor(port: number, connections: number) {
    this.port = port;
    this.#agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  send(req: SoakRequest): Promise<Response> {
    const started = performance.now();
    return new Promise((resolve) => {
      let done = false;
      const finish = (response: Response): void => {
        if (done) return;
        done = true;
        resolve(response);
      };
      const fail = (error: string): void => finish({ ok: false, error, ms: performance.now() - started });
      const outgoing = httpRequest(
        { host: '127.0.0.1', port: this.port, method: req.method, path: req.path, headers: req.headers, agent: req.ownConnection === true ? false : this.#agent, timeout: REQUEST_TIMEOUT_MS },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            let reason = '-';
            let failedOpen = false;
            let standIn = false;
            try {
              const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: unknown; reason?: unknown; failedOpen?: unknown; standIn?: unknown };
              if (typeof body.code === 'string') reason = body.code;
              else if (typeof body.reason === 'string') reason = body.reason;
              failedOpen = body.failedOpen === true;
              standIn = body.standIn === true;
            } catch {
              // Not JSON (e.g. a 431 written by Node itself): no reason.
            }
            finish({ ok: true, status, reason, failedOpen, standIn, ms: performance.now() - started });
          });
        },
      );
      outgoing.on('timeout', () => {
        outgoing.destroy();
        fail('timeout');
      });
      outgoing.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
      outgoing.end();
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Latencies in ms in logarithmic buckets 2% wide, from 1 µs to hours: constant memory, quantiles within 2%. */
export class Histogram {
  static readonly #GROWTH = Math.log(1.02);
  readonly #buckets = new Float64Array(1200);
  count = 0;
  max = 0;
  sum = 0;

  record(ms: number): void {
    const index = Math.min(this.#buckets.length - 1, Math.max(0, Math.floor(Math.log(Math.max(ms, 0.001) / 0.001) / Histogram.#GROWTH)));
    this.#buckets[index]!++;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  add(other: Histogram): void {
    for (let i = 0; i < this.#buckets.length; i++) this.#buckets[i]! += other.#buckets[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  /** The q-quantile (0 < q ≤ 1): the upper edge of the bucket holding it (never above the max seen). */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i]!;
      if (seen >= rank) return Math.min(this.max, 0.001 * Math.exp((i + 1) * Histogram.#GROWTH));
    }
    return this.max;
  }
}
