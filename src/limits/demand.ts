import type { LimitPolicy, QuotaConfig } from '../config/types.ts';

/** One rate limit a request must pass: the policy and the bucket it counts in. */
export interface RateDemand {
  kind: 'rate';
  /** Bucket id: policy, scope, subject (and route, for route limits). */
  key: string;
  policy: LimitPolicy;
}

/** One quota a request spends from. */
export interface QuotaDemand {
  kind: 'quota';
  /** Counter id: scope and subject (`key:<id>`, `principal:<id>`, `org:<name>`). */
  key: string;
  /** Shown in headers and errors: `key-quota`, `principal-quota`, `org-quota`. */
  name: string;
  scope: 'key' | 'principal' | 'org';
  quota: QuotaConfig;
}

export type Demand = RateDemand | QuotaDemand;

/** One policy's state as the RateLimit / RateLimit-Policy headers show it. */
export interface Reported {
  name: string;
  /** Quota units per window, window in seconds (RateLimit-Policy `q`, `w`). */
  q: number;
  w: number | null;
  /** Remaining (fleet-wide estimate) and seconds until it is back to `q` (RateLimit `r`, `t`). */
  r: number;
  t: number | null;
}

export type Verdict =
  | { ok: true; report: Reported[] }
  | { ok: false; code: 'rate_limited' | 'quota_exhausted'; name: string; retryAfterS: number | null; report: Reported[] };
