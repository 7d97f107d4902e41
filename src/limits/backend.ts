import type { RateConfig } from '../config/types.ts';

/** What the shared rate bucket answered to a lease. */
export interface RateLease {
  /** Tokens handed to this replica (0..want). */
  granted: number;
  /** Tokens left in the shared bucket after the grant (fleet-wide, for the RateLimit header). */
  left: number;
  /** When `granted < want`: ms until the shared bucket holds half of `want` again. */
  waitMs: number;
}

/** What the shared quota counter answered to a lease. */
export interface QuotaLease {
  granted: number;
  /** Requests counted in the period so far, fleet-wide, leases included. */
  used: number;
}

/** One quota counter: its store key and the period it counts (`2026-12-04`, `2026-12`, `all`). */
export interface QuotaRef {
  key: string;
  period: string;
}

/**
 * Where the fleet's shared budgets live: Redis (every replica on one Redis shares them) or this
 * process (the embedded store). The limiter only ever calls it off the request path or for the
 * first request of a bucket; every other request is decided from tokens already leased.
 */
export interface LimitBackend {
  readonly kind: 'redis' | 'memory';
  /**
   * Take up to `want` tokens from the token bucket `key` (refilling at `rate`, holding at most
   * `burst`), after putting back `give` unspent ones. Rejects when the backend is unreachable.
   */
  leaseRate(key: string, rate: RateConfig, burst: number, want: number, give: number): Promise<RateLease>;
  /**
   * Count up to `want` more requests of the quota `ref` (at most `requests` in the period), after
   * adding `spent` requests admitted without a lease (an outage) and removing `give` unspent.
   * `expireAt`: when the counter may be forgotten (epoch ms; 0: never).
   */
  leaseQuota(ref: QuotaRef, requests: number, want: number, give: number, spent: number, expireAt: number): Promise<QuotaLease>;
  /** Requests counted in each period (0 when none). */
  quotaUsed(refs: readonly QuotaRef[]): Promise<number[]>;
  /** Sets the count of a period (admin: reset or top up). */
  setQuotaUsed(ref: QuotaRef, used: number, expireAt: number): Promise<void>;
  /** Announces this replica and returns how many were seen lately (for the outage share). */
  heartbeat(replicaId: string): Promise<number>;
  close(): Promise<void>;
}
