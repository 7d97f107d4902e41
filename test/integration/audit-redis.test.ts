import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { createAuditTrail } from '../../src/audit/trail.ts';
import { createRedisAuditSink } from '../../src/audit/redis-sink.ts';
import { createUsageCounter } from '../../src/usage/counter.ts';
import type { AuditEvent, StoredAuditEvent } from '../../src/audit/event.ts';
import type { AuditFilter } from '../../src/audit/query.ts';

let redis: TestRedis;
let probe: Redis;
const logger = { info() {}, warn() {} };

function ev(i: number, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: new Date().toISOString(), kind: 'request', requestId: `r${i}`, principalId: `p_${i % 3}`, principalName: ['alice', 'bob', 'carol'][i % 3] ?? null,
    keyId: `key_${i % 5}`, credential: 'bearer', route: i % 2 === 0 ? 'read' : 'write', method: 'GET', path: `/api/${i}`, status: i % 4 === 0 ? 401 : 200,
    decision: i % 4 === 0 ? 'denied' : 'allowed', reason: i % 4 === 0 ? 'invalid_key' : null, latencyMs: 0.5, client: '127.0.0.1', action: null, target: null, details: null, ...over,
  };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every page of a query, following cursors. */
async function all(query: (f: AuditFilter) => Promise<{ items: StoredAuditEvent[]; nextCursor: string | null }>, f: Omit<AuditFilter, 'cursor'>): Promise<{ items: StoredAuditEvent[]; pages: number }> {
  const items: StoredAuditEvent[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await query({ ...f, ...(cursor === null ? {} : { cursor }) });
    items.push(...page.items);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== null && pages < 10_000);
  return { items, pages };
}

beforeAll(async () => {
  redis = await startRedis();
  probe = new Redis(redis.url);
});
afterAll(async () => {
  probe?.disconnect();
  await redis?.stop();
});

describe('Redis audit sink', () => {
  it('writes batches as stream entries under {prefix}:audit, capped near maxLen', async () => {
    const drops: number[] = [];
    const trail = createAuditTrail({ store: { redis: redis.url, sentinel: null, cluster: null, prefix: 'cap' }, audit: { maxLen: 1000, batchSize: 200, flushIntervalMs: 20 }, logger, onDrop: (n) => drops.push(n) });
    for (let i = 0; i < 5000; i++) trail.record(ev(i));
    await trail.flush();
    const len = await probe.xlen('{cap}:audit');
    // MAXLEN ~ trims whole radix-tree nodes (stream-node-max-entries, 100 by default).
    expect(len).toBeGreaterThanOrEqual(1000);
    expect(len).toBeLessThan(1000 + 200);
    expect(drops).toEqual([]);
    const [[, fields]] = (await probe.xrevrange('{cap}:audit', '+', '-', 'COUNT', 1)) as [string, string[]][] as [[string, string[]]];
    expect(fields[0]).toBe('event');
    // Stored without the fields that do not apply (read back as null: see the query tests).
    const stored = Object.fromEntries(Object.entries(ev(4999, { time: expect.any(String) as unknown as string })).filter(([, v]) => v !== null));
    expect(JSON.parse(fields[1] ?? '')).toEqual(stored);
    expect(fields[1]).not.toContain('null');
    await trail.close();
  });

  it('queries by principal (id or name), key, route, decision and time, newest first, across pages', async () => {
    const trail = createAuditTrail({ store: { redis: redis.url, sentinel: null, cluster: null, prefix: 'q' }, audit: { batchSize: 100 }, logger, onDrop: () => {} });
    const before = Date.now();
    for (let i = 0; i < 600; i++) trail.record(ev(i));
    await trail.flush();
    const q = (f: AuditFilter) => trail.query(f);

    const first = await q({ limit: 3 });
    expect(first.items.map((e) => e.requestId)).toEqual(['r599', 'r598', 'r597']);
    expect(first.items[0]).toMatchObject({ kind: 'request', status: 200, latencyMs: 0.5, reason: null, details: null });
    expect(first.items[0]?.id).toMatch(/^\d+-\d+$/);

    const bob = await all(q, { principal: 'bob', limit: 7 });
    expect(bob.items.map((e) => e.requestId)).toEqual(Array.from({ length: 200 }, (_, k) => `r${598 - 3 * k}`));
    expect(bob.pages).toBeGreaterThanOrEqual(29);
    expect((await all(q, { principal: 'p_1', limit: 1000 })).items).toHaveLength(200);
    expect((await all(q, { key: 'key_2', route: 'read', limit: 1000 })).items.map((e) => e.requestId)).toEqual(Array.from({ length: 60 }, (_, k) => `r${592 - 10 * k}`));
    const denied = (await all(q, { decision: 'denied', limit: 1000 })).items;
    expect(denied).toHaveLength(150);
    expect(denied.every((e) => e.reason === 'invalid_key')).toBe(true);

    expect((await q({ sinceMs: before - 1000, limit: 1000 })).items).toHaveLength(600);
    expect((await q({ untilMs: before - 120_000, limit: 1000 }))).toEqual({ items: [], nextCursor: null });
    await trail.close();
  });

  it('a query reads a bounded stretch per call and says where to go on', async () => {
    const conn = new Redis(redis.url);
    const sink = createRedisAuditSink({ conn, prefix: 'budget', scanBudget: 50 });
    await sink.write(Array.from({ length: 300 }, (_, i) => ev(i, { principalName: i === 10 ? 'needle' : 'hay' })));
    const first = await sink.query({ principal: 'needle', limit: 10 });
    expect(first.items).toEqual([]);
    expect(first.nextCursor).not.toBeNull();
    const found = await all((f) => sink.query(f), { principal: 'needle', limit: 10 });
    expect(found.items.map((e) => e.requestId)).toEqual(['r10']);
    expect(found.pages).toBe(7); // 300 entries / 50 per call, and one more to find the end
    await expect(sink.query({ limit: 1, cursor: 'bm9wZQ' })).rejects.toThrow(/cursor/);
    sink.close();
    conn.disconnect();
  });

  it('retention: XTRIM MINID ~ removes entries older than now - retention', async () => {
    const conn = new Redis(redis.url);
    const writer = createRedisAuditSink({ conn, prefix: 'ret' });
    for (let b = 0; b < 5; b++) await writer.write(Array.from({ length: 200 }, (_, i) => ev(b * 200 + i)));
    expect(await probe.xlen('{ret}:audit')).toBe(1000);
    // Seen from an hour later with a 30-minute retention, every entry is too old.
    const later = createRedisAuditSink({ conn, prefix: 'ret', retentionMs: 1_800_000, now: () => Date.now() + 3_600_000 });
    await later.trim();
    expect(await probe.xlen('{ret}:audit')).toBeLessThanOrEqual(100); // `~`: whole nodes only
    // Seen from now with a 30-day retention, nothing is.
    await writer.write([ev(1)]);
    const len = await probe.xlen('{ret}:audit');
    await writer.trim();
    expect(await probe.xlen('{ret}:audit')).toBe(len);
    writer.close();
    later.close();
    conn.disconnect();
  });

  it('a Redis outage: record never throws or blocks, drops are counted, memory stays bounded, writes resume', async () => {
    const own = await startRedis();
    let dropped = 0;
    const warnings: string[] = [];
    const trail = createAuditTrail({
      store: { redis: own.url, sentinel: null, cluster: null, prefix: 'out' },
      audit: { queueSize: 500, batchSize: 100, flushIntervalMs: 20 },
      logger: { info() {}, warn: (_o, m) => void warnings.push(m) },
      onDrop: (n) => (dropped += n),
    });
    try {
      for (let i = 0; i < 50; i++) trail.record(ev(i));
      await trail.flush();
      await own.kill();
      const heapBefore = process.memoryUsage().heapUsed;
      const t0 = performance.now();
      for (let i = 0; i < 100_000; i++) trail.record(ev(i));
      const perRecordUs = ((performance.now() - t0) * 1000) / 100_000;
      await trail.flush();
      // Everything but what the queue could hold was dropped; what it held failed to write.
      expect(dropped).toBe(100_000);
      expect(perRecordUs).toBeLessThan(50);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
      expect(warnings).toEqual(['audit trail cannot write; dropping events until it can']); // once, not per batch

      await own.restart(); // same data directory: the first 50 are still there
      const conn = new Redis(own.url);
      await until(async () => {
        trail.record(ev(-1, { requestId: 'after' }));
        await trail.flush();
        return (await conn.xrevrange('{out}:audit', '+', '-', 'COUNT', 1)).length > 0 && (await conn.xlen('{out}:audit')) > 50;
      });
      conn.disconnect();
    } finally {
      await trail.close();
      await own.stop();
    }
  });
});

describe('usage counts in Redis', () => {
  it('flushes batched HINCRBY per key and UTC day, with an expiry, summed across replicas', async () => {
    const store = { redis: redis.url, sentinel: null, cluster: null, prefix: 'use' };
    const a = createUsageCounter({ store, logger, flushIntervalMs: 60_000 });
    const b = createUsageCounter({ store, logger, flushIntervalMs: 60_000 });
    const now = Date.now();
    const today = new Date(now).toISOString().slice(0, 10);
    for (let i = 0; i < 5; i++) a.touch('key_x', now);
    for (let i = 0; i < 3; i++) b.touch('key_x', now);
    b.touch('key_y', now);
    b.touch('key_x', now - 86_400_000);
    expect(await probe.exists('{use}:usage:key_x')).toBe(0); // nothing written per request
    await a.flush();
    await b.flush();
    expect(await probe.hget('{use}:usage:key_x', today)).toBe('8');
    const ttl = await probe.ttl('{use}:usage:key_x');
    expect(ttl).toBeGreaterThan(89 * 86_400);
    const days = await a.counts('key_x', 3, now);
    expect(days.map((d) => d.count)).toEqual([0, 1, 8]);
    expect(days[2]?.date).toBe(today);
    expect([...(await a.sevenDay(['key_x', 'key_y', 'key_z'], now))]).toEqual([['key_x', 9], ['key_y', 1], ['key_z', 0]]);
    await a.close();
    await b.close();
  });

  it('keeps counts across a failed flush (bounded) and writes them once Redis is back', async () => {
    const own = await startRedis();
    const u = createUsageCounter({ store: { redis: own.url, sentinel: null, cluster: null, prefix: 'u2' }, logger, flushIntervalMs: 60_000 });
    try {
      u.touch('k', Date.now());
      await u.flush();
      await own.stop();
      u.touch('k', Date.now());
      u.touch('k', Date.now());
      await u.flush(); // fails: kept
      expect(await u.sevenDay(['k'])).toEqual(new Map()); // unknown, not zero
      await own.restart();
      await until(async () => (await u.sevenDay(['k'])).get('k') === 3);
    } finally {
      await u.close();
      await own.stop();
    }
  });
});
