import { LRUCache } from 'lru-cache';
import type { DecisionContext as RequestContext } from '../context.ts';
import type { EventData } from '../events/types.ts';
import type { LimitRefusal } from './stage.ts';

export type LimitExceeded = EventData['limit.exceeded'];

/**
 * `limit.exceeded` events, sampled: one per bucket (a policy and whom it counts) per `everyMs`,
 * so a client hammering its limit costs a webhook every few seconds, not one per 429. Buckets
 * remembered are bounded (least recently refused forgotten first).
 */
export function createExceededSampler(emit: () => ((e: LimitExceeded) => void) | null, everyMs = 10_000, max = 10_000) {
  const last = new LRUCache<string, number>({ max });
  const due = (bucket: string, now: number): boolean => {
    const at = last.get(bucket);
    if (at !== undefined && now - at < everyMs) return false;
    last.set(bucket, now);
    return true;
  };
  return {
    refused(ctx: RequestContext, r: LimitRefusal): void {
      const sink = emit();
      if (sink === null || !due(r.bucket, Date.now())) return;
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
      if (sink !== null && due('\0refused-credentials', Date.now())) sink({ limit: 'refusedCredentials', kind: 'refused_credentials', per: 'client' });
    },
  };
}
