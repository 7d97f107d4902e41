import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Registry, type Counter, type Histogram } from 'prom-client';
import type { RequestContext } from '../../../src/context.ts';
import { createMetrics, methodLabel, type AuthResult, type Metrics } from '../../../src/metrics/metrics.ts';
import { createRequestMetrics } from '../../../src/metrics/request-metrics.ts';

const ERROR_RESULT: Record<string, AuthResult> = {
  missing_credentials: 'unauthenticated', invalid_key: 'unauthenticated', key_expired: 'unauthenticated',
  key_revoked: 'unauthenticated', principal_disabled: 'unauthenticated', token_expired: 'unauthenticated',
  user_key_required: 'unauthenticated', forbidden: 'forbidden',
};

/** keygate's request metrics before issue 12 (cached `labels()` children), kept as the reference. */
function landedObserve(m: Metrics, hrtime: () => bigint) {
  const cache = new Map<string, unknown>();
  const child = <T,>(name: string, make: () => T, ...labels: string[]): T => {
    const k = `${name}\u0000${labels.join('\u0000')}`;
    if (!cache.has(k)) cache.set(k, make());
    return cache.get(k) as T;
  };
  type C = ReturnType<Counter['labels']>;
  type H = ReturnType<Histogram['labels']>;
  return (ctx: RequestContext, status: number) => {
    const route = ctx.match?.route.name ?? 'unmatched';
    const method = methodLabel(ctx.req.method);
    child<C>('r', () => m.requests.labels(route, method, String(status)), route, method, String(status)).inc();
    child<H>('d', () => m.requestDuration.labels(route), route).observe(Number(hrtime() - ctx.start) / 1e9);
    if (ctx.authNs !== null) {
      const credential = ctx.credential?.style ?? 'none';
      const result: AuthResult = ctx.errorCode === null || ctx.forwarded ? 'allowed' : (ERROR_RESULT[ctx.errorCode] ?? 'error');
      child<C>('a', () => m.auth.labels(route, credential, result), route, credential, result).inc();
      child<H>('ad', () => m.authDuration.labels(credential), credential).observe(Number(ctx.authNs) / 1e9);
    }
    if (ctx.upstreamStart !== null && ctx.match?.upstream != null) {
      const up = ctx.match.upstream.name;
      child<H>('u', () => m.upstreamDuration.labels(up), up).observe(Number(hrtime() - ctx.upstreamStart) / 1e9);
    }
  };
}

interface Req {
  route: string | null; upstream: string; method: string | undefined; status: number; credential: string | null;
  errorCode: string | null; forwarded: boolean; authNs: bigint | null; totalNs: bigint; upstreamNs: bigint | null;
}
function ctxOf(r: Req): RequestContext {
  return {
    start: 0n, errorCode: r.errorCode, forwarded: r.forwarded, authNs: r.authNs, req: { method: r.method },
    match: r.route === null ? null : { route: { name: r.route }, upstream: { name: r.upstream } },
    credential: r.credential === null ? null : { style: r.credential },
    upstreamStart: r.upstreamNs === null ? null : r.totalNs - r.upstreamNs,
    headerDrops: null, upstreamRetry: null, malformedStyle: null,
  } as unknown as RequestContext;
}

/** keygate's own series only: the process metrics move by themselves. */
const keygateText = async (m: Metrics) => (await m.registry.metrics()).split('\n').filter((l) => l.includes('keygate_') && !l.includes('process_')).join('\n');

// Durations around and exactly on bucket bounds, beyond the last one, and zero.
const BOUNDS_NS = [0n, 1n, 10_000n, 25_000n, 500_000n, 1_000_000n, 30_000_000_000n, 31_000_000_000n, 250_000_000n, 9_999n];
const ns = fc.oneof(fc.constantFrom(...BOUNDS_NS), fc.bigInt({ min: 0n, max: 40_000_000_000n }));
const reqArb: fc.Arbitrary<Req> = fc.record({
  route: fc.option(fc.constantFrom('app-read', 'items', 'admin'), { nil: null }),
  upstream: fc.constantFrom('app', 'other'),
  method: fc.option(fc.constantFrom('GET', 'POST', 'PROPFIND', 'DELETE'), { nil: undefined }),
  status: fc.constantFrom(200, 201, 401, 403, 404, 499, 502, 504),
  credential: fc.option(fc.constantFrom('bearer', 'apikey', 'query'), { nil: null }),
  errorCode: fc.option(fc.constantFrom('invalid_key', 'forbidden', 'upstream_timeout', 'store_unavailable'), { nil: null }),
  forwarded: fc.boolean(),
  authNs: fc.option(ns, { nil: null }),
  totalNs: ns,
  upstreamNs: fc.option(ns, { nil: null }),
});

describe('request metrics (issue 12: held series, identical /metrics text)', () => {
  it('renders exactly what the landed labels() code rendered, for any sequence of requests', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(reqArb, { minLength: 1, maxLength: 60 }), fc.integer({ min: -1, max: 59 }), async (reqs, resetAt) => {
        const a = createMetrics(new Registry());
        const b = createMetrics(new Registry());
        let now = 0n;
        const clock = () => now;
        const landed = landedObserve(a, clock);
        const held = createRequestMetrics(b, clock);
        for (let i = 0; i < reqs.length; i++) {
          const r = reqs[i] as Req;
          now = r.totalNs;
          landed(ctxOf(r), r.status);
          held(ctxOf(r), r.status);
          // A registry reset in between: both start again from empty series.
          if (i === resetAt) {
            a.registry.resetMetrics();
            b.registry.resetMetrics();
          }
        }
        expect(await keygateText(b)).toBe(await keygateText(a));
      }),
      { numRuns: 300 },
    );
  });

  it('adds to a series someone else created through prom-client, without resetting it', async () => {
    const m = createMetrics(new Registry());
    m.requests.labels('app-read', 'GET', '200').inc(5);
    m.requestDuration.labels('app-read').observe(0.003);
    createRequestMetrics(m, () => 2_000_000n)(ctxOf({ route: 'app-read', upstream: 'app', method: 'GET', status: 200, credential: null, errorCode: null, forwarded: true, authNs: null, totalNs: 0n, upstreamNs: null }), 200);
    const text = await m.registry.metrics();
    expect(text).toContain('keygate_requests_total{route="app-read",method="GET",status="200"} 6');
    expect(text).toContain('keygate_request_duration_seconds_count{route="app-read"} 2');
    expect(text).toContain('keygate_request_duration_seconds_bucket{le="0.0025",route="app-read"} 1');
    expect(text).toContain('keygate_request_duration_seconds_bucket{le="0.005",route="app-read"} 2');
  });
});
