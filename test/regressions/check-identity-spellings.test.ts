import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { startCaddy, type FrontProxy } from '../helpers/front-proxy.ts';
import { rawRequest } from '../helpers/sockets.ts';

/**
 * Check mode behind a real Caddy (`forward_auth` as docs/forward-auth.md sets it up). Caddy's
 * `copy_headers` overwrites the exact identity names, but `X_Authenticated_User: admin` and
 * `X.Authenticated.Roles: keygate:admin` reached the backend beside them: a WSGI, Rack or PHP
 * backend reads `HTTP_X_AUTHENTICATED_USER` from either spelling (wsgiref joins them as
 * "alice,admin"). keygate cannot tell Caddy (or Traefik, or nginx) to remove a header, so such a
 * request is now refused, `check_identity_spelling`; Envoy is told to remove them, dotted
 * spellings too.
 */
const alice = newKey();
const IDENTITY = ['X-Authenticated-User', 'X-Authenticated-Id', 'X-Authenticated-Kind', 'X-Authenticated-Key-Id', 'X-Authenticated-Roles', 'X-Authenticated-Org'];
let up: TestUpstream;
let gw: TestGateway;
let caddy: FrontProxy;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
log: { level: silent }
check: { pathPrefix: /envoy }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
principals:
  - { name: alice, kind: user, roles: [viewer], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`);
  caddy = await startCaddy(`
\tforward_auth 127.0.0.1:${gw.checkPort} {
\t\turi /check
\t\tcopy_headers ${IDENTITY.join(' ')}
\t}
\trequest_header -Authorization
\treverse_proxy 127.0.0.1:${up.port}
`);
});
afterAll(async () => {
  await caddy?.stop();
  await gw?.close();
  await up?.close();
});

async function viaCaddy(extra: string[]) {
  const before = up.received.length;
  const r = await rawRequest(caddy.port, ['GET /api/x HTTP/1.1', `Host: 127.0.0.1:${caddy.port}`, `Authorization: Bearer ${alice.secret}`, ...extra, 'Connection: close', '', ''].join('\r\n'));
  await new Promise((res) => setTimeout(res, r.status === 200 ? 0 : 100));
  return { status: r.status, body: r.body, seen: up.received.slice(before) };
}

describe('behind Caddy forward_auth', () => {
  it('control: the exact spelling is overwritten by copy_headers', async () => {
    const r = await viaCaddy(['X-Authenticated-User: admin']);
    expect(r.status).toBe(200);
    expect(r.seen[0]?.headers.get('x-authenticated-user')).toEqual(['alice']);
  });

  it.each(['X_Authenticated_User: admin', 'X.Authenticated.Roles: keygate:admin', 'x-authenticated_org: acme'])('%s: refused, nothing reaches the backend', async (spoof) => {
    const r = await viaCaddy([spoof]);
    expect(r.status).toBe(400);
    expect(r.body).toContain('check_identity_spelling');
    expect(r.seen).toEqual([]);
  });
});

describe('Envoy HTTP ext_authz', () => {
  it('is told to remove underscored and dotted spellings', async () => {
    const res = await request(`${gw.checkUrl}/envoy/api/x`, {
      headers: { host: 'api.example.com', authorization: `Bearer ${alice.secret}`, 'x_authenticated_user': 'admin', 'x.authenticated.roles': 'keygate:admin' },
    });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    const removed = String(res.headers['x-envoy-auth-headers-to-remove']).split(',');
    expect(removed).toEqual(expect.arrayContaining(['x_authenticated_user', 'x.authenticated.roles']));
  });
});
