/**
 * The webhook delivery queue, in process and in a real redis-server: one behaviour, so the docs'
 * "Redis or in process" table differs only in what survives a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { createMemoryDeliveries } from '../../src/webhooks/memory-deliveries.ts';
import { createRedisDeliveries } from '../../src/webhooks/redis-deliveries.ts';
import type { DeliveryStore, QueuedDelivery } from '../../src/webhooks/deliveries.ts';

let redis: TestRedis;
let conn: Redis;
let prefixes = 0;
beforeAll(async () => {
  redis = await startRedis();
  conn = new Redis(redis.url);
});
afterAll(async () => {
  conn?.disconnect();
  await redis?.stop();
});

const T = new Date('2026-12-04T12:00:00Z');
const at = (ms: number) => new Date(T.getTime() + ms);
let n = 0;
function item(webhook = 'ops'): QueuedDelivery {
  const id = `dlv_${++n}`;
  const iso = T.toISOString();
  return {
    record: { id, webhook, eventId: `evt_${n}`, eventType: 'key.created', status: 'pending', attempts: 0, createdAt: iso, updatedAt: iso, nextAttemptAt: iso, lastStatus: null, lastError: null },
    body: JSON.stringify({ id: `evt_${n}`, type: 'key.created' }),
  };
}

const stores: [string, (o: { maxPending: number; maxLog: number }) => DeliveryStore][] = [
  ['memory', (o) => createMemoryDeliveries(o)],
  ['redis', (o) => createRedisDeliveries({ conn, prefix: `dq${++prefixes}`, ...o })],
];

describe.each(stores)('%s delivery store', (_name, make) => {
  it('claims due deliveries once, counting the attempt, and retries them when due again', async () => {
    const s = make({ maxPending: 100, maxLog: 100 });
    const [x, y] = [item(), item()];
    expect(await s.enqueue([x, y], T)).toBe(0);
    const first = await s.claim(T, 10, 30_000);
    expect(first.map((d) => [d.record.id, d.record.status, d.record.attempts, d.body])).toEqual([[x.record.id, 'delivering', 1, x.body], [y.record.id, 'delivering', 1, y.body]]);
    expect(await s.claim(at(1), 10, 30_000)).toEqual([]); // leased
    await s.settle(x.record.id, { outcome: 'retry', at: at(10), nextAt: at(1_000), lastStatus: 500, lastError: 'HTTP 500' });
    await s.settle(y.record.id, { outcome: 'delivered', at: at(10), lastStatus: 204 });
    expect(await s.claim(at(999), 10, 30_000)).toEqual([]);
    const again = await s.claim(at(1_000), 10, 30_000);
    expect(again.map((d) => [d.record.id, d.record.attempts, d.body])).toEqual([[x.record.id, 2, x.body]]);
    await s.settle(x.record.id, { outcome: 'failed', at: at(2_000), lastStatus: null, lastError: 'connect ECONNREFUSED' });
    expect(await s.pending()).toBe(0);
    const log = await s.list({ limit: 10 });
    expect(log.map((r) => [r.id, r.status, r.attempts, r.lastStatus, r.lastError, r.nextAttemptAt])).toEqual([
      [y.record.id, 'delivered', 1, 204, null, null],
      [x.record.id, 'failed', 2, null, 'connect ECONNREFUSED', null],
    ].sort((a, b) => (a[0] as string) < (b[0] as string) ? 1 : -1));
    expect((await s.list({ limit: 10, status: 'failed' })).map((r) => r.id)).toEqual([x.record.id]);
    expect((await s.list({ limit: 10, eventId: y.record.eventId })).map((r) => r.id)).toEqual([y.record.id]);
  });

  it('a lease that runs out (the worker died) makes the delivery claimable again: at least once', async () => {
    const s = make({ maxPending: 100, maxLog: 100 });
    const x = item();
    await s.enqueue([x], T);
    expect(await s.claim(T, 1, 5_000)).toHaveLength(1);
    expect(await s.claim(at(4_999), 1, 5_000)).toHaveLength(0);
    const re = await s.claim(at(5_000), 1, 5_000);
    expect(re.map((d) => [d.record.id, d.record.attempts])).toEqual([[x.record.id, 2]]);
  });

  it('refuses beyond maxPending and keeps only maxLog settled records, never dropping one still owed', async () => {
    const s = make({ maxPending: 3, maxLog: 2 });
    const items = [item(), item(), item(), item(), item()];
    expect(await s.enqueue(items, T)).toBe(2);
    expect(await s.pending()).toBe(3);
    const claimed = await s.claim(T, 10, 1_000);
    expect(claimed).toHaveLength(3);
    for (const d of claimed) await s.settle(d.record.id, { outcome: 'delivered', at: at(1), lastStatus: 200 });
    expect(await s.enqueue([item()], at(2))).toBe(0);
    expect(await s.pending()).toBe(1);
    expect((await s.list({ limit: 100 })).length).toBeLessThanOrEqual(3);
    expect((await s.claim(at(3), 10, 1_000))).toHaveLength(1); // the owed one survived the trim
  });

  it('filters by webhook, newest first, within the limit', async () => {
    const s = make({ maxPending: 100, maxLog: 100 });
    const items = [item('a'), item('b'), item('a')];
    for (const [i, d] of items.entries()) await s.enqueue([d], at(i));
    expect((await s.list({ limit: 10, webhook: 'a' })).map((r) => r.id)).toEqual([items[2]!.record.id, items[0]!.record.id]);
    expect(await s.list({ limit: 1 })).toHaveLength(1);
  });
});
