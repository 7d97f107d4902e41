import type { Worker } from 'node:cluster';
import type { Registry } from 'prom-client';
import { aggregateText } from './aggregate.ts';
import type { MetricJson, ToWorker } from './messages.ts';

/** A scrape waits this long for each worker's metrics; a worker busy past it is left out. */
export const COLLECT_MS = 3_000;

/**
 * The primary's side of `/metrics`: ask every serving worker for its metrics, then combine them.
 * Only workers that serve are asked (one still starting could not answer), and one that does not
 * answer in time is left out of that scrape (`onMissed`) rather than failing it: /metrics must
 * answer while a worker is being replaced. (prom-client's own `clusterMetrics` asks every forked
 * worker and fails the scrape after 5 s if one is still starting.)
 */
export function createCollector(opts: { serving: () => { slot: number; worker: Worker }[]; primary: Registry; onMissed: (n: number) => void }) {
  let seq = 0;
  const open = new Map<number, { answers: MetricJson[][]; waiting: Set<number>; done: () => void }>();
  return {
    /** A worker's `keygate:collected`. */
    answered(slot: number, id: number, metrics: MetricJson[]): void {
      const c = open.get(id);
      if (c === undefined || !c.waiting.delete(slot)) return;
      c.answers.push(metrics);
      if (c.waiting.size === 0) c.done();
    },
    async collect(): Promise<{ contentType: string; body: string }> {
      const id = ++seq;
      const asked = opts.serving();
      const c = { answers: [] as MetricJson[][], waiting: new Set(asked.map((x) => x.slot)), done: () => {} };
      const all = new Promise<void>((r) => (c.done = r));
      open.set(id, c);
      for (const x of asked) x.worker.send({ type: 'keygate:collect', id } satisfies ToWorker);
      let timer: NodeJS.Timeout | undefined;
      if (c.waiting.size > 0) await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, COLLECT_MS)))]);
      clearTimeout(timer);
      open.delete(id);
      if (c.waiting.size > 0) opts.onMissed(c.waiting.size);
      return aggregateText(c.answers, opts.primary);
    },
  };
}
