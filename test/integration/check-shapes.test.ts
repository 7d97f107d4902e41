import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';

/**
 * Issue 13: the check request shapes of the proxies that cannot run here, sent exactly as their
 * docs define them, to a real check listener; and the listener's own refusals. The upstream is
 * real and must never see a thing: the check listener decides, it does not forward.
 *
 * - Traefik ForwardAuth (doc.traefik.io, middlewares/http/forwardauth): a GET to `address`
 *   with the request's headers and X-Forwarded-Method, -Proto, -Host, -Uri, -For.
 * - ingress-nginx `auth-url`: X-Original-URL (`$scheme://$http_host$request_uri`) and
 *   X-Original-Method; Host names the auth service.
 * - Envoy HTTP ext_authz (envoyproxy.io, ext_authz filter, HttpService): the original method,
 *   `path_prefix` + the original path, the original headers, Content-Length 0 without a body;
 *   with `with_request_body` the body and `x-envoy-auth-partial-body`.
 */
const viewer = newKey();
const editor = newKey();
const scanner = newKey();

let up: TestUpstream;
let gw: TestGateway;
let closed: TestGateway;

function yaml(upstreamUrl: string, check: string): string {
  return `
check: ${check}
credentials: { body: { enabled: true } }
upstreams: { app: { url: "${upstreamUrl}" } }
roles:
  viewer: { actions: [application:view] }
  editor: { actions: ["application:*"] }
routes:
  - { name: tenant, path: "/tenant/*", host: admin.example.com, upstream: app, action: application:edit }
  - { name: tenant-public, path: "/tenant/*", upstream: app, public: true }
  - { name: scan, path: /agent/scan, methods: [POST], upstream: app, action: application:view, credentials: [body] }
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET, HEAD], upstream: app, action: application:view }
  - { name: app-edit, path: "/api/applications/:appId/*", methods: [POST, PUT, PATCH, DELETE], upstream: app, action: application:edit }
principals:
  - { name: ci-bot, kind: service, roles: [viewer], keys: [{ id: ci-bot-1, hash: "${viewer.hash}" }] }
  - { name: alice, kind: user, roles: [editor], org: acme, keys: [{ id: alice-1, hash: "${editor.hash}" }] }
  - { name: scanner, kind: service, roles: [viewer], keys: [{ id: scanner-1, hash: "${scanner.hash}" }] }
`;
}

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(yaml(up.url, '{ pathPrefix: /envoy, withRequestBody: true }'));
  // Only 192.0.2.0/24 may ask: the test client on loopback is outside.
  closed = await startTestGateway(yaml(up.url, '{ trustedClients: [192.0.2.0/24] }'));
});
afterAll(async () => {
  await gw?.close();
  await closed?.close();
  // Nothing any check did reached the upstream.
  expect(up?.received).toEqual([]);
  await up?.close();
});

async function ask(base: string, path: string, method: string, headers: Record<string, string>, body?: Buffer) {
  const res = await request(`${base}${path}`, { method: method as 'GET', headers, ...(body === undefined ? {} : { body }) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, code: text.startsWith('{') ? (JSON.parse(text) as { error: { code: string } }).error.code : null };
}

/** Traefik's forward request: GET to the address, the client's headers, then its X-Forwarded-*. */
function traefik(method: string, uri: string, client: Record<string, string>, host = 'api.example.com') {
  return ask(gw.checkUrl, '/check', 'GET', {
    ...client,
    'x-forwarded-method': method, 'x-forwarded-proto': 'https', 'x-forwarded-host': host, 'x-forwarded-uri': uri, 'x-forwarded-for': '203.0.113.7',
  });
}

describe('Traefik ForwardAuth shape', () => {
  it('allowed: 200, no body, the identity as response headers (authResponseHeaders copies them)', async () => {
    const r = await traefik('GET', '/api/applications/7/items?page=2', { authorization: `Bearer ${viewer.secret}`, accept: 'application/json' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    expect(r.headers['x-authenticated-user']).toBe('ci-bot');
    expect(r.headers['x-authenticated-id']).toBe('cfg:ci-bot');
    expect(r.headers['x-authenticated-kind']).toBe('service');
    expect(r.headers['x-authenticated-key-id']).toBe('ci-bot-1');
    expect(r.headers['x-authenticated-roles']).toBe('viewer');
    // Present and empty, so a copy overwrites a client-sent value.
    expect(r.headers['x-authenticated-org']).toBe('');
  });

  it('refused on the original method: a viewer DELETE is the proxy 403 JSON with its challenge', async () => {
    const r = await traefik('DELETE', '/api/applications/7/items', { authorization: `Bearer ${viewer.secret}` });
    expect(r.status).toBe(403);
    expect(r.code).toBe('forbidden');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['www-authenticate']).toMatch(/^Bearer realm="keygate", error="insufficient_scope"/);
    expect(r.headers['x-authenticated-user']).toBeUndefined();
  });

  it('routes on X-Forwarded-Host, not on the Host of the check request', async () => {
    const asAdmin = await traefik('GET', '/tenant/settings', { authorization: `Bearer ${viewer.secret}` }, 'admin.example.com');
    expect(asAdmin.code).toBe('forbidden');
    const asOther = await traefik('GET', '/tenant/settings', {}, 'www.example.com');
    expect(asOther.status).toBe(200);
  });

  it('a client-sent X-Original-URI beside Traefik headers is refused, not believed', async () => {
    const r = await traefik('GET', '/tenant/settings', { 'x-original-uri': '/api/applications/7/items', 'x-original-method': 'GET' }, 'www.example.com');
    expect(r.status).toBe(400);
    expect(r.code).toBe('check_original_missing');
  });

  it('a path that is bad_path on the proxy is bad_path here', async () => {
    const r = await traefik('GET', '/tenant/..%2Fapi/applications/7/items', { authorization: `Bearer ${editor.secret}` }, 'www.example.com');
    expect(r.status).toBe(400);
    expect(r.code).toBe('bad_path');
  });
});

describe('nginx and ingress-nginx shapes', () => {
  it('ingress-nginx: X-Original-URL names the original host and target', async () => {
    const r = await ask(gw.checkUrl, '/check', 'GET', {
      host: 'keygate-check.auth.svc.cluster.local', 'x-original-url': 'https://admin.example.com/tenant/x?y=1', 'x-original-method': 'GET',
      'x-sent-from': 'nginx-ingress-controller', 'x-real-ip': '203.0.113.7', 'x-auth-request-redirect': '/tenant/x?y=1',
      authorization: `Bearer ${editor.secret}`,
    });
    expect(r.status).toBe(200);
    expect(r.headers['x-authenticated-user']).toBe('alice');
    expect(r.headers['x-authenticated-org']).toBe('acme');
  });

  it('nginx auth_request: a check naming no original request is refused, never decided about /check', async () => {
    const r = await ask(gw.checkUrl, '/check', 'GET', { authorization: `Bearer ${editor.secret}` });
    expect(r.status).toBe(400);
    expect(r.code).toBe('check_original_missing');
  });

  it('a doubled X-Original-URI names no single request', async () => {
    const res = await request(`${gw.checkUrl}/check`, { headers: ['x-original-method', 'GET', 'x-original-uri', '/tenant/a', 'x-original-uri', '/api/applications/7/x'] });
    expect(res.statusCode).toBe(400);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('check_original_missing');
  });
});

describe('Envoy HTTP ext_authz shape', () => {
  const envoy = (method: string, path: string, headers: Record<string, string>, body?: Buffer) =>
    ask(gw.checkUrl, `/envoy${path}`, method, { host: 'api.example.com', 'x-forwarded-proto': 'https', 'x-envoy-expected-rq-timeout-ms': '200', 'content-length': String(body?.length ?? 0), ...headers }, body);

  it('the check request is the original: a viewer DELETE is 403, an editor DELETE 200 with the identity and what to remove', async () => {
    const denied = await envoy('DELETE', '/api/applications/7/items', { authorization: `Bearer ${viewer.secret}` });
    expect(denied.status).toBe(403);
    expect(denied.code).toBe('forbidden');
    const ok = await envoy('DELETE', '/api/applications/7/items?force=1', { authorization: `Bearer ${editor.secret}`, 'x-authenticated-roles': 'admin' });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-authenticated-user']).toBe('alice');
    expect(ok.headers['x-authenticated-roles']).toBe('editor');
    // Envoy removes these from the upstream request (the HTTP service's headers_to_remove), after
    // setting the answer's identity: a name keygate sets is overwritten, never listed.
    expect(String(ok.headers['x-envoy-auth-headers-to-remove']).split(',').sort()).toEqual(['authorization']);
  });

  it('with_request_body: the buffered body carries the credential', async () => {
    const body = Buffer.from(JSON.stringify({ requestType: 'scan', userKey: scanner.secret }));
    const r = await envoy('POST', '/agent/scan', { 'content-type': 'application/json', 'x-envoy-auth-partial-body': 'false' }, body);
    expect(r.status).toBe(200);
    expect(r.headers['x-authenticated-user']).toBe('scanner');
  });

  it('without the body, or with a partial one, a body route is check_body_unavailable', async () => {
    const none = await envoy('POST', '/agent/scan', { 'content-type': 'application/json' });
    expect(none.status).toBe(403);
    expect(none.code).toBe('check_body_unavailable');
    const body = Buffer.from(JSON.stringify({ requestType: 'scan', userKey: scanner.secret }));
    const partial = await envoy('POST', '/agent/scan', { 'content-type': 'application/json', 'x-envoy-auth-partial-body': 'true' }, body);
    expect(partial.code).toBe('check_body_unavailable');
  });

  it('a path outside /check and the prefix is not a check', async () => {
    const r = await ask(gw.checkUrl, '/api/applications/7/items', 'GET', { authorization: `Bearer ${editor.secret}` });
    expect(r.status).toBe(404);
    expect(r.code).toBe('route_not_found');
    expect(r.headers['x-authenticated-user']).toBeUndefined();
  });
});

describe('the proxy listener\'s request limits', () => {
  it('more header fields than server.maxHeaders is 431 on the check listener too', async () => {
    const headers: string[] = ['x-original-method', 'GET', 'x-original-uri', '/tenant/x'];
    for (let i = 0; i < 150; i++) headers.push(`x-filler-${i}`, 'v');
    const res = await request(`${gw.checkUrl}/check`, { headers });
    expect(res.statusCode).toBe(431);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('headers_too_large');
  });
});

describe('trusted clients', () => {
  it('a client outside check.trustedClients is refused and counted, even with a valid key', async () => {
    const r = await ask(closed.checkUrl, '/check', 'GET', {
      authorization: `Bearer ${editor.secret}`, 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/api/applications/7/items', 'x-forwarded-host': 'api.example.com',
    });
    expect(r.status).toBe(403);
    expect(r.code).toBe('check_untrusted_client');
    expect(r.headers['x-authenticated-user']).toBeUndefined();
    const metrics = await (await request(`${closed.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/^keygate_check_untrusted_total\{mode="forward"\} 1$/m);
    expect(metrics).toMatch(/^keygate_check_untrusted_total\{mode="nginx"\} 0$/m);
  });
});
