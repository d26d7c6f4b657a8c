import { connect } from 'node:net';
import Koa3 from 'koa';
import Koa2 from 'koa2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bonafide } from '../../adapters/koa.js';
import { absoluteUrl, localAuthority } from '../../adapters/shared.js';
import type { Decision, Guard, GuardRequest } from '../../src/index.js';
import type { RunningServer } from './harnesses/harness.js';
import { listenNode } from './harnesses/harness.js';

/**
 * The Koa adapter reads the scheme and Host straight from the request in the common case (no
 * `app.proxy`, HTTP/1, one plain authority) instead of through `ctx.protocol` / `ctx.host`. Whatever
 * the Host header holds, and with `app.proxy` on or off, the URL the guard sees must be exactly the one
 * the getters give.
 */

const ALLOW = { outcome: 'allow', status: 200, reason: 'OK' } as unknown as Decision;

/** A guard that records the URL of every request and allows it. */
function recordingGuard(urls: string[]): Guard {
  return {
    check: (request: GuardRequest) => {
      urls.push(request.url);
      return Promise.resolve(ALLOW);
    },
    respond: () => {
      throw new Error('not used');
    },
  } as unknown as Guard;
}

/** Sends one raw HTTP/1.1 request (so the Host line is exactly what the test says) and returns the status line. */
function rawRequest(origin: string, head: string): Promise<string> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('end', () => resolve(received.split('\r\n', 1)[0]!));
    socket.on('error', reject);
    socket.write(`${head}\r\nConnection: close\r\n\r\n`);
  });
}

const HOSTS = [
  'api.example.com',
  'api.example.com:8443',
  'API.Example.COM',
  '[::1]:3000',
  '127.0.0.1',
  'a.example, b.example',
  'user@api.example.com',
  'bad/host',
  'host:123456',
  '',
];

for (const [name, Koa] of [
  ['Koa 2', Koa2 as unknown as typeof Koa3],
  ['Koa 3', Koa3],
] as const) {
  for (const proxy of [false, true]) {
    describe(`${name} adapter URL, app.proxy ${proxy}`, () => {
      const seen: string[] = [];
      const expected: string[] = [];
      let server: RunningServer;

      beforeAll(async () => {
        const app = new Koa();
        app.proxy = proxy;
        app.use(bonafide(recordingGuard(seen)));
        app.use((ctx) => {
          // What the adapter computed before its fast path existed: Koa's own getters.
          expected.push(absoluteUrl(ctx.protocol, ctx.host || localAuthority(ctx.req.socket), ctx.originalUrl));
          ctx.body = 'ok';
        });
        server = await listenNode(app.callback());
      });
      afterAll(() => server.close());

      for (const host of HOSTS) {
        it(`Host ${JSON.stringify(host)}: the guard sees the URL ctx.protocol and ctx.host give`, async () => {
          const before = seen.length;
          const status = await rawRequest(server.origin, `GET /v1/a%2Fb?x=1&y=%20 HTTP/1.1\r\nHost: ${host}`);
          expect(status).toBe('HTTP/1.1 200 OK');
          expect(seen.length).toBe(before + 1);
          expect(seen.at(-1)).toBe(expected.at(-1));
        });
      }

      it('X-Forwarded-Host and X-Forwarded-Proto count only when app.proxy is on', async () => {
        const status = await rawRequest(
          server.origin,
          'GET /p HTTP/1.1\r\nHost: internal:8080\r\nX-Forwarded-Host: public.example\r\nX-Forwarded-Proto: https',
        );
        expect(status).toBe('HTTP/1.1 200 OK');
        expect(seen.at(-1)).toBe(proxy ? 'https://public.example/p' : 'http://internal:8080/p');
        expect(seen.at(-1)).toBe(expected.at(-1));
      });

      it('an HTTP/1.0 request without Host falls back to the local address', async () => {
        const status = await rawRequest(server.origin, 'GET /q?z HTTP/1.0');
        expect(status).toBe('HTTP/1.1 200 OK');
        const { host } = new URL(server.origin);
        expect(seen.at(-1)).toBe(`http://${host}/q?z`);
        expect(seen.at(-1)).toBe(expected.at(-1));
      });
    });
  }
}
