import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config/types.ts';
import type { DecisionContext as RequestContext } from '../context.ts';
import type { Logger } from '../log/logger.ts';
import { isRedis, type StoreTarget } from '../audit/connection.ts';
import { createLimiter, type Limiter } from './limiter.ts';
import { createMemoryLimitBackend } from './memory-backend.ts';
import { createRedisLimitBackend } from './redis-backend.ts';
import { createLimitMetrics, type LimitMetrics } from './metrics.ts';
import type { LimitRefusal } from './stage.ts';
import { createExceededSampler, type LimitExceeded } from './exceeded.ts';

export interface Limits {
  limiter: Limiter;
  metrics: LimitMetrics;
  onLimited(ctx: RequestContext, r: LimitRefusal): void;
  onCredentialsLimited(style: string): void;
  /** Where sampled `limit.exceeded` events go (the lifecycle event bus, src/events/). */
  emitTo(emit: (e: LimitExceeded) => void): void;
}

/**
 * The limiter beside the key store: budgets in the store's Redis, or in process with the
 * embedded store. Refusals are counted and, sampled, handed to the `limit.exceeded` hook.
 */
export function createLimits(opts: { store: StoreTarget; config: () => GatewayConfig; metrics: Registry; logger: Logger }): Limits {
  const { logger } = opts;
  const metrics = createLimitMetrics(opts.metrics);
  const backend = isRedis(opts.store) ? createRedisLimitBackend(opts.store) : createMemoryLimitBackend();
  const limiter = createLimiter({
    backend,
    config: () => opts.config().limiter,
    events: {
      leased: (kind, ok) => metrics.leases.labels(kind, ok ? 'ok' : 'error').inc(),
      state: (state, err) => {
        if (state === 'down') logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'limits: the store is unreachable; each replica enforces its share of every limit');
        else logger.info({}, 'limits: shared through the store again');
      },
      fallbackDecision: () => metrics.fallback.inc(),
    },
  });
  metrics.observe(limiter);
  let sink: ((e: LimitExceeded) => void) | null = null;
  const exceeded = createExceededSampler(() => sink);
  return {
    limiter,
    metrics,
    onLimited(ctx, r) {
      if (r.code === 'rate_limited') metrics.limited.labels(r.name.startsWith('override(') ? 'override' : r.name).inc();
      else metrics.quotaRefusals.labels(r.name.replace(/-quota$/, '')).inc();
      exceeded.refused(ctx, r);
    },
    onCredentialsLimited(style) {
      metrics.refusedCredentials.labels(style).inc();
      exceeded.credentialsRefused();
    },
    emitTo(emit) {
      sink = emit;
    },
  };
}
