import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { FORMATS } from '../../src/admin/v1/formats.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis } from '../helpers/redis.ts';
import { adminApi, proxiedStatus } from '../helpers/admin.ts';
import { runCli } from '../helpers/cli.ts';

const TOKEN = 'admin-token-for-tests-0123456789';
let redis: Awaited<ReturnType<typeof startRedis>>;
let up: TestUpstream;
let gw: TestGateway;
let call: ReturnType<typeof adminApi>;
let appUrl: string;

type Rec = Record<string, unknown>;
interface OpenApi { paths: Record<string, Record<string, { responses: Record<string, { content?: { 'application/json': { schema: object } } }> }>>; components: { schemas: Record<string, object> } }
let doc: OpenApi;
let ajv: Ajv2020;

/** Asserts the response matches the OpenAPI document's schema for that operation and status. */
function conforms(method: string, template: string, status: number, body: unknown): void {
  const op = doc.paths[template]?.[method.toLowerCase()];
  expect(op, `${method} ${template} is documented`).toBeDefined();
  const schema = op!.responses[String(status)]?.content?.['application/json'].schema;
  if (schema === undefined) return;
  const validate = ajv.compile(schema);
  expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
}

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}" }
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [application:view] }
  editor: { actions: [application:view, application:edit] }
  operator: { actions: [keygate:admin] }
routes:
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET], upstream: app, action: application:view }
  - { name: app-edit, path: "/api/applications/:appId/*", methods: [POST], upstream: app, action: application:edit }
`);
  call = adminApi(gw.adminUrl, TOKEN);
  appUrl = `${gw.url}/api/applications/1/x`;
  doc = (await call<OpenApi>('GET', '/v1/openapi.json')).body;
  ajv = new Ajv2020({ strict: false });
  for (const [name, re] of Object.entries(FORMATS)) ajv.addFormat(name, re);
  for (const [name, s] of Object.entries(doc.components.schemas)) ajv.addSchema(s, `#/components/schemas/${name}`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
  await redis?.stop();
});

describe('admin API authentication', () => {
  it('refuses a missing or wrong token with 401 JSON', async () => {
    expect((await call('GET', '/v1/principals', undefined, null)).status).toBe(401);
    const wrong = await call<{ error: Rec }>('GET', '/v1/principals', undefined, 'nope');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error['code']).toBe('unauthorized');
  });
});

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and every documented operation is served', async () => {
    expect((doc as unknown as Rec)['openapi']).toBe('3.1.0');
    const ops = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => [m.toUpperCase(), p] as const));
    expect(ops.length).toBeGreaterThanOrEqual(19);
    for (const [method, template] of ops) {
      const path = template.replace(/\{\w+\}/g, 'does-not-exist');
      const r = await call<{ error?: Rec }>(method, path, method === 'GET' || method === 'DELETE' ? undefined : {});
      // Served: any answer but "no such endpoint" / "method not allowed".
      expect([r.status, r.body?.error?.['message']], `${method} ${template}`).not.toEqual([404, 'No such admin endpoint']);
      expect(r.status, `${method} ${template}`).not.toBe(405);
    }
  });

  it('an undocumented path is a 404', async () => {
    expect((await call('GET', '/v1/nothing-here')).status).toBe(404);
  });
});

describe('key lifecycle end to end', () => {
  let principalId: string;

  it('creates a service principal; duplicates and bad input are refused with the field', async () => {
    const r = await call<Rec>('POST', '/v1/principals', { name: 'svc-reports', kind: 'service', roles: ['viewer'], metadata: { team: 'data' } });
    expect(r.status).toBe(201);
    conforms('POST', '/v1/principals', 201, r.body);
    principalId = r.body['id'] as string;
    expect((await call('POST', '/v1/principals', { name: 'svc-reports', kind: 'service' })).status).toBe(409);
    const bad = await call<{ error: Rec }>('POST', '/v1/principals', { name: 'has space', kind: 'service' });
    expect(bad.status).toBe(400);
    expect(bad.body.error['field']).toBe('name');
    const role = await call<{ error: Rec }>('POST', '/v1/principals', { name: 'x1', kind: 'service', roles: ['nope'] });
    expect(role.status).toBe(400);
    expect(role.body.error['field']).toBe('roles');
    const extra = await call<{ error: Rec }>('POST', '/v1/principals', { name: 'x2', kind: 'service', rolez: [] });
    expect([extra.status, extra.body.error['field']]).toEqual([400, 'rolez']);
  });

  it('issues a key once, with expiry in days and a purpose; it works through the gateway', async () => {
    const r = await call<{ key: Rec; secret: string; notice: string }>('POST', '/v1/keys', { principal: 'svc-reports', expiresIn: 90, purpose: 'nightly export', name: 'export' });
    expect(r.status).toBe(201);
    conforms('POST', '/v1/keys', 201, r.body);
    expect(r.body.secret).toMatch(/^kg_[0-9A-Za-z]{49}$/);
    expect(r.body.key).not.toHaveProperty('hash');
    const days = (Date.parse(r.body.key['expiresAt'] as string) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThan(90.1);
    const next = up.nextRequest();
    expect((await proxiedStatus(appUrl, r.body.secret)).status).toBe(200);
    expect((await next).headers.get('x-authenticated-user')).toEqual(['svc-reports']);
    const shown = await call<Rec>('GET', `/v1/keys/${r.body.key['id'] as string}`);
    expect(JSON.stringify(shown.body)).not.toContain(r.body.secret);
    expect(shown.body['status']).toBe('active');
  });

  it('expire now: refused at once', async () => {
    const { body } = await call<{ key: Rec; secret: string }>('POST', '/v1/keys', { principal: principalId });
    expect((await proxiedStatus(appUrl, body.secret)).status).toBe(200);
    const e = await call<Rec>('POST', `/v1/keys/${body.key['id'] as string}/expire`);
    expect(e.status).toBe(200);
    expect(e.body['status']).toBe('expired');
    expect(await proxiedStatus(appUrl, body.secret)).toEqual({ status: 401, code: 'key_expired' });
  });

  it('rotate with grace keeps the old secret working; without grace it stops at once', async () => {
    const { body: k } = await call<{ key: Rec; secret: string }>('POST', '/v1/keys', { principal: principalId });
    const graced = await call<{ key: Rec; secret: string }>('POST', `/v1/keys/${k.key['id'] as string}/rotate`, { grace: '1h' });
    expect(graced.status).toBe(201);
    expect(graced.body.key['rotatedFrom']).toBe(k.key['id']);
    expect((await proxiedStatus(appUrl, k.secret)).status).toBe(200);
    expect((await proxiedStatus(appUrl, graced.body.secret)).status).toBe(200);
    const hard = await call<{ key: Rec; secret: string }>('POST', `/v1/keys/${graced.body.key['id'] as string}/rotate`, {});
    expect(await proxiedStatus(appUrl, graced.body.secret)).toEqual({ status: 401, code: 'key_expired' });
    expect((await proxiedStatus(appUrl, hard.body.secret)).status).toBe(200);
  });

  it('role changes apply to existing keys at once; disabling kills every key; enabling restores', async () => {
    const { body: k } = await call<{ key: Rec; secret: string }>('POST', '/v1/keys', { principal: principalId });
    expect((await proxiedStatus(appUrl, k.secret, 'POST')).status).toBe(403);
    expect((await call('PATCH', `/v1/principals/${principalId}`, { roles: ['editor'] })).status).toBe(200);
    expect((await proxiedStatus(appUrl, k.secret, 'POST')).status).toBe(200);
    expect((await call('POST', `/v1/principals/${principalId}/disable`)).status).toBe(200);
    expect(await proxiedStatus(appUrl, k.secret)).toEqual({ status: 401, code: 'principal_disabled' });
    expect((await call('POST', `/v1/principals/${principalId}/enable`)).status).toBe(200);
    expect((await proxiedStatus(appUrl, k.secret)).status).toBe(200);
  });

  it('at most maxPerPrincipal live keys: 409 key_limit_reached', async () => {
    await call('POST', '/v1/principals', { name: 'many-keys', kind: 'user', roles: ['viewer'] });
    for (let i = 0; i < 10; i++) expect((await call('POST', '/v1/keys', { principal: 'many-keys' })).status).toBe(201);
    const r = await call<{ error: Rec }>('POST', '/v1/keys', { principal: 'many-keys' });
    expect(r.status).toBe(409);
    expect(r.body.error['code']).toBe('key_limit_reached');
    const list = await call<{ items: Rec[] }>('GET', '/v1/keys?principal=many-keys&status=active');
    expect(list.body.items).toHaveLength(10);
    conforms('GET', '/v1/keys', 200, list.body);
  });

  it('deleting a principal kills its keys', async () => {
    await call('POST', '/v1/principals', { name: 'short-lived', kind: 'service', roles: ['viewer'] });
    const { body: k } = await call<{ key: Rec; secret: string }>('POST', '/v1/keys', { principal: 'short-lived' });
    expect((await proxiedStatus(appUrl, k.secret)).status).toBe(200);
    expect((await call('DELETE', '/v1/principals/short-lived')).status).toBe(204);
    expect(await proxiedStatus(appUrl, k.secret)).toEqual({ status: 401, code: 'invalid_key' });
    expect((await call('GET', `/v1/keys/${k.key['id'] as string}`)).status).toBe(404);
  });

  it('imports an existing secret from a migrated system', async () => {
    const secret = 'legacy-threadfix-key-0123456789abcdef';
    const r = await call<Rec>('POST', '/v1/keys/import', { principal: principalId, secret, name: 'from threadfix' });
    expect(r.status).toBe(201);
    expect(JSON.stringify(r.body)).not.toContain(secret);
    expect((await proxiedStatus(appUrl, secret)).status).toBe(200);
  });

  it('groups: create, list, update, delete; unknown ones 404', async () => {
    const c = await call<Rec>('POST', '/v1/groups', { name: 'team-a', roles: ['viewer'], resources: { application: ['app-1'] } });
    expect(c.status).toBe(201);
    conforms('POST', '/v1/groups', 201, c.body);
    expect((await call('POST', '/v1/groups', { name: 'team-a' })).status).toBe(409);
    expect((await call<Rec>('PATCH', '/v1/groups/team-a', { resources: { application: ['app-1', 'app-2'] } })).body['resources']).toEqual({ application: ['app-1', 'app-2'] });
    expect((await call<{ items: Rec[] }>('GET', '/v1/groups')).body.items.map((g) => g['name'])).toContain('team-a');
    expect((await call('DELETE', '/v1/groups/team-a')).status).toBe(204);
    expect((await call('GET', '/v1/groups/team-a')).status).toBe(404);
  });

  it('a key whose principal holds keygate:admin can use the admin API; others get 403', async () => {
    await call('POST', '/v1/principals', { name: 'ops-bot', kind: 'service', roles: ['operator'] });
    const { body: k } = await call<{ secret: string }>('POST', '/v1/keys', { principal: 'ops-bot' });
    expect((await call('GET', '/v1/principals', undefined, k.secret)).status).toBe(200);
    const { body: v } = await call<{ secret: string }>('POST', '/v1/keys', { principal: principalId });
    expect((await call('GET', '/v1/principals', undefined, v.secret)).status).toBe(403);
  });
});

describe('CLI over the admin API', () => {
  const env = () => ({ KEYGATE_ADMIN_URL: gw.adminUrl, KEYGATE_ADMIN_TOKEN: TOKEN });

  it('creates a principal and a key, prints the secret once with a notice, lists and expires it', async () => {
    const p = await runCli(['principals', 'create', 'cli-bot', '--kind', 'service', '--role', 'viewer'], { env: env() });
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/NAME\s+KIND/);
    expect(p.stdout).toContain('cli-bot');
    const k = await runCli(['keys', 'create', '--principal', 'cli-bot', '--expires-in', '30d', '--purpose', 'ci', '--json'], { env: env() });
    expect(k.code, k.stderr).toBe(0);
    const created = JSON.parse(k.stdout) as { key: Rec; secret: string };
    expect((await proxiedStatus(appUrl, created.secret)).status).toBe(200);
    const human = await runCli(['keys', 'create', '--principal', 'cli-bot'], { env: env() });
    expect(human.stdout).toMatch(/secret: kg_/);
    expect(human.stderr).toContain('shown once');
    const list = await runCli(['keys', 'list', '--principal', 'cli-bot'], { env: env() });
    expect(list.stdout).toContain(created.key['id'] as string);
    expect(list.stdout).not.toContain(created.secret);
    const exp = await runCli(['keys', 'expire', created.key['id'] as string], { env: env() });
    expect(exp.code).toBe(0);
    expect((await proxiedStatus(appUrl, created.secret)).status).toBe(401);
  });

  it('imports a secret from stdin', async () => {
    const secret = 'mend-user-key-5c5c5b1dc14b44faa71d4bc443de';
    const r = await runCli(['keys', 'import', '--principal', 'cli-bot'], { env: env(), stdin: `${secret}\n` });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(secret);
    expect((await proxiedStatus(appUrl, secret)).status).toBe(200);
  });

  it('shows API errors as one line and exits 4', async () => {
    const r = await runCli(['principals', 'show', 'nobody'], { env: env() });
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toEqual(['keygate: 404 not_found: No principal "nobody"']);
    const unreachable = await runCli(['principals', 'list'], { env: { KEYGATE_ADMIN_URL: 'http://127.0.0.1:1', KEYGATE_ADMIN_TOKEN: TOKEN } });
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toContain('cannot reach the admin API');
  });
});
