import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { acceptUpgrades } from '../helpers/ws.ts';
import { newKey } from '../helpers/keys.ts';
import { firstResponse, hasCompleteResponse, openRaw, rawRequest } from '../helpers/sockets.ts';
import { statuses } from '../helpers/raw.ts';

/**
 * Issue 10 #11: an Upgrade offer other than a WebSocket handshake (h2c, anything) used to be
 * handed to the WebSocket proxy, which hung up without a word while the access log said 101.
 * Now only `GET` + `Upgrade: websocket` is an upgrade; any other offer is ignored (RFC 9110
 * §7.8): the request goes through the chain and is answered over HTTP/1.1, the upstream sees
 * no Upgrade, no `upgrade` in Connection and no HTTP2-Settings, and the log has the real status.
 */

const alice = newKey();
let up: TestUpstream;
let plain: TestUpstream;
let ws: ReturnType<typeof acceptUpgrades>;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  ws = acceptUpgrades(up.server);
  plain = await startUpstream();
  const closed = await startUpstream();
  await closed.close(); // a port nothing listens on any more
  gw = await startTestGateway(`
upstreams:
  app: { url: "${up.url}", timeout: 2s, connectTimeout: 1s, bodyTimeout: 2s, connections: 4 }
  plain: { url: "${plain.url}", timeout: 2s, connectTimeout: 1s, bodyTimeout: 2s, connections: 4 }
  gone: { url: "${closed.url}", timeout: 2s, connectTimeout: 1s, bodyTimeout: 2s, connections: 4 }
server: { headersTimeout: 2s, requestTimeout: 5s }
log: { level: info }
roles: { editor: { actions: [application:view] } }
routes:
  - { name: health, path: "/health", upstream: app, public: true }
  - { name: app, path: "/api/*", upstream: app, action: application:view }
  - { name: plain, path: "/plain/*", upstream: plain, action: application:view }
  - { name: gone, path: "/gone/*", upstream: gone, action: application:view }
principals:
  - { name: alice, kind: user, roles: [editor], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  ws?.close();
  await up?.close();
  await plain?.close();
});

const AUTH = `Authorization: Bearer ${alice.secret}`;
const H2C = ['Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'];

/** The status the access log recorded for the request with this id (the line may still be on its way). */
async function loggedStatus(id: string): Promise<number | undefined> {
  for (let i = 0; i < 20; i++) {
    const line = (await gw.logs()).split('\n').find((l) => l.includes(`"reqId":"${id}"`));
    if (line !== undefined) return (JSON.parse(line) as { status: number }).status;
  }
  return undefined;
}

function expectNoUpgradeUpstream(headers: Map<string, string[]>): void {
  expect(headers.has('upgrade')).toBe(false);
  expect(headers.has('http2-settings')).toBe(false);
  expect((headers.get('connection') ?? []).join(',')).not.toMatch(/upgrade|http2-settings/i);
}

describe('an h2c offer is answered over HTTP/1.1', () => {
  it('protected route: 200 from the upstream, which saw no upgrade; logged as 200', async () => {
    const next = up.nextRequest();
    const r = await rawRequest(gw.port, ['GET /api/x HTTP/1.1', 'Host: t', AUTH, ...H2C, 'X-Request-Id: h2c-1', '', ''].join('\r\n'));
    expect(r.text.startsWith('HTTP/1.1 200 ')).toBe(true);
    expect(JSON.parse(r.body)).toMatchObject({ method: 'GET', url: '/api/x' });
    expectNoUpgradeUpstream((await next).headers);
    expect(await loggedStatus('h2c-1')).toBe(200);
  });

  it('without a credential: the 401 JSON, logged as 401', async () => {
    const r = await rawRequest(gw.port, ['GET /api/x HTTP/1.1', 'Host: t', ...H2C, 'X-Request-Id: h2c-2', '', ''].join('\r\n'));
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'missing_credentials' } });
    expect(await loggedStatus('h2c-2')).toBe(401);
  });

  it('the connection stays an HTTP/1.1 connection: a second request on it is answered too', async () => {
    const c = await openRaw(gw.port);
    try {
      c.write(['GET /health HTTP/1.1', 'Host: t', ...H2C, '', ''].join('\r\n'));
      await c.waitFor(hasCompleteResponse, 3000, 'the first response');
      c.write('GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
      await c.closed(3000);
      expect(statuses(c.text())).toEqual([200, 200]);
    } finally {
      c.destroy();
    }
  });

  it('a request body is forwarded with it (the Upgrade never took the stream)', async () => {
    const next = up.nextRequest();
    const r = await rawRequest(gw.port, ['POST /api/x HTTP/1.1', 'Host: t', AUTH, ...H2C, 'Content-Length: 5', '', 'hello'].join('\r\n'));
    expect(r.status).toBe(200);
    const seen = await next;
    expect(seen.body.toString()).toBe('hello');
    expectNoUpgradeUpstream(seen.headers);
  });
});

describe('any other offer is ignored the same way', () => {
  it.each([
    ['an unknown protocol', 'GET', 'Upgrade: foo/1.0'],
    ['TLS upgrade (RFC 2817)', 'GET', 'Upgrade: TLS/1.0, HTTP/1.1'],
    ['websocket among others', 'GET', 'Upgrade: websocket, h2c'],
    ['websocket on a POST (RFC 6455 needs GET)', 'POST', 'Upgrade: websocket'],
  ])('%s', async (_what, method, upgrade) => {
    const next = up.nextRequest();
    const id = `other-${Math.random().toString(36).slice(2)}`;
    const body = method === 'POST' ? 'Content-Length: 2\r\n\r\n{}' : '\r\n';
    const r = await rawRequest(gw.port, `${method} /api/x HTTP/1.1\r\nHost: t\r\n${AUTH}\r\nConnection: Upgrade\r\n${upgrade}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Request-Id: ${id}\r\n${body}`);
    expect(r.status).toBe(200);
    expect(firstResponse(r.text).headers.has('upgrade')).toBe(false);
    const seen = await next;
    expect(seen.method).toBe(method);
    expectNoUpgradeUpstream(seen.headers);
    expect(await loggedStatus(id)).toBe(200);
  });

  it('control: a WebSocket handshake is still an upgrade (101 from the upstream)', async () => {
    const n = ws.handshakes.length;
    const c = await openRaw(gw.port);
    try {
      c.write(`GET /api/socket HTTP/1.1\r\nHost: t\r\n${AUTH}\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      await c.waitFor((t) => t.includes('\r\n\r\n'), 3000, 'the 101');
      expect(firstResponse(c.text()).status).toBe(101);
      expect(ws.handshakes.length).toBe(n + 1);
      expect(ws.handshakes[n]?.headers.get('upgrade')).toEqual(['websocket']);
    } finally {
      c.destroy();
    }
  });
});

describe('a WebSocket handshake is logged with the status the client saw', () => {
  async function handshake(path: string, id: string): Promise<string> {
    const c = await openRaw(gw.port);
    try {
      c.write(`GET ${path} HTTP/1.1\r\nHost: t\r\n${AUTH}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Request-Id: ${id}\r\n\r\n`);
      return await c.waitFor(hasCompleteResponse, 3000, 'a response');
    } finally {
      c.destroy();
    }
  }

  it('101 when the upstream switches protocols', async () => {
    expect(firstResponse(await handshake('/api/socket', 'ws-101')).status).toBe(101);
    expect(await loggedStatus('ws-101')).toBe(101);
  });

  it('the upstream\'s own answer when it does not upgrade', async () => {
    expect(firstResponse(await handshake('/plain/socket', 'ws-200')).status).toBe(200);
    expect(await loggedStatus('ws-200')).toBe(200);
  });

  it('502 upstream_unavailable (not a silent hang-up) when the upstream cannot be reached', async () => {
    const r = firstResponse(await handshake('/gone/socket', 'ws-502'));
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'upstream_unavailable' } });
    expect(await loggedStatus('ws-502')).toBe(502);
  });
});
