import { Counter, Gauge, type Registry } from 'prom-client';
import { EVENT_TYPES, EXPIRY_WINDOWS, type ExpiryWindow } from './types.ts';

/**
 * Metrics of lifecycle events and webhook deliveries, on the gateway's registry. Labels: event
 * types and windows (fixed sets), webhook names (from the config), results and reasons (fixed).
 */
export function createEventMetrics(registry: Registry, webhookNames: readonly string[]) {
  const r = [registry];
  let expiring = (): Record<ExpiryWindow, number> => ({ '7d': 0, '1d': 0 });
  let pending = async (): Promise<number> => 0;
  const m = {
    keysExpiring: new Gauge({
      name: 'keygate_keys_expiring', help: 'Live keys (not rotated out, not revoked) that expire within the window, as of the last expiry check (keys.expiryCheckInterval): 7d includes 1d', labelNames: ['window'] as const, registers: r,
      collect() { const c = expiring(); for (const w of EXPIRY_WINDOWS) this.labels(w).set(c[w]); },
    }),
    events: new Counter({ name: 'keygate_events_total', help: 'Lifecycle events emitted by this replica, by type', labelNames: ['type'] as const, registers: r }),
    deliveries: new Counter({ name: 'keygate_webhook_deliveries_total', help: 'Webhook delivery attempts by receiver and result: delivered (2xx), retried (will be tried again), failed (given up after maxAttempts)', labelNames: ['webhook', 'result'] as const, registers: r }),
    dropped: new Counter({ name: 'keygate_webhook_deliveries_dropped_total', help: 'Webhook deliveries never queued: queue_full (the in-process outbox or the store\'s pending bound) or store_error (Redis unreachable while the outbox was full)', labelNames: ['reason'] as const, registers: r }),
    queued: new Gauge({
      name: 'keygate_webhook_deliveries_pending', help: 'Webhook deliveries waiting to be (re)tried, in the shared queue (Redis) or this process (embedded store)', registers: r,
      async collect() { try { this.set(await pending()); } catch { /* the last value stands while Redis is away */ } },
    }),
    observeExpiring(fn: () => Record<ExpiryWindow, number>) { expiring = fn; },
    observePending(fn: () => Promise<number>) { pending = fn; },
  };
  for (const t of EVENT_TYPES) m.events.labels(t).inc(0);
  for (const reason of ['queue_full', 'store_error']) m.dropped.labels(reason).inc(0);
  for (const w of webhookNames) for (const result of ['delivered', 'retried', 'failed']) m.deliveries.labels(w, result).inc(0);
  return m;
}

export type EventMetrics = ReturnType<typeof createEventMetrics>;
