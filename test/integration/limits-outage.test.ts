/**
 * Redis away (issue 14): each replica falls back to its share of every limit — never unlimited,
 * never a 500 — counts those decisions, and shares the limit through Redis again once it is
 * back. Two gateways on one real redis-server; the outage is a real stop and restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { adminApi } from '../helpers/admin.ts';

const TOKEN = 'admin-token-for-limit-outage-0123456789';

const bot = newKey();
const metered = newKey();
let up: TestUpstream;
let redis: TestRedis;
let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  redis = await startRedis();
  const yaml = `
log: { level: silent }
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}", prefix: "out${Date.now()}", onError: serve-stale, staleTtl: 1h }
limits:
  hourly: { rate: 10/h, per: principal }
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [application:view], limit: hourly }
  plain: { actions: [application:view] }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
principals:
  - { name: bot, kind: service, roles: [viewer], keys: [{ id: bot-1, hash: "${bot.hash}" }] }
  - { name: metered, kind: service, roles: [plain], quota: { requests: 10, period: day }, keys: [{ id: metered-1, hash: "${metered.hash}" }] }
`;
  a = await startTestGateway(yaml);
  b = await startTestGateway(yaml);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await up?.close();
  await redis?.stop();
});

async function status(gw: TestGateway, path: string, secret = bot.secret): Promise<number> {
  const res = await request(`${gw.url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
  await res.body.dump();
  return res.statusCode;
}

async function metric(gw: TestGateway, line: RegExp): Promise<number> {
  return Number(line.exec(await (await request(`${gw.adminUrl}/metrics`)).body.text())?.[1] ?? NaN);
}

async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${what}`);
}

const shared = (gw: TestGateway) => metric(gw, /^keygate_limiter_shared (\d+)$/m);

describe('a limit while Redis is unreachable', () => {
  it('each replica enforces its share (10/h over 2 replicas: 5), refuses the rest with 429, and counts it', async () => {
    await until('both replicas counted', async () => (await metric(a, /^keygate_limiter_replicas (\d+)$/m)) === 2 && (await metric(b, /^keygate_limiter_replicas (\d+)$/m)) === 2);
    await redis.stop();
    const codes = [];
    for (let i = 0; i < 8; i++) codes.push(await status(a, '/api/out'));
    expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    // The other replica has its own share, no more.
    const other = [];
    for (let i = 0; i < 7; i++) other.push(await status(b, '/api/out-b'));
    expect(other).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(up.received.filter((r) => r.url.startsWith('/api/out')).length).toBe(10);
    // Every decision after the replica knew Redis was away (the first may come just before).
    expect(await metric(a, /^keygate_limiter_fallback_decisions_total (\d+)$/m)).toBeGreaterThanOrEqual(7);
    expect(await shared(a)).toBe(0);
  });

  it('once Redis is back (restarted, empty of this bucket), the limit is shared through it again', async () => {
    await redis.restart();
    await until('A shares again', async () => (await shared(a)) === 1);
    await until('B shares again', async () => (await shared(b)) === 1);
    const fallbackBefore = await metric(a, /^keygate_limiter_fallback_decisions_total (\d+)$/m);
    const codes = [];
    for (let i = 0; i < 12; i++) codes.push(await status(i % 2 === 0 ? a : b, '/api/back'));
    // One shared bucket of 10 for both, decided in Redis: the outage shares are not carried over.
    expect(codes.filter((c) => c === 200)).toHaveLength(10);
    expect(codes.slice(10)).toEqual([429, 429]);
    expect(await metric(a, /^keygate_limiter_fallback_decisions_total (\d+)$/m)).toBe(fallbackBefore);
  });

  it('a quota: each replica serves its share while Redis is away, and the fleet count learns what was served', async () => {
    await redis.stop();
    const onA = [];
    for (let i = 0; i < 7; i++) onA.push(await status(a, '/api/q-out', metered.secret));
    const onB = [];
    for (let i = 0; i < 6; i++) onB.push(await status(b, '/api/q-out', metered.secret));
    // Nothing was counted before the outage: each replica's share is 10 / 2.
    expect(onA).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(onB).toEqual([200, 200, 200, 200, 200, 429]);
    await redis.restart();
    await until('A shares again', async () => (await shared(a)) === 1);
    await until('B shares again', async () => (await shared(b)) === 1);
    // A's next lease adds its 5 to the count (5 of 10 left: it is served), then B's adds its 5:
    // the count is at the quota, B refuses.
    expect(await status(a, '/api/q-back', metered.secret)).toBe(200);
    expect(await status(b, '/api/q-back', metered.secret)).toBe(429);
    const served = up.received.filter((r) => r.url.startsWith('/api/q-')).length;
    expect(served).toBe(11);
    // The fleet count holds every request served (and at most A's one unspent lease more).
    const shown = await adminApi(a.adminUrl, TOKEN)<{ quotas: { used: number; remaining: number }[] }>('GET', '/v1/principals/metered/limits');
    expect(shown.body.quotas[0]?.used).toBeGreaterThanOrEqual(served);
    expect(shown.body.quotas[0]?.used).toBeLessThanOrEqual(served + 1);
    expect(shown.body.quotas[0]?.remaining).toBe(0);
  });
});
