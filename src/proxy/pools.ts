import { Pool } from 'undici';
import type { UpstreamConfig } from '../config/types.ts';

/** Identity of a pool: a reload that changes none of these keeps the warm connections. */
function poolKey(u: UpstreamConfig): string {
  return `${u.url.origin}|${u.connections}|${u.connectTimeoutMs}|${u.timeoutMs}|${u.bodyTimeoutMs}`;
}

/**
 * One undici Pool per upstream origin, kept across config reloads while its settings do not
 * change. Pools dropped by a reload are closed gracefully: requests still using them finish.
 */
export class UpstreamPools {
  private pools = new Map<string, Pool>();

  /** Pools for a new config generation, by upstream name. */
  forGeneration(upstreams: Map<string, UpstreamConfig>): Map<string, Pool> {
    const next = new Map<string, Pool>();
    const byName = new Map<string, Pool>();
    for (const [name, u] of upstreams) {
      const key = poolKey(u);
      let pool = next.get(key) ?? this.pools.get(key);
      if (pool === undefined) {
        pool = new Pool(u.url.origin, {
          connections: u.connections,
          connectTimeout: u.connectTimeoutMs,
          headersTimeout: u.timeoutMs,
          bodyTimeout: u.bodyTimeoutMs,
          // No pipelining: a slow response must never hold up another client's request.
          pipelining: 1,
        });
      }
      next.set(key, pool);
      byName.set(name, pool);
    }
    for (const [key, pool] of this.pools) if (!next.has(key)) void pool.close();
    this.pools = next;
    return byName;
  }

  /** Graceful close: pending requests complete first. */
  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
  }

  /** Hard stop after the drain deadline. */
  async destroy(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy()));
    this.pools.clear();
  }
}
