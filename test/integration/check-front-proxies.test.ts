import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { adminApi } from '../helpers/admin.ts';
import { newKey } from '../helpers/keys.ts';
import { startCaddy, startNginx, type FrontProxy } from '../helpers/front-proxy.ts';

/**
 * Issue 13: keygate as the auth service behind a real nginx (`auth_request`) and a real Caddy
 * (`forward_auth`), each in front of a real upstream that records what reached it. Two keygate
 * replicas share a real Redis: `writer` takes the admin writes, `decider` answers the checks, so
 * a revocation has to reach the decider by push to be honoured.
 */
const TOKEN = 'admin-token-for-check-front-proxies-0123';
/** The push-revocation bound: an invalidation crosses Redis pub/sub in milliseconds. */
const PUSH_BOUND_MS = 1000;
const viewer = newKey();
const editor = newKey();
const IDENTITY = ['X-Authenticated-User', 'X-Authenticated-Id', 'X-Authenticated-Kind', 'X-Authenticated-Key-Id', 'X-Authenticated-Roles', 'X-Authenticated-Org'];

let redis: TestRedis;
let up: TestUpstream;
let writer: TestGateway;
let decider: TestGateway;
let call: ReturnType<typeof adminApi>;
const proxies = new Map<string, FrontProxy>();

function yaml(upstreamUrl: string): string {
  return `
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}" }
check: {}
upstreams: { app: { url: "${upstreamUrl}" } }
roles:
  viewer: { actions: [application:view] }
  editor: { actions: ["application:*"] }
routes:
  - { name: health, path: /health, upstream: app, public: true }
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET, HEAD], upstream: app, action: application:view }
  - { name: app-edit, path: "/api/applications/:appId/*", methods: [POST, PUT, PATCH, DELETE], upstream: app, action: application:edit }
principals:
  - { name: ci-bot, kind: service, roles: [viewer], keys: [{ id: ci-bot-1, hash: "${viewer.hash}" }] }
  - { name: alice, kind: user, roles: [editor], org: acme, keys: [{ id: alice-1, hash: "${editor.hash}" }] }
`;
}

/** nginx's documented auth_request setup (docs/forward-auth.md): identity passed on, credential removed. */
function nginxServer(checkPort: number, upstreamPort: number): string {
  const vars = IDENTITY.map((h) => `$kg_${h.slice('X-Authenticated-'.length).toLowerCase().replace('-', '_')}`);
  return `
    location / {
      auth_request /_keygate_check;
${IDENTITY.map((h, i) => `      auth_request_set ${vars[i]} $upstream_http_${h.toLowerCase().replaceAll('-', '_')};`).join('\n')}
${IDENTITY.map((h, i) => `      proxy_set_header ${h} ${vars[i]};`).join('\n')}
      proxy_set_header Authorization "";
      proxy_pass http://127.0.0.1:${upstreamPort};
    }
    location = /_keygate_check {
      internal;
      proxy_pass http://127.0.0.1:${checkPort}/check;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header Host $host;
    }`;
}

/** Caddy's documented forward_auth setup (docs/forward-auth.md). */
function caddySite(checkPort: number, upstreamPort: number): string {
  return `
\tforward_auth 127.0.0.1:${checkPort} {
\t\turi /check
\t\tcopy_headers ${IDENTITY.join(' ')}
\t}
\trequest_header -Authorization
\treverse_proxy 127.0.0.1:${upstreamPort}
`;
}

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  writer = await startTestGateway(yaml(up.url));
  decider = await startTestGateway(yaml(up.url));
  call = adminApi(writer.adminUrl, TOKEN);
  const checkPort = decider.checkPort as number;
  proxies.set('nginx', await startNginx(nginxServer(checkPort, up.port)));
  proxies.set('caddy', await startCaddy(caddySite(checkPort, up.port)));
});
afterAll(async () => {
  for (const p of proxies.values()) await p.stop();
  await decider?.close();
  await writer?.close();
  await up?.close();
  await redis?.stop();
});

async function send(base: string, path: string, method: string, headers: Record<string, string> = {}) {
  const res = await request(`${base}${path}`, { method: method as 'GET', headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

/** What the upstream received while `fn` ran. */
async function reaching<T>(fn: () => Promise<T>): Promise<{ result: T; received: typeof up.received }> {
  const before = up.received.length;
  const result = await fn();
  // The upstream records a request once its body was read; give a forwarded one the moment it needs.
  await new Promise((r) => setImmediate(r));
  return { result, received: up.received.slice(before) };
}

async function checkMetric(mode: string, route: string, result: string): Promise<number> {
  const text = await (await request(`${decider.adminUrl}/metrics`)).body.text();
  const line = new RegExp(`^keygate_check_decisions_total\\{mode="${mode}",route="${route}",result="${result}"\\} (\\d+)$`, 'm').exec(text);
  return Number(line?.[1] ?? 0);
}

describe.each([
  ['nginx', 'nginx'],
  ['caddy', 'forward'],
])('%s in front, keygate deciding', (name, mode) => {
  const base = () => (proxies.get(name) as FrontProxy).url;

  it('a viewer DELETE is 403 and never reaches the upstream (the check decides on the original method)', async () => {
    const before = await checkMetric(mode, 'app-edit', 'forbidden');
    const { result, received } = await reaching(() => send(base(), '/api/applications/7/items', 'DELETE', { authorization: `Bearer ${viewer.secret}` }));
    expect(result.status).toBe(403);
    expect(received).toEqual([]);
    expect(await checkMetric(mode, 'app-edit', 'forbidden')).toBe(before + 1);
  });

  it('an editor DELETE is 200: the upstream gets it once, with the identity, without the credential or a spoofed identity', async () => {
    const { result, received } = await reaching(() => send(base(), '/api/applications/7/items?x=1', 'DELETE', {
      authorization: `Bearer ${editor.secret}`, 'x-authenticated-user': 'root', 'x-authenticated-roles': 'admin',
    }));
    expect(result.status).toBe(200);
    // Exactly one request: the check itself forwarded nothing.
    expect(received).toHaveLength(1);
    const seen = received[0];
    expect(seen?.method).toBe('DELETE');
    expect(seen?.url).toBe('/api/applications/7/items?x=1');
    expect(seen?.headers.get('x-authenticated-user')).toEqual(['alice']);
    expect(seen?.headers.get('x-authenticated-id')).toEqual(['cfg:alice']);
    expect(seen?.headers.get('x-authenticated-kind')).toEqual(['user']);
    expect(seen?.headers.get('x-authenticated-key-id')).toEqual(['alice-1']);
    expect(seen?.headers.get('x-authenticated-roles')).toEqual(['editor']);
    expect(seen?.headers.get('x-authenticated-org')).toEqual(['acme']);
    expect(seen?.headers.has('authorization')).toBe(false);
    expect(JSON.stringify(seen?.rawHeaders)).not.toContain(editor.secret);
  });

  it('a viewer GET is allowed and carries the viewer identity; a principal without an org sends none', async () => {
    const { result, received } = await reaching(() => send(base(), '/api/applications/7/items', 'GET', { authorization: `Bearer ${viewer.secret}`, 'x-authenticated-org': 'evil' }));
    expect(result.status).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0]?.headers.get('x-authenticated-user')).toEqual(['ci-bot']);
    // Sent empty or not at all (the check answers it empty): either way the client's value is gone.
    expect((received[0]?.headers.get('x-authenticated-org') ?? []).filter((v) => v !== '')).toEqual([]);
  });

  it('no credential is 401 with the challenge, and nothing reaches the upstream', async () => {
    const { result, received } = await reaching(() => send(base(), '/api/applications/7/items', 'GET'));
    expect(result.status).toBe(401);
    expect(result.headers['www-authenticate']).toBe('Bearer realm="keygate"');
    expect(received).toEqual([]);
  });

  it('a path-escape attempt is refused as on the proxy, and never reaches the upstream', async () => {
    // nginx resolves the decoded path to /api/…, routes it, and passes $request_uri on raw: an
    // upstream decoding %2F after its own dot-segment pass could serve another path than checked.
    const path = '/health/..%2Fapi/applications/7/items';
    const direct = await send(decider.url, path, 'GET');
    expect(direct.status).toBe(400);
    expect(JSON.parse(direct.text)).toMatchObject({ error: { code: 'bad_path' } });
    const before = await checkMetric(mode, 'unmatched', 'refused');
    const { result, received } = await reaching(() => send(base(), path, 'GET'));
    // nginx answers any auth status but 401/403 with a 500 of its own; Caddy passes the 400 on.
    expect(result.status).toBe(name === 'nginx' ? 500 : 400);
    if (name === 'caddy') expect(JSON.parse(result.text)).toMatchObject({ error: { code: 'bad_path' } });
    expect(received).toEqual([]);
    expect(await checkMetric(mode, 'unmatched', 'refused')).toBe(before + 1);
  });

  it('a key revoked on another replica is refused within the push-revocation bound', async () => {
    const principal = `revoke-${name}`;
    expect((await call('POST', '/v1/principals', { name: principal, kind: 'service', roles: ['editor'] })).status).toBe(201);
    const k = await call<{ secret: string; key: { id: string } }>('POST', '/v1/keys', { principal });
    expect(k.status).toBe(201);
    const auth = { authorization: `Bearer ${k.body.secret}` };
    // Allowed first, so the decider holds the key in its cache.
    expect((await send(base(), '/api/applications/7/items', 'DELETE', auth)).status).toBe(200);
    expect((await call('DELETE', `/v1/keys/${k.body.key.id}`)).status).toBe(204);
    let last = 0;
    const refusedAt = await waitForAsync(async () => {
      last = (await send(base(), '/api/applications/7/items', 'DELETE', auth)).status;
      return last === 401;
    }, PUSH_BOUND_MS);
    expect(refusedAt, `still ${last} after ${PUSH_BOUND_MS} ms`).toBe(true);
    const { result, received } = await reaching(() => send(base(), '/api/applications/7/items', 'GET', auth));
    expect(result.status).toBe(401);
    expect(received).toEqual([]);
  });
});

/** Polls an async condition until it holds or `timeoutMs` passes; true when it held. */
async function waitForAsync(cond: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}
