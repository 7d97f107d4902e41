import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisKeyStore } from '../../src/keystore/redis-store.ts';
import type { StoreLogger } from '../../src/keystore/redis/link.ts';
import { StoreConflictError, StoreUnavailableError, type Invalidation, type KeyStore } from '../../src/keystore/types.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { describeKeyStoreContract, key, principal } from './keystore.contract.ts';
import { waitFor } from '../helpers/wait.ts';

let redis: TestRedis;
let prefixes = 0;
const opened: KeyStore[] = [];

const quiet: StoreLogger = { info() {}, warn() {}, error() {} };

/** Each test gets its own prefix, hence its own keys and channel, on the one server. */
function open(prefix: string, url = redis.url, logger = quiet): KeyStore {
  const store = createRedisKeyStore({ url, prefix, logger });
  opened.push(store);
  return store;
}

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await redis.stop();
});

describeKeyStoreContract('redis', async () => {
  const store = open(`t${++prefixes}`);
  return { store, cleanup: () => store.close() };
});

describe('Redis store specifics', () => {
  it('delivers a write made through one instance to the listeners of every instance', async () => {
    const prefix = `t${++prefixes}`;
    const a = open(prefix);
    const b = open(prefix);
    const seenA: Invalidation[] = [];
    const seenB: Invalidation[] = [];
    a.onInvalidate((i) => seenA.push(i));
    b.onInvalidate((i) => seenB.push(i));
    // The first call waits until the instance is connected and subscribed.
    await b.getGroup('warm-up');
    await a.createPrincipal(principal());
    await waitFor('both instances', () => (seenA.length > 0 && seenB.length > 0 ? true : undefined));
    expect(seenA).toEqual([{ type: 'principal', id: principal().id }]);
    expect(seenB).toEqual([{ type: 'principal', id: principal().id }]);
    expect(await b.getPrincipal(principal().id)).toStrictEqual(principal());
  });

  it('keeps prefixes apart: data and invalidations', async () => {
    const a = open(`t${++prefixes}`);
    const b = open(`t${++prefixes}`);
    const seenB: Invalidation[] = [];
    b.onInvalidate((i) => seenB.push(i));
    await a.createPrincipal(principal());
    await b.createPrincipal(principal({ id: 'p_b', name: 'bob' }));
    expect(await b.getPrincipal(principal().id)).toBeNull();
    expect((await a.listPrincipals()).map((p) => p.id)).toEqual([principal().id]);
    await waitFor('own invalidation', () => (seenB.length > 0 ? true : undefined));
    expect(seenB).toEqual([{ type: 'principal', id: 'p_b' }]);
  });

  it('findByHash is one round trip', async () => {
    const store = open(`t${++prefixes}`);
    await store.createPrincipal(principal());
    await store.createKey(key(), { maxLive: 10, now: new Date() });
    await store.findByHash(key().hash); // loads the script if it was not cached yet
    // MONITOR tells commands sent by clients from those run inside scripts (source "lua").
    const monitor = await new Redis(redis.url).monitor();
    const sent: string[][] = [];
    monitor.on('monitor', (_t: string, args: string[], source: string) => {
      if (source !== 'lua') sent.push(args);
    });
    try {
      expect((await store.findByHash(key().hash))?.key.id).toBe(key().id);
      const marker = new Redis(redis.url);
      await marker.echo('marker');
      marker.disconnect();
      await waitFor('marker', () => (sent.some((a) => a[0] === 'echo') ? true : undefined));
      const ours = sent.filter((a) => a[0] !== 'echo' && !(a[0] === 'client' || a[0] === 'hello' || a[0] === 'info'));
      expect(ours.map((a) => a.slice(0, 4))).toEqual([['evalsha', expect.stringMatching(/^[0-9a-f]{40}$/), '1', `{t${prefixes}}:kh:${key().hash}`]]);
    } finally {
      monitor.disconnect();
    }
  });

  it('enforces the live-key limit atomically across instances', async () => {
    const prefix = `t${++prefixes}`;
    const stores = [open(prefix), open(prefix), open(prefix), open(prefix)];
    await stores[0]?.createPrincipal(principal());
    const now = new Date();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
      (stores[i % stores.length] as KeyStore).createKey(key({ id: `k_c${i}`, hash: `${i}`.padStart(64, 'c') }), { maxLive: 10, now })));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(10);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof StoreConflictError && r.reason.code === 'key_limit_reached').length).toBe(10);
    expect((await stores[1]?.listKeys({ principalId: principal().id }))?.length).toBe(10);
  });
});

describe('Redis store when Redis goes away', () => {
  let own: TestRedis;
  beforeAll(async () => {
    own = await startRedis();
  });
  afterAll(async () => {
    await own.stop();
  });

  it('fails fast while down, reports down/up, and works again (re-subscribed) after a restart', async () => {
    const logged: string[] = [];
    const logger: StoreLogger = {
      info: (_o, m) => void logged.push(`info ${m}`),
      warn: (_o, m) => void logged.push(`warn ${m}`),
      error: (_o, m) => void logged.push(`error ${m}`),
    };
    const store = open('kg', own.url, logger);
    const states: string[] = [];
    const seen: Invalidation[] = [];
    store.onConnectionChange((s) => states.push(s));
    store.onInvalidate((i) => seen.push(i));
    await store.createPrincipal(principal());
    await waitFor('first invalidation', () => (seen.length === 1 ? true : undefined));
    expect(store.isReady()).toBe(true);

    await own.kill();
    const started = Date.now();
    const err = await store.findByHash(key().hash).then(() => null, (e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).cause).toBeInstanceOf(Error);
    await waitFor('down', () => (states.includes('down') ? true : undefined));
    expect(store.isReady()).toBe(false);
    // Later calls fail at once too: nothing is queued for a reconnect.
    const t1 = Date.now();
    await expect(store.createPrincipal(principal({ id: 'p_2', name: 'p2' }))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - t1).toBeLessThan(100);

    await own.restart();
    await waitFor('up', () => (states.includes('up') ? true : undefined));
    expect(states).toEqual(['down', 'up']);
    expect(store.isReady()).toBe(true);
    // The restarted server kept its data (append-only file) but knows none of our scripts:
    // these writes go through the NOSCRIPT fallback, and their invalidations arrive again.
    expect(await store.getPrincipal(principal().id)).not.toBeNull();
    await store.deletePrincipal(principal().id);
    await store.createPrincipal(principal());
    await waitFor('invalidation after restart', () => (seen.length === 3 ? true : undefined));
    expect(seen).toEqual([{ type: 'principal', id: principal().id }, { type: 'principal', id: principal().id }, { type: 'principal', id: principal().id }]);
    expect(logged).toEqual(['info redis store connected', 'warn redis store connection lost', 'info redis store reconnected']);
  });

  it('a store that cannot reach Redis at start-up fails calls with StoreUnavailableError', async () => {
    const dead = await startRedis();
    await dead.kill();
    const store = open('kg', dead.url);
    const started = Date.now();
    await expect(store.getPrincipal('x')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(store.isReady()).toBe(false);
  });
});
