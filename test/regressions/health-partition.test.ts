import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startRelay, type TestRelay } from '../helpers/relay.ts';
import { adminApi, proxiedStatus } from '../helpers/admin.ts';
import { health, stall, within } from '../helpers/store-faults.ts';

/**
 * Issue 10, item 13: during a stall or a silent partition (no TCP reset, so ioredis reports
 * nothing) /readyz said ready and keygate_keystore_up was 1, and a replica cut off from the
 * invalidation channel kept serving a key revoked elsewhere for as long as the partition lasted.
 * Now a heartbeat on both Redis connections notices within 5 s, and the stale window counts
 * from the last moment the replica is known to have heard every invalidation.
 */
const TOKEN = 'admin-token-for-health-partition-01';
let redis: TestRedis;
let up: TestUpstream;
let relay: TestRelay;

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  relay = await startRelay(redis.port);
});
afterAll(async () => {
  relay?.set({ kind: 'pass' });
  await relay?.close();
  await up?.close();
  await redis?.stop();
});

function yaml(url: string, store: string): string {
  return `
admin: { token: "${TOKEN}" }
store: { redis: "${url}", ${store} }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
`;
}

async function storeCheck(adminUrl: string): Promise<string> {
  const r = await request(`${adminUrl}/readyz`);
  return ((await r.body.json()) as { checks: { store: string } }).checks.store;
}

describe('a silent partition (the relay stops forwarding, nothing is closed)', () => {
  it('deny: /readyz and keygate_keystore_up say so within 5 s, and recover when it heals', { timeout: 30_000 }, async () => {
    const gw = await startTestGateway(yaml(relay.url, 'onError: deny'));
    try {
      expect(await health(gw.adminUrl)).toEqual({ ready: 200, up: 1 });
      await stall('relay-blackhole', 6000, redis, relay, async () => {
        const took = await within('partition noticed', 5000, async () => {
          const h = await health(gw.adminUrl);
          return h.ready === 503 && h.up === 0;
        });
        expect(took).toBeLessThanOrEqual(5000);
        expect(await storeCheck(gw.adminUrl)).toBe('down');
      });
      await within('healed', 3000, async () => {
        const h = await health(gw.adminUrl);
        return h.ready === 200 && h.up === 1;
      });
    } finally {
      await gw.close();
    }
  });

  it('serve-stale: stays ready on cached keys but says the store is down', { timeout: 30_000 }, async () => {
    const gw = await startTestGateway(yaml(relay.url, 'onError: serve-stale, staleTtl: 30s'));
    try {
      await stall('relay-blackhole', 5000, redis, relay, async () => {
        await within('partition noticed', 5000, async () => (await health(gw.adminUrl)).up === 0);
        expect(await health(gw.adminUrl)).toEqual({ ready: 200, up: 0 });
        expect(await storeCheck(gw.adminUrl)).toBe('down (serving cached keys)');
      });
      await within('healed', 3000, async () => (await health(gw.adminUrl)).up === 1);
      expect(await storeCheck(gw.adminUrl)).toBe('up');
    } finally {
      await gw.close();
    }
  });

  it('a key revoked on another replica stops on the cut-off one within max(cache.ttl, staleTtl) + 1.5 s', { timeout: 30_000 }, async () => {
    const store = 'onError: serve-stale, staleTtl: 2s, cache: { ttl: 2s }';
    const cut = await startTestGateway(yaml(relay.url, store));
    const other = await startTestGateway(yaml(redis.url, store));
    try {
      const call = adminApi(other.adminUrl, TOKEN);
      expect((await call('POST', '/v1/principals', { name: 'partitioned', kind: 'service', roles: ['viewer'] })).status).toBe(201);
      const { body: k } = await call<{ secret: string; key: { id: string } }>('POST', '/v1/keys', { principal: 'partitioned' });
      const url = `${cut.url}/api/partitioned`;
      expect((await proxiedStatus(url, k.secret)).status).toBe(200); // cached on the replica about to be cut off
      const bound = 2000 + 1500;

      let stoppedAfter = -1;
      await stall('relay-blackhole', 7000, redis, relay, async () => {
        await new Promise((r) => setTimeout(r, 200));
        const revokedAt = Date.now();
        expect((await call('POST', `/v1/keys/${k.key.id}/expire`)).status).toBe(200); // revoked now, on every replica that hears it
        // The other replica knows at once.
        expect(await proxiedStatus(`${other.url}/api/partitioned`, k.secret)).toMatchObject({ status: 401, code: 'key_expired' });
        // The cut-off one cannot know: it may serve the key a little longer, never past the bound.
        const before = up.received.length;
        await within('revoked key stops on the cut-off replica', bound + 1000, async () => (await proxiedStatus(url, k.secret)).status !== 200);
        stoppedAfter = Date.now() - revokedAt;
        const servedLate = up.received.slice(before).length;
        expect(stoppedAfter).toBeLessThanOrEqual(bound);
        expect(await proxiedStatus(url, k.secret)).toEqual({ status: 503, code: 'keystore_unavailable' });
        expect(up.received.length).toBe(before + servedLate); // nothing more got through
      });
      expect(stoppedAfter).toBeGreaterThanOrEqual(0);
      // Healed: the replica flushed what it could not hear about and now knows the key is revoked.
      await within('revocation learned after healing', 3000, async () => (await proxiedStatus(url, k.secret)).code === 'key_expired');
    } finally {
      await cut.close();
      await other.close();
    }
  });
});
