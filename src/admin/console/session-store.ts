import { openSideConnection, type SideConnection, type StoreTarget, isRedis } from '../../audit/connection.ts';
import { StoreUnavailableError } from '../../keystore/types.ts';

/**
 * Where console sessions and pending OIDC logins live, keyed by the SHA-256 of the random value
 * in the browser's cookie (never the value itself: a copy of the store does not sign anyone in).
 * In Redis next to a Redis key store, so every replica behind a load balancer knows every
 * session; in process with the embedded store. Entries carry their own expiry.
 */
export interface SessionStore {
  readonly backend: 'redis' | 'memory';
  get(ns: string, id: string): Promise<string | null>;
  /** Writes (or replaces) an entry that disappears after `ttlMs`. */
  put(ns: string, id: string, value: string, ttlMs: number): Promise<void>;
  /** Reads and deletes in one step (a pending login is used once). */
  take(ns: string, id: string): Promise<string | null>;
  delete(ns: string, id: string): Promise<void>;
  close(): Promise<void>;
}

export function createSessionStore(store: StoreTarget, now: () => number = Date.now): SessionStore {
  return isRedis(store) ? redisSessions(openSideConnection(store), store.prefix) : memorySessions(now);
}

/** Bounded so a flood of sign-ins (each needs a valid credential, but still) cannot grow memory without end. */
const MEMORY_MAX = 100_000;

function memorySessions(now: () => number): SessionStore {
  const entries = new Map<string, { value: string; until: number }>();
  const live = (k: string) => {
    const e = entries.get(k);
    if (e === undefined) return null;
    if (e.until <= now()) {
      entries.delete(k);
      return null;
    }
    return e;
  };
  return {
    backend: 'memory',
    get: async (ns, id) => live(`${ns}:${id}`)?.value ?? null,
    async put(ns, id, value, ttlMs) {
      if (entries.size >= MEMORY_MAX) {
        for (const k of entries.keys()) live(k);
        // Still full of live entries: drop the oldest (Map keeps insertion order).
        if (entries.size >= MEMORY_MAX) entries.delete(entries.keys().next().value as string);
      }
      entries.delete(`${ns}:${id}`);
      entries.set(`${ns}:${id}`, { value, until: now() + ttlMs });
    },
    async take(ns, id) {
      const e = live(`${ns}:${id}`);
      entries.delete(`${ns}:${id}`);
      return e?.value ?? null;
    },
    async delete(ns, id) {
      entries.delete(`${ns}:${id}`);
    },
    async close() {
      entries.clear();
    },
  };
}

function redisSessions(side: SideConnection, prefix: string): SessionStore {
  // Under the key store's hash tag, beside its records (redis-store.ts lists that layout).
  const key = (ns: string, id: string) => `{${prefix}}:console:${ns}:${id}`;
  async function call<T>(op: () => Promise<T>): Promise<T> {
    await side.starting();
    try {
      return await op();
    } catch (e) {
      throw new StoreUnavailableError(`console sessions: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
  return {
    backend: 'redis',
    get: (ns, id) => call(() => side.conn.get(key(ns, id))),
    put: (ns, id, value, ttlMs) => call(async () => { await side.conn.set(key(ns, id), value, 'PX', Math.max(1, Math.ceil(ttlMs))); }),
    take: (ns, id) => call(() => side.conn.getdel(key(ns, id))),
    delete: (ns, id) => call(async () => { await side.conn.del(key(ns, id)); }),
    close: () => side.close(),
  };
}
