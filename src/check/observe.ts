import type { DecisionContext } from '../context.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { CheckDecision, CheckMode } from './decide.ts';

export type CheckResult = 'allowed' | 'unauthenticated' | 'forbidden' | 'refused' | 'error';

/** The result label of a decision: 401s are unauthenticated, `forbidden` is forbidden, 5xx an error, any other refusal `refused`. */
export function checkResult(d: CheckDecision): CheckResult {
  if (d.allowed) return 'allowed';
  if (d.status >= 500) return 'error';
  if (d.status === 401) return 'unauthenticated';
  return d.code === 'forbidden' ? 'forbidden' : 'refused';
}

/** Records one decision in keygate_check_decisions_total and keygate_check_duration_seconds. */
export function createCheckMetrics(m: Metrics) {
  return function observeCheck(ctx: DecisionContext, mode: CheckMode, d: CheckDecision): void {
    m.checkDecisions.labels(mode, ctx.match?.route.name ?? 'unmatched', checkResult(d)).inc();
    m.checkDuration.labels(mode).observe(Number(process.hrtime.bigint() - ctx.start) / 1e9);
  };
}
