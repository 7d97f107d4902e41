import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { rawRequest, until } from '../helpers/sockets.ts';

/**
 * Issue 10 item 4: with two Host headers keygate routed by the first and forwarded the last, so
 * a request routed to a public virtual host reached a protected one. One Host, well-formed, and
 * agreeing with an absolute-form target (RFC 9112 §3.2, §3.2.2); anything else is 400 `bad_host`
 * and nothing reaches the upstream — on plain requests and WebSocket handshakes alike.
 */

const alice = newKey();
let up: TestUpstream;
let gw: TestGateway;
let upstreamRequests = 0;

beforeAll(async () => {
  up = await startUpstream();
  up.server.on('request', () => upstreamRequests++);
  up.server.on('upgrade', (_req, socket) => {
    upstreamRequests++;
    socket.destroy();
  });
  gw = await startTestGateway(`
upstreams: { app: { url: "${up.url}", timeout: 2s, connectTimeout: 1s, preserveHost: true } }
log: { level: silent }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: public-site, path: "/*", host: www.test, upstream: app, public: true }
  - { name: internal, path: "/*", host: internal.test, upstream: app, action: application:view }
principals:
  - { name: alice, kind: user, roles: [viewer], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

let before = { requests: 0, connections: 0 };
beforeEach(() => {
  before = { requests: upstreamRequests, connections: up.connections.total };
});

async function send(head: string): Promise<{ status: number; code: string | undefined; body: string }> {
  const r = await rawRequest(gw.port, `${head}Connection: close\r\n\r\n`);
  let code: string | undefined;
  try { code = (JSON.parse(r.body) as { error?: { code?: string } }).error?.code; } catch { /* not an error body */ }
  return { status: r.status, code, body: r.body };
}

async function expectUpstreamUntouched(): Promise<void> {
  await until(() => upstreamRequests > before.requests || up.connections.total > before.connections, 150);
  expect(upstreamRequests - before.requests, 'requests at the upstream').toBe(0);
  expect(up.connections.total - before.connections, 'connections to the upstream').toBe(0);
}

describe('control', () => {
  it('one Host: routed and forwarded by it (the internal host needs a key)', async () => {
    expect((await send('GET /x HTTP/1.1\r\nHost: www.test\r\n')).status).toBe(200);
    expect(up.received.at(-1)?.headers.get('host')).toEqual(['www.test']);
    expect((await send('GET /x HTTP/1.1\r\nHost: internal.test\r\n')).code).toBe('missing_credentials');
    expect((await send(`GET /x HTTP/1.1\r\nHost: internal.test\r\nAuthorization: Bearer ${alice.secret}\r\n`)).status).toBe(200);
    expect(up.received.at(-1)?.headers.get('host')).toEqual(['internal.test']);
  });

  it.each([
    ['the same host', 'GET http://www.test/x HTTP/1.1\r\nHost: www.test\r\n'],
    ['case and the default port', 'GET http://WWW.test:80/x HTTP/1.1\r\nHost: www.test\r\n'],
    ['the default port on the Host side', 'GET http://www.test/x HTTP/1.1\r\nHost: www.test:80\r\n'],
    ['a trailing dot', 'GET http://www.test./x HTTP/1.1\r\nHost: www.test\r\n'],
  ])('absolute-form naming %s as Host is accepted', async (_what, head) => {
    const r = await send(head);
    expect(r.status, r.body).toBe(200);
    expect(up.received.at(-1)?.url).toBe('/x');
  });
});

describe('two Host headers: 400 bad_host, nothing forwarded', () => {
  it.each([
    ['public first, internal last', 'Host: www.test\r\nHost: internal.test\r\n'],
    ['internal first, public last', 'Host: internal.test\r\nHost: www.test\r\n'],
    ['the same value twice', 'Host: www.test\r\nHost: www.test\r\n'],
    ['names in different case', 'Host: www.test\r\nhOST: internal.test\r\n'],
    ['another header in between', 'Host: www.test\r\nAccept: */*\r\nhost: internal.test\r\n'],
    ['one of them empty', 'Host: www.test\r\nHost: \r\n'],
  ])('%s', async (_what, hosts) => {
    const r = await send(`GET /x HTTP/1.1\r\n${hosts}`);
    expect([r.status, r.code], r.body).toEqual([400, 'bad_host']);
    expect(r.body).not.toContain('internal.test');
    await expectUpstreamUntouched();
  });

  it('with a valid key for the internal host, still refused', async () => {
    const r = await send(`GET /x HTTP/1.1\r\nHost: internal.test\r\nHost: www.test\r\nAuthorization: Bearer ${alice.secret}\r\n`);
    expect([r.status, r.code]).toEqual([400, 'bad_host']);
    await expectUpstreamUntouched();
  });

  it('on a WebSocket handshake', async () => {
    const ws = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    const r = await rawRequest(gw.port, `GET /socket HTTP/1.1\r\nHost: www.test\r\nHost: internal.test\r\n${ws}\r\n`);
    expect(r.status, r.text).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'bad_host' } });
    await expectUpstreamUntouched();
  });
});

describe('Host disagreeing with an absolute-form target: 400 bad_host, nothing forwarded', () => {
  it.each([
    ['another host', 'GET http://internal.test/x HTTP/1.1\r\nHost: www.test\r\n'],
    ['the other way round', 'GET http://www.test/x HTTP/1.1\r\nHost: internal.test\r\n'],
    ['another port', 'GET http://www.test:8080/x HTTP/1.1\r\nHost: www.test\r\n'],
    ['a non-default port for https', 'GET https://www.test:80/x HTTP/1.1\r\nHost: www.test\r\n'],
    ['no Host at all (HTTP/1.0)', 'GET http://www.test/x HTTP/1.0\r\n'],
  ])('%s', async (_what, head) => {
    const r = await send(head);
    expect([r.status, r.code], r.body).toEqual([400, 'bad_host']);
    await expectUpstreamUntouched();
  });
});

describe('a Host that is not host[:port]: 400 bad_host, nothing forwarded', () => {
  it.each([
    ['a list', 'www.test, internal.test'],
    ['a list without space', 'www.test,internal.test'],
    ['userinfo', 'internal.test@www.test'],
    ['a path', 'www.test/x'],
    ['a backslash', 'www.test\\internal.test'],
    ['an escape', 'www%2etest'],
    ['a port that is not a number', 'www.test:8o'],
    ['two ports', 'www.test:80:81'],
  ])('%s', async (_what, host) => {
    const r = await send(`GET /x HTTP/1.1\r\nHost: ${host}\r\n`);
    expect([r.status, r.code], r.body).toEqual([400, 'bad_host']);
    await expectUpstreamUntouched();
  });
});
