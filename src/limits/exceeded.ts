import { LRUCache } from 'lru-cache';
import type { DecisionContext as RequestContext } from '../context.ts';
import type { EventData } from '../events/types.ts';
import type { LimitRefusal } from './stage.ts';
import { createSampler } from '../events/sample.ts';

export type LimitExceeded = EventData['limit.exceeded'];

/**
 * `limit.exceeded` events, sampled twice: one per bucket (a policy and whom it counts) per
 * `everyMs`, so a client hammering its limit is reported every few seconds, not per 429; and at
 * most `perSecond` per policy each second (src/events/sample.ts), so many offenders at once stay
 * a few webhooks a second. Buckets remembered are bounded (least recently refused forgotten).
 */
export function createExceededSampler(emit: () => ((e: LimitExceeded) => void) | null, everyMs = 10_000, perSecond = 5, max = 10_000) {
  const last = new LRUCache<string, number>({ max });
  const perPolicy = createSampler({ perWindow: perSecond, windowMs: 1_000 });
  const due = (bucket: string, policy: string, now: number): boolean => {
    const at = last.get(bucket);
    if (at !== undefined && now - at < everyMs) return false;
    if (!perPolicy.take(policy)) return false;
    last.set(bucket, now);
    return true;
  };
  return {
    refused(ctx: RequestContext, r: LimitRefusal): void {
      const sink = emit();
      if (sink === null || !due(r.bucket, r.name, Date.now())) return;
      const e: LimitExceeded = { limit: r.name, kind: r.code === 'rate_limited' ? 'rate' : 'quota', per: r.per };
      if (ctx.key !== null) e.keyId = ctx.key.id;
      if (ctx.principal !== null) e.principalId = ctx.principal.id;
      if (ctx.principal?.org !== undefined) e.org = ctx.principal.org;
      if (ctx.match !== null) e.route = ctx.match.route.name;
      sink(e);
    },
    /** An address refused before lookup: no one to name, so one event per interval for all of them. */
    credentialsRefused(): void {
      const sink = emit();
      if (sink !== null && due('\0refused-credentials', '\0refused-credentials', Date.now())) sink({ limit: 'refusedCredentials', kind: 'refused_credentials', per: 'client' });
    },
  };
}
