import { describe, expect, it } from 'vitest';
import { MemoryKeyStore } from '../../../src/keystore/memory-store.ts';
import { createEventBus } from '../../../src/events/bus.ts';
import { createMemoryMarkers } from '../../../src/events/markers.ts';
import { createExpiryWatch, expiringCounts } from '../../../src/lifecycle/expiry-watch.ts';
import type { KeygateEvent } from '../../../src/events/types.ts';
import type { KeyRecord } from '../../../src/keystore/types.ts';

const D = 86_400_000;
const H = 3_600_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');

async function setup() {
  const store = new MemoryKeyStore();
  await store.createPrincipal({ id: 'p1', name: 'bot', kind: 'service', roles: [], groups: [], disabled: false, createdAt: new Date(T0 - 100 * D), metadata: {}, source: 'api' });
  let n = 0;
  const key = async (createdAgoMs: number, lifeMs: number | null, extra: Partial<KeyRecord> = {}) => {
    const id = `k${++n}`;
    await store.createKey({
      id, principalId: 'p1', hash: `${'0'.repeat(62)}${String(n).padStart(2, '0')}`, type: 'api_key', createdAt: new Date(T0 - createdAgoMs), createdBy: 'admin-token',
      ...(lifeMs === null ? {} : { expiresAt: new Date(T0 - createdAgoMs + lifeMs) }), ...extra,
    }, { maxLive: 100, now: new Date(T0 - 200 * D) });
    return id;
  };
  return { store, key };
}

/** Two "replicas" watching one store, sharing one marker set, on one fake clock. */
function replicas(store: MemoryKeyStore, clock: { t: number }) {
  const events: KeygateEvent[] = [];
  const markers = createMemoryMarkers(() => clock.t);
  return {
    events,
    watches: [0, 1].map(() => {
      const bus = createEventBus({ now: () => new Date(clock.t) });
      bus.subscribe((e) => events.push(e));
      return createExpiryWatch({ stores: () => [store], markers, events: bus, intervalMs: () => 60_000, onError: (e) => { throw e; }, now: () => clock.t });
    }),
  };
}

describe('expiry watch', () => {
  it('warns a key once per window it entered, on one of two replicas, then announces expiry once', async () => {
    const { store, key } = await setup();
    const id = await key(82 * D, 90 * D); // 8 days left
    const clock = { t: T0 };
    const { events, watches } = replicas(store, clock);
    const scanBoth = async () => { for (const w of watches) await w.scan(); };
    await scanBoth();
    expect(events).toHaveLength(0);
    clock.t = T0 + D + 1; // 7 days minus 1 ms left
    await scanBoth();
    await scanBoth();
    expect(events.map((e) => [e.type, (e.data as { window?: string }).window])).toEqual([['key.expiring', '7d']]);
    clock.t = T0 + 7 * D + 1; // under a day left
    await scanBoth();
    clock.t = T0 + 7 * D + 12 * H;
    await scanBoth();
    expect(events.map((e) => [e.type, (e.data as { window?: string }).window])).toEqual([['key.expiring', '7d'], ['key.expiring', '1d']]);
    clock.t = T0 + 8 * D + 5_000;
    await scanBoth();
    await scanBoth();
    expect(events.map((e) => e.type)).toEqual(['key.expiring', 'key.expiring', 'key.expired']);
    const expired = events[2] as KeygateEvent;
    expect(expired.data).toMatchObject({ keyId: id, principalId: 'p1', expiresAt: new Date(T0 + 8 * D).toISOString() });
    expect(expired.at).toBe(new Date(T0 + 8 * D).toISOString());
  });

  it('skips windows a short-lived key was born in, rotated-out keys, and history older than a day', async () => {
    const { store, key } = await setup();
    await key(0, 3 * D); // born inside 7d: warned only at 1d
    await key(0, 12 * H); // born inside 1d: never warned
    await key(30 * D, 40 * D, { rotatedTo: 'kX' }); // rotated out: its successor matters
    await key(10 * D, 8 * D); // expired two days ago: history
    const clock = { t: T0 };
    const { events, watches } = replicas(store, clock);
    await watches[0]!.scan();
    expect(events).toHaveLength(0);
    clock.t = T0 + 12 * H + 1;
    await watches[1]!.scan();
    clock.t = T0 + 2 * D + 1;
    await watches[0]!.scan();
    expect(events.map((e) => [e.type, (e.data as { keyId?: string }).keyId, (e.data as { window?: string }).window])).toEqual([['key.expired', 'k2', undefined], ['key.expiring', 'k1', '1d']]);
  });

  it('warns a key declared in the YAML file for any window it is in (its createdAt is only the last load)', async () => {
    const store = new MemoryKeyStore();
    await store.syncDeclarative([{ name: 'ci-bot', kind: 'service', roles: [], disabled: false, keys: [{ id: 'ci-bot-1', hash: `sha256:${'a'.repeat(64)}`, expiresAt: new Date(Date.now() + 12 * H) }] }]);
    const clock = { t: Date.now() };
    const { events, watches } = replicas(store, clock);
    await watches[0]!.scan();
    expect(events.map((e) => [e.type, (e.data as { keyId?: string }).keyId, (e.data as { window?: string }).window])).toEqual([['key.expiring', 'ci-bot-1', '1d']]);
  });

  it('re-arms a key whose expiry moved', async () => {
    const { store, key } = await setup();
    const id = await key(20 * D, 20 * D + 12 * H);
    const clock = { t: T0 };
    const { events, watches } = replicas(store, clock);
    await watches[0]!.scan();
    await store.updateKey(id, { expiresAt: new Date(T0 + 6 * H) });
    await watches[1]!.scan();
    expect(events.map((e) => (e.data as { expiresAt?: string }).expiresAt)).toEqual([new Date(T0 + 12 * H).toISOString(), new Date(T0 + 6 * H).toISOString()]);
  });

  it('counts for the gauge are cumulative and skip revoked, rotated and expired keys', async () => {
    const { store, key } = await setup();
    await key(0, 12 * H);
    await key(0, 3 * D);
    await key(0, 30 * D);
    await key(0, null);
    await key(0, 2 * H, { rotatedTo: 'kX' });
    await key(2 * D, D);
    expect(expiringCounts(await store.listKeys({}), T0)).toEqual({ '7d': 2, '1d': 1 });
  });
});
