import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { acceptUpgrades, wsHandshake, type Handshake } from '../helpers/ws.ts';
import { newKey } from '../helpers/keys.ts';
import { rawRequest } from '../helpers/sockets.ts';

/**
 * header-underscores.test.ts closed `X_Authenticated_User`; `X.Authenticated.User` still reached
 * the upstream. PHP registers `$_SERVER` variables with `.` turned into `_`
 * (php_register_variable), so behind a FastCGI front that passes header names through (Caddy's
 * `php_fastcgi` builds `HTTP_X.AUTHENTICATED.USER`) the client's value is read as the identity
 * keygate injects, or as framing (`Content.Length`). A dotted name that folds onto a header
 * keygate controls is now dropped; other dotted names pass.
 */
const alice = newKey();
let up: TestUpstream;
let ws: ReturnType<typeof acceptUpgrades>;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  ws = acceptUpgrades(up.server);
  gw = await startTestGateway(`
log: { level: silent }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: health, path: "/health/*", upstream: app, public: true }
  - { name: app, path: "/api/*", upstream: app, action: application:view }
principals:
  - { name: alice, kind: user, roles: [viewer], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  ws?.close();
  await up?.close();
});

const SPOOFS = [
  'X.Authenticated.User: admin',
  'x.authenticated-roles: keygate:admin',
  'X-Authenticated.Id: p_admin',
  'X.Forwarded.For: 10.0.0.1',
  'X.HTTP.Method.Override: DELETE',
  'X.Original.URL: /admin',
  'Content.Length: 0',
];
const AUTH = `Authorization: Bearer ${alice.secret}`;
const dotted = (raw: string[]) => raw.filter((_, i) => i % 2 === 0 && raw[i]?.includes('.'));

function get(path: string, extra: string[]) {
  return rawRequest(gw.port, [`GET ${path} HTTP/1.1`, 'Host: t', ...extra, 'Connection: close', '', ''].join('\r\n'));
}

describe('a dotted name that folds onto a header keygate controls never reaches the upstream', () => {
  it('protected route: none arrives, the injected identity is there once', async () => {
    const next = up.nextRequest();
    expect((await get('/api/x', [AUTH, ...SPOOFS])).status).toBe(200);
    const r = await next;
    expect(dotted(r.rawHeaders)).toEqual([]);
    expect(r.headers.get('x-authenticated-user')).toEqual(['alice']);
  });

  it('public route: none arrives', async () => {
    const next = up.nextRequest();
    expect((await get('/health/x', SPOOFS)).status).toBe(200);
    expect(dotted((await next).rawHeaders)).toEqual([]);
  });

  it('WebSocket handshake: none arrives', async () => {
    const before = ws.handshakes.length;
    expect(await wsHandshake(gw.port, '/api/socket', [AUTH, ...SPOOFS.filter((h) => !h.startsWith('Content.'))])).toBe(101);
    const h = ws.handshakes[before] as Handshake;
    expect(dotted(h.rawHeaders)).toEqual([]);
    expect(h.headers.get('x-authenticated-user')).toEqual(['alice']);
  });

  it('an ordinary dotted name still passes', async () => {
    const next = up.nextRequest();
    expect((await get('/api/x', [AUTH, 'X.Trace.Tag: blue'])).status).toBe(200);
    expect((await next).headers.get('x.trace.tag')).toEqual(['blue']);
  });
});
