/**
 * How `/metrics` combines workers (src/workers/aggregate.ts): real registries built as each
 * worker builds its own (createMetrics), marked and combined the way the primary does.
 */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics/metrics.ts';
import { aggregateText, createPrimaryMetrics, markAggregators } from '../../../src/workers/aggregate.ts';

function worker(requests: number, storeUp: 0 | 1, reloads: number) {
  const m = createMetrics();
  markAggregators(m.registry);
  for (let i = 0; i < requests; i++) m.requests.labels('app', 'GET', '200').inc();
  m.storeUp.set(storeUp);
  m.configReloads.labels('success').inc(reloads);
  m.requestDuration.labels('app').observe(0.002);
  return m.registry.getMetricsAsJSON();
}
const value = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1]);

describe('aggregating workers', () => {
  it('sums counters and histograms, takes the minimum of "up" and the maximum of reloads', async () => {
    const primary = createPrimaryMetrics();
    primary.workers.set(2);
    const { body } = await aggregateText([await worker(3, 1, 2), await worker(4, 0, 2)], primary.registry);
    expect(value(body, 'keygate_requests_total{route="app",method="GET",status="200"}')).toBe(7);
    expect(value(body, 'keygate_request_duration_seconds_count{route="app"}')).toBe(2);
    // One worker cannot reach the store: the pod's answer is "down", not 1.
    expect(value(body, 'keygate_keystore_up')).toBe(0);
    // Both workers reloaded the same two times: two reloads, not four.
    expect(value(body, 'keygate_config_reloads_total{result="success"}')).toBe(2);
    expect(value(body, 'keygate_workers')).toBe(2);
    expect(value(body, 'keygate_worker_restarts_total')).toBe(0);
  });

  it('a scrape with every worker missing still answers, with the primary\'s own series', async () => {
    const primary = createPrimaryMetrics();
    const { body } = await aggregateText([], primary.registry);
    expect(value(body, 'keygate_workers')).toBe(0);
    expect(body).not.toContain('keygate_requests_total');
  });
});
