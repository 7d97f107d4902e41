import type { StoreConfig } from '../config/types.ts';
import { connectCommand, type RedisConn, type RedisTarget } from '../keystore/redis/connection.ts';

/** Where the store is; credentials and TLS are optional so callers naming "no Redis" need not spell them out. */
export type StoreTarget = Pick<StoreConfig, 'redis' | 'sentinel' | 'cluster' | 'prefix'> & Partial<Pick<StoreConfig, 'username' | 'password' | 'tls'>>;

/** The store's `redis`/`sentinel`/`cluster` settings, with credentials and TLS, as ioredis connection targets. */
export function redisTarget(s: StoreTarget): RedisTarget {
  return {
    ...(s.redis === '' ? {} : { url: s.redis }),
    ...(s.sentinel === null ? {} : { sentinels: s.sentinel.nodes, sentinelName: s.sentinel.name, sentinelPassword: s.sentinel.password }),
    ...(s.cluster === null ? {} : { cluster: s.cluster }),
    ...(s.username === undefined ? {} : { username: s.username }),
    ...(s.password === undefined ? {} : { password: s.password }),
    ...(s.tls === undefined ? {} : { tls: s.tls }),
  };
}

/** Is the store Redis (standalone, Sentinel or Cluster) rather than the embedded one? */
export function isRedis(s: StoreTarget): boolean {
  return s.redis !== '' || s.sentinel !== null || s.cluster !== null;
}

/** A connection of the audit trail or the usage counter, and when its first connect is over. */
export interface SideConnection {
  conn: RedisConn;
  /**
   * A promise while the first connection attempt is under way (bounded), else null. The
   * connection has no offline queue — calls fail at once while Redis is away, which is what
   * writers off the request path want — but a write right after start should wait for the
   * socket to open rather than count as an outage.
   */
  starting(): Promise<void> | null;
  /** Closes it, unless it was lent by the caller. */
  close(): Promise<void>;
}

/**
 * A command connection to the store's Redis, as the key store opens it (same URL / Sentinel /
 * Cluster handling and timeouts), but separate: a pipelined batch must not queue key lookups
 * behind it. `lent`: use this connection instead (tests), and leave closing it to its owner.
 */
export function openSideConnection(s: StoreTarget, lent?: RedisConn, firstConnectMs = 2_500): SideConnection {
  const conn = lent ?? connectCommand(redisTarget(s), {});
  // Connection errors surface as failed calls, which the owners count and log once per outage.
  if (lent === undefined) conn.on('error', () => {});
  let starting: Promise<void> | null = conn.status === 'ready' ? null : new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      conn.off('ready', done);
      starting = null;
      resolve();
    };
    const timer = setTimeout(done, firstConnectMs);
    timer.unref();
    conn.once('ready', done);
  });
  return {
    conn,
    starting: () => starting,
    async close() {
      if (lent !== undefined) return;
      try {
        if (conn.status === 'ready') await conn.quit();
      } catch {
        // Closing anyway.
      }
      conn.disconnect();
    },
  };
}
