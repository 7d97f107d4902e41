import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.ts';
import { buildGeneration, type Generation } from '../../../src/generation.ts';
import { MemoryKeyStore } from '../../../src/keystore/memory-store.ts';
import { createResolver } from '../../../src/keystore/resolve.ts';
import { UpstreamPools } from '../../../src/proxy/pools.ts';
import { createDecider, type CheckDecision, type CheckInput, type Decider } from '../../../src/check/decide.ts';
import type { DecisionContext } from '../../../src/context.ts';
import { newKey } from '../../helpers/keys.ts';

/**
 * The decision seam on its own: the proxy's stages run on the original request a check names.
 * Real config loader, real memory store, real resolver; no listener.
 */
const viewer = newKey();
const editor = newKey();
const bodyUser = newKey();

const YAML = `
check: { trustedClients: [127.0.0.0/8, "10.1.0.0/16"], withRequestBody: true }
credentials: { body: { enabled: true } }
upstreams: { app: { url: "http://127.0.0.1:1" } }
roles:
  viewer: { actions: [application:view] }
  editor: { actions: ["application:*"] }
routes:
  - { name: health, path: /health, upstream: app, public: true }
  - { name: scan, path: /agent/scan, methods: [POST], upstream: app, action: application:view, credentials: [body, bearer] }
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET, HEAD], upstream: app, action: application:view }
  - { name: app-edit, path: "/api/applications/:appId/*", methods: [POST, PUT, PATCH, DELETE], upstream: app, action: application:edit }
principals:
  - { name: ci-bot, kind: service, roles: [viewer], keys: [{ id: ci-bot-1, hash: "${viewer.hash}" }] }
  - { name: alice, kind: user, roles: [editor], org: acme, keys: [{ id: alice-1, hash: "${editor.hash}" }] }
  - { name: scanner, kind: service, roles: [viewer], keys: [{ id: scanner-1, hash: "${bodyUser.hash}" }] }
`;

let gen: Generation;
let decider: Decider;
const decided: { ctx: DecisionContext; mode: string; d: CheckDecision }[] = [];
const untrusted: string[] = [];

beforeAll(async () => {
  const loaded = loadConfigText(YAML, 'test.yaml', {});
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const store = new MemoryKeyStore();
  await store.syncDeclarative(loaded.config.principals);
  gen = buildGeneration(loaded.config, 1, new UpstreamPools());
  decider = createDecider({
    current: () => gen,
    resolver: createResolver(store),
    onDecided: (ctx, mode, d) => decided.push({ ctx, mode, d }),
    onUntrusted: (mode) => untrusted.push(mode),
  });
});

function input(over: Partial<CheckInput>): CheckInput {
  return { mode: 'nginx', method: 'GET', uri: '/api/applications/7/items', headers: { host: 'api.test' }, clientAddress: '127.0.0.1', ...over };
}

function refused(d: CheckDecision): { status: number; code: string } {
  if (d.allowed) throw new Error('expected a refusal');
  return { status: d.status, code: d.code };
}

describe('decide', () => {
  it('allows with the identity of the key and names the credential and spoofed identity for removal', async () => {
    const d = await decider.decide(input({ mode: 'envoy-http', headers: { host: 'api.test', authorization: `Bearer ${editor.secret}`, 'x-authenticated-user': 'root', x_authenticated_roles: 'admin' }, method: 'DELETE' }));
    expect(d).toMatchObject({
      allowed: true,
      identity: { 'X-Authenticated-User': 'alice', 'X-Authenticated-Id': 'cfg:alice', 'X-Authenticated-Kind': 'user', 'X-Authenticated-Key-Id': 'alice-1', 'X-Authenticated-Roles': 'editor', 'X-Authenticated-Org': 'acme' },
    });
    if (!d.allowed) return;
    expect(d.removeHeaders.sort()).toEqual(['authorization', 'x-authenticated-user', 'x_authenticated_roles']);
  });

  it('refuses an identity spelling that only folds onto one when the proxy cannot remove it (nginx, Traefik, Caddy)', async () => {
    for (const mode of ['nginx', 'forward'] as const) {
      const d = await decider.decide(input({ mode, headers: { host: 'api.test', authorization: `Bearer ${editor.secret}`, x_authenticated_roles: 'admin' } }));
      expect(refused(d)).toEqual({ status: 400, code: 'check_identity_spelling' });
    }
    // The exact name is overwritten by the proxy's copy of the answer: allowed.
    expect((await decider.decide(input({ headers: { host: 'api.test', authorization: `Bearer ${editor.secret}`, 'x-authenticated-roles': 'admin' } }))).allowed).toBe(true);
  });

  it('decides on the original method: a viewer DELETE is forbidden, a viewer GET allowed', async () => {
    const headers = { host: 'api.test', authorization: `Bearer ${viewer.secret}` };
    expect(refused(await decider.decide(input({ method: 'DELETE', headers })))).toEqual({ status: 403, code: 'forbidden' });
    expect((await decider.decide(input({ method: 'GET', headers }))).allowed).toBe(true);
  });

  it('refusals carry the proxy JSON body and WWW-Authenticate', async () => {
    const d = await decider.decide(input({ headers: { host: 'api.test' } }));
    if (d.allowed) throw new Error('expected a refusal');
    expect(d.status).toBe(401);
    expect(JSON.parse(d.body)).toMatchObject({ error: { code: 'missing_credentials', requestId: d.requestId } });
    expect(d.headers['www-authenticate']).toBe('Bearer realm="keygate"');
  });

  it.each([
    ['no method', { method: undefined }],
    ['an empty method', { method: '' }],
    ['a method that is not a token', { method: 'GE T' }],
    ['no URI', { uri: undefined }],
    ['an empty URI', { uri: '' }],
    ['an absolute URI', { uri: 'http://api.test/health' }],
    ['a relative URI', { uri: 'health' }],
  ] as [string, Partial<CheckInput>][])('%s is check_original_missing, never a decision about /', async (_what, over) => {
    const before = decided.length;
    const d = await decider.decide(input({ ...over, headers: { host: 'api.test', authorization: `Bearer ${editor.secret}` } }));
    expect(refused(d)).toEqual({ status: 400, code: 'check_original_missing' });
    // Refused before any route was looked at.
    expect(decided[before]?.ctx.match).toBeNull();
  });

  it('a client outside trustedClients is refused and counted, whatever it asks', async () => {
    const before = untrusted.length;
    for (const clientAddress of ['192.0.2.10', '10.2.0.1', '::ffff:192.0.2.10', '']) {
      const d = await decider.decide(input({ clientAddress, headers: { host: 'api.test', authorization: `Bearer ${editor.secret}` } }));
      expect(refused(d)).toEqual({ status: 403, code: 'check_untrusted_client' });
    }
    expect(untrusted.slice(before)).toEqual(['nginx', 'nginx', 'nginx', 'nginx']);
    expect((await decider.decide(input({ clientAddress: '10.1.2.3', headers: { host: 'api.test', authorization: `Bearer ${editor.secret}` } }))).allowed).toBe(true);
    expect((await decider.decide(input({ clientAddress: '::ffff:127.0.0.1', headers: { host: 'api.test', authorization: `Bearer ${editor.secret}` } }))).allowed).toBe(true);
  });

  it.each([
    '/api/applications/7/%2e%2e%2f..%2fadmin',
    '/api/applications/7/..%2Fx',
    '/api/applications/7/%00',
    '/../api/applications/7/x',
    '/api/applications/7/x;jsessionid=1',
    '/api/applications/7/%252e%252e/x',
  ])('%s is bad_path, as on the proxy', async (uri) => {
    const d = await decider.decide(input({ uri, headers: { host: 'api.test', authorization: `Bearer ${editor.secret}` } }));
    expect(refused(d)).toEqual({ status: 400, code: 'bad_path' });
  });

  it('normalizes like the proxy: dot-segments resolve before the route is matched', async () => {
    const headers = { host: 'api.test', authorization: `Bearer ${viewer.secret}` };
    // /health/../api/... is the app-edit route once normalized, not the public health route.
    const d = await decider.decide(input({ method: 'DELETE', uri: '/health/../api/applications/7/x', headers }));
    expect(refused(d)).toEqual({ status: 403, code: 'forbidden' });
    expect(decided.at(-1)?.ctx.match?.route.name).toBe('app-edit');
  });

  it('a doubled Authorization header is refused, as on the proxy', async () => {
    const d = await decider.decide(input({ headers: { host: 'api.test', authorization: [`Bearer ${viewer.secret}`, `Bearer ${editor.secret}`] } }));
    expect(refused(d)).toEqual({ status: 400, code: 'invalid_request' });
  });

  it('a public route is allowed with no identity, and spoofed identity is still named for removal', async () => {
    const d = await decider.decide(input({ uri: '/health', headers: { host: 'api.test', 'x-authenticated-user': 'root' } }));
    expect(d).toMatchObject({ allowed: true, identity: {}, removeHeaders: ['x-authenticated-user'] });
  });

  it('a route reading body credentials is refused when the body was not sent, even with a header key', async () => {
    const headers = { host: 'api.test', authorization: `Bearer ${bodyUser.secret}`, 'content-type': 'application/json' };
    expect(refused(await decider.decide(input({ method: 'POST', uri: '/agent/scan', headers }))))
      .toEqual({ status: 403, code: 'check_body_unavailable' });
  });

  it('with the body sent (Envoy with_request_body), a body credential decides', async () => {
    const body = Buffer.from(JSON.stringify({ requestType: 'scan', userKey: bodyUser.secret }));
    const headers = { host: 'api.test', 'content-type': 'application/json', 'content-length': String(body.length) };
    const d = await decider.decide(input({ mode: 'envoy-http', method: 'POST', uri: '/agent/scan', headers, body }));
    expect(d).toMatchObject({ allowed: true, identity: { 'X-Authenticated-User': 'scanner' } });
    // A different key in the header and the body is ambiguous, as on the proxy.
    const d2 = await decider.decide(input({ mode: 'envoy-http', method: 'POST', uri: '/agent/scan', headers: { ...headers, authorization: `Bearer ${viewer.secret}` }, body }));
    expect(refused(d2)).toEqual({ status: 400, code: 'ambiguous_credentials' });
  });

  it('an unknown route is route_not_found; an unknown key invalid_key', async () => {
    expect(refused(await decider.decide(input({ uri: '/nowhere' })))).toEqual({ status: 404, code: 'route_not_found' });
    expect(refused(await decider.decide(input({ headers: { host: 'api.test', authorization: 'Bearer nope-nope-nope' } })))).toMatchObject({ status: 401, code: 'invalid_key' });
  });

  it('an override the backend could act on is refused where the proxy cannot remove it, named for removal where it can', async () => {
    const headers = { host: 'api.test', authorization: `Bearer ${editor.secret}` };
    for (const over of [{ 'x-http-method-override': 'DELETE' }, { x_http_method_override: 'DELETE' }, { 'x-rewrite-url': '/admin' }, { 'x-forwarded-prefix': '/admin' }]) {
      for (const mode of ['nginx', 'forward'] as const) {
        const d = await decider.decide(input({ mode, method: 'POST', headers: { ...headers, ...over } }));
        expect(refused(d), `${mode} ${JSON.stringify(over)}`).toEqual({ status: 400, code: 'check_override_header' });
      }
      const envoy = await decider.decide(input({ mode: 'envoy-http', method: 'POST', headers: { ...headers, ...over } }));
      expect(envoy.allowed).toBe(true);
      if (envoy.allowed) expect(envoy.removeHeaders).toEqual(expect.arrayContaining(['authorization', ...Object.keys(over)]));
    }
  });

  it('the client is the right-most X-Forwarded-For entry outside trustedClients, not the asking proxy', async () => {
    const headers = { host: 'api.test', authorization: `Bearer ${viewer.secret}` };
    await decider.decide(input({ headers: { ...headers, 'x-forwarded-for': '198.51.100.1, 203.0.113.9, 10.1.0.7' } }));
    expect(decided.at(-1)?.ctx.req.socket?.remoteAddress).toBe('203.0.113.9');
    await decider.decide(input({ headers }));
    expect(decided.at(-1)?.ctx.req.socket?.remoteAddress).toBe('127.0.0.1');
  });

  it('reports every decision once with its mode', async () => {
    const before = decided.length;
    await decider.decide(input({ mode: 'forward', headers: { host: 'api.test', authorization: `Bearer ${viewer.secret}` } }));
    expect(decided.length).toBe(before + 1);
    expect(decided.at(-1)).toMatchObject({ mode: 'forward', d: { allowed: true } });
    expect(decided.at(-1)?.ctx.principal?.name).toBe('ci-bot');
  });
});
