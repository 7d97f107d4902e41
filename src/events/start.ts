import type { GatewayConfig } from '../config/types.ts';
import type { KeyStore } from '../keystore/types.ts';
import type { Registry } from 'prom-client';
import { isRedis, openSideConnection, type SideConnection } from '../audit/connection.ts';
import { createEventBus, type EventBus } from './bus.ts';
import { createMemoryMarkers, createRedisMarkers } from './markers.ts';
import { createEventMetrics } from './metrics.ts';
import { createExpiryWatch, type ExpiryWatch } from '../lifecycle/expiry-watch.ts';
import { createMemoryDeliveries } from '../webhooks/memory-deliveries.ts';
import { createRedisDeliveries } from '../webhooks/redis-deliveries.ts';
import type { DeliveryStore } from '../webhooks/deliveries.ts';
import { createWebhookDispatcher } from '../webhooks/dispatcher.ts';

/** Deliveries waiting at most (per replica in process, fleet-wide in Redis); beyond it new ones are dropped and counted. */
export const MAX_PENDING_DELIVERIES = 10_000;
/** Deliveries kept for `GET /v1/webhooks/deliveries`. */
export const MAX_DELIVERY_LOG = 1_000;

export interface LifecycleEvents {
  bus: EventBus;
  watch: ExpiryWatch;
  deliveries: DeliveryStore;
  close(): Promise<void>;
}

export interface LifecycleEventsOptions {
  config: () => GatewayConfig;
  /** The shared store and, when it is another one, the in-process store of declared keys. */
  stores: KeyStore[];
  registry: Registry;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void };
  userAgent: string;
}

/**
 * Events, the expiry watch and webhook delivery, next to the store like the audit trail: on a
 * side connection of their own with Redis (markers and the delivery queue are shared by every
 * replica), in process with the embedded store.
 */
export function startLifecycleEvents(opts: LifecycleEventsOptions): LifecycleEvents {
  const c0 = opts.config();
  const metrics = createEventMetrics(opts.registry, c0.webhooks.map((w) => w.name));
  const bus = createEventBus({ onListenerError: (e) => opts.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'event listener failed') });
  bus.subscribe((e) => metrics.events.labels(e.type).inc());
  const side: SideConnection | null = isRedis(c0.store) ? openSideConnection(c0.store) : null;
  const markers = side === null ? createMemoryMarkers() : createRedisMarkers(side.conn, c0.store.prefix, side.starting);
  const deliveries = side === null
    ? createMemoryDeliveries({ maxPending: MAX_PENDING_DELIVERIES, maxLog: MAX_DELIVERY_LOG })
    : createRedisDeliveries({ conn: side.conn, prefix: c0.store.prefix, maxPending: MAX_PENDING_DELIVERIES, maxLog: MAX_DELIVERY_LOG, starting: side.starting });
  let watchFailing = false;
  const watch = createExpiryWatch({
    stores: () => opts.stores,
    markers,
    events: bus,
    intervalMs: () => opts.config().keys.expiryCheckIntervalMs,
    onError: (e) => {
      if (watchFailing) return;
      watchFailing = true;
      opts.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'key expiry check failed; retrying at the next interval');
      setTimeout(() => { watchFailing = false; }, 60_000).unref();
    },
  });
  // An admin's "expire now" is key.revoked; the watch must not announce it again as key.expired.
  bus.subscribe((e) => {
    if (e.type === 'key.revoked' && e.data.reason === 'expired_by_admin') watch.markRevoked(e.data.keyId, e.data.expiresAt).catch(() => {});
  });
  metrics.observeExpiring(() => watch.counts());
  metrics.observePending(() => deliveries.pending());
  const dispatcher = createWebhookDispatcher({
    webhooks: () => opts.config().webhooks,
    store: deliveries,
    bus,
    userAgent: opts.userAgent,
    logger: opts.logger,
    onResult: (w, result) => metrics.deliveries.labels(w, result).inc(),
    onDrop: (reason, n) => metrics.dropped.labels(reason).inc(n),
  });
  watch.start();
  return {
    bus, watch, deliveries,
    async close() {
      await watch.close();
      await dispatcher.close();
      await side?.close();
    },
  };
}
