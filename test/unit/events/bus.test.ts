import { describe, expect, it } from 'vitest';
import { createEventBus } from '../../../src/events/bus.ts';
import { createSampler } from '../../../src/events/sample.ts';
import { createMemoryMarkers } from '../../../src/events/markers.ts';
import type { KeygateEvent } from '../../../src/events/types.ts';

describe('event bus', () => {
  it('stamps an id and RFC 3339 time, and a throwing listener neither throws to the emitter nor stops the others', () => {
    const errors: unknown[] = [];
    const bus = createEventBus({ now: () => new Date('2026-12-04T10:00:00Z'), onListenerError: (e) => errors.push(e) });
    const got: KeygateEvent[] = [];
    bus.subscribe(() => { throw new Error('receiver bug'); });
    const off = bus.subscribe((e) => got.push(e));
    const e = bus.emit('principal.disabled', { principalId: 'p1', name: 'bot', by: 'admin-token' });
    expect(e).toMatchObject({ type: 'principal.disabled', at: '2026-12-04T10:00:00.000Z' });
    expect(e.id).toMatch(/^evt_[0-9a-f-]{36}$/);
    expect(got).toEqual([e]);
    expect(errors).toHaveLength(1);
    off();
    bus.emit('limit.exceeded', { limit: 'standard', kind: 'rate', per: 'principal', principalId: 'p1' });
    expect(got).toHaveLength(1);
    expect(bus.emit('limit.exceeded', { limit: 'x', kind: 'quota', per: 'key' }).id).not.toBe(e.id);
  });
});

describe('sampler (limit.exceeded)', () => {
  it('lets through perWindow occurrences per key and window', () => {
    const clock = { t: 0 };
    const s = createSampler({ perWindow: 2, windowMs: 1000, now: () => clock.t });
    expect([s.take('a'), s.take('a'), s.take('a'), s.take('b')]).toEqual([true, true, false, true]);
    clock.t = 1000;
    expect(s.take('a')).toBe(true);
  });
});

describe('memory markers', () => {
  it('claims a name once until its ttl passes', async () => {
    const clock = { t: 0 };
    const m = createMemoryMarkers(() => clock.t);
    expect(await m.claim('x', 100)).toBe(true);
    expect(await m.claim('x', 100)).toBe(false);
    clock.t = 100;
    expect(await m.claim('x', 100)).toBe(true);
  });
});
