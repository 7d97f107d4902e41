import type { RedisConn } from '../keystore/redis/connection.ts';

/**
 * "Has this event been emitted yet?", shared by every replica: the first to claim a marker emits
 * the event, the others see it taken. Redis `SET NX PX` next to a Redis store; a Map with the
 * embedded store (one process, so nothing to share).
 */
export interface EventMarkers {
  /** True exactly once per name until `ttlMs` passes. Rejects when Redis cannot be reached (then nobody emits; the next scan tries again). */
  claim(name: string, ttlMs: number): Promise<boolean>;
}

export function createMemoryMarkers(now: () => number = Date.now): EventMarkers {
  const until = new Map<string, number>();
  let sweepAt = 0;
  return {
    async claim(name, ttlMs) {
      const t = now();
      if (t >= sweepAt) {
        for (const [k, u] of until) if (u <= t) until.delete(k);
        sweepAt = t + 60_000;
      }
      const u = until.get(name);
      if (u !== undefined && u > t) return false;
      until.set(name, t + ttlMs);
      return true;
    },
  };
}

export function createRedisMarkers(conn: RedisConn, prefix: string, starting: () => Promise<void> | null = () => null): EventMarkers {
  return {
    async claim(name, ttlMs) {
      await starting();
      return (await conn.set(`{${prefix}}:events:mark:${name}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
    },
  };
}
