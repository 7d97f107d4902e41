import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * How `/metrics` combines a series across workers. prom-client sums by default, which is right
 * for counters and histograms (requests, durations) and for per-process sizes (cache entries,
 * RSS). It is wrong for a gauge every worker reads from the same place, or a state:
 * - every worker reports the store's view, so two workers must not say 2 keys expiring;
 * - "up"/"shared" is 1 only if it holds on every worker (min);
 * - every worker reloads the same file together, so reloads count once (max, not N per reload).
 */
export const AGGREGATORS: Record<string, 'min' | 'max'> = {
  keygate_keystore_up: 'min',
  keygate_limiter_shared: 'min',
  keygate_limiter_replicas: 'max',
  keygate_keys_expiring: 'max',
  keygate_webhook_deliveries_pending: 'max',
  keygate_config_reloads_total: 'max',
};

/**
 * In a worker: answer the primary's `prom-client:getMetricsReq` with this registry, after
 * marking the metrics above with their aggregator (read by the primary's AggregatorRegistry).
 */
export function serveWorkerMetrics(registry: Registry): void {
  for (const [name, how] of Object.entries(AGGREGATORS)) {
    const metric = registry.getSingleMetric(name) as { aggregator?: string } | undefined;
    if (metric !== undefined) metric.aggregator = how;
  }
  AggregatorRegistry.setRegistries(registry);
  // The constructor is what installs the worker's IPC listener.
  new AggregatorRegistry();
}
