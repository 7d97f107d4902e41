import type { DecisionContext as RequestContext } from '../context.ts';
import type { Stage } from '../stages.ts';
import { GatewayError } from '../errors.ts';
import type { Limiter } from './limiter.ts';
import type { Demand, Verdict } from './demand.ts';
import { demandsFor } from './applicable.ts';
import { rateLimitHeaders } from './headers.ts';

/** A refusal, for metrics and the `limit.exceeded` event (sampled by the receiver). */
export type LimitRefusal = Extract<Verdict, { ok: false }> & { bucket: string; per: string };

function apply(ctx: RequestContext, demands: readonly Demand[], v: Verdict, onRefused?: (ctx: RequestContext, r: LimitRefusal) => void): void {
  const headers = rateLimitHeaders(v.report);
  if (v.ok) {
    // On the upstream's response too: writeHead merges headers set here (node's http).
    ctx.res?.setHeader('ratelimit-policy', headers['ratelimit-policy']);
    ctx.res?.setHeader('ratelimit', headers.ratelimit);
    return;
  }
  const d = demands.find((x) => (x.kind === 'rate' ? x.policy.name : x.name) === v.name);
  onRefused?.(ctx, { ...v, bucket: d?.key ?? v.name, per: d === undefined ? 'principal' : d.kind === 'rate' ? d.policy.per : d.scope });
  const out: Record<string, string> = { ...headers };
  if (v.retryAfterS !== null) out['retry-after'] = String(v.retryAfterS);
  const what = v.code === 'rate_limited' ? `Rate limit "${v.name}" exceeded` : `Quota "${v.name}" exhausted`;
  throw new GatewayError(v.code, v.retryAfterS === null ? what : `${what}; retry after ${v.retryAfterS}s`, { headers: out });
}

/**
 * Stage, after authorization: the request must pass every limit and quota that applies to it
 * (applicable.ts), decided from leases held in process (limiter.ts). Authorized requests only:
 * a 401 or 403 spends nothing.
 */
export function enforceLimits(limiter: Limiter, onRefused?: (ctx: RequestContext, r: LimitRefusal) => void): Stage {
  return function enforceLimitsStage(ctx) {
    const route = ctx.match?.route;
    if (route === undefined || route.public || ctx.key === null || ctx.principal === null) return;
    const demands = demandsFor(ctx.gen.config, route, ctx.key, ctx.principal);
    if (demands.length === 0) return;
    const v = limiter.take(demands);
    if (v instanceof Promise) return v.then((r) => apply(ctx, demands, r, onRefused));
    apply(ctx, demands, v, onRefused);
  };
}
