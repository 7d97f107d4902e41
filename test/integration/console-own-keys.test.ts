import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminApi, proxiedStatus } from '../helpers/admin.ts';
import { exchange, signIn, withSession } from '../helpers/console.ts';
import { runCli } from '../helpers/cli.ts';

/**
 * `keygate:admin:keys:own` (issue 15, Mend's user keys): a person manages their own keys and
 * nobody else's, a key's scopes only narrow what its owner's credential holds, and
 * `keys.maxPerPrincipal` caps them. Enforced by the admin API itself, so the same answers come
 * to the console (session cookie) and to scripts (Bearer).
 */
const TOKEN = 'own-keys-admin-token-0123456789abcdef';
let up: TestUpstream;
let gw: TestGateway;
let admin: ReturnType<typeof adminApi>;
let appUrl: string;
/** Bearer secrets of alice's and bob's bootstrap keys, and bob's key id. */
let alice: string;
let aliceId: string;
let bobKeyId: string;
let bobSecret: string;

type Key = { id: string; principalId: string; status: string; scopes?: string[] };
type KeyWithSecret = { key: Key; secret: string };

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
keys: { maxPerPrincipal: 4 }
upstreams: { app: { url: "${up.url}" } }
roles:
  self-service: { actions: [keygate:admin:keys:own, application:view, application:edit] }
routes:
  - { name: app-read, path: "/api/*", methods: [GET], upstream: app, action: application:view }
  - { name: app-edit, path: "/api/*", methods: [POST], upstream: app, action: application:edit }
`);
  admin = adminApi(gw.adminUrl, TOKEN);
  appUrl = `${gw.url}/api/things`;
  const a = await admin<{ id: string }>('POST', '/v1/principals', { name: 'alice', kind: 'user', roles: ['self-service'] });
  aliceId = a.body.id;
  await admin('POST', '/v1/principals', { name: 'bob', kind: 'user', roles: ['self-service'] });
  alice = (await admin<KeyWithSecret>('POST', '/v1/keys', { principal: 'alice', name: 'alice bootstrap' })).body.secret;
  const bob = await admin<KeyWithSecret>('POST', '/v1/keys', { principal: 'bob', name: 'bob bootstrap' });
  bobKeyId = bob.body.key.id;
  bobSecret = bob.body.secret;
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const as = (secret: string) => adminApi(gw.adminUrl, secret);

describe('/v1/me', () => {
  it('names the caller and the admin actions it may take', async () => {
    const me = await as(alice)<{ principal: { id: string; name: string; kind: string }; permissions: string[] }>('GET', '/v1/me');
    expect(me.status).toBe(200);
    expect(me.body.principal).toMatchObject({ id: aliceId, name: 'alice', kind: 'user', roles: ['self-service'], disabled: false });
    expect(me.body.permissions).toEqual(['keygate:admin:keys:own']);
    const token = await admin<{ principal: null; permissions: string[] }>('GET', '/v1/me');
    expect(token.body.principal).toBeNull();
    expect(token.body.permissions).toContain('keygate:admin:principals:write');
    expect((await as('kg_nope0000000000000000000000')('GET', '/v1/me')).status).toBe(401);
  });
});

describe('own keys only', () => {
  it('lists only the caller\'s keys; another principal\'s list is a 404 like a missing principal', async () => {
    const mine = await as(alice)<{ items: Key[] }>('GET', '/v1/keys');
    expect(mine.status).toBe(200);
    expect(mine.body.items.length).toBeGreaterThan(0);
    expect(mine.body.items.every((k) => k.principalId === aliceId)).toBe(true);
    const bobs = await as(alice)('GET', '/v1/keys?principal=bob');
    const nobody = await as(alice)('GET', '/v1/keys?principal=nobody-at-all');
    expect(bobs.status).toBe(404);
    expect(nobody.status).toBe(404);
    expect((bobs.body as { error: { code: string } }).error.code).toBe((nobody.body as { error: { code: string } }).error.code);
    expect((await as(alice)('GET', '/v1/keys?principal=alice')).status).toBe(200);
  });

  it('answers every operation on another principal\'s key like a key that does not exist, and changes nothing', async () => {
    const ops: [string, string, unknown?][] = [
      ['GET', `/v1/keys/${bobKeyId}`],
      ['GET', `/v1/keys/${bobKeyId}/usage`],
      ['PATCH', `/v1/keys/${bobKeyId}`, { purpose: 'hijacked' }],
      ['POST', `/v1/keys/${bobKeyId}/rotate`, {}],
      ['POST', `/v1/keys/${bobKeyId}/expire`],
      ['DELETE', `/v1/keys/${bobKeyId}`],
    ];
    for (const [method, path, body] of ops) {
      const theirs = await as(alice)<{ error: { code: string; message: string } }>(method, path, body);
      const missing = await as(alice)<{ error: { code: string; message: string } }>(method, path.replace(bobKeyId, 'key_doesNotExist000000000'), body);
      expect(theirs.status, `${method} ${path}`).toBe(404);
      expect(theirs.body.error.code).toBe(missing.body.error.code);
      expect(theirs.body.error.message.replace(bobKeyId, 'ID')).toBe(missing.body.error.message.replace('key_doesNotExist000000000', 'ID'));
    }
    const k = await admin<Key & { purpose?: string }>('GET', `/v1/keys/${bobKeyId}`);
    expect(k.body.status).toBe('active');
    expect(k.body.purpose).toBeUndefined();
    expect((await proxiedStatus(appUrl, bobSecret)).status).toBe(200);
  });

  it('refuses keys for someone else, imports, and everything outside keys', async () => {
    const forBob = await as(alice)<{ error: { code: string } }>('POST', '/v1/keys', { principal: 'bob', name: 'for bob' });
    expect(forBob.status).toBe(403);
    expect(forBob.body.error.code).toBe('forbidden');
    expect((await admin<{ items: Key[] }>('GET', '/v1/keys?principal=bob')).body.items).toHaveLength(1);
    expect((await as(alice)('POST', '/v1/keys/import', { principal: 'alice', secret: 'imported-secret-0123456789' })).status).toBe(403);
    expect((await as(alice)('GET', '/v1/principals')).status).toBe(403);
    expect((await as(alice)('POST', '/v1/principals', { name: 'mallory', kind: 'user', roles: ['self-service'] })).status).toBe(403);
    expect((await as(alice)('GET', '/v1/audit')).status).toBe(403);
  });

  it('manages its own: create, rename, rotate, expire, delete, each effective on the proxy', async () => {
    const made = await as(alice)<KeyWithSecret>('POST', '/v1/keys', { principal: 'alice', name: 'laptop' });
    expect(made.status).toBe(201);
    expect(made.body.key.principalId).toBe(aliceId);
    expect((await proxiedStatus(appUrl, made.body.secret)).status).toBe(200);
    expect(up.received.at(-1)?.headers.get('x-authenticated-user')).toEqual(['alice']);
    expect((await as(alice)('PATCH', `/v1/keys/${made.body.key.id}`, { purpose: 'my laptop' })).status).toBe(200);
    const rotated = await as(alice)<KeyWithSecret>('POST', `/v1/keys/${made.body.key.id}/rotate`, {});
    expect(rotated.status).toBe(201);
    expect((await proxiedStatus(appUrl, rotated.body.secret)).status).toBe(200);
    expect((await proxiedStatus(appUrl, made.body.secret)).status).toBe(401);
    expect((await as(alice)('POST', `/v1/keys/${rotated.body.key.id}/expire`)).status).toBe(200);
    expect((await proxiedStatus(appUrl, rotated.body.secret)).status).toBe(401);
    expect((await as(alice)('DELETE', `/v1/keys/${rotated.body.key.id}`)).status).toBe(204);
    expect((await as(alice)('DELETE', `/v1/keys/${made.body.key.id}`)).status).toBe(204);
  });
});

describe('scopes only narrow', () => {
  it('a key scoped within the owner\'s actions works as scoped; beyond them is 403 scopes_not_held', async () => {
    const view = await as(alice)<KeyWithSecret>('POST', '/v1/keys', { principal: aliceId, name: 'read only', scopes: ['application:view'] });
    expect(view.status).toBe(201);
    expect((await proxiedStatus(appUrl, view.body.secret)).status).toBe(200);
    expect((await proxiedStatus(appUrl, view.body.secret, 'POST')).status).toBe(403);
    for (const scopes of [['application:delete'], ['application:*'], ['*'], ['keygate:admin:keys:write'], ['keygate:admin'], ['application:view', 'billing:pay']]) {
      const r = await as(alice)<{ error: { code: string; field: string } }>('POST', '/v1/keys', { principal: 'alice', scopes });
      expect(r.status, scopes.join(',')).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'scopes_not_held', field: 'scopes' });
    }
    expect((await as(alice)<KeyWithSecret>('POST', '/v1/keys', { principal: 'alice', scopes: ['keygate:admin:keys:own'] })).status).toBe(201);
    const mine = (await as(alice)<{ items: Key[] }>('GET', '/v1/keys')).body.items;
    for (const k of mine) if (k.scopes !== undefined) await as(alice)('DELETE', `/v1/keys/${k.id}`);
  });

  it('a caller holding a scoped key issues keys within that key\'s scopes only', async () => {
    const scoped = await admin<KeyWithSecret>('POST', '/v1/keys', { principal: 'alice', name: 'scoped admin', scopes: ['keygate:admin:keys:own', 'application:view'] });
    const s = scoped.body.secret;
    const unscoped = await as(s)<{ error: { code: string } }>('POST', '/v1/keys', { principal: 'alice' });
    expect(unscoped.status).toBe(403);
    expect(unscoped.body.error.code).toBe('scopes_not_held');
    // alice's roles hold application:edit, but the credential asking does not.
    expect((await as(s)('POST', '/v1/keys', { principal: 'alice', scopes: ['application:edit'] })).status).toBe(403);
    const ok = await as(s)<KeyWithSecret>('POST', '/v1/keys', { principal: 'alice', scopes: ['application:view'] });
    expect(ok.status).toBe(201);
    await as(alice)('DELETE', `/v1/keys/${ok.body.key.id}`);
    await admin('DELETE', `/v1/keys/${scoped.body.key.id}`);
  });
});

describe('keys.maxPerPrincipal', () => {
  it('caps the live keys a person creates with 409 key_limit_reached, and the console config reports it', async () => {
    const cfg = await exchange<{ keys: { maxPerPrincipal: number } }>(`${gw.adminUrl}/console/api/config`);
    expect(cfg.body.keys.maxPerPrincipal).toBe(4);
    const live = (await as(alice)<{ items: Key[] }>('GET', '/v1/keys?status=active')).body.items.length;
    const made: string[] = [];
    for (let i = live; i < 4; i++) {
      const r = await as(alice)<KeyWithSecret>('POST', '/v1/keys', { principal: 'alice', name: `k${i}` });
      expect(r.status).toBe(201);
      made.push(r.body.key.id);
    }
    const over = await as(alice)<{ error: { code: string } }>('POST', '/v1/keys', { principal: 'alice', name: 'one too many' });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('key_limit_reached');
    expect((await as(alice)<{ items: Key[] }>('GET', '/v1/keys?status=active')).body.items).toHaveLength(4);
    for (const id of made) await as(alice)('DELETE', `/v1/keys/${id}`);
  });
});

describe('through the console session', () => {
  it('the same rules apply to the cookie, with CSRF, and the audit names the person', async () => {
    const s = await signIn(gw.adminUrl, alice);
    const theirs = await exchange(`${gw.adminUrl}/v1/keys/${bobKeyId}/expire`, { method: 'POST', headers: withSession(s) });
    expect(theirs.status).toBe(404);
    const noCsrf = await exchange(`${gw.adminUrl}/v1/keys`, { method: 'POST', json: { principal: 'alice' }, headers: withSession(s, false) });
    expect(noCsrf.status).toBe(403);
    const made = await exchange<KeyWithSecret>(`${gw.adminUrl}/v1/keys`, { method: 'POST', json: { principal: 'alice', name: 'from the console' }, headers: withSession(s) });
    expect(made.status).toBe(201);
    const key = await admin<{ createdBy: string }>('GET', `/v1/keys/${made.body.key.id}`);
    expect(key.body.createdBy).toBe('alice');
    await exchange(`${gw.adminUrl}/v1/keys/${made.body.key.id}`, { method: 'DELETE', headers: withSession(s) });
  });
});

describe('through the CLI', () => {
  const NOWHERE = { KEYGATE_ADMIN_URL: 'http://127.0.0.1:1', KEYGATE_ADMIN_TOKEN: '' };
  it('keys list shows only one\'s own; keys create for someone else is refused', async () => {
    const list = await runCli(['keys', 'list', '--json', '--admin-url', gw.adminUrl, '--token', alice], { env: NOWHERE });
    expect(list.code, list.stderr).toBe(0);
    const items = (JSON.parse(list.stdout) as { items: Key[] }).items;
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((k) => k.principalId === aliceId)).toBe(true);
    const forBob = await runCli(['keys', 'create', '--principal', 'bob', '--admin-url', gw.adminUrl, '--token', alice], { env: NOWHERE });
    expect(forBob.code).not.toBe(0);
    expect(forBob.stderr).toContain('forbidden');
    expect(forBob.stdout).not.toContain('secret:');
  });
});
