import type { GroupRecord, KeyStore } from '../keystore/types.ts';

/**
 * Every group, held in memory so authorization never waits on the store. Groups are few and
 * change rarely; the directory reloads on a group invalidation and after a reconnect, and keeps
 * the last good copy while the store is unreachable.
 */
export class GroupDirectory {
  private groups = new Map<string, GroupRecord>();
  private readonly store: KeyStore;
  private loading: Promise<void> | null = null;
  private again = false;

  constructor(store: KeyStore) {
    this.store = store;
  }

  /** Loads now and follows changes from then on. */
  async start(onError: (e: unknown) => void): Promise<void> {
    const reload = () => void this.refresh().catch(onError);
    this.store.onInvalidate((inv) => { if (inv.type === 'group' || inv.type === 'all') reload(); });
    this.store.onConnectionChange((s) => { if (s === 'up') reload(); });
    await this.refresh().catch(onError);
  }

  /** Serialized: a change during a load triggers one more load, never two at once. */
  refresh(): Promise<void> {
    if (this.loading !== null) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        const list = await this.store.listGroups();
        this.groups = new Map(list.map((g) => [g.name, g]));
      } while (this.again);
    })().finally(() => { this.loading = null; });
    return this.loading;
  }

  get(name: string): GroupRecord | undefined {
    return this.groups.get(name);
  }
}
