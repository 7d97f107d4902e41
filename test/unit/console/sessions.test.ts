import { describe, expect, it } from 'vitest';
import { createSessionStore } from '../../../src/admin/console/session-store.ts';
import { createSessions, storeId } from '../../../src/admin/console/sessions.ts';

/** Console session timeouts and the embedded store's bounds, on a fake clock. */
const NO_REDIS = { redis: '', sentinel: null, cluster: null, prefix: 'kg' };

function fixture(idleMs: number, maxAgeMs: number, memoryMax?: number) {
  let t = 1_000_000;
  const now = () => t;
  const store = createSessionStore(NO_REDIS, { now, ...(memoryMax === undefined ? {} : { memoryMax }) });
  const sessions = createSessions(store, () => ({ idleMs, maxAgeMs }), now);
  return { store, sessions, advance: (ms: number) => { t += ms; }, now };
}

describe('console sessions', () => {
  it('end after the idle timeout without use; each use restarts it', async () => {
    const f = fixture(1000, 60_000);
    const s = await f.sessions.create({ type: 'token', tokenDigest: 'ab' });
    f.advance(999);
    expect(await f.sessions.use(s.cookieValue)).not.toBeNull();
    f.advance(999);
    expect(await f.sessions.use(s.cookieValue)).not.toBeNull();
    f.advance(1000);
    expect(await f.sessions.use(s.cookieValue)).toBeNull();
  });

  it('end at the absolute timeout however busy, and expiresAt never passes it', async () => {
    const f = fixture(1000, 2500);
    const s = await f.sessions.create({ type: 'token', tokenDigest: 'ab' });
    const start = f.now();
    for (let i = 0; i < 4; i++) {
      f.advance(600);
      const u = await f.sessions.use(s.cookieValue);
      expect(u).not.toBeNull();
      expect(u?.expiresAt).toBeLessThanOrEqual(start + 2500);
    }
    f.advance(200); // 2600 ms after sign-in, 200 ms after the last use
    expect(await f.sessions.use(s.cookieValue)).toBeNull();
  });

  it('keeps only the hash of the cookie value, and refuses values it did not mint without a lookup', async () => {
    const f = fixture(1000, 2000);
    const s = await f.sessions.create({ type: 'principal', principalId: 'p_1' });
    expect(await f.store.get('session', s.cookieValue)).toBeNull();
    expect(await f.store.get('session', storeId(s.cookieValue))).toContain('p_1');
    expect(await f.sessions.use(storeId(s.cookieValue))).toBeNull();
    expect(await f.sessions.use('')).toBeNull();
    expect(await f.sessions.use(`${s.cookieValue}x`)).toBeNull();
  });

  it('end() removes the session at once', async () => {
    const f = fixture(1000, 2000);
    const s = await f.sessions.create({ type: 'token', tokenDigest: 'ab' });
    await f.sessions.end(s.cookieValue);
    expect(await f.sessions.use(s.cookieValue)).toBeNull();
  });
});

describe('the embedded session store', () => {
  it('bounds each namespace apart: a flood of login starts cannot evict a session', async () => {
    const f = fixture(60_000, 60_000, 10);
    const s = await f.sessions.create({ type: 'token', tokenDigest: 'ab' });
    for (let i = 0; i < 50; i++) await f.store.put('oidc', `login-${i}`, 'pending', 600_000);
    expect(await f.sessions.use(s.cookieValue)).not.toBeNull();
    expect(await f.store.get('oidc', 'login-0')).toBeNull();
    expect(await f.store.get('oidc', 'login-49')).toBe('pending');
  });

  it('take() reads once', async () => {
    const f = fixture(1000, 1000);
    await f.store.put('oidc', 'x', 'v', 1000);
    expect(await f.store.take('oidc', 'x')).toBe('v');
    expect(await f.store.take('oidc', 'x')).toBeNull();
  });

  it('entries expire with their TTL', async () => {
    const f = fixture(1000, 1000);
    await f.store.put('oidc', 'x', 'v', 1000);
    f.advance(1000);
    expect(await f.store.get('oidc', 'x')).toBeNull();
  });
});
