import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { rawExchange, statuses } from '../helpers/raw.ts';
import { firstResponse, hasCompleteResponse, openRaw, until } from '../helpers/sockets.ts';

/**
 * Request smuggling and framing: every request whose framing is ambiguous is refused by the
 * listener itself (400 JSON, connection closed) and nothing of it — not even a connection —
 * reaches the upstream. A refused request's unread body is never parsed as a next request.
 */

const alice = newKey();
let up: TestUpstream;
let gw: TestGateway;
let upstreamRequests = 0;

beforeAll(async () => {
  up = await startUpstream();
  up.server.on('request', () => upstreamRequests++);
  gw = await startTestGateway(`
upstreams: { app: { url: "${up.url}", timeout: 2s, connectTimeout: 1s, bodyTimeout: 2s, connections: 4 } }
server: { headersTimeout: 2s, requestTimeout: 5s, maxHeaders: 50, maxHeaderBytes: 8192 }
log: { level: silent }
roles: { editor: { actions: [application:view, application:edit] } }
routes:
  - { name: health, path: /health, upstream: app, public: true }
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view }
principals:
  - { name: alice, kind: user, roles: [editor], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

let before: { requests: number; connections: number };
beforeEach(() => {
  before = { requests: upstreamRequests, connections: up.connections.total };
});

/** Nothing at all reached the upstream since the test started (a short grace period lets a stray forward show up). */
async function expectUpstreamUntouched(): Promise<void> {
  await until(() => upstreamRequests > before.requests || up.connections.total > before.connections, 200);
  expect(upstreamRequests - before.requests, 'requests at the upstream').toBe(0);
  expect(up.connections.total - before.connections, 'connections to the upstream').toBe(0);
}

function expectJsonError(text: string, status: number, code: string): void {
  expect(statuses(text), text).toEqual([status]);
  const r = firstResponse(text);
  expect(r.headers.get('content-type')).toEqual(['application/json']);
  expect(JSON.parse(r.body)).toMatchObject({ error: { code } });
}

const AUTH = `Authorization: Bearer ${alice.secret}\r\n`;

describe('control', () => {
  it('a well-framed POST does reach the upstream (so "nothing arrived" below means something)', async () => {
    const { text } = await rawExchange(gw.port, `POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}Content-Length: 5\r\nConnection: close\r\n\r\nhello`);
    expect(statuses(text)).toEqual([200]);
    expect(upstreamRequests - before.requests).toBe(1);
    expect(up.received.at(-1)?.body.toString()).toBe('hello');
  });
});

describe('ambiguous framing: 400, connection closed, nothing forwarded', () => {
  const smuggled = `GET /api/applications/1/smuggled HTTP/1.1\r\nHost: t\r\n${AUTH}\r\n`;
  it.each([
    ['Content-Length with Transfer-Encoding: chunked',
      `POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ['Transfer-Encoding: chunked before Content-Length',
      `POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`],
    ['two different Content-Length headers',
      `POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`],
    ['two equal Content-Length headers',
      `POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`],
    ['a Content-Length list',
      `POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}Content-Length: 5, 5\r\n\r\nhello`],
    ['Transfer-Encoding: xchunked',
      `POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`],
    ['"Transfer-Encoding : chunked" (space before the colon)',
      `POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}Transfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`],
    ['Transfer-Encoding: chunked, identity',
      `POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n`],
    ['a second request smuggled in a CL+TE body',
      `POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}Content-Length: ${4 + 5 + smuggled.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`],
    ['a request smuggled inside a chunk (TE.CL desync) to a public route',
      `POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n5c\r\n${smuggled}\r\n0\r\n\r\n`],
  ])('%s', async (_name, payload) => {
    const { text, closed } = await rawExchange(gw.port, payload, 3000);
    expectJsonError(text, 400, 'invalid_request');
    expect(closed).toBe(true);
    expect(firstResponse(text).headers.get('connection')).toEqual(['close']);
    await expectUpstreamUntouched();
  });
});

describe('header limits', () => {
  it('more headers than maxHeaders: 431 headers_too_large, nothing forwarded', async () => {
    const many = Array.from({ length: 60 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const { text } = await rawExchange(gw.port, `GET /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}${many}Connection: close\r\n\r\n`, 3000);
    expectJsonError(text, 431, 'headers_too_large');
    await expectUpstreamUntouched();
  });

  it('a header block larger than maxHeaderBytes: 431 headers_too_large, connection closed, nothing forwarded', async () => {
    const { text, closed } = await rawExchange(gw.port, `GET /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}X-Big: ${'a'.repeat(9000)}\r\n\r\n`, 3000);
    expectJsonError(text, 431, 'headers_too_large');
    expect(closed).toBe(true);
    await expectUpstreamUntouched();
  });

  it('two Authorization headers: 400 invalid_request, nothing forwarded', async () => {
    const { text } = await rawExchange(gw.port,
      `GET /api/applications/1/x HTTP/1.1\r\nHost: t\r\n${AUTH}Authorization: Bearer ${newKey().secret}\r\nConnection: close\r\n\r\n`, 3000);
    expectJsonError(text, 400, 'invalid_request');
    await expectUpstreamUntouched();
  });
});

describe('a refusal before the body was read', () => {
  const inner = 'GET /health HTTP/1.1\r\nHost: t\r\n\r\n';

  it('401 to a POST without credentials: connection: close, closed, the body never parsed as a request', async () => {
    const { text, closed } = await rawExchange(gw.port,
      `POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`, 3000);
    expectJsonError(text, 401, 'missing_credentials');
    expect(firstResponse(text).headers.get('connection')).toEqual(['close']);
    expect(closed).toBe(true);
    await expectUpstreamUntouched();
  });

  it('401 to a POST with a bad key, body sent only after the answer: one response, connection closed', async () => {
    const c = await openRaw(gw.port);
    try {
      c.write(`POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${newKey().secret}\r\nContent-Length: ${inner.length}\r\n\r\n`);
      const text = await c.waitFor(hasCompleteResponse, 5000, 'the 401');
      c.write(inner); // would be a second request if the connection were kept and the body left unread
      expect(await c.closed(3000)).toBe(true);
      expectJsonError(c.text(), 401, 'invalid_key');
      expect(firstResponse(text).headers.get('connection')).toEqual(['close']);
      await expectUpstreamUntouched();
    } finally {
      c.destroy();
    }
  });

  it('401 to a chunked POST: connection: close, closed, the chunk never parsed as a request', async () => {
    const { text, closed } = await rawExchange(gw.port,
      `POST /api/applications/1/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`, 3000);
    expectJsonError(text, 401, 'missing_credentials');
    expect(firstResponse(text).headers.get('connection')).toEqual(['close']);
    expect(closed).toBe(true);
    await expectUpstreamUntouched();
  });
});
