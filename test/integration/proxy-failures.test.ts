import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { freePort } from '../helpers/ports.ts';
import { firstResponse, hasCompleteResponse, openRaw, until, within } from '../helpers/sockets.ts';

/**
 * What the client gets, and what the upstream sees, when one side misbehaves: an upstream that is
 * down, silent, resets or cuts a body short; a client that goes away or is too slow.
 */

const alice = newKey();
const AUTH = { authorization: `Bearer ${alice.secret}` };
const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 3000;
const POOL = 4;

let up: TestUpstream; // failure modes, chosen by path
let idle: TestUpstream; // only for the client-disconnect test: its connections are counted
let gw: TestGateway;
let deadPort: number;

/** Upstream requests on `up` by path prefix, for the failure modes below. */
function failingHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '';
  if (url.startsWith('/hang/')) return; // never answers
  if (url.startsWith('/reset/')) return void req.socket.resetAndDestroy();
  if (url.startsWith('/cut-')) {
    // Headers and a first part of the body, then the connection dies.
    res.writeHead(200, url.startsWith('/cut-length/') ? { 'content-type': 'text/plain', 'content-length': 100_000 } : { 'content-type': 'text/plain' });
    res.write('x'.repeat(1000), () => setTimeout(() => req.socket.destroy(), 50));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
}

beforeAll(async () => {
  up = await startUpstream();
  up.setHandler(failingHandler);
  idle = await startUpstream();
  deadPort = await freePort();
  gw = await startTestGateway(`
upstreams:
  app: { url: "${up.url}", timeout: 1s, connectTimeout: 1s, bodyTimeout: 2s, connections: 8 }
  dead: { url: "http://127.0.0.1:${deadPort}", timeout: 2s, connectTimeout: 1s }
  idle: { url: "${idle.url}", timeout: 30s, connectTimeout: 1s, bodyTimeout: 30s, connections: ${POOL} }
server: { headersTimeout: ${HEADERS_TIMEOUT_MS}ms, requestTimeout: ${REQUEST_TIMEOUT_MS}ms, maxHeaders: 50, maxHeaderBytes: 8192 }
log: { level: silent }
roles: { editor: { actions: [application:view, application:edit] } }
routes:
  - { name: health, path: /health, upstream: app, public: true }
  - { name: hang, path: "/hang/*", upstream: app, public: true }
  - { name: reset, path: "/reset/*", upstream: app, public: true }
  - { name: cut-length, path: "/cut-length/*", upstream: app, public: true }
  - { name: cut-chunked, path: "/cut-chunked/*", upstream: app, public: true }
  - { name: dead, path: "/dead/*", upstream: dead, public: true }
  - { name: idle, path: "/idle/*", upstream: idle, action: application:view }
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view }
principals:
  - { name: alice, kind: user, roles: [editor], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
  await idle?.close();
});

async function call(path: string, headers: Record<string, string> = {}) {
  const started = Date.now();
  const res = await request(`${gw.url}${path}`, { headers });
  const text = await res.body.text();
  return {
    status: res.statusCode, headers: res.headers, ms: Date.now() - started,
    json: text.startsWith('{') ? (JSON.parse(text) as { error?: { code: string; requestId: string } }) : null,
  };
}

describe('upstream failures before the response', () => {
  it('connection refused: 502 upstream_unavailable as JSON with the request id', async () => {
    const r = await call('/dead/x');
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.json?.error?.code).toBe('upstream_unavailable');
    expect(r.headers['x-request-id']).toMatch(/\S/);
    expect(r.json?.error?.requestId).toBe(r.headers['x-request-id']);
  });

  it('an upstream that never answers: 504 upstream_timeout after about the upstream timeout', async () => {
    const r = await call('/hang/x');
    expect(r.status).toBe(504);
    expect(r.json?.error?.code).toBe('upstream_timeout');
    expect(r.json?.error?.requestId).toBe(r.headers['x-request-id']);
    expect(r.ms).toBeGreaterThanOrEqual(900);
    expect(r.ms).toBeLessThan(6000);
  });

  it('an upstream that resets the connection before the headers: 502 upstream_unavailable', async () => {
    const r = await call('/reset/x');
    expect(r.status).toBe(502);
    expect(r.json?.error?.code).toBe('upstream_unavailable');
  });
});

describe('upstream failure after the headers', () => {
  it.each(['/cut-length/x', '/cut-chunked/x'])('%s: the client sees an aborted body, not a clean end', async (path) => {
    const res = await request(`${gw.url}${path}`);
    expect(res.statusCode).toBe(200);
    let received = 0;
    const outcome = await (async () => {
      try {
        for await (const c of res.body) received += (c as Buffer).length;
        return 'clean end';
      } catch {
        return 'aborted';
      }
    })();
    expect(outcome).toBe('aborted');
    expect(received).toBeLessThan(100_000);
  });
});

describe('a client that goes away', () => {
  afterEach(() => idle.setHandler(null));

  it('aborts its upstream request, and the pool never grows past its size nor stays exhausted', async () => {
    let maxOpen = 0;
    const track = () => (maxOpen = Math.max(maxOpen, idle.connections.open));
    idle.server.on('connection', track);
    const arrived: ServerResponse[] = [];
    let closed = 0;
    idle.setHandler((_req, res) => {
      arrived.push(res);
      res.once('close', () => closed++);
    });
    try {
      const started = Date.now();
      const controllers = Array.from({ length: 20 }, () => new AbortController());
      const outcomes = controllers.map((c) =>
        request(`${gw.url}/idle/wait`, { headers: AUTH, signal: c.signal }).then(
          async (r) => `answered ${r.statusCode}: ${await r.body.text()}`,
          () => 'aborted',
        ),
      );
      // The pool's worth of requests is at the upstream (the rest queue in the pool), and at least 100 ms passed.
      expect(await until(() => arrived.length >= POOL, 5000), `upstream got ${arrived.length} requests`).toBe(true);
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
      for (const c of controllers) c.abort();
      expect(new Set(await Promise.all(outcomes))).toEqual(new Set(['aborted']));

      // The upstream timeout is 30 s: only keygate aborting its side can close these quickly.
      const allClosed = await until(() => closed === arrived.length, 5000);
      expect(allClosed, `${closed} of ${arrived.length} upstream requests closed`).toBe(true);
      expect(maxOpen).toBeLessThanOrEqual(POOL);
      expect(maxOpen).toBeGreaterThan(0);

      // The pool is usable again: more requests than it has connections all succeed.
      idle.setHandler(null);
      const after = await within(Promise.all(Array.from({ length: 2 * POOL }, () => call('/idle/after', AUTH))), 10_000, 'timeout' as const);
      expect(after === 'timeout' ? after : after.map((r) => r.status)).toEqual(Array.from({ length: 2 * POOL }, () => 200));
      expect(maxOpen).toBeLessThanOrEqual(POOL);
    } finally {
      idle.server.off('connection', track);
    }
  });
});

describe('a slow client', () => {
  it('headers sent slower than headersTimeout: 408 request_timeout, then the connection is closed', async () => {
    const c = await openRaw(gw.port);
    const started = Date.now();
    c.write('GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ');
    // One byte every 100 ms, never finishing the header block; bounded by the wait below.
    const drip = setInterval(() => c.write('a'), 100);
    try {
      const text = await c.waitFor(hasCompleteResponse, HEADERS_TIMEOUT_MS + 5000, 'a 408 response');
      const elapsed = Date.now() - started;
      const r = firstResponse(text);
      expect(r.status).toBe(408);
      expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'request_timeout' } });
      expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
      expect(await c.closed(3000)).toBe(true);
    } finally {
      clearInterval(drip);
      c.destroy();
    }
  });

  it('a body that stalls past requestTimeout: 408 or a closed connection, and the upstream never gets the whole body', async () => {
    let startedUpstream: IncomingMessage | null = null;
    let upstreamCompleted = false;
    let upstreamClosed = false;
    const onRequest = (req: IncomingMessage) => {
      if (req.url !== '/api/applications/1/stall') return;
      startedUpstream = req;
      req.on('end', () => (upstreamCompleted = true));
      req.on('close', () => (upstreamClosed = true));
    };
    up.server.on('request', onRequest);
    const c = await openRaw(gw.port);
    try {
      const before = up.received.filter((r) => r.url === '/api/applications/1/stall').length;
      c.write(`POST /api/applications/1/stall HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${alice.secret}\r\nContent-Length: 100000\r\n\r\n${'b'.repeat(1000)}`);
      const gotAnswerOrClose = await within(c.waitFor((t) => hasCompleteResponse(t), REQUEST_TIMEOUT_MS + 5000, 'a response').then(() => true, () => c.isClosed()), REQUEST_TIMEOUT_MS + 6000, false);
      expect(gotAnswerOrClose, `received: ${JSON.stringify(c.text())}`).toBe(true);
      if (c.text() !== '') expect(firstResponse(c.text()).status).toBe(408);
      expect(await c.closed(3000)).toBe(true);
      // Bodies stream, so the upstream had started receiving this one: its request must be cut off, not completed.
      expect(startedUpstream).not.toBeNull();
      expect(await until(() => upstreamClosed, 3000)).toBe(true);
      expect(upstreamCompleted).toBe(false);
      expect(up.received.filter((r) => r.url === '/api/applications/1/stall').length).toBe(before);
    } finally {
      c.destroy();
      up.server.off('request', onRequest);
    }
  });
});
