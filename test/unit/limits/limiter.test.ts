/**
 * The limiter's rules on a fake clock with the in-process backend (the one the embedded store
 * uses), and on a backend that is unreachable: token bucket refill, quota periods rolling over
 * at UTC midnight, the fallback share, and the RateLimit header syntax.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLimiter, type Limiter } from '../../../src/limits/limiter.ts';
import { createMemoryLimitBackend } from '../../../src/limits/memory-backend.ts';
import { rateLimitHeaders } from '../../../src/limits/headers.ts';
import { parseRate } from '../../../src/limits/rate.ts';
import type { LimitBackend } from '../../../src/limits/backend.ts';
import type { Demand, Verdict } from '../../../src/limits/demand.ts';
import type { LimiterConfig, LimitPolicy } from '../../../src/config/types.ts';

const cfg: LimiterConfig = { refusedCredentials: null, leaseSize: 0.1, fallbackReplicas: 2 };
let clock = Date.UTC(2026, 11, 4, 23, 59, 0);
const now = () => clock;
const open: Limiter[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

function limiter(backend: LimitBackend = createMemoryLimitBackend(now)): Limiter {
  const l = createLimiter({ backend, config: () => cfg, now, heartbeatMs: 60_000 });
  open.push(l);
  return l;
}

const policy = (rate: string, burst: number): LimitPolicy => ({ name: 'p', rate: parseRate(rate) ?? { count: 0, periodMs: 1, text: '' }, burst, per: 'principal' });
const rate = (p: LimitPolicy): Demand => ({ kind: 'rate', key: `p|principal:x|${p.rate.text}`, policy: p });

async function take(l: Limiter, d: Demand[]): Promise<Verdict> {
  return await l.take(d);
}

describe('rate limits', () => {
  it('a bucket of 3 at 1/s: three pass, the fourth waits a second, then one more passes', async () => {
    const l = limiter();
    const d = [rate(policy('1/s', 3))];
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await take(l, d));
    expect(got.map((v) => v.ok)).toEqual([true, true, true, false]);
    const refused = got[3];
    expect(refused?.ok === false && refused.code).toBe('rate_limited');
    expect(refused?.ok === false && refused.retryAfterS).toBe(1);
    clock += 1_000;
    expect((await take(l, d)).ok).toBe(true);
    expect((await take(l, d)).ok).toBe(false);
  });

  it('every demand must pass, and a refusal spends nothing from the others', async () => {
    const l = limiter();
    const wide = rate({ ...policy('100/h', 100), name: 'wide' });
    const narrow = rate({ ...policy('1/h', 1), name: 'narrow' });
    expect((await take(l, [wide, narrow])).ok).toBe(true);
    const v = await take(l, [wide, narrow]);
    expect(v.ok === false && v.name).toBe('narrow');
    expect(v.report.find((r) => r.name === 'wide')?.r).toBe(99);
  });

  it('with the backend unreachable, each replica gets its share: burst / replicas, refilled at rate / replicas', async () => {
    const down: LimitBackend = {
      ...createMemoryLimitBackend(now),
      leaseRate: () => Promise.reject(new Error('ECONNREFUSED')),
      heartbeat: () => Promise.reject(new Error('ECONNREFUSED')),
    };
    const l = limiter(down);
    const d = [rate(policy('10/s', 10))];
    const got = [];
    for (let i = 0; i < 7; i++) got.push((await take(l, d)).ok);
    // fallbackReplicas 2: a share of 5 at once, never unlimited.
    expect(got).toEqual([true, true, true, true, true, false, false]);
    expect(l.shared()).toBe(false);
    clock += 200; // 10/s over 2 replicas: one more token in 200 ms
    expect((await take(l, d)).ok).toBe(true);
    expect((await take(l, d)).ok).toBe(false);
  });
});

describe('quotas', () => {
  it('refill when the UTC day turns, and say so in Retry-After', async () => {
    clock = Date.UTC(2026, 11, 4, 23, 59, 0);
    const l = limiter();
    const d: Demand[] = [{ kind: 'quota', key: 'key:k1', name: 'key-quota', scope: 'key', quota: { requests: 2, period: 'day' } }];
    expect((await take(l, d)).ok).toBe(true);
    expect((await take(l, d)).ok).toBe(true);
    const spent = await take(l, d);
    expect(spent.ok === false && spent.code).toBe('quota_exhausted');
    expect(spent.ok === false && spent.retryAfterS).toBe(60);
    clock = Date.UTC(2026, 11, 5, 0, 0, 1);
    expect((await take(l, d)).ok).toBe(true);
    expect(await l.quotaState(d[0] as Demand & { kind: 'quota' })).toMatchObject({ used: expect.any(Number), resetsAt: Date.UTC(2026, 11, 6) });
  });

  it('a one-time allowance never refills and has no Retry-After', async () => {
    const l = limiter();
    const d: Demand[] = [{ kind: 'quota', key: 'key:once', name: 'key-quota', scope: 'key', quota: { requests: 1, period: 'none' } }];
    expect((await take(l, d)).ok).toBe(true);
    clock += 400 * 86_400_000;
    const v = await take(l, d);
    expect(v.ok === false && v.retryAfterS).toBe(null);
    expect(rateLimitHeaders(v.report).ratelimit).toBe('"key-quota";r=0');
  });
});

describe('RateLimit headers (draft-ietf-httpapi-ratelimit-headers)', () => {
  it('lists every policy as a quoted name with q/w and r/t', () => {
    expect(rateLimitHeaders([{ name: 'standard', q: 100, w: 1, r: 57, t: 1 }, { name: 'key-quota', q: 1000, w: 86400, r: 3, t: 30 }])).toEqual({
      'ratelimit-policy': '"standard";q=100;w=1, "key-quota";q=1000;w=86400',
      ratelimit: '"standard";r=57;t=1, "key-quota";r=3;t=30',
    });
  });
});
