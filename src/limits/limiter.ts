import { randomUUID } from 'node:crypto';
import type { LimiterConfig } from '../config/types.ts';
import type { LimitBackend } from './backend.ts';
import type { Demand, Reported, Verdict } from './demand.ts';
import { RateBucket, type BucketHost } from './rate-bucket.ts';
import { QuotaBucket } from './quota-bucket.ts';

export interface LimiterEvents {
  /** A lease answered (ok) or failed: for metrics and the once-per-outage log line. */
  leased?(kind: 'rate' | 'quota', ok: boolean): void;
  /** The backend became unreachable (`down`) or answered again (`up`). */
  state?(state: 'up' | 'down', err?: unknown): void;
  /** One request decided from the fallback share while the backend is unreachable. */
  fallbackDecision?(): void;
}

export interface LimiterOptions {
  backend: LimitBackend;
  config: () => LimiterConfig;
  events?: LimiterEvents;
  now?: () => number;
  /**
   * Buckets unused this long give their unspent lease back and are forgotten. Long enough that a
   * client calling every few seconds keeps its lease (no first-lease wait per request). @default 30_000
   */
  idleMs?: number;
  /** Heartbeat (replica count, reachability probe) interval. @default 1_000 */
  heartbeatMs?: number;
}

export interface Limiter {
  /**
   * Decides one request against every demand: all must have a token, and then each spends one.
   * Synchronous while every bucket holds a lease; a bucket's first request (or one that finds
   * its lease spent with the next one already on the way) waits for that lease.
   */
  take(demands: readonly Demand[]): Verdict | Promise<Verdict>;
  /** Quota counters as the fleet knows them (admin API); the unspent leases are the error bar. */
  quotaState(d: Demand & { kind: 'quota' }): Promise<{ used: number; remaining: number; resetsAt: number | null }>;
  /** Sets what is left of a quota this period (admin API). */
  setQuotaRemaining(d: Demand & { kind: 'quota' }, remaining: number): Promise<void>;
  /** Whether the backend answers (false: every replica is on its fallback share). */
  shared(): boolean;
  /** Replicas counted by the last heartbeat. */
  replicas(): number;
  /** Buckets held, by kind (a gauge). */
  sizes(): { rate: number; quota: number };
  /**
   * Quota counters this replica holds, by scope and state: `exhausted` (nothing left), `low`
   * (under 10% left) or `ok`, as last heard from the store. Bounded labels for a gauge, where
   * the remaining count itself would need a key id or principal name as label.
   */
  quotaStates(): Map<string, number>;
  /** Gives every unspent lease back, then closes the backend. */
  close(): Promise<void>;
}

export function createLimiter(opts: LimiterOptions): Limiter {
  const now = opts.now ?? Date.now;
  const events = opts.events ?? {};
  const replicaId = randomUUID();
  const rates = new Map<string, RateBucket>();
  const quotas = new Map<string, QuotaBucket>();
  let up = true;
  let seenReplicas = 0;

  const host: BucketHost = {
    backend: opts.backend,
    now,
    shared: () => up,
    replicas: () => Math.max(1, seenReplicas > 0 ? seenReplicas : opts.config().fallbackReplicas),
    get leaseSize() {
      return opts.config().leaseSize;
    },
    leased(kind, ok, err) {
      events.leased?.(kind, ok);
      setUp(ok, err);
    },
  };

  function setUp(ok: boolean, err?: unknown): void {
    if (ok === up) return;
    up = ok;
    // Back: every bucket may lease at once instead of waiting out the retry after its failure.
    // Refusals of the outage were the fallback share's, not demand on the shared bucket.
    if (ok) {
      for (const b of rates.values()) {
        b.retryAt = 0;
        b.pressed = 0;
      }
      for (const b of quotas.values()) b.retryAt = 0;
    }
    events.state?.(ok ? 'up' : 'down', err);
  }

  async function heartbeat(): Promise<void> {
    try {
      seenReplicas = await opts.backend.heartbeat(replicaId);
      setUp(true);
    } catch (e) {
      setUp(false, e);
    }
  }
  void heartbeat();
  const beat = setInterval(() => void heartbeat(), opts.heartbeatMs ?? 1_000);
  beat.unref();

  // Idle buckets give back what they hold, so a client moving between replicas is not short of
  // tokens parked on the one it left, and memory follows the active set.
  const idleMs = opts.idleMs ?? 30_000;
  const sweep = setInterval(() => {
    const t = now();
    for (const [k, b] of rates) {
      if (t - b.lastUse < idleMs || b.leasing !== null) continue;
      rates.delete(k);
      const give = Math.floor(b.tokens);
      if (give > 0 && up) void b.lease(give);
    }
    for (const [k, b] of quotas) {
      if (t - b.lastUse < idleMs || b.leasing !== null) continue;
      // Requests admitted during an outage are still owed to the shared count: keep them.
      if (b.spent > 0 && !up) continue;
      quotas.delete(k);
      const give = Math.floor(b.tokens);
      if ((give > 0 || b.spent > 0) && up) void b.lease(give, false);
    }
  }, Math.max(250, Math.floor(idleMs / 2)));
  sweep.unref();

  function bucketOf(d: Demand, t: number): RateBucket | QuotaBucket {
    if (d.kind === 'rate') {
      let b = rates.get(d.key);
      if (b === undefined) rates.set(d.key, (b = new RateBucket(d.key, d.policy, host)));
      else b.policy = d.policy;
      return b;
    }
    let q = quotas.get(d.key);
    if (q === undefined) quotas.set(d.key, (q = new QuotaBucket(d, host)));
    else q.quota = d.quota;
    q.roll(t);
    return q;
  }

  function decide(buckets: (RateBucket | QuotaBucket)[], t: number): Verdict {
    let refused: RateBucket | QuotaBucket | null = null;
    for (const b of buckets) {
      const ok = b instanceof RateBucket ? b.available(t) : b.available();
      if (!ok) {
        refused = b;
        break;
      }
    }
    if (!up) events.fallbackDecision?.();
    if (refused !== null) {
      // Look for more while refusing, so a replica that drained its lease comes back promptly.
      refused.refill(t);
      const report = buckets.map((b) => (b instanceof RateBucket ? b.report() : b.report(t)));
      if (refused instanceof RateBucket) return { ok: false, code: 'rate_limited', name: refused.policy.name, retryAfterS: refused.retryAfter(t), report };
      return { ok: false, code: 'quota_exhausted', name: refused.name, retryAfterS: refused.retryAfter(t), report };
    }
    for (const b of buckets) b.spend(t);
    return { ok: true, report: buckets.map((b) => (b instanceof RateBucket ? b.report() : b.report(t))) };
  }

  return {
    take(demands) {
      const t = now();
      const buckets = demands.map((d) => bucketOf(d, t));
      // Wait only for a lease that decides this request: a bucket never leased, or one whose
      // tokens ran out (its next lease under way, or due). A bucket the store just said is
      // empty (retryAt ahead) refuses at once instead.
      let waits: Promise<void>[] | null = null;
      for (const b of buckets) {
        if (!up) break;
        if (!b.warm) {
          const first = b.lease();
          if (!b.borrowable()) (waits ??= []).push(first);
        }
        else if (b.tokens < 1 && (b.leasing !== null || t >= b.retryAt)) (waits ??= []).push(b.leasing ?? b.lease());
      }
      if (waits === null) return decide(buckets, t);
      return Promise.all(waits).then(() => decide(buckets, now()));
    },
    async quotaState(d) {
      const t = now();
      const b = new QuotaBucket(d, host);
      b.roll(t);
      const [used = 0] = await opts.backend.quotaUsed([{ key: d.key, period: b.period }]);
      return { used, remaining: Math.max(0, d.quota.requests - used), resetsAt: b.endsAt === 0 ? null : b.endsAt };
    },
    async setQuotaRemaining(d, remaining) {
      const b = new QuotaBucket(d, host);
      b.roll(now());
      await opts.backend.setQuotaUsed({ key: d.key, period: b.period }, Math.max(0, d.quota.requests - remaining), b.endsAt);
      // This replica's own lease must not outlive the change; other replicas' run out within one lease.
      const mine = quotas.get(d.key);
      if (mine !== undefined) {
        mine.tokens = 0;
        mine.retryAt = 0;
      }
    },
    shared: () => up,
    replicas: () => host.replicas(),
    sizes: () => ({ rate: rates.size, quota: quotas.size }),
    quotaStates() {
      const out = new Map<string, number>();
      for (const b of quotas.values()) {
        const left = b.remaining();
        const state = left <= 0 ? 'exhausted' : left < b.quota.requests / 10 ? 'low' : 'ok';
        const k = `${b.key.slice(0, b.key.indexOf(':'))}|${state}`;
        out.set(k, (out.get(k) ?? 0) + 1);
      }
      return out;
    },
    async close() {
      clearInterval(beat);
      clearInterval(sweep);
      const gives: Promise<void>[] = [];
      if (up) {
        for (const b of rates.values()) if (b.tokens >= 1) gives.push(Promise.resolve(b.leasing).then(() => b.lease(Math.floor(b.tokens), false)));
        for (const b of quotas.values()) if (b.tokens >= 1 || b.spent > 0) gives.push(Promise.resolve(b.leasing).then(() => b.lease(Math.floor(b.tokens), false)));
      }
      await Promise.allSettled(gives);
      await opts.backend.close();
    },
  };
}

export type { Reported };
