import { describe, expect, it } from 'vitest';
import { MemoryAuditSink } from '../../../src/audit/memory-sink.ts';
import { AuditQueryError, parseAuditFilter, type AuditFilter } from '../../../src/audit/query.ts';
import type { AuditEvent } from '../../../src/audit/event.ts';

const T0 = Date.parse('2026-05-01T00:00:00Z');
const NOW = T0 + 86_400_000;

function ev(i: number, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: new Date(T0 + i * 60_000).toISOString(), kind: 'request', requestId: `r${i}`, principalId: `p_${i % 3}`, principalName: ['alice', 'bob', 'carol'][i % 3] ?? null,
    keyId: `key_${i % 5}`, credential: 'bearer', route: i % 2 === 0 ? 'read' : 'write', method: 'GET', path: `/api/${i}`, status: i % 4 === 0 ? 403 : 200,
    decision: i % 4 === 0 ? 'denied' : 'allowed', reason: i % 4 === 0 ? 'forbidden' : null, latencyMs: 1, client: '127.0.0.1', action: null, target: null, details: null, ...over,
  };
}

const params = (q: Record<string, string>) => (name: string) => q[name];

describe('parseAuditFilter', () => {
  it('defaults: limit 100, nothing else', () => {
    expect(parseAuditFilter(params({}), NOW)).toEqual({ limit: 100 });
  });

  it('relative and ISO times; since inclusive, until exclusive', () => {
    const f = parseAuditFilter(params({ since: '24h', until: '2026-05-01T12:00:00Z', principal: 'alice', decision: 'denied', limit: '1000' }), NOW);
    expect(f).toEqual({ sinceMs: NOW - 86_400_000, untilMs: Date.parse('2026-05-01T12:00:00Z'), principal: 'alice', decision: 'denied', limit: 1000 });
    expect(parseAuditFilter(params({ since: '30m' }), NOW).sinceMs).toBe(NOW - 1_800_000);
    expect(parseAuditFilter(params({ since: '2026-05-01' }), NOW).sinceMs).toBe(T0);
  });

  it.each([
    [{ since: 'yesterday' }, 'since'],
    [{ since: '2026-05-01T12:00:00' }, 'since'], // a time without a zone is ambiguous
    [{ until: '2026-13-45T00:00:00Z' }, 'until'],
    [{ since: '1h', until: '2h' }, 'until'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '1001' }, 'limit'],
    [{ limit: '1e3' }, 'limit'],
    [{ decision: 'maybe' }, 'decision'],
    [{ kind: 'other' }, 'kind'],
    [{ principal: 'x'.repeat(201) }, 'principal'],
  ])('%j is refused, naming %s', (q, field) => {
    let err: unknown;
    try {
      parseAuditFilter(params(q as Record<string, string>), NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AuditQueryError);
    expect((err as AuditQueryError).field).toBe(field);
  });
});

describe('memory ring: filters and cursor', () => {
  const sink = new MemoryAuditSink(1000);
  for (let i = 0; i < 300; i++) sink.write(ev(i));
  const q = (f: Partial<AuditFilter>) => sink.query({ limit: 100, ...f });

  it('newest first', () => {
    const page = q({ limit: 3 });
    expect(page.items.map((e) => e.requestId)).toEqual(['r299', 'r298', 'r297']);
    expect(page.nextCursor).not.toBeNull();
  });

  it('principal by id or name, key, route, decision, combined', () => {
    expect(q({ principal: 'bob', limit: 1000 }).items.every((e) => e.principalName === 'bob')).toBe(true);
    expect(q({ principal: 'p_1', limit: 1000 }).items).toHaveLength(100);
    expect(q({ key: 'key_3', limit: 1000 }).items).toHaveLength(60);
    expect(q({ route: 'write', limit: 1000 }).items).toHaveLength(150);
    const denied = q({ decision: 'denied', principal: 'alice', limit: 1000 }).items;
    // i ≡ 0 (mod 4) and i ≡ 0 (mod 3): multiples of 12 below 300.
    expect(denied.map((e) => e.requestId)).toEqual(Array.from({ length: 25 }, (_, k) => `r${(24 - k) * 12}`));
  });

  it('since/until are [since, until) on the event time', () => {
    const items = q({ sinceMs: T0 + 10 * 60_000, untilMs: T0 + 20 * 60_000 }).items;
    expect(items.map((e) => e.requestId)).toEqual(Array.from({ length: 10 }, (_, k) => `r${19 - k}`));
  });

  it('following cursors returns every match exactly once, in order, then null', () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = q({ route: 'read', limit: 7, ...(cursor === undefined ? {} : { cursor }) });
      seen.push(...page.items.map((e) => e.requestId));
      pages++;
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(Array.from({ length: 150 }, (_, k) => `r${298 - 2 * k}`));
    expect(pages).toBeGreaterThanOrEqual(22);
  });

  it('refuses a cursor it did not make', () => {
    expect(() => q({ cursor: 'not-a-cursor' })).toThrow(AuditQueryError);
    expect(() => q({ cursor: Buffer.from('r:1-0').toString('base64url') })).toThrow(AuditQueryError);
  });

  it('is bounded: keeps the newest `capacity` events; an old cursor finds nothing older than what is left', () => {
    const ring = new MemoryAuditSink(50);
    for (let i = 0; i < 40; i++) ring.write(ev(i));
    const first = ring.query({ limit: 5 });
    for (let i = 40; i < 200; i++) ring.write(ev(i));
    expect(ring.size).toBe(50);
    const all = ring.query({ limit: 1000 });
    expect(all.items.map((e) => e.requestId)).toEqual(Array.from({ length: 50 }, (_, k) => `r${199 - k}`));
    expect(all.nextCursor).toBeNull();
    // The cursor pointed below r35, which has been overwritten: an empty last page.
    expect(ring.query({ limit: 5, cursor: first.nextCursor as string })).toEqual({ items: [], nextCursor: null });
  });
});
