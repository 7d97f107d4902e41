import { describe, expect, it } from 'vitest';
import { MemoryKeyStore } from '../../src/keystore/memory-store.ts';
import { describeKeyStoreContract, key, principal } from './keystore.contract.ts';

describeKeyStoreContract('memory', async () => {
  const store = new MemoryKeyStore();
  return { store, cleanup: () => store.close() };
});

describe('MemoryKeyStore extras', () => {
  it('findByHashSync answers synchronously with the stored records, which later writes replace rather than mutate', async () => {
    const store = new MemoryKeyStore();
    await store.createPrincipal(principal());
    await store.createKey(key(), { maxLive: 10, now: new Date() });
    const before = store.findByHashSync(key().hash);
    expect(before).toStrictEqual({ key: key(), principal: principal() });
    expect(store.findByHashSync(key().hash)?.key).toBe(before?.key);
    await store.updatePrincipal(principal().id, { disabled: true });
    // The snapshot a cache may hold stays consistent; the store holds a new object.
    expect(before?.principal.disabled).toBe(false);
    expect(store.findByHashSync(key().hash)?.principal.disabled).toBe(true);
    expect(store.findByHashSync('0'.repeat(64))).toBeNull();
  });

  it('never reports a connection change and is always ready', async () => {
    const store = new MemoryKeyStore();
    const states: string[] = [];
    store.onConnectionChange((s) => states.push(s));
    await store.syncDeclarative([]);
    await store.close();
    expect(states).toEqual([]);
    expect(store.isReady()).toBe(true);
  });
});
