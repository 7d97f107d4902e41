import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { MetricJson } from './messages.ts';

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

/** In a worker: mark the metrics above with their aggregator (carried in the JSON the primary gets). */
export function markAggregators(registry: Registry): void {
  for (const [name, how] of Object.entries(AGGREGATORS)) {
    const metric = registry.getSingleMetric(name) as { aggregator?: string } | undefined;
    if (metric !== undefined) metric.aggregator = how;
  }
}

/** The primary's own series: what no worker can say about itself. */
export function createPrimaryMetrics() {
  const registry = new Registry();
  return {
    registry,
    workers: new Gauge({ name: 'keygate_workers', help: 'Worker processes serving (server.workers); fewer while one is being replaced', registers: [registry] }),
    restarts: new Counter({ name: 'keygate_worker_restarts_total', help: 'Workers that exited unexpectedly and were started again', registers: [registry] }),
    /** Workers that did not answer a scrape in time (left out of that scrape's sums). */
    missed: new Counter({ name: 'keygate_worker_scrapes_missed_total', help: 'Times a worker did not send its metrics in time for a /metrics scrape; that scrape left it out', registers: [registry] }),
  };
}

/** Every worker's metrics as one exposition, plus the primary's own. */
export async function aggregateText(perWorker: MetricJson[][], primary: Registry): Promise<{ contentType: string; body: string }> {
  const merged = Registry.merge([AggregatorRegistry.aggregate(perWorker as Parameters<typeof AggregatorRegistry.aggregate>[0]), primary]);
  return { contentType: merged.contentType, body: await merged.metrics() };
}
