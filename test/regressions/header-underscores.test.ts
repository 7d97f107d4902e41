import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Received, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startWsgiUpstream, type WsgiUpstream } from '../helpers/wsgi.ts';
import { acceptUpgrades, wsHandshake, type Handshake } from '../helpers/ws.ts';
import { newKey } from '../helpers/keys.ts';
import { rawRequest } from '../helpers/sockets.ts';

/**
 * Issue 10 #7: CGI-style upstreams (WSGI, Rack, PHP) fold `_` and `-` together, so a client's
 * `X_Authenticated_User` reaches them as the identity keygate injects, and `Content_Length` as
 * framing. Every header whose name contains `_` is dropped (nginx's `underscores_in_headers
 * off`), on protected and public routes and on WebSocket handshakes. With
 * `server.headers.allowUnderscores: true` they pass, except those folding onto a header keygate
 * controls. A real wsgiref upstream shows what an application would read.
 */

const alice = newKey();
const orgKey = newKey();
let up: TestUpstream;
let wsgi: WsgiUpstream;
let ws: ReturnType<typeof acceptUpgrades>;
let gw: TestGateway;
let lenient: TestGateway;

const config = (extra: string) => `
upstreams:
  app: { url: "${up.url}", timeout: 2s, connectTimeout: 1s, bodyTimeout: 2s, connections: 4 }
  cgi: { url: "${wsgi.url}", timeout: 2s, connectTimeout: 1s, bodyTimeout: 2s, connections: 4 }
server: { headersTimeout: 2s, requestTimeout: 5s, maxHeaders: 80, maxHeaderBytes: 16384${extra} }
log: { level: silent }
credentials: { serviceKey: { enabled: true, orgHeader: API-Key } }
orgs: { acme: { keys: [{ id: acme-1, hash: "${orgKey.hash}" }] } }
roles: { editor: { actions: [application:view] } }
routes:
  - { name: health, path: "/health/*", upstream: app, public: true }
  - { name: cgi, path: "/cgi/*", upstream: cgi, action: application:view }
  - { name: app, path: "/api/*", upstream: app, action: application:view }
principals:
  - { name: alice, kind: user, roles: [editor], org: acme, keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`;

beforeAll(async () => {
  up = await startUpstream();
  ws = acceptUpgrades(up.server);
  wsgi = await startWsgiUpstream();
  gw = await startTestGateway(config(''));
  lenient = await startTestGateway(config(', headers: { allowUnderscores: true }'));
});
afterAll(async () => {
  await gw?.close();
  await lenient?.close();
  ws?.close();
  await up?.close();
  await wsgi?.close();
});

/** Every spelling of a header keygate controls, as a CGI server would fold it. */
const SPOOFS = [
  'X_Authenticated_User: admin',
  'X-Authenticated_User: admin',
  'x_authenticated-roles: keygate:admin',
  'X_AUTHENTICATED_ID: p_admin',
  'X_Authenticated_Key_Id: admin-1',
  'Content_Length: 0',
  'Transfer_Encoding: chunked',
  'X_Forwarded_For: 10.0.0.1',
  'X_Real_IP: 10.0.0.1',
  'X_HTTP_Method_Override: DELETE',
  'X_Original_URL: /admin',
  'X_Request_Id: spoofed-id',
  'API_Key: not-the-verified-org-key',
  'Proxy_Authorization: Basic dXNlcjpwYXNz',
];

const AUTH = `Authorization: Bearer ${alice.secret}`;
const underscored = (raw: string[]) => raw.filter((_, i) => i % 2 === 0 && raw[i]?.includes('_'));

function get(port: number, path: string, extra: string[]) {
  return rawRequest(port, [`GET ${path} HTTP/1.1`, 'Host: t', ...extra, 'Connection: close', '', ''].join('\r\n'));
}

describe('by default every header whose name contains "_" is dropped', () => {
  it('control: the CGI upstream really does fold "_" into "-" (what keygate protects it from)', async () => {
    const r = await get(wsgi.port, '/direct', ['X_Authenticated_User: admin', 'X-Authenticated-User: alice']);
    expect(JSON.parse(r.body)).toMatchObject({ HTTP_X_AUTHENTICATED_USER: 'admin,alice' });
  });

  it('protected route: none reaches the upstream, the injected identity is there once', async () => {
    const next = up.nextRequest();
    const r = await get(gw.port, '/api/x', [AUTH, ...SPOOFS, 'X_Custom_Thing: yes']);
    expect(r.status).toBe(200);
    const seen = await next;
    expect(underscored(seen.rawHeaders)).toEqual([]);
    expect(seen.headers.get('x-authenticated-user')).toEqual(['alice']);
    expect(seen.headers.get('x-authenticated-roles')).toEqual(['editor']);
    expect(seen.headers.has('transfer-encoding')).toBe(false);
  });

  it('a POST keeps its real framing: the body arrives whole beside Content_Length / Transfer_Encoding', async () => {
    const next = up.nextRequest();
    const r = await rawRequest(gw.port, ['POST /api/x HTTP/1.1', 'Host: t', AUTH, 'Content_Length: 0', 'Transfer_Encoding: chunked', 'Content-Length: 5', 'Connection: close', '', 'hello'].join('\r\n'));
    expect(r.status).toBe(200);
    const seen = await next;
    expect(seen.body.toString()).toBe('hello');
    expect(seen.headers.get('content-length')).toEqual(['5']);
    expect(underscored(seen.rawHeaders)).toEqual([]);
  });

  it('the WSGI app reads the injected identity, not the spoof', async () => {
    const r = await get(gw.port, '/cgi/x', [AUTH, ...SPOOFS]);
    expect(r.status).toBe(200);
    const env = JSON.parse(r.body) as Record<string, string>;
    expect(env['HTTP_X_AUTHENTICATED_USER']).toBe('alice');
    expect(env['HTTP_X_AUTHENTICATED_ROLES']).toBe('editor');
    expect(env['HTTP_X_HTTP_METHOD_OVERRIDE']).toBeUndefined();
    expect(env['HTTP_X_ORIGINAL_URL']).toBeUndefined();
    expect(env['HTTP_API_KEY']).toBeUndefined();
    expect(env['HTTP_X_FORWARDED_FOR']).toBe('127.0.0.1');
    expect(env['HTTP_X_REQUEST_ID']).not.toBe('spoofed-id');
  });

  it('public route: none reaches the upstream, and no identity header at all', async () => {
    const next = up.nextRequest();
    const r = await get(gw.port, '/health/x', SPOOFS);
    expect(r.status).toBe(200);
    const seen = await next;
    expect(underscored(seen.rawHeaders)).toEqual([]);
    expect([...seen.headers.keys()].filter((h) => h.startsWith('x-authenticated'))).toEqual([]);
  });

  it('WebSocket handshake: none reaches the upstream, the injected identity is there once', async () => {
    const before = ws.handshakes.length;
    expect(await wsHandshake(gw.port, '/api/socket', [AUTH, ...SPOOFS.filter((h) => !h.startsWith('Content_') && !h.startsWith('Transfer_'))])).toBe(101);
    const h = ws.handshakes[before] as Handshake;
    expect(underscored(h.rawHeaders)).toEqual([]);
    expect(h.headers.get('x-authenticated-user')).toEqual(['alice']);
  });

  it('drops are counted by reason', async () => {
    const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    const n = Number(/^keygate_request_headers_dropped_total\{reason="underscore"\} (\d+)$/m.exec(text)?.[1] ?? NaN);
    expect(n).toBeGreaterThanOrEqual(SPOOFS.length * 3);
  });
});

describe('server.headers.allowUnderscores: true', () => {
  it('an ordinary "_" header passes; one that folds onto a header keygate controls still does not', async () => {
    const next = up.nextRequest();
    const r = await get(lenient.port, '/api/x', [AUTH, ...SPOOFS, 'X_Custom_Thing: yes']);
    expect(r.status).toBe(200);
    const seen: Received = await next;
    expect(underscored(seen.rawHeaders)).toEqual(['X_Custom_Thing']);
    expect(seen.headers.get('x-authenticated-user')).toEqual(['alice']);
  });

  it('through the WSGI app: the custom header arrives, the spoofs do not', async () => {
    const r = await get(lenient.port, '/cgi/x', [AUTH, ...SPOOFS, 'X_Custom_Thing: yes']);
    const env = JSON.parse(r.body) as Record<string, string>;
    expect(env['HTTP_X_CUSTOM_THING']).toBe('yes');
    expect(env['HTTP_X_AUTHENTICATED_USER']).toBe('alice');
    expect(env['HTTP_X_AUTHENTICATED_KEY_ID']).toBe('alice-1');
    expect(env['HTTP_API_KEY']).toBeUndefined();
    expect(env['HTTP_X_REAL_IP']).toBe('127.0.0.1');
  });
});
