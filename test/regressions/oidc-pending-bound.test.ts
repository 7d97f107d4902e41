/**
 * `GET /console/oidc/login` needs no credential and writes a pending login to the session store.
 * In process the namespace was bounded; in Redis — the one holding the key store — every
 * request added an entry for 10 minutes, without bound, so a flood of login starts could fill
 * the key store's Redis. Such writes are now counted per 10-minute window, fleet-wide, and past
 * the bound refused (the login answers 503 `oidc_unavailable`); signed-in sessions are not
 * affected. A real Redis, a small bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionStore, type SessionStore } from '../../src/admin/console/session-store.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
let stores: SessionStore[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await redis?.stop();
});

const target = () => ({ redis: redis.url, sentinel: null, cluster: null, prefix: 'kg' });
const pendingKeys = async () => Number((await redis.send(['EVAL', "return tostring(#redis.call('KEYS', '{kg}:console:oidc:*'))", '0'])).replace(/\D/g, ''));

describe('pending OIDC logins in Redis', () => {
  it('past the bound a login start is refused and nothing is written; two replicas share the bound', async () => {
    const a = createSessionStore(target(), { boundedMax: 5 });
    const b = createSessionStore(target(), { boundedMax: 5 });
    stores = [a, b];
    const results: boolean[] = [];
    for (let i = 0; i < 6; i++) results.push(await (i % 2 === 0 ? a : b).putBounded('oidc', `login-${i}`, '{}', 600_000));
    expect(results).toEqual([true, true, true, true, true, false]);
    for (let i = 0; i < 50; i++) expect(await a.putBounded('oidc', `flood-${i}`, '{}', 600_000)).toBe(false);
    expect(await pendingKeys()).toBe(5);
    // What was written is there to be taken once; sessions (plain put) are not bounded by this.
    expect(await a.take('oidc', 'login-0')).toBe('{}');
    await a.put('session', 's1', 'x', 60_000);
    expect(await b.get('session', 's1')).toBe('x');
  });
});
