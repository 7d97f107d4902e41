import type { DecisionContext } from '../context.ts';
import type { AccessLog } from '../log/access.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { CounterSeries, HistogramSeries, SeriesMap } from '../metrics/series.ts';
import type { CheckDecision, CheckMode } from './decide.ts';

export type CheckResult = 'allowed' | 'unauthenticated' | 'forbidden' | 'refused' | 'error';

/** The result label of a decision: 401s are unauthenticated, `forbidden` is forbidden, 5xx an error, any other refusal `refused`. */
export function checkResult(d: CheckDecision): CheckResult {
  if (d.allowed) return 'allowed';
  if (d.status >= 500) return 'error';
  if (d.status === 401) return 'unauthenticated';
  return d.code === 'forbidden' ? 'forbidden' : 'refused';
}

/**
 * Records one decision in keygate_check_decisions_total and keygate_check_duration_seconds, on
 * series held per label tuple (metrics/series.ts): no label hashing per decision.
 */
export function createCheckMetrics(m: Metrics, hrtime: () => bigint = process.hrtime.bigint) {
  const decisions = new SeriesMap<CheckMode, SeriesMap<string, SeriesMap<CheckResult, CounterSeries>>>((mode) =>
    new SeriesMap((route) => new SeriesMap((result) => new CounterSeries(m.checkDecisions, { mode, route, result }))));
  const duration = new SeriesMap<CheckMode, HistogramSeries>((mode) => new HistogramSeries(m.checkDuration, { mode }));
  return function observeCheck(ctx: DecisionContext, mode: CheckMode, d: CheckDecision): void {
    decisions.get(mode).get(ctx.match?.route.name ?? 'unmatched').get(checkResult(d)).inc();
    duration.get(mode).observe(Number(hrtime() - ctx.start) / 1e9);
  };
}

/**
 * `onDecided` of the decider: every decision into the audit trail and the metrics, and into the
 * access log as `check.accessLog` says. `refusals` leaves out the allowed decisions the audit
 * trail records (an authenticated principal: `authNs` set, audit/event.ts): in decision mode the
 * proxy in front writes its own access line for every request, and the audit event has the
 * principal, key, route and latency, so the line would repeat both. An allowed decision the trail
 * does not record (a public route) keeps its line.
 */
export function createCheckObserver(deps: {
  accessLog: AccessLog;
  trail: { recordRequest(ctx: DecisionContext, status: number): void };
  metrics: Metrics;
}): (ctx: DecisionContext, mode: CheckMode, d: CheckDecision) => void {
  const observeCheck = createCheckMetrics(deps.metrics);
  return function onDecided(ctx, mode, d) {
    const status = d.allowed ? 200 : d.status;
    if (!d.allowed || ctx.authNs === null || ctx.gen.config.check.accessLog === 'all') deps.accessLog.request(ctx, status);
    deps.trail.recordRequest(ctx, status);
    observeCheck(ctx, mode, d);
  };
}
