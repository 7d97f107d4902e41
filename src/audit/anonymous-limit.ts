import { LRUCache } from 'lru-cache';

/**
 * Refusals of requests with no valid credential are the one kind of event anyone can produce
 * at will. Unlimited, a flood of them would push real decisions out of the capped trail (and
 * fill the store's Redis). So each client address gets a token bucket: `rate` events a second,
 * bursts of `burst`; beyond it the events are dropped and counted (reason `rate_limited`).
 * Authenticated callers are never limited here. Buckets for at most `clients` addresses are
 * kept (least recently seen evicted), so a spread of source addresses cannot grow memory.
 */
export function createAnonymousLimit(opts: { rate: number; burst: number; clients?: number; now?: () => number }) {
  const now = opts.now ?? Date.now;
  const buckets = new LRUCache<string, { tokens: number; at: number }>({ max: opts.clients ?? 10_000 });
  return function allow(client: string | null): boolean {
    if (opts.rate <= 0) return true;
    const key = client ?? '';
    const t = now();
    const b = buckets.get(key);
    if (b === undefined) {
      buckets.set(key, { tokens: opts.burst - 1, at: t });
      return true;
    }
    b.tokens = Math.min(opts.burst, b.tokens + ((t - b.at) / 1000) * opts.rate);
    b.at = t;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };
}
