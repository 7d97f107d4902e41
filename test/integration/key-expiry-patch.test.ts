/**
 * PATCH /v1/keys/{id} changes a key's expiry on every replica (issue 11, item 6): two gateways on
 * one Redis, each with a warm key cache whose safety-net TTL is an hour, so only the write's
 * invalidation can tell the other replica. Setting an expiry makes the key stop working there
 * when it passes; clearing one keeps it working past the old expiry. The change is in the audit
 * trail like other key updates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi, proxiedStatus } from '../helpers/admin.ts';

const TOKEN = 'expiry-patch-admin-token-0123456789';
let redis: TestRedis;
let up: TestUpstream;
const gws: TestGateway[] = [];
type Rec = Record<string, unknown>;

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  for (let i = 0; i < 2; i++) {
    gws.push(await startTestGateway(`
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}", cache: { ttl: 1h } }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes: [{ name: app, path: "/api/*", upstream: app, action: application:view }]
`));
  }
});
afterAll(async () => {
  for (const g of gws) await g.close();
  await up?.close();
  await redis?.stop();
});

/** Polls the replica until it refuses the key with `code` (the store's pub/sub is asynchronous). */
async function refused(url: string, secret: string, code: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const r = await proxiedStatus(url, secret);
    if (r.status === 401 && r.code === code) return;
    expect(r.status, `while waiting for ${code}`).toBe(200);
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`still accepted: expected 401 ${code}`);
}

describe('PATCH /v1/keys/{id} expiry across replicas', () => {
  it('an expiry set on A ends the key on B, whose cache held it without one', async () => {
    const [a, b] = gws as [TestGateway, TestGateway];
    const adminA = adminApi(a.adminUrl, TOKEN);
    expect((await adminA('POST', '/v1/principals', { name: 'svc-exp', kind: 'service', roles: ['viewer'] })).status).toBe(201);
    const { body } = await adminA<{ key: Rec; secret: string }>('POST', '/v1/keys', { principal: 'svc-exp' });
    const bUrl = `${b.url}/api/x`;
    const seen = up.nextRequest();
    expect((await proxiedStatus(bUrl, body.secret)).status).toBe(200); // B caches the key: no expiry
    expect((await seen).headers.get('x-authenticated-user')).toEqual(['svc-exp']);
    expect((await proxiedStatus(bUrl, body.secret)).status).toBe(200);

    const patched = await adminA<Rec>('PATCH', `/v1/keys/${body.key['id'] as string}`, { expiresIn: '2s' });
    expect(patched.status).toBe(200);
    expect(patched.body['status']).toBe('active');
    await refused(bUrl, body.secret, 'key_expired');
    await refused(`${a.url}/api/x`, body.secret, 'key_expired');
    // B's admin API reads the same record.
    const onB = await adminApi(b.adminUrl, TOKEN)<Rec>('GET', `/v1/keys/${body.key['id'] as string}`);
    expect([onB.body['status'], onB.body['expiresAt']]).toEqual(['expired', patched.body['expiresAt']]);
  });

  it('an expiry cleared on A keeps the key working on B past the old one', async () => {
    const [a, b] = gws as [TestGateway, TestGateway];
    const adminA = adminApi(a.adminUrl, TOKEN);
    const { body } = await adminA<{ key: Rec; secret: string }>('POST', '/v1/keys', { principal: 'svc-exp', expiresIn: '5s' });
    const oldEnd = Date.parse(body.key['expiresAt'] as string);
    const bUrl = `${b.url}/api/x`;
    expect((await proxiedStatus(bUrl, body.secret)).status).toBe(200); // B caches it, with its expiry
    // 5s of lifetime: room for the two requests before this one on a loaded machine.
    const cleared = await adminA<Rec>('PATCH', `/v1/keys/${body.key['id'] as string}`, { expiresAt: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body).not.toHaveProperty('expiresAt');
    // Past the old expiry, B must have learnt of the change (its cached record says "expired").
    await new Promise((res) => setTimeout(res, Math.max(0, oldEnd - Date.now()) + 300));
    expect(await proxiedStatus(bUrl, body.secret)).toEqual({ status: 200, code: null });
    expect((await proxiedStatus(`${a.url}/api/x`, body.secret)).status).toBe(200);
  });

  it('a past instant is refused (400) and changes nothing; the update is audited with both expiries', async () => {
    const [a] = gws as [TestGateway];
    const adminA = adminApi(a.adminUrl, TOKEN);
    const { body } = await adminA<{ key: Rec; secret: string }>('POST', '/v1/keys', { principal: 'svc-exp', expiresIn: '1d' });
    const id = body.key['id'] as string;
    const past = await adminA<{ error: Rec }>('PATCH', `/v1/keys/${id}`, { expiresAt: new Date(Date.now() - 60_000).toISOString() });
    expect([past.status, past.body.error['code'], past.body.error['field']]).toEqual([400, 'invalid_input', 'expiresAt']);
    expect((await adminA<Rec>('GET', `/v1/keys/${id}`)).body['expiresAt']).toBe(body.key['expiresAt']);
    expect((await proxiedStatus(`${a.url}/api/x`, body.secret)).status).toBe(200);

    const later = new Date(Date.now() + 5 * 86_400_000).toISOString();
    expect((await adminA('PATCH', `/v1/keys/${id}`, { expiresAt: later })).status).toBe(200);
    let event: Rec | undefined;
    for (let i = 0; i < 100 && event === undefined; i++) {
      const page = await adminA<{ items: Rec[] }>('GET', '/v1/audit?kind=admin&limit=1000');
      event = page.body.items.find((e) => e['action'] === 'key.update' && e['target'] === id);
      if (event === undefined) await new Promise((res) => setTimeout(res, 50));
    }
    expect(event?.['details']).toEqual({ fields: ['expiresAt'], expiresAt: later, previousExpiresAt: body.key['expiresAt'] });
    expect(event?.['decision']).toBe('allowed');
  });
});
