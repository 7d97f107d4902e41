import { LRUCache } from 'lru-cache';
import type { RequestContext } from '../context.ts';
import type { LimitRefusal } from './stage.ts';

/** The `limit.exceeded` event (issue 14), as handed to the event emitter of src/events/. */
export interface LimitExceededEvent {
  type: 'limit.exceeded';
  /** `rate_limited` or `quota_exhausted`. */
  code: LimitRefusal['code'];
  /** Policy or quota name. */
  limit: string;
  principalId: string | null;
  principal: string | null;
  keyId: string | null;
  route: string | null;
  /** Refusals of this bucket since the previous event for it (this one included). */
  refusals: number;
  at: string;
}

/**
 * HOOK for h14-lifecycle's event emitter (src/events/): until it is merged, events go to this
 * replaceable sink and nowhere else. `setLimitExceededSink(emit)` is the one line to wire it.
 */
let sink: ((e: LimitExceededEvent) => void) | null = null;
export function setLimitExceededSink(emit: ((e: LimitExceededEvent) => void) | null): void {
  sink = emit;
}

/**
 * Sampling: one event per bucket per `everyMs`, carrying how many refusals it stands for, so a
 * client hammering its limit costs one webhook a minute, not one per 429. Buckets tracked are
 * bounded (least recently refused forgotten).
 */
export function createExceededSampler(everyMs = 60_000, max = 10_000) {
  const last = new LRUCache<string, { at: number; count: number }>({ max });
  return function sample(ctx: RequestContext, r: LimitRefusal): void {
    if (sink === null) return;
    const now = Date.now();
    const seen = last.get(r.bucket);
    if (seen !== undefined && now - seen.at < everyMs) {
      seen.count++;
      return;
    }
    last.set(r.bucket, { at: now, count: 0 });
    sink({
      type: 'limit.exceeded', code: r.code, limit: r.name,
      principalId: ctx.principal?.id ?? null, principal: ctx.principal?.name ?? null, keyId: ctx.key?.id ?? null,
      route: ctx.match?.route.name ?? null, refusals: (seen?.count ?? 0) + 1, at: new Date(now).toISOString(),
    });
  };
}
