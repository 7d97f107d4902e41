import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { adminApi } from '../helpers/admin.ts';

/**
 * Issue 10.1: the admin API ignored a key's scopes. A key of an admin principal scoped to
 * `application:view` was narrowed on the proxy but listed keys and created admin principals on
 * the admin API. Scopes narrow every listener: each admin endpoint requires one action,
 * `keygate:admin:<resource>:<read|write>`, which the principal's roles must grant and the key's
 * scopes (when it has any) must include. `keygate:admin` grants them all.
 */

const TOKEN = 'admin-scopes-regression-token-012345';
let redis: TestRedis;
let up: TestUpstream;
let gw: TestGateway;
let call: ReturnType<typeof adminApi>;

/** Every admin endpoint and the action it requires: the contract, written out. */
const ENDPOINTS: [string, string, string][] = [
  ['GET', '/v1/principals', 'keygate:admin:principals:read'],
  ['POST', '/v1/principals', 'keygate:admin:principals:write'],
  ['GET', '/v1/principals/{id}', 'keygate:admin:principals:read'],
  ['PATCH', '/v1/principals/{id}', 'keygate:admin:principals:write'],
  ['DELETE', '/v1/principals/{id}', 'keygate:admin:principals:write'],
  ['POST', '/v1/principals/{id}/disable', 'keygate:admin:principals:write'],
  ['POST', '/v1/principals/{id}/enable', 'keygate:admin:principals:write'],
  ['GET', '/v1/keys', 'keygate:admin:keys:read'],
  ['POST', '/v1/keys', 'keygate:admin:keys:write'],
  ['POST', '/v1/keys/import', 'keygate:admin:keys:write'],
  ['GET', '/v1/keys/{id}', 'keygate:admin:keys:read'],
  ['PATCH', '/v1/keys/{id}', 'keygate:admin:keys:write'],
  ['DELETE', '/v1/keys/{id}', 'keygate:admin:keys:write'],
  ['POST', '/v1/keys/{id}/expire', 'keygate:admin:keys:write'],
  ['POST', '/v1/keys/{id}/rotate', 'keygate:admin:keys:write'],
  ['GET', '/v1/keys/{id}/usage', 'keygate:admin:keys:read'],
  ['GET', '/v1/keys/{id}/limits', 'keygate:admin:keys:read'],
  ['PATCH', '/v1/keys/{id}/limits', 'keygate:admin:keys:write'],
  ['POST', '/v1/keys/{id}/quota/reset', 'keygate:admin:keys:write'],
  ['GET', '/v1/principals/{id}/limits', 'keygate:admin:principals:read'],
  ['PATCH', '/v1/principals/{id}/limits', 'keygate:admin:principals:write'],
  ['POST', '/v1/principals/{id}/quota/reset', 'keygate:admin:principals:write'],
  ['GET', '/v1/groups', 'keygate:admin:groups:read'],
  ['POST', '/v1/groups', 'keygate:admin:groups:write'],
  ['GET', '/v1/groups/{name}', 'keygate:admin:groups:read'],
  ['PATCH', '/v1/groups/{name}', 'keygate:admin:groups:write'],
  ['DELETE', '/v1/groups/{name}', 'keygate:admin:groups:write'],
  ['GET', '/v1/audit', 'keygate:admin:audit:read'],
  ['GET', '/v1/webhooks/deliveries', 'keygate:admin:webhooks:read'],
];
const ACTIONS = [...new Set(ENDPOINTS.map((e) => e[2]))];

const secrets: Record<string, string> = {};
function secret(name: string): string {
  const v = secrets[name];
  if (v === undefined) throw new Error(`no key "${name}" was issued`);
  return v;
}
let victimKeyId = '';

async function issue(name: string, principal: string, scopes?: string[]): Promise<void> {
  const r = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal, ...(scopes === undefined ? {} : { scopes }) });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  secrets[name] = r.body.secret;
}

/** A valid request for the endpoint, aimed at records that exist: if it were allowed, it would change them. */
function armed(method: string, path: string): { path: string; body?: unknown } {
  const p = path.replace('{id}', path.startsWith('/v1/keys') ? victimKeyId : 'victim').replace('{name}', 'team-a');
  if (method === 'POST' && path === '/v1/principals') return { path: p, body: { name: 'intruder', kind: 'service', roles: ['operator'] } };
  if (method === 'PATCH' && path.endsWith('/limits')) return { path: p, body: { quota: { requests: 1, period: 'day' } } };
  if (method === 'POST' && path.endsWith('/quota/reset')) return { path: p, body: { remaining: 0 } };
  if (method === 'PATCH' && path.startsWith('/v1/principals')) return { path: p, body: { roles: ['operator'] } };
  if (method === 'POST' && path === '/v1/keys') return { path: p, body: { principal: 'ops' } };
  if (method === 'POST' && path === '/v1/keys/import') return { path: p, body: { principal: 'ops', secret: 'imported-secret-0123456789abcdef' } };
  if (method === 'PATCH' && path.startsWith('/v1/keys')) return { path: p, body: { name: 'renamed' } };
  if (method === 'POST' && path.endsWith('/rotate')) return { path: p, body: {} };
  if (method === 'POST' && path === '/v1/groups') return { path: p, body: { name: 'intruders', roles: ['operator'], resources: { application: ['*'] } } };
  if (method === 'PATCH' && path.startsWith('/v1/groups')) return { path: p, body: { roles: ['operator'] } };
  return { path: p };
}

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  gw = await startTestGateway(`
log: { level: silent }
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}" }
audit: { flushInterval: 20ms }
keys: { maxPerPrincipal: 100 }
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [application:view] }
  operator: { actions: [keygate:admin] }
  admin-reader: { actions: ["keygate:admin:read"] }
routes:
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view }
`);
  call = adminApi(gw.adminUrl, TOKEN);
  for (const p of [
    { name: 'ops', kind: 'user', roles: ['operator', 'viewer'] },
    { name: 'reader', kind: 'user', roles: ['admin-reader'] },
    { name: 'plain', kind: 'user', roles: ['viewer'] },
    { name: 'victim', kind: 'service', roles: ['viewer'] },
  ]) expect((await call('POST', '/v1/principals', p)).status).toBe(201);
  expect((await call('POST', '/v1/groups', { name: 'team-a', roles: ['viewer'], resources: { application: ['app-1'] } })).status).toBe(201);
  const v = await call<{ key: { id: string } }>('POST', '/v1/keys', { principal: 'victim' });
  victimKeyId = v.body.key.id;
  await issue('view', 'ops', ['application:view']);
  await issue('adminAll', 'ops', ['keygate:admin']);
  await issue('adminRead', 'ops', ['keygate:admin:read']);
  await issue('unscoped', 'ops');
  await issue('reader', 'reader');
  await issue('readerWidened', 'reader', ['keygate:admin']);
  await issue('plainWidened', 'plain', ['keygate:admin']);
  for (const a of ACTIONS) {
    await issue(`only ${a}`, 'ops', [a]);
    await issue(`all but ${a}`, 'ops', [...ACTIONS.filter((x) => x !== a), 'application:view']);
  }
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
  await redis?.stop();
});

async function admin(secret: string, method: string, path: string, body?: unknown) {
  return call<{ error?: { code: string; message: string }; items?: unknown[] }>(method, path, body, secret);
}

async function proxied(secret: string): Promise<{ status: number; reached: boolean }> {
  const before = up.received.length;
  const res = await request(`${gw.url}/api/applications/app-1/x`, { headers: { authorization: `Bearer ${secret}` } });
  await res.body.text();
  return { status: res.statusCode, reached: up.received.length > before };
}

/** What a refused write must leave as it was. */
async function snapshot(): Promise<unknown> {
  const principals = (await call<{ items: { name: string; roles: string[]; disabled: boolean }[] }>('GET', '/v1/principals')).body.items
    .map((p) => [p.name, p.roles, p.disabled]);
  const keys = (await call<{ items: { id: string; name?: string; status: string; principalId: string }[] }>('GET', '/v1/keys')).body.items.map((k) => [k.id, k.name, k.status]);
  const groups = (await call<{ items: unknown[] }>('GET', '/v1/groups')).body.items;
  const adminEvents = (await call<{ items: unknown[] }>('GET', '/v1/audit?kind=admin&limit=1000')).body.items.length;
  return { principals, keys, groups, adminEvents };
}

describe('the issue\'s case: an admin principal\'s key scoped to application:view', () => {
  it('works on the proxy for what it is scoped to', async () => {
    expect(await proxied(secret('view'))).toEqual({ status: 200, reached: true });
  });

  it('cannot list keys nor create an admin principal on the admin API', async () => {
    const before = await snapshot();
    const list = await admin(secret('view'), 'GET', '/v1/keys');
    expect([list.status, list.body.error?.code]).toEqual([403, 'forbidden']);
    expect(list.body.items).toBeUndefined();
    const create = await admin(secret('view'), 'POST', '/v1/principals', { name: 'intruder', kind: 'user', roles: ['operator'] });
    expect([create.status, create.body.error?.code]).toEqual([403, 'forbidden']);
    expect(await snapshot()).toEqual(before);
    expect((await call('GET', '/v1/principals/intruder')).status).toBe(404);
  });

  it('a key scoped to keygate:admin alone is refused on the proxy (nothing forwarded) and works on the admin API', async () => {
    expect(await proxied(secret('adminAll'))).toEqual({ status: 403, reached: false });
    expect((await admin(secret('adminAll'), 'GET', '/v1/keys')).status).toBe(200);
  });

  it('an unscoped key of the admin principal has both', async () => {
    expect(await proxied(secret('unscoped'))).toEqual({ status: 200, reached: true });
    expect((await admin(secret('unscoped'), 'GET', '/v1/keys')).status).toBe(200);
  });
});

describe('every endpoint requires its action', () => {
  it('the OpenAPI document names the same action for every operation', async () => {
    const res = await request(`${gw.adminUrl}/v1/openapi.json`);
    const doc = (await res.body.json()) as { paths: Record<string, Record<string, { 'x-keygate-action'?: string; 'x-keygate-access'?: string }>> };
    const all = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => [m.toUpperCase(), path, op['x-keygate-action'] ?? op['x-keygate-access']]));
    // GET /v1/me is the one operation any admin caller may take: it has no action of its own.
    expect(all.filter((e) => e[2] === 'any-admin')).toEqual([['GET', '/v1/me', 'any-admin']]);
    expect(all.filter((e) => e[2] !== 'any-admin').sort()).toEqual([...ENDPOINTS].sort());
  });

  it.each(ENDPOINTS)('%s %s: refused to a key scoped to every other admin action, nothing changes', async (method, path, action) => {
    const before = await snapshot();
    const { path: p, body } = armed(method, path);
    const r = await admin(secret(`all but ${action}`), method, p, body);
    expect([r.status, r.body.error?.code]).toEqual([403, 'forbidden']);
    expect(r.body.error?.message).toContain(action);
    expect(await snapshot()).toEqual(before);
  });

  it.each(ENDPOINTS)('%s %s: allowed to a key scoped to exactly its action', async (method, path, action) => {
    // Aimed at records that do not exist: passing authorization shows as 2xx, 400 or 404.
    const p = path.replace('{id}', 'no-such-id').replace('{name}', 'no-such-group');
    const r = await admin(secret(`only ${action}`), method, p, method === 'GET' || method === 'DELETE' ? undefined : {});
    expect([401, 403]).not.toContain(r.status);
  });
});

describe('grants and scopes', () => {
  it('keygate:admin:read covers every read and no write', async () => {
    for (const [method, path] of ENDPOINTS) {
      const read = method === 'GET';
      const p = path.replace('{id}', 'no-such-id').replace('{name}', 'no-such-group');
      const r = await admin(secret('adminRead'), method, p, read ? undefined : {});
      if (read) expect([401, 403], `${method} ${path}`).not.toContain(r.status);
      else expect(r.status, `${method} ${path}`).toBe(403);
    }
  });

  it('a principal whose role grants keygate:admin:read reads but cannot write, and scopes cannot widen that', async () => {
    for (const name of ['reader', 'readerWidened']) {
      expect((await admin(secret(name), 'GET', '/v1/principals')).status).toBe(200);
      expect((await admin(secret(name), 'GET', '/v1/audit')).status).toBe(200);
      const before = await snapshot();
      const w = await admin(secret(name), 'POST', '/v1/principals/victim/disable');
      expect([w.status, w.body.error?.code]).toEqual([403, 'forbidden']);
      expect(await snapshot()).toEqual(before);
    }
  });

  it('a key scoped to keygate:admin whose principal holds no admin action gets nothing', async () => {
    const r = await admin(secret('plainWidened'), 'GET', '/v1/principals');
    expect([r.status, r.body.error?.code]).toEqual([403, 'forbidden']);
  });

  it('the admin token is not narrowed', async () => {
    expect((await call('GET', '/v1/audit')).status).toBe(200);
  });
});
