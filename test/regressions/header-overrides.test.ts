import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startUpstream, type Received, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { acceptUpgrades, wsHandshake, type Handshake } from '../helpers/ws.ts';
import { newKey } from '../helpers/keys.ts';
import { rawRequest } from '../helpers/sockets.ts';
import { until } from '../helpers/sockets.ts';

/**
 * Issue 10 #8: request-target overrides (X-Original-URL, X-Rewrite-URL, X-Forwarded-Prefix) and
 * method overrides (X-HTTP-Method-Override, X-Method-Override, X-HTTP-Method) make a framework
 * serve another path or method than the one keygate authorized. Target overrides never reach
 * the upstream. Method overrides reach it only on a POST whose overridden method lands on a
 * route with `methodOverride: true`, and then that route, matched by the overridden method,
 * is the one authorized; the upstream gets the override under every name it might read.
 */

const reader = newKey();
const deleter = newKey();
const creator = newKey();
let up: TestUpstream;
let ws: ReturnType<typeof acceptUpgrades>;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  ws = acceptUpgrades(up.server);
  gw = await startTestGateway(`
upstreams: { app: { url: "${up.url}", timeout: 2s, connectTimeout: 1s, bodyTimeout: 2s, connections: 4 } }
server: { headersTimeout: 2s, requestTimeout: 5s }
log: { level: silent }
roles:
  reader: { actions: [items:read] }
  deleter: { actions: [items:delete] }
  creator: { actions: [items:create, legacy:use] }
routes:
  - { name: health, path: "/health", upstream: app, public: true }
  - { name: items-read, path: "/api/items/*", methods: [GET], upstream: app, action: items:read }
  - { name: items-delete, path: "/api/items/*", methods: [DELETE], upstream: app, action: items:delete, methodOverride: true }
  - { name: items-create, path: "/api/items/*", methods: [POST], upstream: app, action: items:create }
  - { name: legacy, path: "/legacy/*", upstream: app, action: legacy:use }
principals:
  - { name: reader, kind: user, roles: [reader], keys: [{ id: reader-1, hash: "${reader.hash}" }] }
  - { name: deleter, kind: user, roles: [deleter], keys: [{ id: deleter-1, hash: "${deleter.hash}" }] }
  - { name: creator, kind: user, roles: [creator], keys: [{ id: creator-1, hash: "${creator.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  ws?.close();
  await up?.close();
});

let before = 0;
beforeEach(() => {
  before = up.received.length;
});

const OVERRIDES = ['x-http-method-override', 'x-method-override', 'x-http-method'];
const TARGETS = ['x-original-url', 'x-rewrite-url', 'x-forwarded-prefix'];

async function send(method: string, path: string, key: { secret: string } | null, extra: string[]) {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: t', ...(key === null ? [] : [`Authorization: Bearer ${key.secret}`]), ...extra];
  if (method === 'POST') lines.push('Content-Length: 2');
  const r = await rawRequest(gw.port, [...lines, 'Connection: close', '', method === 'POST' ? '{}' : ''].join('\r\n'));
  return { status: r.status, code: r.status >= 400 ? (JSON.parse(r.body) as { error: { code: string } }).error.code : null };
}

/** The request the upstream received during this test, or null after a short grace period. */
async function received(): Promise<Received | null> {
  await until(() => up.received.length > before, 300);
  return up.received[before] ?? null;
}

const overridesIn = (r: Received) => OVERRIDES.filter((h) => r.headers.has(h));

describe('request-target overrides never reach the upstream', () => {
  const spoof = ['X-Original-URL: /admin/keys', 'x-rewrite-url: /admin/keys', 'X-FORWARDED-PREFIX: /admin', 'X-Original-Url: /again'];
  it.each([
    ['a protected route', 'GET', '/api/items/1', reader],
    ['a public route', 'GET', '/health', null],
  ] as const)('%s', async (_what, method, path, key) => {
    expect((await send(method, path, key, spoof)).status).toBe(200);
    const r = await received();
    expect(r).not.toBeNull();
    expect(TARGETS.filter((h) => r!.headers.has(h))).toEqual([]);
  });

  it('a WebSocket handshake', async () => {
    const n = ws.handshakes.length;
    expect(await wsHandshake(gw.port, '/api/items/socket', [`Authorization: Bearer ${reader.secret}`, ...spoof, 'X-HTTP-Method-Override: DELETE'])).toBe(101);
    const h = ws.handshakes[n] as Handshake;
    expect([...TARGETS, ...OVERRIDES].filter((x) => h.headers.has(x))).toEqual([]);
  });
});

describe('method overrides on a route that did not opt in are removed', () => {
  it('POST /legacy with X-HTTP-Method-Override: DELETE reaches the upstream as a plain POST', async () => {
    expect((await send('POST', '/legacy/x', creator, ['X-HTTP-Method-Override: DELETE', 'X-Method-Override: DELETE', 'X-HTTP-Method: DELETE'])).status).toBe(200);
    const r = (await received())!;
    expect(r.method).toBe('POST');
    expect(overridesIn(r)).toEqual([]);
  });

  it('POST asking for GET: items-read did not opt in, so it stays a POST to items-create', async () => {
    expect(await send('POST', '/api/items/1', reader, ['X-HTTP-Method-Override: GET'])).toEqual({ status: 403, code: 'forbidden' });
    expect(await received()).toBeNull();
    expect((await send('POST', '/api/items/1', creator, ['X-HTTP-Method-Override: GET'])).status).toBe(200);
    expect(overridesIn((await received())!)).toEqual([]);
  });
});

describe('an opted-in route authorizes the overridden method', () => {
  it('POST + override DELETE is refused to a key that may create but not delete: nothing is forwarded', async () => {
    expect(await send('POST', '/api/items/1', creator, ['X-HTTP-Method-Override: DELETE'])).toEqual({ status: 403, code: 'forbidden' });
    expect(await received()).toBeNull();
  });

  it('POST + override DELETE passes for a deleter, with the override under every name', async () => {
    expect((await send('POST', '/api/items/1', deleter, ['X-HTTP-Method-Override: DELETE'])).status).toBe(200);
    const r = (await received())!;
    expect(r.method).toBe('POST');
    for (const h of OVERRIDES) expect(r.headers.get(h), h).toEqual(['DELETE']);
  });

  it('any of the three names, any case, is read: X-HTTP-Method: delete', async () => {
    expect(await send('POST', '/api/items/1', creator, ['x-http-method: delete'])).toEqual({ status: 403, code: 'forbidden' });
    expect((await send('POST', '/api/items/1', deleter, ['x-http-method: delete'])).status).toBe(200);
    const r = (await received())!;
    for (const h of OVERRIDES) expect(r.headers.get(h), h).toEqual(['DELETE']);
  });

  it('only POST is overridden: GET + override DELETE is a GET (authorized and forwarded as one)', async () => {
    expect(await send('GET', '/api/items/1', deleter, ['X-HTTP-Method-Override: DELETE'])).toEqual({ status: 403, code: 'forbidden' });
    expect((await send('GET', '/api/items/1', reader, ['X-HTTP-Method-Override: DELETE'])).status).toBe(200);
    const r = (await received())!;
    expect(r.method).toBe('GET');
    expect(overridesIn(r)).toEqual([]);
  });

  it('disagreeing overrides are not honoured: the request is the POST it says it is', async () => {
    const both = ['X-HTTP-Method-Override: DELETE', 'X-Method-Override: PUT'];
    expect(await send('POST', '/api/items/1', deleter, both)).toEqual({ status: 403, code: 'forbidden' });
    expect((await send('POST', '/api/items/1', creator, both)).status).toBe(200);
    expect(overridesIn((await received())!)).toEqual([]);
  });

  it('a repeated override header joined into a list is not honoured either', async () => {
    const twice = ['X-HTTP-Method-Override: DELETE', 'X-HTTP-Method-Override: PATCH'];
    expect(await send('POST', '/api/items/1', deleter, twice)).toEqual({ status: 403, code: 'forbidden' });
    expect((await send('POST', '/api/items/1', creator, twice)).status).toBe(200);
    expect(overridesIn((await received())!)).toEqual([]);
  });
});
