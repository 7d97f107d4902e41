/** The recorder's own view of last use (issue 15): exact and at once, never backwards; the store gets it on flush. */
import { describe, expect, it } from 'vitest';
import { LastUsedRecorder } from '../../../src/keystore/last-used.ts';
import { MemoryKeyStore } from '../../../src/keystore/memory-store.ts';

describe('LastUsedRecorder.seen', () => {
  it('answers the latest use before any flush, which writes it; later uses in the minute are seen, not written', async () => {
    const store = new MemoryKeyStore();
    await store.createPrincipal({ id: 'p', name: 'p', kind: 'service', roles: [], groups: [], disabled: false, createdAt: new Date(0), metadata: {}, source: 'api' });
    await store.createKey({ id: 'k', principalId: 'p', hash: 'a'.repeat(64), createdAt: new Date(0), type: 'api_key' }, { maxLive: 10, now: new Date(0) });
    const r = new LastUsedRecorder(store, (e) => { throw e; }, 3_600_000);
    expect(r.seen('k')).toBeUndefined();
    r.touch('k', 1_000_000);
    expect(r.seen('k')).toEqual(new Date(1_000_000));
    expect((await store.getKey('k'))?.lastUsedAt).toBeUndefined();
    await r.flush();
    expect((await store.getKey('k'))?.lastUsedAt).toEqual(new Date(1_000_000));
    r.touch('k', 1_030_000);
    r.touch('k', 1_020_000); // out of order: never backwards
    expect(r.seen('k')).toEqual(new Date(1_030_000));
    await r.close();
    expect((await store.getKey('k'))?.lastUsedAt).toEqual(new Date(1_000_000));
  });
});
