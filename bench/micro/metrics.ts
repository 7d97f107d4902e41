/**
 * Request metrics, before and after issue 12: cached prom-client `labels()` children (hashing
 * the labels on every inc/observe) against held series. `node bench/micro/metrics.ts`
 */
import { Registry, type Counter, type Histogram } from 'prom-client';
import type { RequestContext } from '../../src/context.ts';
import { createMetrics, methodLabel } from '../../src/metrics/metrics.ts';
import { createRequestMetrics } from '../../src/metrics/request-metrics.ts';
import { compare } from './interleave.ts';

const ctx = {
  start: process.hrtime.bigint(), errorCode: null, forwarded: true, authNs: 4_200n, req: { method: 'GET' },
  match: { route: { name: 'app-read' }, upstream: { name: 'app' } }, credential: { style: 'bearer' }, upstreamStart: process.hrtime.bigint(),
} as unknown as RequestContext;

/** The landed code (src/metrics/request-metrics.ts before issue 12), for the allowed path. */
function landed(m: ReturnType<typeof createMetrics>) {
  const cache = new Map<string, unknown>();
  const get = <T,>(k: string, make: () => T): T => {
    let c = cache.get(k) as T | undefined;
    if (c === undefined) cache.set(k, (c = make()));
    return c;
  };
  return (c: RequestContext, status: number) => {
    const route = c.match?.route.name ?? 'unmatched';
    const method = methodLabel(c.req.method);
    get(['r', route, method, String(status)].join('\u0000'), () => m.requests.labels(route, method, String(status)) as ReturnType<Counter['labels']>).inc();
    get(['d', route].join('\u0000'), () => m.requestDuration.labels(route) as ReturnType<Histogram['labels']>).observe(Number(process.hrtime.bigint() - c.start) / 1e9);
    const credential = c.credential?.style ?? 'none';
    get(['a', route, credential, 'allowed'].join('\u0000'), () => m.auth.labels(route, credential, 'allowed') as ReturnType<Counter['labels']>).inc();
    get(['ad', credential].join('\u0000'), () => m.authDuration.labels(credential) as ReturnType<Histogram['labels']>).observe(Number(c.authNs) / 1e9);
    const up = (c.match as { upstream: { name: string } }).upstream.name;
    get(['u', up].join('\u0000'), () => m.upstreamDuration.labels(up) as ReturnType<Histogram['labels']>).observe(Number(process.hrtime.bigint() - (c.upstreamStart as bigint)) / 1e9);
  };
}

const before = landed(createMetrics(new Registry()));
const after = createRequestMetrics(createMetrics(new Registry()));
await compare('request metrics (5 observations)', [
  { name: 'labels() children (landed)', run(n) { for (let i = 0; i < n; i++) before(ctx, 200); } },
  { name: 'held series', run(n) { for (let i = 0; i < n; i++) after(ctx, 200); } },
], { n: 500_000, rounds: Number(process.env['ROUNDS'] ?? 8) });
