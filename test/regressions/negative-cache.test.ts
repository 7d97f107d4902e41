import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { adminApi, proxiedStatus } from '../helpers/admin.ts';
import { generateSecret } from '../../src/credentials/key-format.ts';

/**
 * Issue 10, item 15: "no such key" answers shared one LRU bound with valid keys, so a flood of
 * unknown well-formed keys pushed the valid ones out, and they failed in the next outage. The
 * two kinds now have separate bounds (store.cache.max, store.cache.negativeMax), and the
 * metrics count both.
 */
const TOKEN = 'admin-token-for-negative-cache-0123';
let redis: TestRedis;
let up: TestUpstream;

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
});
afterAll(async () => {
  await up?.close();
  await redis?.stop();
});

async function metric(adminUrl: string, pattern: RegExp): Promise<number | null> {
  const text = await (await request(`${adminUrl}/metrics`)).body.text();
  const m = pattern.exec(text);
  return m?.[1] === undefined ? null : Number(m[1]);
}

describe('a flood of unknown keys', () => {
  it('never displaces a valid key: it keeps working through a later outage', { timeout: 60_000 }, async () => {
    const gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}", onError: serve-stale, staleTtl: 30s, cache: { max: 20, negativeTtl: 60s } }
# The flood must reach the key store to test its cache: the per-address limit on refused
# credentials (docs/limits.md), which would answer 429 after 50, is off here.
limiter: { refusedCredentials: { rate: "0" } }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
`);
    try {
      const call = adminApi(gw.adminUrl, TOKEN);
      await call('POST', '/v1/principals', { name: 'flooded', kind: 'service', roles: ['viewer'] });
      const { body: k } = await call<{ secret: string }>('POST', '/v1/keys', { principal: 'flooded' });
      const url = `${gw.url}/api/flood`;
      expect((await proxiedStatus(url, k.secret)).status).toBe(200);

      // Ten times the whole cache's worth of well-formed keys that do not exist, 20 at a time.
      for (let i = 0; i < 200; i += 20) {
        const batch = await Promise.all(Array.from({ length: 20 }, () => proxiedStatus(url, generateSecret())));
        expect(batch.every((r) => r.status === 401 && r.code === 'invalid_key')).toBe(true);
      }
      expect(await metric(gw.adminUrl, /^keygate_keystore_cache_entries\{kind="positive"\} (\S+)$/m)).toBe(1);
      // Counted apart, under their own bound (store.cache.negativeMax, 10 000 by default).
      expect(await metric(gw.adminUrl, /^keygate_keystore_cache_entries\{kind="negative"\} (\S+)$/m)).toBe(200);
      expect(await metric(gw.adminUrl, /^keygate_keystore_cache_total\{event="evicted"\} (\S+)$/m)).toBeNull();

      // The outage: only a key still in the cache can be served.
      await redis.stop();
      const before = up.received.length;
      const during = await proxiedStatus(url, k.secret);
      expect(during.status).toBe(200);
      expect(up.received.length).toBe(before + 1);
      expect(up.received.at(-1)?.headers.get('x-authenticated-user')).toEqual(['flooded']);
    } finally {
      await gw.close();
      await redis.restart();
    }
  });

  it('each kind is bounded by its own setting',  { timeout: 30_000 }, async () => {
    const gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}", cache: { max: 3, negativeMax: 1 } }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
`);
    try {
      const call = adminApi(gw.adminUrl, TOKEN);
      await call('POST', '/v1/principals', { name: 'many-keys', kind: 'service', roles: ['viewer'] });
      const secrets: string[] = [];
      for (let i = 0; i < 5; i++) secrets.push((await call<{ secret: string }>('POST', '/v1/keys', { principal: 'many-keys' })).body.secret);
      await new Promise((r) => setTimeout(r, 200)); // the creations' pub/sub echoes have passed
      for (const s of secrets) expect((await proxiedStatus(`${gw.url}/api/x`, s)).status).toBe(200);
      expect(await metric(gw.adminUrl, /^keygate_keystore_cache_entries\{kind="positive"\} (\S+)$/m)).toBe(3);
      expect(await metric(gw.adminUrl, /^keygate_keystore_cache_total\{event="evicted"\} (\S+)$/m)).toBe(2);
      for (let i = 0; i < 3; i++) expect((await proxiedStatus(`${gw.url}/api/x`, generateSecret())).code).toBe('invalid_key');
      expect(await metric(gw.adminUrl, /^keygate_keystore_cache_entries\{kind="negative"\} (\S+)$/m)).toBe(1);
      expect(await metric(gw.adminUrl, /^keygate_keystore_cache_total\{event="negative_evicted"\} (\S+)$/m)).toBe(2);
      expect(await metric(gw.adminUrl, /^keygate_keystore_cache_entries\{kind="positive"\} (\S+)$/m)).toBe(3);
    } finally {
      await gw.close();
    }
  });
});
