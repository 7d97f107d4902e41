import type { LimitPolicy } from '../config/types.ts';
import type { LimitBackend } from './backend.ts';
import type { Reported } from './demand.ts';

/** A bucket (or quota) this large may admit its first request before its first lease: one more is ≤ 10%. */
export const MIN_CREDIT = 10;

/** What a bucket needs from the limiter that owns it. */
export interface BucketHost {
  backend: LimitBackend;
  now(): number;
  /** Whether the backend answered lately; false: decide from the fallback share. */
  shared(): boolean;
  /** Replicas to divide a limit by while the backend is unreachable. */
  replicas(): number;
  leaseSize: number;
  leased(kind: 'rate' | 'quota', ok: boolean, err?: unknown): void;
}

/**
 * One rate-limit bucket on this replica. While Redis answers, requests spend tokens leased from
 * the fleet's shared token bucket (RATE_LEASE): a replica never holds more than one lease's
 * worth, takes the next one in the background when it runs low, so the request path never
 * waits for Redis except for a bucket's very first request. While Redis is unreachable the
 * bucket refills locally at rate / replicas instead (never unlimited).
 */
export class RateBucket {
  readonly key: string;
  policy: LimitPolicy;
  tokens = 0;
  /** Tokens the shared bucket held at the last lease (other replicas' leases not counted). */
  left: number;
  warm = false;
  leasing: Promise<void> | null = null;
  /** No lease before this (the shared bucket said it is empty until then). */
  retryAt = 0;
  lastUse: number;
  /** The one request a bucket admits on credit while its first lease is on the way. */
  borrowed = false;
  /** Requests refused since the last lease: demand above this replica's supply. */
  pressed = 0;
  /** The fallback share: a local token bucket. */
  fbTokens = -1;
  fbAt = 0;
  readonly #host: BucketHost;

  constructor(key: string, policy: LimitPolicy, host: BucketHost) {
    this.key = key;
    this.policy = policy;
    this.#host = host;
    this.left = policy.burst;
    this.lastUse = host.now();
  }

  /** Tokens asked for per lease: a share of the burst, at least one. */
  get want(): number {
    return Math.max(1, Math.ceil(this.policy.burst * this.#host.leaseSize));
  }

  /**
   * Under pressure (requests were refused since the last lease) ask for as many more as were
   * refused, up to the burst: a replica whose event loop is slow then still drains the shared
   * bucket as fast as it refills, and the fleet admits the rate, not less. Unspent tokens stay
   * within this replica's burst and go back when the bucket idles.
   */
  #ask(): number {
    return Math.min(this.policy.burst, this.want + this.pressed);
  }

  /** Takes a lease (`take`), after giving back `give` unspent tokens. */
  lease(give = 0, take = give === 0): Promise<void> {
    if (this.leasing !== null) return this.leasing;
    const host = this.#host;
    const want = take ? this.#ask() : 0;
    this.tokens -= give;
    this.pressed = 0;
    this.leasing = host.backend.leaseRate(this.key, this.policy.rate, this.policy.burst, want, give).then(
      (r) => {
        this.tokens += r.granted;
        this.left = r.left;
        this.warm = true;
        this.fbTokens = -1;
        // Short of even a plain lease: ask again once half of one is back in the shared bucket
        // (not half of what pressure asked for, which would let tokens pile up there and
        // arrive as a burst).
        if (r.granted < want && r.granted < this.want) {
          const need = Math.ceil(this.want / 2) - r.left;
          this.retryAt = host.now() + Math.max(5, Math.ceil((need * this.policy.rate.periodMs) / this.policy.rate.count));
        } else this.retryAt = 0;
        host.leased('rate', true);
      },
      (e: unknown) => {
        this.warm = true;
        this.retryAt = host.now() + 1_000;
        host.leased('rate', false, e);
      },
    ).finally(() => (this.leasing = null));
    return this.leasing;
  }

  /** The fallback share, refilled up to now. */
  #fallback(now: number): number {
    const n = this.#host.replicas();
    const cap = Math.max(1, Math.floor(this.policy.burst / n));
    if (this.fbTokens < 0) {
      // Entering the fallback: what this replica holds plus its share of what the fleet had
      // left, within its share of the burst; a bucket never leased starts with its full share.
      // A request admitted on credit counts against the share, and is not owed afterwards.
      this.fbTokens = this.warm ? Math.min(cap, this.tokens + this.left / n) : cap;
      this.tokens = Math.max(0, this.tokens);
      this.fbAt = now;
    }
    const perMs = this.policy.rate.count / this.policy.rate.periodMs / n;
    this.fbTokens = Math.min(cap, this.fbTokens + (now - this.fbAt) * perMs);
    this.fbAt = now;
    return this.fbTokens;
  }

  /**
   * A bucket's first request need not wait for the first lease when one token more than the
   * limit is noise (a burst of at least MIN_CREDIT): it passes on credit, repaid from the lease.
   */
  borrowable(): boolean {
    return !this.warm && !this.borrowed && this.policy.burst >= MIN_CREDIT && this.#host.shared();
  }

  /** Can one request pass now? Shared mode: a leased token; fallback: the local share. */
  available(now: number): boolean {
    const ok = this.#host.shared() ? this.tokens >= 1 || this.borrowable() : this.#fallback(now) >= 1;
    if (!ok) this.pressed++;
    return ok;
  }

  /** Spends one (after `available`), and asks for the next lease when running low. */
  spend(now: number): void {
    this.lastUse = now;
    if (!this.#host.shared()) {
      this.fbTokens -= 1;
      if (this.tokens >= 1) this.tokens -= 1;
      if (now >= this.retryAt) void this.lease();
      return;
    }
    if (this.tokens < 1) this.borrowed = true;
    this.tokens -= 1;
    this.refill(now);
  }

  /** Background lease when below half a lease (and the shared bucket is not known empty). */
  refill(now: number): void {
    if (this.leasing === null && this.tokens < this.want / 2 && now >= this.retryAt) void this.lease();
  }

  /** Seconds until a token is back, for Retry-After (at least 1). */
  retryAfter(now: number): number {
    const perMs = this.policy.rate.count / this.policy.rate.periodMs / (this.#host.shared() ? 1 : this.#host.replicas());
    const wait = this.#host.shared() ? Math.max(this.retryAt - now, 1 / perMs) : (1 - Math.max(0, this.fbTokens)) / perMs;
    return Math.max(1, Math.ceil(wait / 1000));
  }

  report(): Reported {
    const { rate, burst, name } = this.policy;
    const r = Math.max(0, Math.min(burst, Math.floor(this.#host.shared() ? this.left + this.tokens : this.fbTokens)));
    const t = Math.ceil(((burst - r) * rate.periodMs) / rate.count / 1000);
    return { name, q: rate.count, w: rate.periodMs / 1000, r, t };
  }
}
