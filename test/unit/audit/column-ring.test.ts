import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryAuditSink } from '../../../src/audit/memory-sink.ts';
import type { AuditEvent, StoredAuditEvent } from '../../../src/audit/event.ts';

/** The ring before issue 12 held the objects themselves; what it returned is the reference. */
function objectRing(capacity: number, events: AuditEvent[]): StoredAuditEvent[] {
  const held = events.slice(-capacity).map((e, i) => ({ id: String(Math.max(0, events.length - capacity) + i), ...e }));
  return held.reverse();
}

const str = (max = 30) => fc.option(fc.string({ maxLength: max }), { nil: null });
const eventArb: fc.Arbitrary<AuditEvent> = fc.record({
  time: fc.oneof(
    fc.integer({ min: 0, max: 4102444800000 }).map((ms) => new Date(ms).toISOString()),
    fc.constantFrom('2026-05-01T00:00:00Z', '2026-05-01T00:00:00.000+00:00', 'not a time', '1969-12-31T23:59:59.999Z', '2026-05-01T00:00:00.99xZ'),
  ),
  kind: fc.constantFrom('request', 'token', 'admin'),
  requestId: fc.string({ maxLength: 40 }),
  principalId: str(), principalName: str(), keyId: str(), credential: fc.option(fc.constantFrom('bearer', 'apikey'), { nil: null }),
  route: str(), method: fc.option(fc.constantFrom('GET', 'POST'), { nil: null }), path: str(80),
  status: fc.option(fc.integer({ min: 100, max: 599 }), { nil: null }),
  decision: fc.constantFrom('allowed', 'denied', 'error'),
  reason: fc.option(fc.constantFrom('invalid_key', 'forbidden'), { nil: null }),
  latencyMs: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: null }),
  client: fc.option(fc.constantFrom('127.0.0.1', '::1', '10.0.0.7'), { nil: null }),
  action: str(), target: str(),
  details: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.string(), fc.integer())), { nil: null }),
}) as fc.Arbitrary<AuditEvent>;

describe('column-stored audit ring (issue 12)', () => {
  it('returns exactly the events an object ring would, for any events and any capacity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(eventArb, { maxLength: 120 }), (capacity, events) => {
        const ring = new MemoryAuditSink(capacity);
        for (const e of events) ring.write(e);
        expect(ring.query({ limit: 1000 }).items).toEqual(objectRing(capacity, events));
      }),
      { numRuns: 400 },
    );
  });

  it('keeps nothing of an overwritten event: a hand-written time or details do not outlive their slot', () => {
    const ring = new MemoryAuditSink(2);
    const base: AuditEvent = {
      time: '2026-05-01T00:00:00Z', kind: 'admin', requestId: 'a', principalId: null, principalName: 'ops', keyId: null, credential: null,
      route: null, method: null, path: null, status: null, decision: 'allowed', reason: null, latencyMs: null, client: null, action: 'key.create', target: 'k1', details: { name: 'x' },
    };
    ring.write(base);
    ring.write({ ...base, requestId: 'b' });
    ring.write({ ...base, requestId: 'c', time: '2026-05-01T00:00:01.000Z', details: null });
    ring.write({ ...base, requestId: 'd', time: '2026-05-01T00:00:02.000Z', details: null });
    expect(ring.query({ limit: 10 }).items.map((e) => [e.requestId, e.time, e.details])).toEqual([
      ['d', '2026-05-01T00:00:02.000Z', null], ['c', '2026-05-01T00:00:01.000Z', null],
    ]);
  });

  it('grows its columns as events arrive and still returns every event, across each doubling and the wrap', () => {
    // The columns start at 1024 slots and double up to the capacity (issue 12: idle memory).
    const sample = fc.sample(eventArb, { numRuns: 7000, seed: 12 });
    const all = (ring: MemoryAuditSink): StoredAuditEvent[] => {
      const out: StoredAuditEvent[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = ring.query({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
        out.push(...page.items);
        if (page.nextCursor === null) return out;
        cursor = page.nextCursor;
      }
    };
    for (const capacity of [1024, 1025, 2500, 10_000]) {
      for (const n of [0, 1024, 1025, 2049, 7000]) {
        const events = sample.slice(0, n);
        const ring = new MemoryAuditSink(capacity);
        for (const e of events) ring.write(e);
        expect(ring.size).toBe(Math.min(n, capacity));
        expect(all(ring)).toEqual(objectRing(capacity, events));
      }
    }
  });
});
