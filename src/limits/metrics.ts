import { Counter, Gauge, type Registry } from 'prom-client';
import type { Limiter } from './limiter.ts';

/**
 * The limiter's metrics. Labels are policy names (from the config; an admin override counts as
 * `override`), quota scopes (key, principal, org), credential styles and fixed results: never a
 * key id or principal name, which are unbounded.
 */
export function createLimitMetrics(registry: Registry) {
  const r = [registry];
  let limiter: Limiter | null = null;
  const m = {
    limited: new Counter({ name: 'keygate_ratelimit_refusals_total', help: 'Requests refused with 429 rate_limited, by policy', labelNames: ['policy'] as const, registers: r }),
    quotaRefusals: new Counter({ name: 'keygate_quota_refusals_total', help: 'Requests refused with 429 quota_exhausted, by quota scope (key, principal, org)', labelNames: ['scope'] as const, registers: r }),
    leases: new Counter({ name: 'keygate_limiter_leases_total', help: 'Budget leases from the shared store (background, off the request path but for a bucket\'s first request), by kind (rate, quota) and result (ok, error)', labelNames: ['kind', 'result'] as const, registers: r }),
    fallback: new Counter({ name: 'keygate_limiter_fallback_decisions_total', help: 'Requests decided from this replica\'s share of a limit because the shared store (Redis) was unreachable', registers: r }),
    refusedCredentials: new Counter({ name: 'keygate_refused_credentials_limited_total', help: 'Requests refused with 429 too_many_failed_credentials before a key-store lookup, by credential style', labelNames: ['credential'] as const, registers: r }),
    shared: new Gauge({
      name: 'keygate_limiter_shared', help: '1 while limits are shared through the store; 0 while this replica enforces its fallback share (Redis unreachable)', registers: r,
      collect() { this.set(limiter === null || limiter.shared() ? 1 : 0); },
    }),
    replicas: new Gauge({
      name: 'keygate_limiter_replicas', help: 'Replicas the limiter counted in the store lately (the divisor of the fallback share)', registers: r,
      collect() { this.set(limiter?.replicas() ?? 1); },
    }),
    buckets: new Gauge({
      name: 'keygate_limiter_buckets', help: 'Rate-limit buckets and quota counters this replica holds a lease of', labelNames: ['kind'] as const, registers: r,
      collect() { const s = limiter?.sizes() ?? { rate: 0, quota: 0 }; this.labels('rate').set(s.rate); this.labels('quota').set(s.quota); },
    }),
    quotas: new Gauge({
      name: 'keygate_quota_counters', help: 'Quota counters this replica holds, by scope (key, principal, org) and state: ok, low (under 10% left) or exhausted', labelNames: ['scope', 'state'] as const, registers: r,
      collect() {
        const s = limiter?.quotaStates() ?? new Map<string, number>();
        for (const scope of ['key', 'principal', 'org']) for (const state of ['ok', 'low', 'exhausted']) this.labels(scope, state).set(s.get(`${scope}|${state}`) ?? 0);
      },
    }),
    observe(l: Limiter) { limiter = l; },
  };
  for (const scope of ['key', 'principal', 'org']) m.quotaRefusals.labels(scope).inc(0);
  for (const kind of ['rate', 'quota']) for (const result of ['ok', 'error']) m.leases.labels(kind, result).inc(0);
  return m;
}

export type LimitMetrics = ReturnType<typeof createLimitMetrics>;
