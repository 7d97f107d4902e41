import { describe, expect, it } from 'vitest';
import { createAnonymousLimit } from '../../../src/audit/anonymous-limit.ts';
import { maskKeys } from '../../../src/credentials/mask.ts';

describe('createAnonymousLimit: a token bucket per client address', () => {
  it('lets a burst through, then the rate, per client', () => {
    let t = 0;
    const allow = createAnonymousLimit({ rate: 2, burst: 5, now: () => t });
    const burst = Array.from({ length: 8 }, () => allow('10.0.0.1'));
    expect(burst).toEqual([true, true, true, true, true, false, false, false]);
    expect(allow('10.0.0.2'), 'another client has its own bucket').toBe(true);
    t = 1000; // one second: two more
    expect([allow('10.0.0.1'), allow('10.0.0.1'), allow('10.0.0.1')]).toEqual([true, true, false]);
    t = 100_000; // refills no higher than the burst
    expect(Array.from({ length: 6 }, () => allow('10.0.0.1')).filter(Boolean)).toHaveLength(5);
  });

  it('rate 0 records everything', () => {
    const allow = createAnonymousLimit({ rate: 0, burst: 0 });
    expect(Array.from({ length: 1000 }, () => allow('x')).every(Boolean)).toBe(true);
  });

  it('keeps buckets for a bounded number of clients (the least recently seen go first)', () => {
    const t = 0;
    const allow = createAnonymousLimit({ rate: 1, burst: 1, clients: 2, now: () => t });
    expect([allow('a'), allow('a')]).toEqual([true, false]);
    allow('b');
    allow('c'); // evicts a
    expect(allow('a'), 'a starts over with a full bucket').toBe(true);
  });
});

describe('maskKeys', () => {
  const key = `kg_${'Zz09'.repeat(12)}abcdef`;
  it('replaces every key-shaped run after the prefix', () => {
    expect(maskKeys(`/a/${key}/b/${key}`, 'kg_')).toBe('/a/kg_[redacted]/b/kg_[redacted]');
  });
  it('leaves text without the prefix, or too short to be a key, alone', () => {
    expect(maskKeys('/api/items', 'kg_')).toBe('/api/items');
    expect(maskKeys('/api/kg_abc', 'kg_')).toBe('/api/kg_abc');
  });
  it('escapes a prefix with regex characters', () => {
    expect(maskKeys(`/x/a.b+${'Q'.repeat(30)}`, 'a.b+')).toBe('/x/a.b+[redacted]');
    expect(maskKeys(`/x/aXb+${'Q'.repeat(30)}`, 'a.b+')).toBe(`/x/aXb+${'Q'.repeat(30)}`);
  });
});
