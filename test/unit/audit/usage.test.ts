import { describe, expect, it } from 'vitest';
import { createUsageCounter } from '../../../src/usage/counter.ts';

const embedded = { redis: '', sentinel: null, cluster: null, prefix: 'kg' };
const logger = { info() {}, warn() {} };
const DAY = 86_400_000;
const T = Date.parse('2026-05-10T23:59:59.500Z');

describe('usage counter (embedded store)', () => {
  it('counts per key per UTC day, oldest first, zero-filled', async () => {
    const u = createUsageCounter({ store: embedded, logger });
    for (let i = 0; i < 3; i++) u.touch('key_a', T - 2 * DAY);
    u.touch('key_a', T);
    u.touch('key_a', T + 1000); // past midnight UTC: the next day
    u.touch('key_b', T);
    expect(await u.counts('key_a', 4, T + 1000)).toEqual([
      { date: '2026-05-08', count: 3 }, { date: '2026-05-09', count: 0 }, { date: '2026-05-10', count: 1 }, { date: '2026-05-11', count: 1 },
    ]);
    expect(await u.counts('nobody', 2, T)).toEqual([{ date: '2026-05-09', count: 0 }, { date: '2026-05-10', count: 0 }]);
    await u.close();
  });

  it('sevenDay sums today and the six days before, per key', async () => {
    const u = createUsageCounter({ store: embedded, logger });
    u.touch('k1', T - 7 * DAY); // eight days ago: out
    u.touch('k1', T - 6 * DAY);
    u.touch('k1', T);
    u.touch('k2', T);
    const week = await u.sevenDay(['k1', 'k2', 'k3'], T);
    expect([...week]).toEqual([['k1', 2], ['k2', 1], ['k3', 0]]);
    await u.close();
  });

  it('drops days past the retention window', async () => {
    const u = createUsageCounter({ store: embedded, logger, retentionDays: 3 });
    u.touch('k', T - 5 * DAY);
    u.touch('k', T);
    expect((await u.counts('k', 90, T)).map((d) => d.count)).toEqual([0, 0, 1]);
    await u.close();
  });
});
