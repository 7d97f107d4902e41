/**
 * Rate limits and quotas on one gateway (issue 14): the 429s name the policy, carry Retry-After
 * and the draft RateLimit headers, every admitted request reached the upstream and no refused
 * one did. Embedded store and Redis, same semantics. Rates are per hour so no refill happens
 * within a test: counts, not timings, decide.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { adminApi } from '../helpers/admin.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';

const viewer = newKey();
const second = newKey();
const quoted = newKey();
const guest = newKey();
let up: TestUpstream;
let redis: TestRedis;

const config = (store: string) => `
log: { level: silent }
${store}
limiter: { refusedCredentials: { rate: 1/h, burst: 3 } }
limits:
  standard: { rate: 5/h, burst: 3, per: principal }
  tight: { rate: 2/h, per: key }
  roomy: { rate: 1000/h }
  exports: { rate: 1/h, per: principal }
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [application:view], limit: standard }
  wide: { actions: [application:view], limit: roomy }
routes:
  - { name: export, path: /api/export, upstream: app, action: application:view, limit: exports }
  - { name: app, path: "/api/*", upstream: app, action: application:view }
  - { name: open, path: "/open", upstream: app, public: true }
principals:
  - name: ci-bot
    kind: service
    roles: [viewer, wide]
    keys:
      - { id: ci-bot-1, hash: "${viewer.hash}" }
      - { id: ci-bot-2, hash: "${second.hash}", limit: tight }
  - name: metered
    kind: service
    roles: [wide]
    quota: { requests: 2, period: day }
    keys: [{ id: metered-1, hash: "${quoted.hash}" }]
  - { name: guest, kind: user, roles: [wide], keys: [{ id: guest-1, hash: "${guest.hash}" }] }
`;

beforeAll(async () => {
  up = await startUpstream();
  redis = await startRedis();
});
afterAll(async () => {
  await up?.close();
  await redis?.stop();
});

async function get(gw: TestGateway, path: string, secret: string | null) {
  const res = await request(`${gw.url}${path}`, { headers: secret === null ? {} : { authorization: `Bearer ${secret}` } });
  const text = await res.body.text();
  const h = (n: string) => res.headers[n] as string | undefined;
  return { status: res.statusCode, body: text, policy: h('ratelimit-policy'), state: h('ratelimit'), retryAfter: h('retry-after') };
}

const forwarded = (path: string) => up.received.filter((r) => r.url === path).length;

for (const [name, store] of [['embedded store', ''], ['Redis store', 'redis']] as const) {
  describe(name, () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(config(store === '' ? '' : `store: { redis: "${redis.url}", prefix: "lim${Date.now()}" }`));
    });
    afterAll(async () => {
      await gw?.close();
    });

    it('admits the burst of the tightest role limit, then 429 rate_limited naming it, with Retry-After and RateLimit headers', async () => {
      const path = `/api/a-${store}`;
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await get(gw, path, viewer.secret));
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 429, 429]);
      expect(forwarded(path)).toBe(3);
      // The tighter of the two roles (standard, 5/h) governs, not roomy.
      expect(results[0]?.policy).toBe('"standard";q=5;w=3600');
      expect(results[0]?.state).toMatch(/^"standard";r=2;t=\d+$/);
      const refused = results[3];
      expect(JSON.parse(refused?.body ?? '{}').error).toMatchObject({ code: 'rate_limited' });
      expect(JSON.parse(refused?.body ?? '{}').error.message).toContain('"standard"');
      expect(Number(refused?.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(refused?.state).toMatch(/^"standard";r=0;t=\d+$/);
    });

    it('a key limit replaces the principal\'s; per: key counts that key alone', async () => {
      const path = `/api/k-${store}`;
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await get(gw, path, second.secret)).status);
      expect(codes).toEqual([200, 200, 429]);
      expect(forwarded(path)).toBe(2);
    });

    it('a route limit applies on its route, beside the caller\'s own, and is reported with it', async () => {
      const first = await get(gw, '/api/export', guest.secret);
      const again = await get(gw, '/api/export', guest.secret);
      expect([first.status, again.status]).toEqual([200, 429]);
      expect(first.policy).toBe('"exports";q=1;w=3600, "roomy";q=1000;w=3600');
      expect(JSON.parse(again.body).error.message).toContain('"exports"');
      // Other routes are not counted against the route's limit.
      expect((await get(gw, `/api/other-${store}`, guest.secret)).status).toBe(200);
    });

    it('a quota allows its requests per period, then 429 quota_exhausted until the period ends', async () => {
      const path = `/api/q-${store}`;
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await get(gw, path, quoted.secret));
      expect(results.map((r) => r.status)).toEqual([200, 200, 429]);
      expect(forwarded(path)).toBe(2);
      expect(results[0]?.policy).toBe('"roomy";q=1000;w=3600, "principal-quota";q=2;w=86400');
      expect(results[1]?.state).toMatch(/"principal-quota";r=0;t=\d+$/);
      const err = JSON.parse(results[2]?.body ?? '{}').error;
      expect(err.code).toBe('quota_exhausted');
      // Exported with bounded labels: scope and state, never who.
      const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
      expect(metrics).toMatch(/^keygate_quota_counters\{scope="principal",state="exhausted"\} 1$/m);
      expect(metrics).toMatch(/^keygate_quota_refusals_total\{scope="principal"\} 1$/m);
      expect(metrics).not.toContain('metered');
      const untilMidnight = (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) - Date.now()) / 1000;
      expect(Math.abs(Number(results[2]?.retryAfter) - untilMidnight)).toBeLessThan(60);
    });

    it('public routes carry no limit headers', async () => {
      const r = await get(gw, '/open', null);
      expect(r.status).toBe(200);
      expect(r.policy).toBeUndefined();
    });
  });
}

describe('refused credentials before authentication', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(config(`store: { redis: "${redis.url}", prefix: "rc${Date.now()}" }`));
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('after a burst of unknown keys, one address gets 429 without store lookups; a cached valid key still works', async () => {
    // Cache the valid key first.
    expect((await get(gw, '/api/cached', guest.secret)).status).toBe(200);
    const lookups = async () => Number(/^keygate_keystore_duration_seconds_count\{op="find_by_hash"\} (\d+)$/m.exec(await (await request(`${gw.adminUrl}/metrics`)).body.text())?.[1] ?? 0);
    const before = await lookups();
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await get(gw, '/api/x', `unknown-${i}-${'x'.repeat(20)}`)).status);
    expect(codes).toEqual([401, 401, 401, 429, 429, 429]);
    // Three store lookups for the three counted refusals, none for the 429s.
    expect((await lookups()) - before).toBe(3);
    const refused = await get(gw, '/api/x', 'unknown-again-xxxxxxxxxxxxxxxxxxxx');
    expect(JSON.parse(refused.body).error.code).toBe('too_many_failed_credentials');
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await get(gw, '/api/cached', guest.secret)).status).toBe(200);
    const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/^keygate_refused_credentials_limited_total\{credential="bearer"\} 4$/m);
  });
});

describe('the audit trail under a hammered limit', () => {
  it('samples 429 rate_limited per principal like anonymous refusals, so they cannot flush the capped trail', async () => {
    const token = 'admin-token-for-limit-audit-0123456789';
    const gw = await startTestGateway(config('').replace('log: { level: silent }', `log: { level: silent }\nadmin: { token: "${token}" }\naudit: { anonymousRate: 1 }`));
    try {
      const codes = [];
      for (let i = 0; i < 30; i++) codes.push((await get(gw, '/api/hammer', second.secret)).status);
      expect(codes.filter((c) => c === 429)).toHaveLength(28);
      const events = await adminApi(gw.adminUrl, token)<{ items: { reason: string | null }[] }>('GET', '/v1/audit?principal=ci-bot&limit=1000');
      // Burst of ten (anonymousRate × 10), then one a second: at most a few more within the test.
      const limited = events.body.items.filter((e) => e.reason === 'rate_limited').length;
      expect(limited).toBeGreaterThanOrEqual(10);
      expect(limited).toBeLessThan(20);
      expect(events.body.items.filter((e) => e.reason === null)).toHaveLength(2);
    } finally {
      await gw.close();
    }
  });
});

describe('limit.exceeded events', () => {
  it('a hammered limit reaches a webhook receiver as one signed event, not one per 429', async () => {
    const secretKey = 'whsec_limits_0123456789abcdef';
    const receiver = await startReceiver(secretKey);
    const gw = await startTestGateway(config('').replace('log: { level: silent }', `log: { level: silent }
webhooks:
  - { name: ops, url: "${receiver.url}", secret: "${secretKey}", events: [limit.exceeded] }`));
    try {
      const codes = [];
      for (let i = 0; i < 12; i++) codes.push((await get(gw, '/api/events', second.secret)).status);
      expect(codes.filter((c) => c === 429)).toHaveLength(10);
      const [got] = await receiver.waitFor(1);
      expect(got?.verdict).toBe('ok');
      expect(got?.event).toMatchObject({ type: 'limit.exceeded', data: { limit: 'tight', kind: 'rate', per: 'key', keyId: 'ci-bot-2', principalId: 'cfg:ci-bot', route: 'app' } });
      // Ten refusals within a second of one bucket: one event (give a second one time to show up).
      await new Promise((r) => setTimeout(r, 300));
      expect(receiver.received.filter((r) => r.event?.type === 'limit.exceeded')).toHaveLength(1);
    } finally {
      await gw.close();
      await receiver.close();
    }
  });
});
