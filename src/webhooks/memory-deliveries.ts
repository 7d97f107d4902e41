import { matchesFilter, settled, type DeliveryRecord, type DeliveryStore, type QueuedDelivery } from './deliveries.ts';

interface Entry {
  record: DeliveryRecord;
  body: string | null;
  /** ms; Infinity once settled for good. */
  dueAt: number;
}

/**
 * The embedded store's queue: in process, so deliveries waiting when the process stops are lost
 * (docs/webhooks.md says so). Bounded twice: `maxPending` waiting, `maxLog` kept for the log.
 */
export function createMemoryDeliveries(opts: { maxPending: number; maxLog: number }): DeliveryStore {
  const entries = new Map<string, Entry>(); // insertion order = creation order
  let waiting = 0;

  function trim(): void {
    for (const [id, e] of entries) {
      if (entries.size <= opts.maxLog) break;
      if (e.dueAt !== Infinity) continue; // never forget a delivery still owed
      entries.delete(id);
    }
  }

  return {
    backend: 'memory',
    async enqueue(items, now) {
      let refused = 0;
      for (const { record, body } of items) {
        if (waiting >= opts.maxPending) { refused++; continue; }
        entries.set(record.id, { record, body, dueAt: now.getTime() });
        waiting++;
      }
      trim();
      return refused;
    },
    async claim(now, max, leaseMs) {
      const out: QueuedDelivery[] = [];
      const t = now.getTime();
      for (const e of entries.values()) {
        if (out.length >= max) break;
        if (e.dueAt > t || e.body === null) continue;
        e.dueAt = t + leaseMs;
        e.record = { ...e.record, status: 'delivering', attempts: e.record.attempts + 1, updatedAt: now.toISOString() };
        out.push({ record: e.record, body: e.body });
      }
      return out;
    },
    async settle(id, s) {
      const e = entries.get(id);
      if (e === undefined) return;
      const wasWaiting = e.dueAt !== Infinity;
      e.record = settled(e.record, s);
      if (s.outcome === 'retry') e.dueAt = s.nextAt.getTime();
      else {
        e.dueAt = Infinity;
        e.body = null; // the log keeps the record, not the payload
        if (wasWaiting) waiting--;
      }
    },
    async list(f) {
      const all = [...entries.values()].map((e) => e.record).filter((r) => matchesFilter(r, f));
      return all.reverse().slice(0, f.limit);
    },
    async pending() { return waiting; },
    async close() {},
  };
}
