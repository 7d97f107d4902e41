import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminApi, proxiedStatus } from '../helpers/admin.ts';

/**
 * `keygate:admin:keys:own` lets a person list, create, rename, rotate, expire and delete their
 * own keys and read their usage, "nothing else" (docs/console.md). The own-keys guard let every
 * `/v1/keys/{id}…` route through for an own key, so a user could lift the rate limit and quota
 * an administrator put on their key (`PATCH /v1/keys/{id}/limits`) or refill the quota
 * (`POST /v1/keys/{id}/quota/reset`). Reading the limits in force stays allowed.
 */
const TOKEN = 'own-keys-limits-admin-token-0123456789';
let up: TestUpstream;
let gw: TestGateway;
let admin: ReturnType<typeof adminApi>;
let aliceSecret = '';
let aliceKeyId = '';

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
upstreams: { app: { url: "${up.url}" } }
roles:
  self-service: { actions: [keygate:admin:keys:own, application:view] }
routes:
  - { name: app, path: "/api/*", methods: [GET], upstream: app, action: application:view }
`);
  admin = adminApi(gw.adminUrl, TOKEN);
  await admin('POST', '/v1/principals', { name: 'alice', kind: 'user', roles: ['self-service'] });
  const k = await admin<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'alice', name: 'alice key' });
  aliceSecret = k.body.secret;
  aliceKeyId = k.body.key.id;
  const capped = await admin('PATCH', `/v1/keys/${aliceKeyId}/limits`, { quota: { requests: 1, period: 'day' } });
  expect(capped.status, JSON.stringify(capped.body)).toBe(200);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

describe('keys:own on its own key\'s limits', () => {
  it('may read the limits in force', async () => {
    const r = await adminApi(gw.adminUrl, aliceSecret)('GET', `/v1/keys/${aliceKeyId}/limits`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  });

  it('may not lift the quota an administrator set, nor refill it', async () => {
    const alice = adminApi(gw.adminUrl, aliceSecret);
    expect((await proxiedStatus(`${gw.url}/api/x`, aliceSecret)).status).toBe(200);
    expect((await proxiedStatus(`${gw.url}/api/x`, aliceSecret)).status).toBe(429);
    const before = up.received.length;

    const lift = await alice<{ error: { code: string } }>('PATCH', `/v1/keys/${aliceKeyId}/limits`, { quota: null });
    expect(lift.status, JSON.stringify(lift.body)).toBe(403);
    expect(lift.body.error.code).toBe('forbidden');
    const reset = await alice<{ error: { code: string } }>('POST', `/v1/keys/${aliceKeyId}/quota/reset`, {});
    expect(reset.status, JSON.stringify(reset.body)).toBe(403);
    expect(reset.body.error.code).toBe('forbidden');

    // Still capped: nothing more reached the upstream.
    expect((await proxiedStatus(`${gw.url}/api/x`, aliceSecret)).status).toBe(429);
    expect(up.received.length).toBe(before);
    const l = await admin<{ overrides?: unknown }>('GET', `/v1/keys/${aliceKeyId}/limits`);
    expect(JSON.stringify(l.body)).toContain('"requests":1');
  });
});
