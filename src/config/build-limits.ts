import type { GatewayConfig, LimiterConfig, LimitPolicy, LimitScope, QuotaConfig } from './types.ts';
import { defined, num, obj, str, type Obj, type Report } from './raw.ts';
import { parseRate } from '../limits/rate.ts';

/** `limits:` → named policies. A burst defaults to the rate's count: a period's worth at once. */
export function buildLimits(raw: Obj, report: Report): Map<string, LimitPolicy> {
  const out = new Map<string, LimitPolicy>();
  for (const [name, v] of Object.entries(raw)) {
    const p = obj(v);
    const rate = parseRate(str(p['rate']));
    // The schema's pattern has already explained a malformed rate.
    if (rate === null) continue;
    const burst = p['burst'] === undefined ? rate.count : num(p['burst']);
    if (burst < 1) report(`/limits/${name}/burst`, 'at least 1: a bucket that holds no token refuses everything');
    out.set(name, { name, rate, burst, per: (str(p['per']) || 'principal') as LimitScope });
  }
  return out;
}

export function buildLimiter(raw: Obj): LimiterConfig {
  const rc = obj(raw['refusedCredentials']);
  const rate = parseRate(str(rc['rate']));
  return {
    refusedCredentials: rate === null ? null : { rate, burst: num(rc['burst']), clients: num(rc['clients']) },
    leaseSize: num(raw['leaseSize']),
    fallbackReplicas: num(raw['fallbackReplicas']),
  };
}

/** A `quota:` object as the schema left it; undefined when absent. */
export function readQuota(v: unknown): QuotaConfig | undefined {
  if (v === undefined) return undefined;
  const q = obj(v);
  const period = str(q['period']);
  return { requests: num(q['requests']), period: period === 'day' || period === 'none' ? period : 'month' };
}

/** Every `limit:` must name a policy under `limits`; reported where it is written. */
export function checkLimitRefs(c: GatewayConfig, report: Report): void {
  const check = (name: string | null | undefined, at: string): void => {
    if (name === null || name === undefined || c.limits.has(name)) return;
    report(at, `limit "${name}" is not defined under limits (defined: ${defined(c.limits.keys())})`);
  };
  for (const [name, r] of c.roles) check(r.limit, `/roles/${name}/limit`);
  for (const [name, o] of c.orgs) check(o.limit, `/orgs/${name}/limit`);
  c.routes.forEach((r, i) => {
    check(r.limit, `/routes/${i}/limit`);
    if (r.public && r.limit !== undefined) report(`/routes/${i}/limit`, 'a public route has no key, principal or org to count; limits apply to authenticated routes');
  });
  c.principals.forEach((p, i) => {
    check(p.limit, `/principals/${i}/limit`);
    p.keys.forEach((k, j) => {
      check(k.limit, `/principals/${i}/keys/${j}/limit`);
    });
  });
}
