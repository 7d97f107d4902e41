import type { DecisionContext } from '../context.ts';
import type { AuthResult, Metrics } from './metrics.ts';
import { methodLabel } from './metrics.ts';
import { CounterSeries, HistogramSeries, SeriesMap } from './series.ts';

const ERROR_RESULT: Record<string, AuthResult> = {
  missing_credentials: 'unauthenticated', invalid_key: 'unauthenticated', key_expired: 'unauthenticated',
  key_revoked: 'unauthenticated', principal_disabled: 'unauthenticated', token_expired: 'unauthenticated',
  user_key_required: 'unauthenticated', forbidden: 'forbidden',
  key_pair_secret_not_credential: 'unauthenticated', ambiguous_credentials: 'unauthenticated',
};

/** One route's series, found by the route name alone; the rest by small maps of interned strings. */
interface RouteSeries {
  duration: HistogramSeries;
  /** method → status → requests. */
  requests: SeriesMap<string, SeriesMap<number, CounterSeries>>;
  /** credential → result → decisions. */
  auth: SeriesMap<string, SeriesMap<AuthResult, CounterSeries>>;
}

/** Records one finished request. Called once per request, off the forwarding path. `hrtime`: tests. */
export function createRequestMetrics(m: Metrics, hrtime: () => bigint = process.hrtime.bigint) {
  const routes = new SeriesMap<string, RouteSeries>((route) => ({
    duration: new HistogramSeries(m.requestDuration, { route }),
    requests: new SeriesMap((method) => new SeriesMap((status) => new CounterSeries(m.requests, { route, method, status: String(status) }))),
    auth: new SeriesMap((credential) => new SeriesMap((result) => new CounterSeries(m.auth, { route, credential, result }))),
  }));
  const authDuration = new SeriesMap<string, HistogramSeries>((credential) => new HistogramSeries(m.authDuration, { credential }));
  const upstreamDuration = new SeriesMap<string, HistogramSeries>((upstream) => new HistogramSeries(m.upstreamDuration, { upstream }));

  return function observe(ctx: DecisionContext, status: number): void {
    const route = routes.get(ctx.match?.route.name ?? 'unmatched');
    route.requests.get(methodLabel(ctx.req.method)).get(status).inc();
    route.duration.observe(Number(hrtime() - ctx.start) / 1e9);
    if (ctx.authNs !== null) {
      const credential = ctx.credential?.style ?? ctx.malformedStyle ?? 'none';
      const result: AuthResult = ctx.errorCode === null || ctx.forwarded ? 'allowed' : (ERROR_RESULT[ctx.errorCode] ?? 'error');
      route.auth.get(credential).get(result).inc();
      authDuration.get(credential).observe(Number(ctx.authNs) / 1e9);
    }
    if (ctx.headerDrops !== null) {
      for (const [reason, n] of Object.entries(ctx.headerDrops)) if (n > 0) m.headersDropped.labels(reason).inc(n);
    }
    if (ctx.upstreamStart !== null && ctx.match?.upstream != null) {
      upstreamDuration.get(ctx.match.upstream.name).observe(Number(hrtime() - ctx.upstreamStart) / 1e9);
    }
  };
}
