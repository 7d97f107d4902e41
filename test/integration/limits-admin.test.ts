/**
 * Limit and quota overrides through the admin API and the CLI (issue 14), against Redis: an
 * override replaces the config's limit at once (the writer's own cache is invalidated), quota
 * counts and resets are visible through the API, `keys list` and `keygate keys limits`, and a
 * quota survives a gateway restart (the counter lives in Redis; unspent leases go back on close).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi } from '../helpers/admin.ts';
import { runCli } from '../helpers/cli.ts';
import { newKey } from '../helpers/keys.ts';

const TOKEN = 'admin-token-for-limit-tests-0123456789';
const metered = newKey();
let up: TestUpstream;
let redis: TestRedis;
const prefix = `la${Date.now()}`;

const config = () => `
log: { level: silent }
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}", prefix: "${prefix}" }
limits:
  roomy: { rate: 1000/h }
  premium: { rate: 5000/h }
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [application:view], limit: roomy }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
principals:
  - { name: metered, kind: service, roles: [viewer], quota: { requests: 5, period: day }, keys: [{ id: metered-1, hash: "${metered.hash}" }] }
`;

beforeAll(async () => {
  up = await startUpstream();
  redis = await startRedis();
});
afterAll(async () => {
  await up?.close();
  await redis?.stop();
});

async function get(gw: TestGateway, path: string, secret: string) {
  const res = await request(`${gw.url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
  const text = await res.body.text();
  return { status: res.statusCode, code: res.statusCode === 200 ? null : (JSON.parse(text) as { error: { code: string; message: string } }).error, policy: res.headers['ratelimit-policy'] };
}

describe('overrides through the admin API and CLI', () => {
  let gw: TestGateway;
  let call: ReturnType<typeof adminApi>;
  let keyId = '';
  let secret = '';
  beforeAll(async () => {
    gw = await startTestGateway(config());
    call = adminApi(gw.adminUrl, TOKEN);
    expect((await call('POST', '/v1/principals', { name: 'customer', kind: 'service', roles: ['viewer'] })).status).toBe(201);
    const k = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'customer' });
    keyId = k.body.key.id;
    secret = k.body.secret;
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a key override replaces the role\'s limit at once, and is shown with where it comes from', async () => {
    expect((await get(gw, '/api/a', secret)).policy).toBe('"roomy";q=1000;w=3600');
    const r = await call<{ limit: Record<string, unknown> }>('PATCH', `/v1/keys/${keyId}/limits`, { limit: { rate: '2/h', per: 'key' } });
    expect(r.status).toBe(200);
    expect(r.body.limit).toMatchObject({ policy: 'override', rate: '2/h', per: 'key', source: 'key override' });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push(await get(gw, '/api/b', secret));
    expect(codes.map((c) => c.status)).toEqual([200, 200, 429]);
    expect(codes[0]?.policy).toBe('"override";q=2;w=3600');
    expect(codes[2]?.code?.code).toBe('rate_limited');
    // Back to the config's limit.
    expect((await call('PATCH', `/v1/keys/${keyId}/limits`, { limit: null })).status).toBe(200);
    expect((await get(gw, '/api/c', secret)).status).toBe(200);
  });

  it('a principal override names a policy; an unknown one is refused with the field named', async () => {
    const bad = await call<{ error: { code: string; field: string } }>('PATCH', '/v1/principals/customer/limits', { limit: 'gold' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_input', field: 'limit' });
    const ok = await call<{ limit: Record<string, unknown> }>('PATCH', '/v1/principals/customer/limits', { limit: 'premium' });
    expect(ok.body.limit).toMatchObject({ policy: 'premium', source: 'principal override' });
    expect((await get(gw, '/api/d', secret)).policy).toBe('"premium";q=5000;w=3600');
  });

  it('a key quota: counted, shown by the API, keys list and the CLI, reset by the admin', async () => {
    expect((await call('PATCH', `/v1/keys/${keyId}/limits`, { quota: { requests: 3, period: 'day' } })).status).toBe(200);
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await get(gw, '/api/q', secret)).status);
    expect(codes).toEqual([200, 200, 200, 429]);
    const shown = await call<{ quotas: { scope: string; used: number; remaining: number; resetsAt: string }[] }>('GET', `/v1/keys/${keyId}/limits`);
    expect(shown.body.quotas).toEqual([expect.objectContaining({ scope: 'key', name: 'key-quota', requests: 3, used: 3, remaining: 0 })]);
    expect(new Date(shown.body.quotas[0]?.resetsAt ?? '').getUTCHours()).toBe(0);
    const list = await call<{ items: { id: string; quotaLeft: { remaining: number } | null }[] }>('GET', '/v1/keys?principal=customer');
    expect(list.body.items.find((k) => k.id === keyId)?.quotaLeft).toMatchObject({ remaining: 0 });
    const env = { KEYGATE_ADMIN_URL: gw.adminUrl, KEYGATE_ADMIN_TOKEN: TOKEN };
    const cliList = await runCli(['keys', 'list', '--principal', 'customer'], { env });
    expect(cliList.code).toBe(0);
    expect(cliList.stdout).toMatch(/QUOTA LEFT/i);
    const reset = await runCli(['keys', 'limits', keyId, '--reset-quota', '--remaining', '1'], { env });
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(/key-quota\s+3\s+day\s+2\s+1/);
    // The reset reaches the request path: one more, then spent again.
    const after = [];
    for (let i = 0; i < 2; i++) after.push((await get(gw, '/api/q2', secret)).status);
    expect(after).toEqual([200, 429]);
  });
});

describe('quotas across a gateway restart (Redis)', () => {
  it('the count survives: a new gateway on the same Redis serves only what is left', async () => {
    const path = '/api/restart';
    const before = up.received.filter((r) => r.url === path).length;
    const first = await startTestGateway(config());
    const a = [];
    for (let i = 0; i < 3; i++) a.push((await get(first, path, metered.secret)).status);
    await first.close();
    const second = await startTestGateway(config());
    try {
      const b = [];
      for (let i = 0; i < 3; i++) b.push(await get(second, path, metered.secret));
      expect(a).toEqual([200, 200, 200]);
      expect(b.map((r) => r.status)).toEqual([200, 200, 429]);
      expect(b[2]?.code?.code).toBe('quota_exhausted');
      expect(up.received.filter((r) => r.url === path).length - before).toBe(5);
      const shown = await adminApi(second.adminUrl, TOKEN)<{ quotas: { used: number; remaining: number }[] }>('GET', '/v1/principals/metered/limits');
      expect(shown.status).toBe(200);
      expect(shown.body.quotas).toEqual([expect.objectContaining({ scope: 'principal', used: 5, remaining: 0 })]);
    } finally {
      await second.close();
    }
  });
});
