import type { QuotaConfig } from '../config/types.ts';

/** The UTC period a quota counts at `now`: its id, when it started and when it ends (0: never). */
export function quotaPeriod(q: QuotaConfig, now: number): { id: string; startsAt: number; endsAt: number } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (q.period) {
    case 'day': return { id: d.toISOString().slice(0, 10), startsAt: Date.UTC(y, m, d.getUTCDate()), endsAt: Date.UTC(y, m, d.getUTCDate() + 1) };
    case 'month': return { id: d.toISOString().slice(0, 7), startsAt: Date.UTC(y, m, 1), endsAt: Date.UTC(y, m + 1, 1) };
    case 'none': return { id: 'all', startsAt: 0, endsAt: 0 };
  }
}
