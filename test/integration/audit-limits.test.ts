/**
 * What the audit trail does with hostile input: anonymous floods are sampled per client (and
 * counted), keys sent in a path are masked, and nonsense query bounds are a 400, not a
 * "store unavailable" that would page someone. Embedded store (the in-process ring) and Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi } from '../helpers/admin.ts';
import { newKey } from '../helpers/keys.ts';
import { generateSecret } from '../../src/credentials/key-format.ts';
import type { AuditPage } from '../../src/audit/query.ts';

const TOKEN = 'admin-token-for-audit-limit-tests-0123';
const viewer = newKey();
let up: TestUpstream;
let redis: TestRedis;

const config = (store: string) => `
log: { level: silent }
admin: { token: "${TOKEN}" }
${store}
audit: { anonymousRate: 1, flushInterval: 20ms }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
principals:
  - { name: ci-bot, kind: service, roles: [viewer], keys: [{ id: ci-bot-1, hash: "${viewer.hash}" }] }
`;

beforeAll(async () => {
  up = await startUpstream();
  redis = await startRedis();
});
afterAll(async () => {
  await up?.close();
  await redis?.stop();
});

async function get(gw: TestGateway, path: string, secret: string | null): Promise<number> {
  const res = await request(`${gw.url}${path}`, { headers: secret === null ? {} : { authorization: `Bearer ${secret}` } });
  await res.body.dump();
  return res.statusCode;
}

async function droppedRateLimited(gw: TestGateway): Promise<number> {
  const text = await (await request(`${gw.adminUrl}/metrics`)).body.text();
  return Number(/^keygate_audit_events_dropped_total\{reason="rate_limited"\} (\d+)$/m.exec(text)?.[1] ?? NaN);
}

for (const [name, store] of [['embedded store', ''], ['Redis store', 'redis']] as const) {
  describe(name, () => {
    let gw: TestGateway;
    let call: ReturnType<typeof adminApi>;
    beforeAll(async () => {
      gw = await startTestGateway(config(store === '' ? '' : `store: { redis: "${redis.url}", prefix: "lim${Date.now()}" }`));
      call = adminApi(gw.adminUrl, TOKEN);
    });
    afterAll(async () => {
      await gw?.close();
    });

    const events = async (q: string) => {
      // The Redis trail writes in batches: poll until the count settles.
      let last = -1;
      for (let i = 0; i < 50; i++) {
        const r = await call<AuditPage>('GET', `/v1/audit?${q}&limit=1000`);
        expect(r.status).toBe(200);
        if (r.body.items.length === last) return r.body.items;
        last = r.body.items.length;
        await new Promise((res) => setTimeout(res, 60));
      }
      throw new Error('the trail did not settle');
    };

    it('records anonymous refusals up to the per-client burst, counts the rest, and every authenticated request', async () => {
      // anonymousRate 1: a burst of 10, then one a second. 40 refusals within a few hundred ms.
      const upBefore = up.received.filter((r) => r.url.startsWith('/api/b')).length;
      const refused = await Promise.all(Array.from({ length: 40 }, (_, i) => get(gw, `/api/a${i}`, i % 2 === 0 ? null : generateSecret())));
      expect(new Set(refused)).toEqual(new Set([401]));
      const allowed = await Promise.all(Array.from({ length: 30 }, (_, i) => get(gw, `/api/b${i}`, viewer.secret)));
      expect(new Set(allowed)).toEqual(new Set([200]));

      const denied = await events('decision=denied');
      expect(denied.length).toBeGreaterThanOrEqual(10);
      expect(denied.length).toBeLessThanOrEqual(12); // the bucket refills a little while the flood runs
      expect(await droppedRateLimited(gw)).toBe(40 - denied.length);
      expect(await events('decision=allowed')).toHaveLength(30); // never limited
      expect(up.received.filter((r) => r.url.startsWith('/api/b')).length - upBefore).toBe(30);
    });

    it('masks a key sent as part of the path, in the trail and the log', async () => {
      await new Promise((r) => setTimeout(r, 1100)); // one more anonymous event allowed
      const key = generateSecret();
      expect(await get(gw, `/api/items%3FapiKey=${key}`, null)).toBe(401);
      const denied = await events('decision=denied');
      const paths = denied.map((e) => e.path);
      expect(paths).toContain('/api/items%3FapiKey=kg_[redacted]');
      expect(JSON.stringify(denied)).not.toContain(key.slice(3));
      expect(await gw.logs()).not.toContain(key.slice(3));
    });

    it('refuses time bounds before 1970 or far ahead, and forged cursors, with 400 and the field', async () => {
      for (const q of ['until=1969-01-01', 'since=1969-12-31T00:00:00Z', 'until=99999999d', 'since=2999-01-01']) {
        const r = await call<{ error: { code: string; field?: string } }>('GET', `/v1/audit?${q}`);
        expect([q, r.status, r.body.error.code]).toEqual([q, 400, 'invalid_input']);
      }
      const forged = Buffer.from(store === '' ? 'm:abc' : 'r:0-0').toString('base64url');
      const r = await call<{ error: { field?: string } }>('GET', `/v1/audit?cursor=${forged}`);
      expect([r.status, r.body.error.field]).toEqual([400, 'cursor']);
    });

    it('resolves a relative since once: the next page link carries an absolute time', async () => {
      const res = await request(`${gw.adminUrl}/v1/audit?since=1h&limit=2&format=csv`, { headers: { authorization: `Bearer ${TOKEN}` } });
      await res.body.dump();
      const link = String(res.headers['link'] ?? '');
      expect(link).toMatch(/since=\d{4}-\d{2}-\d{2}T\d{2}%3A\d{2}%3A\d{2}\.\d{3}Z/);
      expect(link).not.toContain('since=1h');
    });
  });
}
