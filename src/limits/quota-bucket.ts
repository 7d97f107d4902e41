import type { QuotaConfig } from '../config/types.ts';
import { MIN_CREDIT, type BucketHost } from './rate-bucket.ts';
import type { QuotaDemand, Reported } from './demand.ts';
import { quotaPeriod } from './period.ts';

/** A lease never takes more than this many requests of a quota (bounds the loss on a crash). */
export const MAX_QUOTA_LEASE = 1_000;

/**
 * One quota on this replica. Requests spend from a lease of the fleet's counter (QUOTA_LEASE):
 * the counter in Redis is ahead of the requests actually served by at most the leases the
 * replicas hold, which is the "reconciliation batch" of docs/limits.md. Unspent leases go back
 * when a bucket goes idle and at shutdown; a crash loses them (the quota then under-serves by
 * at most one lease per replica). While Redis is unreachable a replica serves its share of what
 * was left and adds those requests to the counter once Redis answers again.
 */
export class QuotaBucket {
  readonly key: string;
  readonly name: string;
  quota: QuotaConfig;
  period = '';
  startsAt = 0;
  endsAt = 0;
  tokens = 0;
  /** Fleet-wide count at the last lease. */
  used = 0;
  warm = false;
  leasing: Promise<void> | null = null;
  retryAt = 0;
  lastUse: number;
  /** Requests admitted while Redis was unreachable, not yet counted there. */
  spent = 0;
  /** The first request admitted on credit while the first lease is on the way (counted as spent). */
  borrowed = false;
  /** What this replica may still admit while Redis is unreachable; -1: not in the fallback. */
  fbLeft = -1;
  readonly #host: BucketHost;

  constructor(d: QuotaDemand, host: BucketHost) {
    this.key = d.key;
    this.name = d.name;
    this.quota = d.quota;
    this.#host = host;
    this.lastUse = host.now();
  }

  get want(): number {
    return Math.min(MAX_QUOTA_LEASE, Math.max(1, Math.ceil(this.quota.requests * this.#host.leaseSize)));
  }

  /** A new period starts from nothing leased: the counter starts again too. */
  roll(now: number): void {
    const p = quotaPeriod(this.quota, now);
    if (p.id === this.period) return;
    this.period = p.id;
    this.startsAt = p.startsAt;
    this.endsAt = p.endsAt;
    this.tokens = 0;
    this.used = 0;
    this.warm = false;
    this.retryAt = 0;
    this.fbLeft = -1;
    this.borrowed = false;
  }

  /** Takes a lease (`take`), after giving back `give` unspent tokens. */
  lease(give = 0, take = give === 0): Promise<void> {
    if (this.leasing !== null) return this.leasing;
    const host = this.#host;
    const want = take ? this.want : 0;
    this.tokens -= give;
    const spent = this.spent;
    const period = this.period;
    this.leasing = host.backend.leaseQuota({ key: this.key, period }, this.quota.requests, want, give, spent, this.endsAt).then(
      (r) => {
        this.spent -= spent;
        this.warm = true;
        this.fbLeft = -1;
        if (period !== this.period) return;
        this.tokens += r.granted;
        this.used = r.used;
        // Exhausted: look again now and then (an admin may top it up, another replica give back).
        this.retryAt = r.granted < want ? host.now() + 1_000 : 0;
        host.leased('quota', true);
      },
      (e: unknown) => {
        this.warm = true;
        this.retryAt = host.now() + 1_000;
        host.leased('quota', false, e);
      },
    ).finally(() => (this.leasing = null));
    return this.leasing;
  }

  /** As for rate buckets: a quota of at least MIN_CREDIT admits its first request before the first lease. */
  borrowable(): boolean {
    return !this.warm && !this.borrowed && this.quota.requests >= MIN_CREDIT && this.#host.shared();
  }

  available(): boolean {
    if (this.tokens >= 1) return true;
    if (this.#host.shared()) return this.borrowable();
    // The share of what was left; a request admitted on credit just before is part of it.
    if (this.fbLeft < 0) this.fbLeft = Math.floor(Math.max(0, this.quota.requests - this.used - this.spent) / this.#host.replicas());
    return this.fbLeft >= 1;
  }

  spend(now: number): void {
    this.lastUse = now;
    if (this.tokens >= 1) this.tokens -= 1;
    else {
      // Not from a lease (on credit, or the outage share): added to the count by the next lease.
      if (this.#host.shared()) this.borrowed = true;
      else this.fbLeft -= 1;
      this.spent += 1;
    }
    this.refill(now);
  }

  refill(now: number): void {
    if (this.leasing === null && this.tokens < this.want / 2 && now >= this.retryAt) void this.lease();
  }

  /** Seconds until the period ends; null for a one-time allowance. */
  retryAfter(now: number): number | null {
    return this.endsAt === 0 ? null : Math.max(1, Math.ceil((this.endsAt - now) / 1000));
  }

  remaining(): number {
    return Math.max(0, this.quota.requests - this.used - this.spent + this.tokens);
  }

  report(now: number): Reported {
    // The window is this period's own length: a month has 28 to 31 days.
    const w = this.endsAt === 0 ? null : (this.endsAt - this.startsAt) / 1000;
    return { name: this.name, q: this.quota.requests, w, r: this.remaining(), t: this.retryAfter(now) };
  }
}
