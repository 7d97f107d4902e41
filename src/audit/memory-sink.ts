import type { AuditDecision, AuditEvent, AuditKind, StoredAuditEvent } from './event.ts';
import { decodeCursor, encodeCursor, matches, type AuditFilter, type AuditPage } from './query.ts';
import { IsoTimes } from './columns.ts';

const KINDS: readonly AuditKind[] = ['request', 'token', 'admin'];
const DECISIONS: readonly AuditDecision[] = ['allowed', 'denied', 'error'];
const KIND_CODE = new Map(KINDS.map((k, i) => [k, i]));
const DECISION_CODE = new Map(DECISIONS.map((d, i) => [d, i]));

/** The nullable string fields, each a column of references (mostly to strings the config or the key store already hold). */
const TEXT = ['principalId', 'principalName', 'keyId', 'credential', 'route', 'method', 'path', 'reason', 'client', 'action', 'target'] as const;
type Text = (typeof TEXT)[number];

/**
 * The embedded store's trail: the newest `capacity` events in a ring, lost on restart (like the
 * embedded key store itself). Writes are array stores, so no queue is needed in front of it.
 * Positions are sequence numbers that only grow, so a cursor stays valid while the ring turns
 * (it just finds nothing older once its events are overwritten).
 *
 * Stored by column, not as an object per event (issue 12): times, statuses and latencies in
 * typed arrays, kinds and decisions as codes, the strings as columns of references. 100k held
 * objects (with an ISO time string and a boxed latency each) were 40 MiB of old-space heap that
 * every major GC walked. (Interning the strings saved more but its map lookups cost more CPU
 * per event than the object did: measured in bench/micro/audit-ring.ts.)
 *
 * The columns grow as events arrive (doubling, up to `capacity`), not allocated whole at start:
 * a full 100k-event ring is ≈11 MiB of columns, which an idle or lightly used gateway would
 * otherwise hold from its first second (issue 12's idle-RSS target). Until the ring is full no
 * slot wraps, so growing only ever copies a prefix; once full it never grows again.
 */
export class MemoryAuditSink {
  private readonly capacity: number;
  /** Sequence number of the next event; event `s` lives at slot `s % capacity`. */
  private next = 0;
  private readonly times = new IsoTimes();
  /** Slots allocated in the typed columns so far (≤ capacity). */
  private allocated: number;
  private timeMs: Float64Array;
  /** Times not in toISOString's exact form, by slot (rare: only events built by hand). */
  private readonly timeText = new Map<number, string>();
  private kind: Uint8Array;
  private decision: Uint8Array;
  /** -1: null. */
  private status: Int32Array;
  /** NaN: null. */
  private latency: Float64Array;
  /** Plain arrays written in slot order, so V8 grows them itself and keeps them packed. */
  private readonly requestId: (string | undefined)[] = [];
  private readonly text: Record<Text, (string | null)[]>;
  /** Admin writes' details, by slot. */
  private readonly details = new Map<number, Record<string, unknown>>();

  constructor(capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('audit ring: capacity must be a positive integer');
    this.capacity = capacity;
    const n = (this.allocated = Math.min(capacity, FIRST_SLOTS));
    this.timeMs = new Float64Array(n);
    this.kind = new Uint8Array(n);
    this.decision = new Uint8Array(n);
    this.status = new Int32Array(n);
    this.latency = new Float64Array(n);
    this.text = Object.fromEntries(TEXT.map((f) => [f, []])) as unknown as Record<Text, (string | null)[]>;
  }

  /** Doubles the typed columns (capped at capacity); only reached before the ring first fills. */
  private grow(): void {
    const n = Math.min(this.capacity, this.allocated * 2);
    const widen = <T extends Float64Array | Uint8Array | Int32Array>(a: T, make: new (n: number) => T): T => {
      const b = new make(n);
      b.set(a);
      return b;
    };
    this.timeMs = widen(this.timeMs, Float64Array);
    this.kind = widen(this.kind, Uint8Array);
    this.decision = widen(this.decision, Uint8Array);
    this.status = widen(this.status, Int32Array);
    this.latency = widen(this.latency, Float64Array);
    this.allocated = n;
  }

  write(e: AuditEvent): void {
    const slot = this.next % this.capacity;
    const overwrite = this.next >= this.capacity;
    if (slot >= this.allocated) this.grow();
    const ms = this.times.toMs(e.time);
    this.timeMs[slot] = ms;
    if (Number.isNaN(ms)) this.timeText.set(slot, e.time);
    else if (overwrite) this.timeText.delete(slot);
    this.kind[slot] = KIND_CODE.get(e.kind) ?? 0;
    this.decision[slot] = DECISION_CODE.get(e.decision) ?? 0;
    this.status[slot] = e.status ?? -1;
    this.latency[slot] = e.latencyMs ?? Number.NaN;
    this.requestId[slot] = e.requestId;
    const c = this.text;
    // Unrolled: a loop over field names made every `e[f]` a keyed (slow) property load.
    c.principalId[slot] = e.principalId;
    c.principalName[slot] = e.principalName;
    c.keyId[slot] = e.keyId;
    c.credential[slot] = e.credential;
    c.route[slot] = e.route;
    c.method[slot] = e.method;
    c.path[slot] = e.path;
    c.reason[slot] = e.reason;
    c.client[slot] = e.client;
    c.action[slot] = e.action;
    c.target[slot] = e.target;
    if (e.details !== null) this.details.set(slot, e.details);
    else if (overwrite) this.details.delete(slot);
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
      const e = this.read(s); // every slot from oldest to next-1 is filled
      // Events are written in time order (modulo clock steps), so past `since` there is nothing more to find.
      if (f.sinceMs !== undefined && Date.parse(e.time) < f.sinceMs - CLOCK_SLACK_MS) return { items, nextCursor: null };
      if (matches(e, f)) items.push(e);
    }
    return { items, nextCursor: s >= oldest ? encodeCursor('m', String(s + 1)) : null };
  }

  /** Event `s` as it was written, with its position as id. */
  private read(s: number): StoredAuditEvent {
    const slot = s % this.capacity;
    const ms = this.timeMs[slot] as number;
    const str = (f: Text) => this.text[f][slot] as string | null;
    const status = this.status[slot] as number;
    const latency = this.latency[slot] as number;
    return {
      id: String(s),
      time: Number.isNaN(ms) ? (this.timeText.get(slot) as string) : this.times.toIso(ms),
      kind: KINDS[this.kind[slot] as number] as AuditKind,
      requestId: this.requestId[slot] as string,
      principalId: str('principalId'),
      principalName: str('principalName'),
      keyId: str('keyId'),
      credential: str('credential'),
      route: str('route'),
      method: str('method'),
      path: str('path'),
      status: status === -1 ? null : status,
      decision: DECISIONS[this.decision[slot] as number] as AuditDecision,
      reason: str('reason'),
      latencyMs: Number.isNaN(latency) ? null : latency,
      client: str('client'),
      action: str('action'),
      target: str('target'),
      details: this.details.get(slot) ?? null,
    };
  }
}

/** Typed-column slots allocated up front; doubled as events arrive. */
const FIRST_SLOTS = 1024;
/** Tolerance for a clock stepped backwards while events were written. */
const CLOCK_SLACK_MS = 60_000;
/** Most events one query looks at before it returns a page with a cursor. */
const SCAN_BUDGET = 20_000;
