import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis } from '../helpers/redis.ts';
import { adminApi, proxiedStatus } from '../helpers/admin.ts';

const TOKEN = 'admin-token-for-failure-tests-0123';
let redis: Awaited<ReturnType<typeof startRedis>>;
let up: TestUpstream;

function yaml(onError: string, staleTtl: string): string {
  return `
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}", onError: ${onError}, staleTtl: ${staleTtl} }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
`;
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function readyStatus(gw: TestGateway): Promise<number> {
  const r = await request(`${gw.adminUrl}/readyz`);
  await r.body.dump();
  return r.statusCode;
}

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
});
afterAll(async () => {
  await up?.close();
  await redis?.stop();
});

describe('when Redis fails', () => {
  it('serve-stale: cached keys ride out the outage for staleTtl, unknown keys get 503, reconnect restores service', async () => {
    const gw = await startTestGateway(yaml('serve-stale', '3s'));
    const call = adminApi(gw.adminUrl, TOKEN);
    try {
      await call('POST', '/v1/principals', { name: 'stale-bot', kind: 'service', roles: ['viewer'] });
      const { body: k } = await call<{ secret: string }>('POST', '/v1/keys', { principal: 'stale-bot' });
      const { body: cold } = await call<{ secret: string }>('POST', '/v1/keys', { principal: 'stale-bot' });
      const url = `${gw.url}/api/x`;
      expect((await proxiedStatus(url, k.secret)).status).toBe(200); // now cached
      const before = up.received.length;

      await redis.stop();
      // Riding out the outage on the cache, the gateway stays ready and says why.
      await until(async () => (await proxiedStatus(url, cold.secret)).status === 503);
      const ready = await request(`${gw.adminUrl}/readyz`);
      expect([ready.statusCode, ((await ready.body.json()) as { checks: { store: string } }).checks.store]).toEqual([200, 'down (serving cached keys)']);
      expect((await proxiedStatus(url, k.secret)).status).toBe(200);
      expect(up.received.length).toBe(before + 1);
      expect(await proxiedStatus(url, cold.secret)).toEqual({ status: 503, code: 'keystore_unavailable' });
      const write = await call<{ error: { code: string } }>('POST', '/v1/principals', { name: 'during-outage', kind: 'user' });
      expect([write.status, write.body.error.code]).toEqual([503, 'store_unavailable']);

      // Past the stale window even the cached key is refused: a revocation elsewhere could not reach us.
      await until(async () => (await proxiedStatus(url, k.secret)).status === 503, 8_000);
      expect(await readyStatus(gw)).toBe(503);

      await redis.restart();
      await until(async () => (await readyStatus(gw)) === 200);
      await until(async () => (await proxiedStatus(url, k.secret)).status === 200);
      // A key never cached resolves from Redis too. Polled, bounded: on a loaded CI machine the first
      // lookups on a fresh connection can overrun the 1 s command timeout once (seen at load 20);
      // a replica stuck after the store is back still fails here.
      await until(async () => (await proxiedStatus(url, cold.secret)).status === 200, 5_000);
      expect((await call('GET', '/v1/principals/during-outage')).status).toBe(404); // the failed write left nothing behind
    } finally {
      await gw.close();
    }
  });

  it('deny: every request that needs the store is refused at once', async () => {
    const gw = await startTestGateway(yaml('deny', '30s'));
    const call = adminApi(gw.adminUrl, TOKEN);
    try {
      await call('POST', '/v1/principals', { name: 'deny-bot', kind: 'service', roles: ['viewer'] });
      const { body: k } = await call<{ secret: string }>('POST', '/v1/keys', { principal: 'deny-bot' });
      const url = `${gw.url}/api/x`;
      expect((await proxiedStatus(url, k.secret)).status).toBe(200);
      await redis.stop();
      await until(async () => (await readyStatus(gw)) === 503);
      expect(await proxiedStatus(url, k.secret)).toEqual({ status: 503, code: 'keystore_unavailable' });
      await redis.restart();
      await until(async () => (await proxiedStatus(url, k.secret)).status === 200);
    } finally {
      await gw.close();
    }
  });
});
