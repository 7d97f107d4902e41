import { describe, expect, it } from 'vitest';
import { durationMs, MAX_TIMER_MS, parseDuration } from '../../../src/config/duration.ts';

describe('durations', () => {
  it.each([
    ['0s', 0], ['500ms', 500], ['10s', 10_000], ['5m', 300_000], ['1h', 3_600_000], ['90d', 7_776_000_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(durationMs(text)).toBe(ms);
  });

  it.each(['', '10', 's', '1.5s', '-1s', '10 s', '10S', '1w', ' 1s'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeNull();
    expect(() => durationMs(text)).toThrow(/not a duration/);
  });

  it('knows the longest delay a Node.js timer can wait', () => {
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
  });
});
