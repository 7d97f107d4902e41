import type { RedisConn } from '../keystore/redis/connection.ts';
import { runScript } from '../keystore/redis/scripts.ts';
import { openSideConnection, type StoreTarget } from '../audit/connection.ts';
import type { LimitBackend, QuotaRef } from './backend.ts';
import { HEARTBEAT, QUOTA_LEASE, QUOTA_SET, QUOTA_USED, RATE_LEASE } from './scripts.ts';

/** Replicas not heard from for this long no longer count towards the outage share. */
export const REPLICA_WINDOW_MS = 10_000;

/**
 * The shared budgets in Redis, on a connection of their own (like the audit trail's): a lease
 * must not queue behind key lookups, nor they behind it. No offline queue: while Redis is away
 * a lease fails at once and the limiter falls back to its share.
 */
export function createRedisLimitBackend(store: StoreTarget, lent?: RedisConn): LimitBackend & { replicasKey: string } {
  const side = openSideConnection(store, lent);
  const root = `{${store.prefix}}:limits:`;
  const replicasKey = `${root}replicas`;
  const run = async (s: Parameters<typeof runScript>[1], key: string, args: (string | number)[]): Promise<unknown> => {
    await side.starting();
    return runScript(side.conn, s, [key], args);
  };
  return {
    kind: 'redis',
    replicasKey,
    async leaseRate(key, rate, burst, want, give) {
      const r = (await run(RATE_LEASE, `${root}r:${key}`, [rate.count, rate.periodMs, burst, want, give])) as [number, string, number];
      return { granted: Number(r[0]), left: Number(r[1]), waitMs: Number(r[2]) };
    },
    async leaseQuota(ref: QuotaRef, requests, want, give, spent, expireAt) {
      const r = (await run(QUOTA_LEASE, `${root}q:${ref.key}`, [ref.period, requests, want, give, spent, expireAt])) as [number, number];
      return { granted: Number(r[0]), used: Number(r[1]) };
    },
    async quotaUsed(refs) {
      return Promise.all(refs.map(async (ref) => Number(await run(QUOTA_USED, `${root}q:${ref.key}`, [ref.period]))));
    },
    async setQuotaUsed(ref, used, expireAt) {
      await run(QUOTA_SET, `${root}q:${ref.key}`, [ref.period, used, expireAt]);
    },
    async heartbeat(replicaId) {
      return Number(await run(HEARTBEAT, replicasKey, [replicaId, REPLICA_WINDOW_MS]));
    },
    async close() {
      await side.close();
    },
  };
}
