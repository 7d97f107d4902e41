/** The audit ring as it was before issue 12 (an object per event), kept for bench/micro/audit-ring.ts. */
import type { AuditEvent, StoredAuditEvent } from '../../src/audit/event.ts';
import { decodeCursor, encodeCursor, matches, type AuditFilter, type AuditPage } from '../../src/audit/query.ts';

/**
 * The embedded store's trail: the newest `capacity` events in a ring, lost on restart (like the
 * embedded key store itself). Writes are an array store, so no queue is needed in front of it.
 * Positions are sequence numbers that only grow, so a cursor stays valid while the ring turns
 * (it just finds nothing older once its events are overwritten).
 */
export class ObjectAuditSink {
  private readonly ring: (AuditEvent | undefined)[];
  private readonly capacity: number;
  /** Sequence number of the next event; event `s` lives at `ring[s % capacity]`. */
  private next = 0;

  constructor(capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('audit ring: capacity must be a positive integer');
    this.capacity = capacity;
    this.ring = new Array<AuditEvent | undefined>(capacity);
  }

  write(e: AuditEvent): void {
    this.ring[this.next % this.capacity] = e;
    this.next++;
  }

  get size(): number {
    return Math.min(this.next, this.capacity);
  }

  /** Newest first, from just before the cursor down to the oldest event still held. */
  query(f: AuditFilter): AuditPage {
    const oldest = Math.max(0, this.next - this.capacity);
    let s = this.next - 1;
    if (f.cursor !== undefined) s = Math.min(s, Number(decodeCursor('m', f.cursor, /^[0-9]{1,15}$/)) - 1);
    const items: StoredAuditEvent[] = [];
    // Bounded work per call, as on Redis: the ring shares the event loop with the proxy.
    const stop = Math.max(oldest, s - SCAN_BUDGET + 1);
    for (; s >= stop && items.length < f.limit; s--) {
      const e = this.ring[s % this.capacity] as AuditEvent; // every slot from oldest to next-1 is filled
      // Events are written in time order (modulo clock steps), so past `since` there is nothing more to find.
      if (f.sinceMs !== undefined && Date.parse(e.time) < f.sinceMs - CLOCK_SLACK_MS) return { items, nextCursor: null };
      if (matches(e, f)) items.push({ id: String(s), ...e });
    }
    return { items, nextCursor: s >= oldest ? encodeCursor('m', String(s + 1)) : null };
  }
}

/** Tolerance for a clock stepped backwards while events were written. */
const CLOCK_SLACK_MS = 60_000;
/** Most events one query looks at before it returns a page with a cursor. */
const SCAN_BUDGET = 20_000;
