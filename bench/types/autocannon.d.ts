// The parts of autocannon's programmatic API the HTTP benchmark uses (the package ships no types).
declare module 'autocannon' {
  /** One entry of `requests`; `setupRequest` runs before each request is sent and returns what to send. */
  interface RequestSpec {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    setupRequest?: (request: RequestSpec, context: Record<string, unknown>) => RequestSpec | null | undefined;
  }

  interface Options {
    url: string;
    requests?: RequestSpec[];
    connections?: number;
    pipelining?: number;
    duration?: number;
    headers?: Record<string, string>;
    timeout?: number;
    workers?: number;
    overallRate?: number;
  }

  interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    p50: number;
    p90: number;
    p99: number;
    total: number;
  }

  interface Result {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    resets: number;
    '1xx': number;
    '2xx': number;
    '3xx': number;
    '4xx': number;
    '5xx': number;
    statusCodeStats: Record<string, { count: number }>;
    latency: Histogram;
    requests: Histogram & { sent: number };
    throughput: Histogram;
  }

  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
  export type { Options, RequestSpec, Result };
}
