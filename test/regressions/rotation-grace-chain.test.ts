import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminApi, proxiedStatus } from '../helpers/admin.ts';

/**
 * `keys.maxPerPrincipal` counts live keys when one is created, but a rotation adds its new key
 * without that check, and with a grace period the old one stays live. Rotating the new key again
 * with a grace, and again, gave a person holding only `keygate:admin:keys:own` any number of
 * working keys (five with maxPerPrincipal 1, ten-year graces). A graced rotation is now refused
 * (409 `conflict`) while the key's own predecessor is still in its grace period; a rotation
 * without grace, which adds nothing, is not. Nor can a key already rotated out, still working in
 * its grace, be rotated again (each time it gave one more key).
 */
const TOKEN = 'rotation-grace-chain-admin-token-0123';
let up: TestUpstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
log: { level: silent }
keys: { maxPerPrincipal: 1 }
upstreams: { app: { url: "${up.url}" } }
roles:
  self-service: { actions: [keygate:admin:keys:own, application:view] }
routes:
  - { name: app, path: "/api/*", methods: [GET], upstream: app, action: application:view }
`);
  await adminApi(gw.adminUrl, TOKEN)('POST', '/v1/principals', { name: 'alice', kind: 'user', roles: ['self-service'] });
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

type KeyBody = { key: { id: string }; secret: string };

describe('rotating with a grace period, again and again', () => {
  it('keys:own: the second graced rotation is refused; the number of working keys stays at two', async () => {
    const first = (await adminApi(gw.adminUrl, TOKEN)<KeyBody>('POST', '/v1/keys', { principal: 'alice' })).body;
    const second = await adminApi(gw.adminUrl, first.secret)<KeyBody>('POST', `/v1/keys/${first.key.id}/rotate`, { grace: '3650d' });
    expect(second.status).toBe(201);
    const third = await adminApi(gw.adminUrl, second.body.secret)<{ error: { code: string } }>('POST', `/v1/keys/${second.body.key.id}/rotate`, { grace: '3650d' });
    expect([third.status, third.body.error.code]).toEqual([409, 'conflict']);
    // Nor can the key already rotated out (still working in its grace) be rotated again.
    const again = await adminApi(gw.adminUrl, first.secret)<{ error: { code: string } }>('POST', `/v1/keys/${first.key.id}/rotate`, { grace: '3650d' });
    expect([again.status, again.body.error.code]).toEqual([409, 'conflict']);
    const working = [];
    for (const s of [first.secret, second.body.secret]) working.push((await proxiedStatus(`${gw.url}/api/x`, s)).status);
    expect(working).toEqual([200, 200]);
    const listed = await adminApi(gw.adminUrl, TOKEN)<{ items: unknown[] }>('GET', '/v1/keys?principal=alice');
    expect(listed.body.items).toHaveLength(2);
  });

  it('without grace the rotation goes ahead (the old key ends at once), and so does a graced one once the predecessor is expired', async () => {
    const admin = adminApi(gw.adminUrl, TOKEN);
    const p = (await admin<{ id: string }>('POST', '/v1/principals', { name: 'bob', kind: 'user', roles: ['self-service'] })).body;
    const a = (await admin<KeyBody>('POST', '/v1/keys', { principal: p.id })).body;
    const b = (await admin<KeyBody>('POST', `/v1/keys/${a.key.id}/rotate`, { grace: '1h' })).body;
    const c = await admin<KeyBody>('POST', `/v1/keys/${b.key.id}/rotate`, {});
    expect(c.status).toBe(201);
    expect((await proxiedStatus(`${gw.url}/api/x`, b.secret)).status).toBe(401);
    expect((await admin('POST', `/v1/keys/${a.key.id}/expire`)).status).toBe(200);
    const d = await admin<KeyBody>('POST', `/v1/keys/${c.body.key.id}/rotate`, { grace: '1h' });
    expect(d.status).toBe(201);
  });
});
