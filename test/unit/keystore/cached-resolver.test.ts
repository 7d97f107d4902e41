import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryKeyStore } from '../../../src/keystore/memory-store.ts';
import { createCachedResolver, type CacheEvent } from '../../../src/keystore/cached-resolver.ts';
import { StoreUnavailableError, type Invalidation, type KeyRecord, type KeyStore, type PrincipalRecord } from '../../../src/keystore/types.ts';
import { GatewayError } from '../../../src/errors.ts';

/**
 * The real embedded store with a fault switch and a call counter: the cache's policies are about
 * what happens when the store fails, which the embedded store itself never does.
 */
class FaultyStore extends MemoryKeyStore {
  failing = false;
  /** Calls fail while the store still says it is ready: one command that timed out. */
  flaky = false;
  lookups = 0;
  private readonly connListeners: ((s: 'up' | 'down') => void)[] = [];
  private gate: Promise<void> | null = null;
  release: () => void = () => {};
  override async findByHash(hash: string) {
    this.lookups++;
    if (this.gate !== null) await this.gate;
    if (this.failing || this.flaky) throw new StoreUnavailableError('down');
    return super.findByHash(hash);
  }
  override onConnectionChange(l: (s: 'up' | 'down') => void): void {
    this.connListeners.push(l);
  }
  hold(): void {
    this.gate = new Promise((r) => (this.release = () => { this.gate = null; r(); }));
  }
  down(): void { this.failing = true; for (const l of this.connListeners) l('down'); }
  up(): void { this.failing = false; for (const l of this.connListeners) l('up'); }
  override isReady(): boolean { return !this.failing; }
}

const T0 = Date.parse('2026-01-01T00:00:00Z');
let clock = T0;
let store: FaultyStore;
let events: CacheEvent[];

function principal(id: string, over: Partial<PrincipalRecord> = {}): PrincipalRecord {
  return { id, name: id, kind: 'service', roles: ['viewer'], groups: [], disabled: false, createdAt: new Date(T0), metadata: {}, source: 'api', ...over };
}
function key(id: string, principalId: string, hash: string, over: Partial<KeyRecord> = {}): KeyRecord {
  return { id, principalId, hash, createdAt: new Date(T0), type: 'api_key', ...over };
}
function resolver(over: Partial<Parameters<typeof createCachedResolver>[1]> = {}) {
  return createCachedResolver(store as KeyStore, {
    max: 1000, ttlMs: 60_000, negativeTtlMs: 2_000, onError: 'serve-stale', staleTtlMs: 30_000,
    now: () => clock, onEvent: (e) => events.push(e), ...over,
  });
}
const settle = () => new Promise((r) => setTimeout(r, 0));

beforeEach(async () => {
  clock = T0;
  events = [];
  store = new FaultyStore();
  await store.createPrincipal(principal('p1'));
  await store.createKey(key('k1', 'p1', 'h1'), { maxLive: 10, now: new Date(T0) });
});

describe('cached resolver', () => {
  it('a miss goes to the store once; hits are synchronous and cost no lookup', async () => {
    const r = resolver();
    const first = await r.resolve('h1', clock);
    expect(first.status).toBe('valid');
    expect(store.lookups).toBe(1);
    const hit = r.resolve('h1', clock);
    expect(hit).not.toBeInstanceOf(Promise);
    expect((hit as { status: string }).status).toBe('valid');
    expect(store.lookups).toBe(1);
    expect(events).toEqual(['miss', 'hit']);
  });

  it('concurrent misses for one hash coalesce into one store call', async () => {
    const r = resolver();
    store.hold();
    const all = Promise.all(Array.from({ length: 50 }, () => r.resolve('h1', clock)));
    store.release();
    const results = await all;
    expect(results.every((x) => x.status === 'valid')).toBe(true);
    expect(store.lookups).toBe(1);
    expect(events.filter((e) => e === 'coalesced')).toHaveLength(49);
  });

  it('unknown hashes are cached negatively, briefly', async () => {
    const r = resolver();
    expect((await r.resolve('nope', clock)).status).toBe('not_found');
    expect((r.resolve('nope', clock) as { status: string }).status).toBe('not_found');
    expect(store.lookups).toBe(1);
    clock += 2_001;
    await r.resolve('nope', clock);
    expect(store.lookups).toBe(2);
  });

  it('expiry is judged on every hit against the record, not left to the cache TTL', async () => {
    await store.updateKey('k1', { expiresAt: new Date(T0 + 10_000) });
    const r = resolver();
    expect((await r.resolve('h1', clock)).status).toBe('valid');
    clock += 10_000;
    expect((r.resolve('h1', clock) as { status: string }).status).toBe('expired');
    expect(store.lookups).toBe(1);
  });

  it('a key invalidation drops its entry; a principal invalidation drops all its keys', async () => {
    await store.createKey(key('k2', 'p1', 'h2'), { maxLive: 10, now: new Date(T0) });
    const r = resolver();
    await r.resolve('h1', clock);
    await r.resolve('h2', clock);
    await store.updateKey('k1', { revokedAt: new Date(T0) });
    await settle();
    expect((await r.resolve('h1', clock)).status).toBe('revoked');
    await store.updatePrincipal('p1', { disabled: true });
    await settle();
    expect((await r.resolve('h2', clock)).status).toBe('principal_disabled');
    expect((await r.resolve('h1', clock)).status).toBe('revoked');
  });

  it('a fetch that raced an invalidation is not kept', async () => {
    const r = resolver();
    store.hold();
    const pending = r.resolve('h1', clock);
    await store.updateKey('k1', { revokedAt: new Date(T0) }); // invalidation while the lookup is in flight
    await settle();
    store.release();
    await pending;
    expect((await r.resolve('h1', clock)).status).toBe('revoked');
  });

  // The flake of credential-styles "rotating past the grace period…": an entry refetched after it
  // went stale (its TTL, or the 1 ms TTL of a fetch that raced a pub/sub echo) was replacing the
  // stale value, whose dispose then unindexed the fresh one — and later invalidations missed it.
  it('an entry refetched after going stale is still dropped by key and principal invalidations', async () => {
    const r = resolver();
    expect((await r.resolve('h1', clock)).status).toBe('valid');
    expect((await r.resolveId('k1', clock)).status).toBe('valid');
    clock += 61_000; // past ttlMs: the next lookups refetch and replace the stale entries
    expect((await r.resolve('h1', clock)).status).toBe('valid');
    expect((await r.resolveId('k1', clock)).status).toBe('valid');
    expect(store.lookups).toBe(2);
    await store.updatePrincipal('p1', { disabled: true });
    await settle();
    expect((await r.resolve('h1', clock)).status).toBe('principal_disabled');
    expect((await r.resolveId('k1', clock)).status).toBe('principal_disabled');
    await store.updatePrincipal('p1', { disabled: false });
    await settle();
    expect((await r.resolveId('k1', clock)).status).toBe('valid');
    clock += 61_000;
    expect((await r.resolveId('k1', clock)).status).toBe('valid');
    await store.updateKey('k1', { revokedAt: new Date(clock) });
    await settle();
    expect((await r.resolveId('k1', clock)).status).toBe('revoked');
  });

  it('serve-stale: cached keys keep working for staleTtl after the store went down, then 503', async () => {
    const r = resolver();
    await r.resolve('h1', clock);
    store.down();
    clock += 29_000;
    expect((r.resolve('h1', clock) as { status: string }).status).toBe('valid');
    expect(events).toContain('stale_serve');
    // Unknown keys are never accepted while down.
    await expect(r.resolve('other', clock)).rejects.toMatchObject({ code: 'keystore_unavailable' });
    clock += 2_000;
    expect(() => r.resolve('h1', clock)).toThrow(GatewayError);
  });

  it('serve-stale: an entry past its TTL is still served inside the window', async () => {
    const r = resolver({ ttlMs: 1_000 });
    await r.resolve('h1', clock);
    clock += 5_000;
    store.down();
    expect((await r.resolve('h1', clock)).status).toBe('valid');
  });

  it('deny: every request that needs the store gets 503 at once', async () => {
    const r = resolver({ onError: 'deny' });
    await r.resolve('h1', clock);
    store.down();
    expect(() => r.resolve('h1', clock)).toThrow(expect.objectContaining({ code: 'keystore_unavailable' }) as Error);
  });

  it('reconnect flushes the cache (invalidations may have been missed) and serves again', async () => {
    const r = resolver();
    await r.resolve('h1', clock);
    store.down();
    store.up();
    expect(r.size()).toBe(0);
    expect(events).toContain('flushed');
    expect((await r.resolve('h1', clock)).status).toBe('valid');
    expect(store.lookups).toBe(2);
  });

  it('stays bounded under a miss storm, and unknown keys never displace a known one', async () => {
    const r = resolver({ max: 100, negativeMax: 50 });
    expect((await r.resolve('h1', clock)).status).toBe('valid');
    for (let i = 0; i < 1000; i++) await r.resolve(`h-${i}`, clock);
    expect(r.sizes()).toEqual({ positive: 1, negative: 50 });
    expect(events.filter((e) => e === 'negative_evicted')).toHaveLength(950);
    expect(events).not.toContain('evicted');
    const lookups = store.lookups;
    // Still cached: answered without the store, even when the store is gone.
    store.down();
    expect((r.resolve('h1', clock) as { status: string }).status).toBe('valid');
    expect(store.lookups).toBe(lookups);
  });

  it('one failed call is not an outage: the next lookup asks the store again', async () => {
    const r = resolver({ onError: 'deny' });
    store.flaky = true;
    await expect(r.resolve('h1', clock)).rejects.toMatchObject({ code: 'keystore_unavailable' });
    store.flaky = false;
    expect((await r.resolve('h1', clock)).status).toBe('valid');
  });

  it('invalidations carry what changed', async () => {
    const seen: Invalidation[] = [];
    store.onInvalidate((i) => seen.push(i));
    await store.updateKey('k1', { name: 'x' });
    await settle();
    expect(seen).toContainEqual({ type: 'key', hash: 'h1' });
  });
});
