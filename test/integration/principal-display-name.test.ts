/**
 * A principal's displayName (issue 15): free Unicode text for screens, through the admin API on
 * both stores, the CLI and the YAML file; refused with a clear 400 for control characters;
 * audited with its old and new value; and never forwarded upstream, where `name` is the identity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi } from '../helpers/admin.ts';
import { runCli } from '../helpers/cli.ts';
import { request } from 'undici';

const TOKEN = 'display-name-admin-token-0123456789';
const XSS = '<img src=x onerror=alert(1)>';
const FANCY = 'Zoë Ångström — 李小龍 🚀';
type Rec = Record<string, unknown>;
type ErrorBody = { error: { code: string; field?: string; message: string } };

for (const kind of ['memory', 'redis'] as const) describe(`displayName through the admin API (${kind} store)`, () => {
  let redis: TestRedis | undefined;
  let up: TestUpstream;
  let gw: TestGateway;
  let admin: ReturnType<typeof adminApi>;

  beforeAll(async () => {
    up = await startUpstream();
    if (kind === 'redis') redis = await startRedis();
    gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
check: {}
${redis === undefined ? '' : `store: { redis: "${redis.url}" }`}
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [app:view] }
principals:
  - { name: declared-bot, kind: service, displayName: "Déclaré — ${XSS}", roles: [viewer] }
routes:
  - { name: app, path: "/api/*", upstream: app, action: app:view }
`);
    admin = adminApi(gw.adminUrl, TOKEN);
  });
  afterAll(async () => {
    await gw?.close();
    await up?.close();
    await redis?.stop();
  });

  it('create, get, list, PATCH and clear it; any Unicode kept exactly', async () => {
    const made = await admin<Rec>('POST', '/v1/principals', { name: 'zoe', kind: 'user', displayName: FANCY, roles: ['viewer'] });
    expect(made.status).toBe(201);
    expect(made.body['displayName']).toBe(FANCY);
    expect((await admin<Rec>('GET', '/v1/principals/zoe')).body['displayName']).toBe(FANCY);
    const listed = (await admin<{ items: Rec[] }>('GET', '/v1/principals?limit=1000')).body.items.find((p) => p['name'] === 'zoe');
    expect(listed?.['displayName']).toBe(FANCY);
    expect((await admin<Rec>('PATCH', '/v1/principals/zoe', { displayName: XSS })).body['displayName']).toBe(XSS);
    expect((await admin<Rec>('GET', `/v1/principals/${made.body['id'] as string}`)).body['displayName']).toBe(XSS);
    const cleared = await admin<Rec>('PATCH', '/v1/principals/zoe', { displayName: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body).not.toHaveProperty('displayName');
    expect((await admin<Rec>('GET', '/v1/principals/zoe')).body).not.toHaveProperty('displayName');
    // Without one at all.
    expect((await admin<Rec>('POST', '/v1/principals', { name: 'plain', kind: 'service' })).body).not.toHaveProperty('displayName');
  });

  it('control characters, bidi overrides, blank and over-long text: 400 invalid_input naming displayName, nothing changed', async () => {
    await admin('POST', '/v1/principals', { name: 'kept', kind: 'user', displayName: 'Kept As Is' });
    for (const v of ['two\nlines', 'bell\u0007', 'admin\u202egnp.exe', '   ', 'x'.repeat(201)]) {
      for (const [method, path, body] of [
        ['POST', '/v1/principals', { name: 'refused', kind: 'user', displayName: v }],
        ['PATCH', '/v1/principals/kept', { displayName: v }],
      ] as const) {
        const r = await admin<ErrorBody>(method, path, body);
        expect([r.status, r.body.error.code, r.body.error.field], `${method} ${JSON.stringify(v)}`).toEqual([400, 'invalid_input', 'displayName']);
        expect(r.body.error.message).toMatch(/^displayName: /);
      }
    }
    expect((await admin<ErrorBody>('POST', '/v1/principals', { name: 'refused', kind: 'user', displayName: 'a\tb' })).body.error.message).toContain('U+0009');
    expect((await admin('GET', '/v1/principals/refused')).status).toBe(404);
    expect((await admin<Rec>('GET', '/v1/principals/kept')).body['displayName']).toBe('Kept As Is');
    // 200 code points is the bound, not 200 UTF-16 units.
    expect((await admin('PATCH', '/v1/principals/kept', { displayName: '🚀'.repeat(200) })).status).toBe(200);
  });

  it('is audited: the create with it, the change with the old and new value', async () => {
    await admin('POST', '/v1/principals', { name: 'audited', kind: 'user', displayName: 'Before' });
    await admin('PATCH', '/v1/principals/audited', { displayName: 'After' });
    type Ev = { action: string; details: Rec };
    let events: Ev[] = [];
    for (let i = 0; i < 200; i++) {
      events = (await admin<{ items: Ev[] }>('GET', '/v1/audit?kind=admin&limit=1000')).body.items;
      if (events.some((e) => e.action === 'principal.update' && e.details['displayName'] === 'After')) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(events.find((e) => e.action === 'principal.create' && e.details['name'] === 'audited')?.details['displayName']).toBe('Before');
    expect(events.find((e) => e.action === 'principal.update' && e.details['displayName'] === 'After')?.details).toMatchObject({ fields: ['displayName'], previousDisplayName: 'Before' });
  });

  // Declared principals are read where they live: with Redis that is the embedded store beside it, which the API does not list.
  it.runIf(kind === 'memory')('declared in the YAML file, shown as declared', async () => {
    expect((await admin<Rec>('GET', '/v1/principals/declared-bot')).body['displayName']).toBe(`Déclaré — ${XSS}`);
  });

  it('never reaches the upstream: the identity is the name', async () => {
    const key = await admin<{ secret: string }>('POST', '/v1/keys', { principal: 'zoe' });
    await admin('PATCH', '/v1/principals/zoe', { displayName: FANCY });
    const res = await request(`${gw.url}/api/x`, { headers: { authorization: `Bearer ${key.body.secret}` } });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    const got = up.received.at(-1);
    expect(got?.headers.get('x-authenticated-user')).toEqual(['zoe']);
    const values = [...(got?.headers.values() ?? [])].flat().join('\n');
    for (const part of ['Zoë', '李小龍', 'Ångström', FANCY]) expect(values).not.toContain(part);
    expect(values).not.toContain(Buffer.from(FANCY, 'utf8').toString('latin1'));
    // Decision mode answers with the same identity headers: the name, never the display name.
    const decided = await request(`${gw.checkUrl}/check`, { headers: { 'x-original-method': 'GET', 'x-original-uri': '/api/x', authorization: `Bearer ${key.body.secret}` } });
    await decided.body.text();
    expect([decided.statusCode, decided.headers['x-authenticated-user']]).toEqual([200, 'zoe']);
    const answered = Object.values(decided.headers).flat().join('\n');
    for (const part of ['Zoë', '李小龍', 'Ångström']) expect(answered).not.toContain(part);
  });

  it.runIf(kind === 'memory')('the CLI: principals create --display-name, update, shown in tables and JSON', async () => {
    const env = { KEYGATE_ADMIN_URL: gw.adminUrl, KEYGATE_ADMIN_TOKEN: TOKEN };
    const made = await runCli(['principals', 'create', 'cli-person', '--display-name', FANCY], { env });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/DISPLAY NAME/i);
    expect(made.stdout).toContain(FANCY);
    const listed = await runCli(['principals', 'list'], { env });
    expect(listed.stdout).toContain(FANCY);
    const changed = await runCli(['principals', 'update', 'cli-person', '--display-name', 'Renamed Person', '--json'], { env });
    expect(changed.code, changed.stderr).toBe(0);
    expect((JSON.parse(changed.stdout) as Rec)['displayName']).toBe('Renamed Person');
    const removed = await runCli(['principals', 'update', 'cli-person', '--no-display-name', '--json'], { env });
    expect(JSON.parse(removed.stdout) as Rec).not.toHaveProperty('displayName');
    const refused = await runCli(['principals', 'create', 'cli-bad', '--display-name', 'a\u0007b'], { env });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('displayName');
  });
});
