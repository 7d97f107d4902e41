import { Pool } from 'undici';
import type { UpstreamConfig } from '../config/types.ts';
import { upstreamConnector } from './upstream-socket.ts';

/**
 * An upstream's dispatchers: the keep-alive pool every request starts on, and `fresh`, whose
 * connections each carry one request (`pipelining: 0` disables keep-alive), for the one retry
 * of a request lost to a stale pooled connection (retry.ts). A retry on the pool could pick
 * another connection that went stale at the same moment, as after a quiet period.
 */
export interface UpstreamPool {
  pool: Pool;
  fresh: Pool;
}

/** Identity of a pool: a reload that changes none of these keeps the warm connections. */
function poolKey(u: UpstreamConfig): string {
  return `${u.url.origin}|${u.connections}|${u.connectTimeoutMs}|${u.timeoutMs}|${u.bodyTimeoutMs}|${u.keepAliveTimeoutMs}`;
}

function createUpstreamPool(u: UpstreamConfig): UpstreamPool {
  const common = {
    connections: u.connections,
    connect: upstreamConnector(u.connectTimeoutMs),
    headersTimeout: u.timeoutMs,
    bodyTimeout: u.bodyTimeoutMs,
  };
  return {
    pool: new Pool(u.url.origin, {
      ...common,
      // No pipelining: a slow response must never hold up another client's request.
      pipelining: 1,
      // Idle connections are closed before a typical upstream closes them (5 s for Node, uvicorn,
      // Apache), which makes the keep-alive race rare; the retry covers the rest. The cap also
      // applies when the upstream announces a longer `Keep-Alive: timeout=`.
      keepAliveTimeout: u.keepAliveTimeoutMs,
      keepAliveMaxTimeout: u.keepAliveTimeoutMs,
    }),
    fresh: new Pool(u.url.origin, { ...common, pipelining: 0 }),
  };
}

const closeBoth = (p: UpstreamPool) => Promise.all([p.pool.close(), p.fresh.close()]);
const destroyBoth = (p: UpstreamPool) => Promise.all([p.pool.destroy(), p.fresh.destroy()]);

/**
 * One undici Pool per upstream origin, kept across config reloads while its settings do not
 * change. Pools dropped by a reload are closed gracefully: requests still using them finish.
 */
export class UpstreamPools {
  private pools = new Map<string, UpstreamPool>();

  /** Pools for a new config generation, by upstream name. */
  forGeneration(upstreams: Map<string, UpstreamConfig>): Map<string, UpstreamPool> {
    const next = new Map<string, UpstreamPool>();
    const byName = new Map<string, UpstreamPool>();
    for (const [name, u] of upstreams) {
      const key = poolKey(u);
      const pool = next.get(key) ?? this.pools.get(key) ?? createUpstreamPool(u);
      next.set(key, pool);
      byName.set(name, pool);
    }
    for (const [key, pool] of this.pools) if (!next.has(key)) void closeBoth(pool);
    this.pools = next;
    return byName;
  }

  /** Graceful close: pending requests complete first. */
  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map(closeBoth));
    this.pools.clear();
  }

  /** Hard stop after the drain deadline. */
  async destroy(): Promise<void> {
    await Promise.all([...this.pools.values()].map(destroyBoth));
    this.pools.clear();
  }
}
