import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  StoreConflictError,
  type DeclaredPrincipalInput, type GroupRecord, type Invalidation, type KeyRecord, type KeyStore, type PrincipalRecord,
} from '../../src/keystore/types.ts';

export interface StoreFixture {
  store: KeyStore;
  cleanup(): Promise<void>;
}

const NOW = new Date('2030-06-01T12:00:00.000Z');
const at = (offsetMs: number): Date => new Date(NOW.getTime() + offsetMs);
const hex = (c: string): string => c.repeat(64);

export function principal(over: Partial<PrincipalRecord> = {}): PrincipalRecord {
  return {
    id: 'p_alice', name: 'alice', kind: 'user', roles: ['reader', 'writer'], groups: ['team-a'], org: 'acme',
    disabled: false, createdAt: new Date('2030-01-02T03:04:05.678Z'), metadata: { team: 'core', 'cost-center': '42' },
    source: 'api', ...over,
  };
}

export function key(over: Partial<KeyRecord> = {}): KeyRecord {
  return { id: 'k_1', principalId: 'p_alice', hash: hex('a'), createdAt: new Date('2030-02-01T00:00:00.001Z'), type: 'api_key', ...over };
}

/** Every optional field set, so a round trip proves each one survives. */
const fullKey = (): KeyRecord => key({
  name: 'ci', purpose: 'deploys', prefix: 'kg_4fT9', createdBy: 'admin-token', expiresAt: at(86_400_000),
  lastUsedAt: at(-1000), revokedAt: at(172_800_000), scopes: ['read', 'write'], rotatedFrom: 'k_0', rotatedTo: 'k_2',
});

const group = (over: Partial<GroupRecord> = {}): GroupRecord => ({
  name: 'team-a', roles: ['deployer'], resources: { application: ['app-1', 'app-2'], env: [] }, createdAt: new Date('2030-03-03T03:03:03.333Z'), ...over,
});

async function conflictOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(StoreConflictError);
  return (e as StoreConflictError).code;
}

/**
 * One contract, every implementation: the embedded store and Redis must behave identically,
 * down to invalidation payloads and the exact records read back.
 */
export function describeKeyStoreContract(name: string, makeStore: () => Promise<StoreFixture>): void {
  describe(`KeyStore contract: ${name}`, () => {
    let fx: StoreFixture;
    let store: KeyStore;
    let seen: Invalidation[];
    let barriers = 0;

    beforeEach(async () => {
      fx = await makeStore();
      store = fx.store;
      seen = [];
      store.onInvalidate((inv) => seen.push(inv));
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    /**
     * Every invalidation published since the last call, in order. A group write acts as a
     * barrier: invalidations arrive in write order, so once its own has arrived, all earlier ones
     * have too — and none is missing or extra.
     */
    async function invalidations(): Promise<Invalidation[]> {
      const name = `barrier-${++barriers}`;
      await store.putGroup(group({ name }), { create: false });
      const deadline = Date.now() + 3000;
      for (;;) {
        const i = seen.findIndex((inv) => inv.type === 'group' && inv.name === name);
        if (i !== -1) {
          const before = seen.slice(0, i);
          seen = seen.slice(i + 1);
          return before;
        }
        if (Date.now() > deadline) throw new Error(`invalidation barrier not delivered; seen ${JSON.stringify(seen)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }

    describe('principals', () => {
      it('creates and reads back the exact record, by id and by name', async () => {
        await store.createPrincipal(principal());
        expect(await store.getPrincipal('p_alice')).toStrictEqual(principal());
        expect(await store.getPrincipalByName('alice')).toStrictEqual(principal());
        expect(await store.getPrincipal('p_nobody')).toBeNull();
        expect(await store.getPrincipalByName('nobody')).toBeNull();
      });

      it('keeps records without optional fields and with empty lists as they are', async () => {
        const bare = principal({ id: 'p_bare', name: 'bare', roles: [], groups: [], metadata: {}, kind: 'service', disabled: true });
        delete bare.org;
        await store.createPrincipal(bare);
        expect(await store.getPrincipal('p_bare')).toStrictEqual(bare);
      });

      it('refuses a duplicate id or name and keeps the first', async () => {
        await store.createPrincipal(principal());
        expect(await conflictOf(store.createPrincipal(principal({ name: 'other' })))).toBe('duplicate');
        expect(await conflictOf(store.createPrincipal(principal({ id: 'p_other' })))).toBe('duplicate');
        expect(await store.listPrincipals()).toStrictEqual([principal()]);
        expect(await store.getPrincipalByName('other')).toBeNull();
      });

      it('lists every principal sorted by name', async () => {
        for (const n of ['carol', 'alice', 'bob']) await store.createPrincipal(principal({ id: `p_${n}`, name: n }));
        expect((await store.listPrincipals()).map((p) => p.id)).toEqual(['p_alice', 'p_bob', 'p_carol']);
      });

      it('updates only the patched fields; undefined clears an optional one', async () => {
        await store.createPrincipal(principal());
        const patch = { roles: ['admin'], disabled: true, org: undefined, metadata: { a: 'b' }, name: 'mallory' };
        const updated = await store.updatePrincipal('p_alice', patch);
        const expected = { ...principal(), roles: ['admin'], disabled: true, metadata: { a: 'b' } };
        delete expected.org;
        expect(updated).toStrictEqual(expected);
        expect(await store.getPrincipal('p_alice')).toStrictEqual(expected);
        // `name` is not patchable: the smuggled field changed nothing.
        expect(await store.getPrincipalByName('mallory')).toBeNull();
        expect(await store.updatePrincipal('p_nobody', { roles: [] })).toBeNull();
        expect(await store.getPrincipal('p_nobody')).toBeNull();
      });

      it('keeps a display name of any Unicode text, patches and clears it', async () => {
        const shown = '<img src=x onerror=alert(1)> Zoë 李 🚀';
        await store.createPrincipal(principal({ displayName: shown }));
        expect(await store.getPrincipal('p_alice')).toStrictEqual(principal({ displayName: shown }));
        expect((await store.listPrincipalsPage({ limit: 10 })).items).toStrictEqual([principal({ displayName: shown })]);
        expect(await store.updatePrincipal('p_alice', { displayName: 'Alice Liddell' })).toStrictEqual(principal({ displayName: 'Alice Liddell' }));
        expect(await store.updatePrincipal('p_alice', { displayName: undefined })).toStrictEqual(principal());
        expect(await store.getPrincipal('p_alice')).toStrictEqual(principal());
      });

      it('deletes a principal and frees its name', async () => {
        await store.createPrincipal(principal());
        expect(await store.deletePrincipal('p_alice')).toBe(true);
        expect(await store.getPrincipal('p_alice')).toBeNull();
        expect(await store.getPrincipalByName('alice')).toBeNull();
        expect(await store.listPrincipals()).toEqual([]);
        expect(await store.deletePrincipal('p_alice')).toBe(false);
        await store.createPrincipal(principal({ id: 'p_alice2' }));
        expect((await store.getPrincipalByName('alice'))?.id).toBe('p_alice2');
      });
    });

    describe('keys', () => {
      beforeEach(async () => {
        await store.createPrincipal(principal());
        await store.createPrincipal(principal({ id: 'p_bob', name: 'bob' }));
      });

      it('creates and reads back the exact record with every field', async () => {
        await store.createKey(fullKey(), { maxLive: 10, now: NOW });
        expect(await store.getKey('k_1')).toStrictEqual(fullKey());
        expect(await store.getKey('k_nope')).toBeNull();
      });

      it('finds a key by hash together with its principal', async () => {
        await store.createKey(fullKey(), { maxLive: 10, now: NOW });
        expect(await store.findByHash(hex('a'))).toStrictEqual({ key: fullKey(), principal: principal() });
        expect(await store.findByHash(hex('b'))).toBeNull();
      });

      it('refuses a duplicate id or hash, and a key for a principal that does not exist', async () => {
        await store.createKey(key(), { maxLive: 10, now: NOW });
        expect(await conflictOf(store.createKey(key({ hash: hex('b') }), { maxLive: 10, now: NOW }))).toBe('duplicate');
        expect(await conflictOf(store.createKey(key({ id: 'k_2' }), { maxLive: 10, now: NOW }))).toBe('duplicate');
        expect(await conflictOf(store.createKey(key({ id: 'k_3', hash: hex('c'), principalId: 'p_ghost' }), { maxLive: 10, now: NOW })))
          .toBe('principal_not_found');
        expect(await store.listKeys({})).toStrictEqual([key()]);
        expect(await store.findByHash(hex('b'))).toBeNull();
        expect(await store.getKey('k_3')).toBeNull();
      });

      it('lists keys of one principal or all, sorted by creation then id', async () => {
        await store.createKey(key({ id: 'k_late', hash: hex('1'), createdAt: at(2000) }), { maxLive: 10, now: NOW });
        await store.createKey(key({ id: 'k_b', hash: hex('2'), createdAt: at(1000) }), { maxLive: 10, now: NOW });
        await store.createKey(key({ id: 'k_a', hash: hex('3'), createdAt: at(1000) }), { maxLive: 10, now: NOW });
        await store.createKey(key({ id: 'k_bob', hash: hex('4'), principalId: 'p_bob', createdAt: at(0) }), { maxLive: 10, now: NOW });
        expect((await store.listKeys({ principalId: 'p_alice' })).map((k) => k.id)).toEqual(['k_a', 'k_b', 'k_late']);
        expect((await store.listKeys({ principalId: 'p_bob' })).map((k) => k.id)).toEqual(['k_bob']);
        expect((await store.listKeys({})).map((k) => k.id)).toEqual(['k_bob', 'k_a', 'k_b', 'k_late']);
        expect(await store.listKeys({ principalId: 'p_ghost' })).toEqual([]);
      });

      it('updates only patchable fields; the hash cannot change', async () => {
        await store.createKey(fullKey(), { maxLive: 10, now: NOW });
        const patch = { revokedAt: at(5), name: undefined, scopes: ['read'], hash: hex('f'), principalId: 'p_bob' };
        const expected = { ...fullKey(), revokedAt: at(5), scopes: ['read'] };
        delete expected.name;
        expect(await store.updateKey('k_1', patch)).toStrictEqual(expected);
        expect(await store.getKey('k_1')).toStrictEqual(expected);
        expect(await store.findByHash(hex('a'))).toStrictEqual({ key: expected, principal: principal() });
        expect(await store.findByHash(hex('f'))).toBeNull();
        expect(await store.updateKey('k_nope', { name: 'x' })).toBeNull();
        expect(await store.getKey('k_nope')).toBeNull();
      });

      it('deletes a key: gone by id, by hash and from lists; its hash is free again', async () => {
        await store.createKey(key(), { maxLive: 10, now: NOW });
        await store.createKey(key({ id: 'k_2', hash: hex('b') }), { maxLive: 10, now: NOW });
        expect(await store.deleteKey('k_1')).toBe(true);
        expect(await store.getKey('k_1')).toBeNull();
        expect(await store.findByHash(hex('a'))).toBeNull();
        expect((await store.listKeys({ principalId: 'p_alice' })).map((k) => k.id)).toEqual(['k_2']);
        expect(await store.deleteKey('k_1')).toBe(false);
        await store.createKey(key({ id: 'k_3' }), { maxLive: 10, now: NOW });
        expect((await store.findByHash(hex('a')))?.key.id).toBe('k_3');
      });

      it('refuses the 11th live key; expired and revoked keys do not count', async () => {
        const dead = [
          key({ id: 'k_expired', hash: hex('d0'), expiresAt: at(-1) }),
          key({ id: 'k_expires_now', hash: hex('d1'), expiresAt: NOW }),
          key({ id: 'k_revoked', hash: hex('d2'), revokedAt: NOW }),
        ];
        for (const k of dead) await store.createKey(k, { maxLive: 10, now: NOW });
        for (let i = 0; i < 10; i++) {
          // Keys expiring or revoked later are live now.
          const later = i === 0 ? { expiresAt: at(1) } : i === 1 ? { revokedAt: at(1) } : {};
          await store.createKey(key({ id: `k_live${i}`, hash: hex(`e${i}`), ...later }), { maxLive: 10, now: NOW });
        }
        expect(await conflictOf(store.createKey(key({ id: 'k_11', hash: hex('f0') }), { maxLive: 10, now: NOW }))).toBe('key_limit_reached');
        expect(await store.getKey('k_11')).toBeNull();
        expect(await store.findByHash(hex('f0'))).toBeNull();
        // Another principal has its own allowance.
        await store.createKey(key({ id: 'k_bob', hash: hex('f1'), principalId: 'p_bob' }), { maxLive: 10, now: NOW });
        // At a later `now` the key that expires at +1 ms is dead: room for one more.
        await store.createKey(key({ id: 'k_11', hash: hex('f0') }), { maxLive: 10, now: at(1) });
        expect((await store.listKeys({ principalId: 'p_alice' })).length).toBe(14);
      });

      it('never exceeds the limit under concurrent creates', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => store.createKey(key({ id: `k_c${i}`, hash: hex(`c${i}`) }), { maxLive: 10, now: NOW })),
        );
        expect(results.filter((r) => r.status === 'fulfilled').length).toBe(10);
        const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as StoreConflictError).code] : []));
        expect(codes).toEqual(Array(10).fill('key_limit_reached'));
        expect((await store.listKeys({ principalId: 'p_alice' })).length).toBe(10);
      });

      it('deleting a principal deletes its keys, and only its keys', async () => {
        await store.createKey(key(), { maxLive: 10, now: NOW });
        await store.createKey(key({ id: 'k_2', hash: hex('b') }), { maxLive: 10, now: NOW });
        await store.createKey(key({ id: 'k_bob', hash: hex('c'), principalId: 'p_bob' }), { maxLive: 10, now: NOW });
        expect(await store.deletePrincipal('p_alice')).toBe(true);
        expect(await store.findByHash(hex('a'))).toBeNull();
        expect(await store.findByHash(hex('b'))).toBeNull();
        expect(await store.getKey('k_1')).toBeNull();
        expect(await store.listKeys({ principalId: 'p_alice' })).toEqual([]);
        expect((await store.listKeys({})).map((k) => k.id)).toEqual(['k_bob']);
        expect((await store.findByHash(hex('c')))?.principal.id).toBe('p_bob');
        // The same ids and hashes can be used again.
        await store.createPrincipal(principal());
        await store.createKey(key(), { maxLive: 10, now: NOW });
        expect((await store.findByHash(hex('a')))?.key).toStrictEqual(key());
      });

      it('rotates: the old key points to the new one and expires at the end of the grace period', async () => {
        await store.createKey(key(), { maxLive: 10, now: NOW });
        const next = key({ id: 'k_2', hash: hex('b'), rotatedFrom: 'k_1', createdAt: NOW });
        const previous = await store.rotateKey('k_1', next, at(60_000));
        const rotated = { ...key(), rotatedTo: 'k_2', expiresAt: at(60_000) };
        expect(previous).toStrictEqual(rotated);
        expect(await store.getKey('k_1')).toStrictEqual(rotated);
        expect(await store.getKey('k_2')).toStrictEqual(next);
        expect(await store.findByHash(hex('b'))).toStrictEqual({ key: next, principal: principal() });
        expect(await store.findByHash(hex('a'))).toStrictEqual({ key: rotated, principal: principal() });
        expect(await store.rotateKey('k_nope', key({ id: 'k_9', hash: hex('9') }), NOW)).toBeNull();
        expect(await store.getKey('k_9')).toBeNull();
      });

      it('rotation never extends the old key and does not count against the limit', async () => {
        for (let i = 0; i < 10; i++) {
          await store.createKey(key({ id: `k_${i}`, hash: hex(`${i}`), expiresAt: at(1000) }), { maxLive: 10, now: NOW });
        }
        const previous = await store.rotateKey('k_0', key({ id: 'k_new', hash: hex('b') }), at(60_000));
        expect(previous?.expiresAt).toStrictEqual(at(1000));
        expect(previous?.rotatedTo).toBe('k_new');
        expect((await store.listKeys({ principalId: 'p_alice' })).length).toBe(11);
      });

      it('refuses a rotation onto an existing id or hash and changes nothing', async () => {
        await store.createKey(key(), { maxLive: 10, now: NOW });
        await store.createKey(key({ id: 'k_2', hash: hex('b') }), { maxLive: 10, now: NOW });
        expect(await conflictOf(store.rotateKey('k_1', key({ id: 'k_3', hash: hex('b') }), NOW))).toBe('duplicate');
        expect(await conflictOf(store.rotateKey('k_1', key({ id: 'k_2', hash: hex('c') }), NOW))).toBe('duplicate');
        expect(await store.getKey('k_1')).toStrictEqual(key());
        expect(await store.getKey('k_3')).toBeNull();
        expect(await store.findByHash(hex('c'))).toBeNull();
      });

      it('touchKeys records last use, never backwards, and ignores unknown keys', async () => {
        await store.createKey(key(), { maxLive: 10, now: NOW });
        await store.createKey(key({ id: 'k_2', hash: hex('b') }), { maxLive: 10, now: NOW });
        await store.touchKeys(new Map([['k_1', at(10)], ['k_2', at(20)], ['k_gone', at(30)]]));
        expect((await store.getKey('k_1'))?.lastUsedAt).toStrictEqual(at(10));
        expect((await store.getKey('k_2'))?.lastUsedAt).toStrictEqual(at(20));
        await store.touchKeys(new Map([['k_1', at(5)], ['k_2', at(25)]]));
        expect((await store.getKey('k_1'))?.lastUsedAt).toStrictEqual(at(10));
        expect((await store.findByHash(hex('b')))?.key.lastUsedAt).toStrictEqual(at(25));
        expect(await store.getKey('k_gone')).toBeNull();
        expect(await store.listKeys({})).toHaveLength(2);
      });
    });

    describe('pages (cursor pagination of the admin API)', () => {
      /** Every page from the start, following `after` = last id, as the admin API's cursor does. */
      async function allPages<T extends { id: string }>(read: (after: string | undefined) => Promise<{ items: T[]; more: boolean }>): Promise<T[][]> {
        const pages: T[][] = [];
        let after: string | undefined;
        for (;;) {
          const page = await read(after);
          pages.push(page.items);
          if (!page.more) return pages;
          after = page.items.at(-1)?.id;
          expect(after).toBeDefined();
        }
      }

      it('pages principals in id order, exact records, more=false on the last page', async () => {
        for (const n of ['carol', 'alice', 'dave', 'bob', 'erin']) await store.createPrincipal(principal({ id: `p_${n}`, name: n }));
        expect(await store.listPrincipalsPage({ limit: 2 })).toStrictEqual({
          items: [principal({ id: 'p_alice', name: 'alice' }), principal({ id: 'p_bob', name: 'bob' })], more: true,
        });
        const pages = await allPages((after) => store.listPrincipalsPage({ ...(after === undefined ? {} : { after }), limit: 2 }));
        expect(pages.map((p) => p.map((r) => r.id))).toEqual([['p_alice', 'p_bob'], ['p_carol', 'p_dave'], ['p_erin']]);
        // A page that ends exactly at the last record says so.
        expect(await store.listPrincipalsPage({ after: 'p_carol', limit: 2 })).toMatchObject({ more: false });
        expect(await store.listPrincipalsPage({ after: 'p_erin', limit: 2 })).toStrictEqual({ items: [], more: false });
        // A cursor whose record is gone still places the page: ids, not positions.
        expect((await store.listPrincipalsPage({ after: 'p_c', limit: 10 })).items.map((p) => p.id)).toEqual(['p_carol', 'p_dave', 'p_erin']);
      });

      it('an empty store gives one empty last page', async () => {
        expect(await store.listPrincipalsPage({ limit: 100 })).toStrictEqual({ items: [], more: false });
        expect(await store.listKeysPage({}, { limit: 100 })).toStrictEqual({ items: [], more: false });
      });

      it('pages keys of one principal or all in id order, with every field', async () => {
        await store.createPrincipal(principal());
        await store.createPrincipal(principal({ id: 'p_bob', name: 'bob' }));
        await store.createKey(fullKey(), { maxLive: 10, now: NOW });
        for (const [i, id] of ['k_3', 'k_0', 'k_2'].entries()) await store.createKey(key({ id, hash: hex(String(i + 1)) }), { maxLive: 10, now: NOW });
        await store.createKey(key({ id: 'k_15', hash: hex('9'), principalId: 'p_bob' }), { maxLive: 10, now: NOW });
        expect(await store.listKeysPage({ principalId: 'p_alice' }, { limit: 2 })).toStrictEqual({
          items: [key({ id: 'k_0', hash: hex('2') }), fullKey()], more: true,
        });
        const ids = (pages: KeyRecord[][]) => pages.map((p) => p.map((k) => k.id));
        expect(ids(await allPages((after) => store.listKeysPage({}, { ...(after === undefined ? {} : { after }), limit: 2 }))))
          .toEqual([['k_0', 'k_1'], ['k_15', 'k_2'], ['k_3']]);
        expect(ids(await allPages((after) => store.listKeysPage({ principalId: 'p_bob' }, { ...(after === undefined ? {} : { after }), limit: 2 }))))
          .toEqual([['k_15']]);
        expect(await store.listKeysPage({ principalId: 'p_ghost' }, { limit: 2 })).toStrictEqual({ items: [], more: false });
      });

      it('stable under concurrent inserts and deletes: nothing that existed throughout is skipped or repeated', async () => {
        const before = Array.from({ length: 30 }, (_, i) => `p_${String(i * 10).padStart(4, '0')}`);
        for (const id of before) await store.createPrincipal(principal({ id, name: `n${id}` }));
        const seen: string[] = [];
        const inserted: string[] = [];
        let after: string | undefined;
        let round = 0;
        for (;;) {
          // Each page races writes that land before, inside and after the cursor.
          const writes = [
            `p_${String(round * 10 + 1).padStart(4, '0')}`, `p_${String(round * 10 + 155).padStart(4, '0')}`, `p_9${String(round).padStart(3, '0')}`,
          ].map(async (id) => {
            await store.createPrincipal(principal({ id, name: `n${id}` }));
            inserted.push(id);
          });
          const [page] = await Promise.all([store.listPrincipalsPage({ ...(after === undefined ? {} : { after }), limit: 4 }), ...writes]);
          round++;
          seen.push(...page.items.map((p) => p.id));
          if (!page.more) break;
          after = page.items.at(-1)?.id;
        }
        expect(new Set(seen).size).toBe(seen.length);
        for (const id of before) expect(seen).toContain(id);
        expect(seen).toEqual([...seen].sort());
        // Inserted ids that sort after the last page's cursor did show up.
        for (const id of inserted.filter((i) => i.startsWith('p_9'))) expect(seen).toContain(id);
        // And keys, while some are deleted: the survivors appear once each.
        await store.createPrincipal(principal());
        const keyIds = Array.from({ length: 10 }, (_, i) => `k_${String(i).padStart(2, '0')}`);
        for (const [i, id] of keyIds.entries()) await store.createKey(key({ id, hash: String(i).padStart(64, 'e') }), { maxLive: 100, now: NOW });
        const keysSeen: string[] = [];
        after = undefined;
        for (let r = 0; ; r++) {
          const read = store.listKeysPage({}, { ...(after === undefined ? {} : { after }), limit: 3 });
          await Promise.all([
            read, store.deleteKey(`k_0${r}`),
            store.createKey(key({ id: `k_5${r}`, hash: String(r).padStart(64, 'f') }), { maxLive: 100, now: NOW }),
          ]);
          const page = await read;
          keysSeen.push(...page.items.map((k) => k.id));
          if (!page.more) break;
          after = page.items.at(-1)?.id;
        }
        expect(new Set(keysSeen).size).toBe(keysSeen.length);
        // k_00..k_03 may go before they are read; k_04.. outlive the listing.
        for (const id of keyIds.slice(4)) expect(keysSeen).toContain(id);
      });
    });

    describe('groups', () => {
      it('creates, reads, lists sorted, replaces and deletes', async () => {
        await store.putGroup(group(), { create: true });
        await store.putGroup(group({ name: 'ops', resources: {} }), { create: true });
        expect(await store.getGroup('team-a')).toStrictEqual(group());
        expect(await store.listGroups()).toStrictEqual([group({ name: 'ops', resources: {} }), group()]);
        expect(await conflictOf(store.putGroup(group({ roles: ['x'] }), { create: true }))).toBe('duplicate');
        expect(await store.getGroup('team-a')).toStrictEqual(group());
        const replaced = group({ roles: [], resources: { application: ['app-3'] } });
        await store.putGroup(replaced, { create: false });
        expect(await store.getGroup('team-a')).toStrictEqual(replaced);
        expect(await store.deleteGroup('team-a')).toBe(true);
        expect(await store.deleteGroup('team-a')).toBe(false);
        expect(await store.getGroup('team-a')).toBeNull();
        expect((await store.listGroups()).map((g) => g.name)).toEqual(['ops']);
      });
    });

    describe('group pages (cursor pagination of the admin API)', () => {
      it('pages groups in name order, exact records, more=false on the last page; a gone cursor still places the page', async () => {
        for (const n of ['ops', 'dev', 'team-b', 'audit', 'team-a']) await store.putGroup(group({ name: n }), { create: true });
        const names = (p: { items: GroupRecord[] }) => p.items.map((g) => g.name);
        const first = await store.listGroupsPage({ limit: 2 });
        expect(first).toStrictEqual({ items: [group({ name: 'audit' }), group({ name: 'dev' })], more: true });
        const second = await store.listGroupsPage({ after: 'dev', limit: 2 });
        expect([names(second), second.more]).toEqual([['ops', 'team-a'], true]);
        expect(await store.listGroupsPage({ after: 'team-a', limit: 2 })).toStrictEqual({ items: [group({ name: 'team-b' })], more: false });
        expect(await store.listGroupsPage({ after: 'team-a', limit: 1 })).toMatchObject({ more: false });
        expect(names(await store.listGroupsPage({ after: 'e', limit: 10 }))).toEqual(['ops', 'team-a', 'team-b']);
        expect(await store.listGroupsPage({ after: 'zzz', limit: 10 })).toStrictEqual({ items: [], more: false });
      });

      it('an empty store gives one empty last page of groups', async () => {
        expect(await store.listGroupsPage({ limit: 100 })).toStrictEqual({ items: [], more: false });
      });
    });

    describe('syncDeclarative', () => {
      const ci: DeclaredPrincipalInput = { name: 'ci', kind: 'service', roles: ['deployer'], org: 'acme', disabled: false, keys: [
        { id: 'k_ci1', hash: `sha256:${hex('1')}`, name: 'main', expiresAt: at(1000) },
        { id: 'k_ci2', hash: hex('2') },
      ] };
      const old: DeclaredPrincipalInput = { name: 'old', kind: 'user', roles: [], disabled: true, keys: [{ id: 'k_old', hash: `sha256:${hex('3')}` }] };
      const declared = [ci, old];

      it('holds the declared principals and keys, hashes stripped of their algorithm', async () => {
        await store.syncDeclarative(declared);
        const p = await store.getPrincipalByName('ci');
        expect(p).toStrictEqual({
          id: 'cfg:ci', name: 'ci', kind: 'service', roles: ['deployer'], groups: [], org: 'acme', disabled: false,
          createdAt: p?.createdAt, metadata: {}, source: 'config',
        });
        expect(p?.createdAt).toBeInstanceOf(Date);
        const found = await store.findByHash(hex('1'));
        expect(found?.principal).toStrictEqual(p);
        expect(found?.key).toStrictEqual({
          id: 'k_ci1', principalId: 'cfg:ci', hash: hex('1'), name: 'main', expiresAt: at(1000), createdAt: found?.key.createdAt, type: 'api_key',
        });
        expect((await store.findByHash(hex('3')))?.principal.disabled).toBe(true);
        expect((await store.listKeys({ principalId: 'cfg:ci' })).map((k) => k.id).sort()).toEqual(['k_ci1', 'k_ci2']);
      });

      it('holds a declared display name, and a reload that drops it clears it', async () => {
        await store.syncDeclarative([{ ...ci, displayName: 'CI — déploiements' }]);
        expect((await store.getPrincipal('cfg:ci'))?.displayName).toBe('CI — déploiements');
        await store.syncDeclarative([ci]);
        expect(await store.getPrincipal('cfg:ci')).not.toHaveProperty('displayName');
      });

      it('replaces the config principals and leaves those created through the API alone', async () => {
        await store.createPrincipal(principal());
        await store.createKey(key(), { maxLive: 10, now: NOW });
        await store.syncDeclarative(declared);
        await store.syncDeclarative([{ ...ci, roles: ['viewer'], keys: [{ id: 'k_ci3', hash: hex('4') }] }]);
        expect((await store.listPrincipals()).map((p) => p.id)).toEqual(['p_alice', 'cfg:ci']);
        expect((await store.getPrincipal('cfg:ci'))?.roles).toEqual(['viewer']);
        expect(await store.getPrincipal('cfg:old')).toBeNull();
        expect(await store.findByHash(hex('1'))).toBeNull();
        expect(await store.findByHash(hex('3'))).toBeNull();
        expect(await store.getKey('k_ci1')).toBeNull();
        expect((await store.findByHash(hex('4')))?.key.id).toBe('k_ci3');
        expect(await store.findByHash(hex('a'))).toStrictEqual({ key: key(), principal: principal() });
        await store.syncDeclarative([]);
        expect((await store.listPrincipals()).map((p) => p.id)).toEqual(['p_alice']);
        expect((await store.listKeys({})).map((k) => k.id)).toEqual(['k_1']);
      });

      it('refuses a declared name or hash already used through the API, changing nothing', async () => {
        await store.createPrincipal(principal());
        await store.createKey(key(), { maxLive: 10, now: NOW });
        await store.syncDeclarative(declared);
        expect(await conflictOf(store.syncDeclarative([{ ...old, name: 'alice' }]))).toBe('duplicate');
        expect(await conflictOf(store.syncDeclarative([{ ...old, keys: [{ id: 'k_x', hash: `sha256:${hex('a')}` }] }]))).toBe('duplicate');
        expect(await conflictOf(store.syncDeclarative([{ ...old, keys: [{ id: 'k_1', hash: hex('9') }] }]))).toBe('duplicate');
        expect(await conflictOf(store.syncDeclarative([old, old]))).toBe('duplicate');
        expect((await store.listPrincipals()).map((p) => p.id)).toEqual(['p_alice', 'cfg:ci', 'cfg:old']);
        expect((await store.findByHash(hex('a')))?.principal.id).toBe('p_alice');
        expect((await store.findByHash(hex('3')))?.key.id).toBe('k_old');
      });
    });

    describe('invalidations', () => {
      it('publishes one invalidation per write, with the right payload, in order', async () => {
        await store.createPrincipal(principal());
        await store.updatePrincipal('p_alice', { disabled: true });
        await store.createKey(key(), { maxLive: 10, now: NOW });
        await store.updateKey('k_1', { revokedAt: NOW });
        await store.rotateKey('k_1', key({ id: 'k_2', hash: hex('b') }), NOW);
        await store.deleteKey('k_2');
        await store.putGroup(group(), { create: true });
        await store.deleteGroup('team-a');
        await store.deletePrincipal('p_alice');
        await store.syncDeclarative([]);
        expect(await invalidations()).toEqual([
          { type: 'principal', id: 'p_alice' },
          { type: 'principal', id: 'p_alice' },
          { type: 'key', hash: hex('a') },
          { type: 'key', hash: hex('a') },
          { type: 'key', hash: hex('a') },
          { type: 'key', hash: hex('b') },
          { type: 'key', hash: hex('b') },
          { type: 'group', name: 'team-a' },
          { type: 'group', name: 'team-a' },
          { type: 'principal', id: 'p_alice' },
          { type: 'all' },
        ]);
      });

      it('publishes nothing for refused writes, no-ops and last-use records', async () => {
        await store.createPrincipal(principal());
        await store.createKey(key(), { maxLive: 10, now: NOW });
        await invalidations();
        await conflictOf(store.createPrincipal(principal()));
        await conflictOf(store.createKey(key(), { maxLive: 10, now: NOW }));
        await conflictOf(store.createKey(key({ id: 'k_2', hash: hex('b') }), { maxLive: 1, now: NOW }));
        expect(await store.updatePrincipal('p_nobody', { disabled: true })).toBeNull();
        expect(await store.updateKey('k_nope', { name: 'x' })).toBeNull();
        expect(await store.deleteKey('k_nope')).toBe(false);
        expect(await store.deletePrincipal('p_nobody')).toBe(false);
        expect(await store.deleteGroup('nope')).toBe(false);
        expect(await store.rotateKey('k_nope', key({ id: 'k_3', hash: hex('c') }), NOW)).toBeNull();
        await store.touchKeys(new Map([['k_1', NOW]]));
        expect(await invalidations()).toEqual([]);
      });
    });

    describe('isolation of returned records', () => {
      it('mutating a returned or a passed-in record does not change the store', async () => {
        const p = principal();
        await store.createPrincipal(p);
        p.roles.push('root');
        p.metadata.team = 'evil';
        const k = key({ scopes: ['read'] });
        await store.createKey(k, { maxLive: 10, now: NOW });
        k.scopes?.push('admin');
        k.createdAt.setTime(0);
        await store.putGroup(group(), { create: true });

        const got = await store.getPrincipal('p_alice');
        got?.roles.push('root');
        (await store.listPrincipals())[0]?.groups.push('x');
        const byName = await store.getPrincipalByName('alice');
        if (byName) byName.disabled = true;
        const updated = await store.updatePrincipal('p_alice', {});
        updated?.roles.push('root');
        const found = await store.findByHash(hex('a'));
        found?.key.scopes?.push('admin');
        found?.principal.roles.push('root');
        found?.key.createdAt.setTime(0);
        (await store.getKey('k_1'))?.scopes?.push('admin');
        (await store.listKeys({}))[0]?.scopes?.push('admin');
        const g = await store.getGroup('team-a');
        g?.resources.application?.push('app-x');
        (await store.listGroups())[0]?.roles.push('x');
        const prev = await store.rotateKey('k_1', key({ id: 'k_2', hash: hex('b') }), at(1000));
        prev?.scopes?.push('admin');

        expect(await store.getPrincipal('p_alice')).toStrictEqual(principal());
        expect((await store.getKey('k_1'))?.scopes).toEqual(['read']);
        expect((await store.findByHash(hex('a')))?.key).toStrictEqual({ ...key({ scopes: ['read'] }), rotatedTo: 'k_2', expiresAt: at(1000) });
        expect(await store.getGroup('team-a')).toStrictEqual(group());
      });
    });
  });
}
