import type { LimitBackend } from './backend.ts';

/**
 * The embedded store's budgets: the same token buckets and counters as the Redis scripts, in
 * process. One process is the whole fleet, so leases always succeed and quotas last as long as
 * the process does (docs/limits.md).
 */
export function createMemoryLimitBackend(now: () => number = Date.now): LimitBackend {
  const buckets = new Map<string, { tokens: number; at: number; fullAt: number }>();
  const counters = new Map<string, { period: string; used: number; expireAt: number }>();
  const used = (key: string, period: string): number => {
    const c = counters.get(key);
    return c !== undefined && c.period === period ? c.used : 0;
  };
  // Forget full buckets and expired counters now and then, so memory follows the active set.
  const sweep = setInterval(() => {
    const t = now();
    for (const [k, c] of counters) if (c.expireAt > 0 && c.expireAt <= t) counters.delete(k);
    // A bucket that has refilled is the same as none (RATE_LEASE's PEXPIRE).
    for (const [k, b] of buckets) if (b.fullAt <= t) buckets.delete(k);
  }, 60_000);
  sweep.unref();
  return {
    kind: 'memory',
    async leaseRate(key, rate, burst, want, give) {
      const t = now();
      const b = buckets.get(key) ?? { tokens: burst, at: t, fullAt: t };
      if (t > b.at) b.tokens += ((t - b.at) * rate.count) / rate.periodMs;
      b.tokens = Math.min(burst, b.tokens + give);
      b.at = Math.max(t, b.at);
      const granted = Math.max(0, Math.min(want, Math.floor(b.tokens)));
      b.tokens -= granted;
      b.fullAt = b.at + Math.ceil(((burst - b.tokens) * rate.periodMs) / rate.count);
      buckets.set(key, b);
      const need = Math.max(1, Math.ceil(want / 2)) - b.tokens;
      return { granted, left: b.tokens, waitMs: granted < want && need > 0 ? Math.ceil((need * rate.periodMs) / rate.count) : 0 };
    },
    async leaseQuota(ref, requests, want, give, spent, expireAt) {
      const u = Math.max(0, used(ref.key, ref.period) - give) + spent;
      const granted = Math.max(0, Math.min(want, requests - u));
      counters.set(ref.key, { period: ref.period, used: u + granted, expireAt });
      return { granted, used: u + granted };
    },
    async quotaUsed(refs) {
      return refs.map((r) => used(r.key, r.period));
    },
    async setQuotaUsed(ref, n, expireAt) {
      counters.set(ref.key, { period: ref.period, used: n, expireAt });
    },
    async heartbeat() {
      return 1;
    },
    async close() {
      clearInterval(sweep);
    },
  };
}
