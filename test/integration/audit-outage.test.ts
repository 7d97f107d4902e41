/**
 * A Redis outage under traffic: every request is still answered (cached keys, serve-stale),
 * none waits for the audit trail, every audit event that could not be written is counted in
 * keygate_audit_events_dropped_total, and the trail is written again once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi } from '../helpers/admin.ts';
import type { StoredAuditEvent } from '../../src/audit/event.ts';

const TOKEN = 'admin-token-for-audit-outage-0123';
let redis: TestRedis;
let up: TestUpstream;
let gw: TestGateway;
let call: ReturnType<typeof adminApi>;
let secret: string;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not in time`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function dropped(): Promise<number> {
  const text = await (await request(`${gw.adminUrl}/metrics`)).body.text();
  // Every reason but rate_limited (this test's requests all carry a valid key, so there are none).
  const lines = [...text.matchAll(/^keygate_audit_events_dropped_total\{reason="(\w+)"\} (\d+)$/gm)];
  if (lines.length !== 3) return NaN;
  return lines.filter((m) => m[1] !== 'rate_limited').reduce((n, m) => n + Number(m[2]), 0);
}

async function send(id: string): Promise<number> {
  const res = await request(`${gw.url}/api/x`, { headers: { authorization: `Bearer ${secret}`, 'x-request-id': id } });
  await res.body.dump();
  return res.statusCode;
}

async function newest(): Promise<string | undefined> {
  const r = await call<{ items: StoredAuditEvent[] }>('GET', '/v1/audit?limit=1');
  return r.status === 200 ? r.body.items[0]?.requestId : undefined;
}

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream({ keepBodies: false });
  gw = await startTestGateway(`
log: { level: silent }
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}", onError: serve-stale, staleTtl: 60s }
audit: { queueSize: 50, batchSize: 10, flushInterval: 20ms }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
`);
  call = adminApi(gw.adminUrl, TOKEN);
  await call('POST', '/v1/principals', { name: 'outage-bot', kind: 'service', roles: ['viewer'] });
  secret = (await call<{ secret: string }>('POST', '/v1/keys', { principal: 'outage-bot' })).body.secret;
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
  await redis?.stop();
});

describe('audit during a Redis outage', () => {
  it('loses no request; counts every event it could not write; writes again after the outage', async () => {
    expect(await send('before')).toBe(200); // the key is now cached
    await until('the first event is in the trail', async () => (await newest()) === 'before');
    expect(await dropped()).toBe(0);

    await redis.kill();
    const received = up.received.length;
    const N = 300;
    const statuses: number[] = [];
    const t0 = performance.now();
    // 20 at a time: far more than the queue (50) holds between two flush attempts.
    for (let i = 0; i < N; i += 20) {
      statuses.push(...(await Promise.all(Array.from({ length: 20 }, (_, j) => send(`during-${i + j}`)))));
    }
    const ms = performance.now() - t0;
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(up.received.length - received).toBe(N);
    // Nothing waited on Redis: 300 requests on loopback, far below one connect timeout each.
    expect(ms).toBeLessThan(10_000);

    // Each event was dropped exactly once: queue full, or its batch failed to write.
    await until('every event counted', async () => (await dropped()) >= N);
    expect(await dropped()).toBe(N);
    const read = await call<{ error: { code: string } }>('GET', '/v1/audit?limit=1');
    expect([read.status, read.body.error.code]).toEqual([503, 'store_unavailable']);
    const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/^keygate_requests_total\{route="app",method="GET",status="200"\} 301$/m);

    await redis.restart();
    let n = 0;
    await until('the trail is written again', async () => {
      const id = `after-${n++}`;
      expect(await send(id)).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
      return (await newest())?.startsWith('after-') === true;
    });
    // What was lost stays counted; nothing more was.
    const final = await dropped();
    expect(final - N).toBeLessThan(n);
  });
});
