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
  /**
   * `put` for entries anyone may cause (pending OIDC logins): false, and nothing written, when
   * the namespace has had its share of writes lately. In process the oldest entry gives way
   * instead (the namespace is bounded anyway); in Redis, which holds the key store too, at most
   * `max` such writes are made per `ttlMs`, fleet-wide.
   */
  putBounded(ns: string, id: string, value: string, ttlMs: number): Promise<boolean>;
  /** Reads and deletes in one step (a pending login is used once). */
  take(ns: string, id: string): Promise<string | null>;
  delete(ns: string, id: string): Promise<void>;
  close(): Promise<void>;
}

export interface SessionStoreOptions {
  /** @default Date.now */
  now?: () => number;
  /** Embedded store: entries per namespace. @default 100_000 */
  memoryMax?: number;
  /** Redis: `putBounded` writes per namespace per ttl window. @default 100_000 */
  boundedMax?: number;
}

export function createSessionStore(store: StoreTarget, opts: SessionStoreOptions = {}): SessionStore {
  return isRedis(store)
    ? redisSessions(openSideConnection(store), store.prefix, opts.now ?? Date.now, opts.boundedMax ?? MEMORY_MAX)
    : memorySessions(opts.now ?? Date.now, opts.memoryMax ?? MEMORY_MAX);
}

/**
 * Entries per namespace. Bounded so a flood cannot grow memory without end, and per namespace so
 * a flood of unauthenticated login starts (`oidc`) can only evict other login starts, never a
 * signed-in session.
 */
const MEMORY_MAX = 100_000;

function memorySessions(now: () => number, max: number): SessionStore {
  const spaces = new Map<string, Map<string, { value: string; until: number }>>();
  const space = (ns: string) => {
    let m = spaces.get(ns);
    if (m === undefined) spaces.set(ns, (m = new Map()));
    return m;
  };
  const live = (m: Map<string, { value: string; until: number }>, id: string) => {
    const e = m.get(id);
    if (e === undefined) return null;
    if (e.until <= now()) {
      m.delete(id);
      return null;
    }
    return e;
  };
  return {
    backend: 'memory',
    get: async (ns, id) => live(space(ns), id)?.value ?? null,
    async put(ns, id, value, ttlMs) {
      const m = space(ns);
      if (m.size >= max) {
        for (const k of m.keys()) live(m, k);
        // Still full of live entries: drop the oldest (a Map keeps insertion order).
        if (m.size >= max) m.delete(m.keys().next().value as string);
      }
      m.delete(id);
      m.set(id, { value, until: now() + ttlMs });
    },
    async putBounded(ns, id, value, ttlMs) {
      await this.put(ns, id, value, ttlMs);
      return true;
    },
    async take(ns, id) {
      const m = space(ns);
      const e = live(m, id);
      m.delete(id);
      return e?.value ?? null;
    },
    async delete(ns, id) {
      space(ns).delete(id);
    },
    async close() {
      spaces.clear();
    },
  };
}

function redisSessions(side: SideConnection, prefix: string, now: () => number, boundedMax: number): SessionStore {
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
    // A counter per ttl window: entries of this window and the last can be alive, so at most
    // twice `boundedMax` are ever held however many requests come.
    putBounded: (ns, id, value, ttlMs) => call(async () => {
      const ms = Math.max(1, Math.ceil(ttlMs));
      const counter = key(`${ns}-writes`, String(Math.floor(now() / ms)));
      const r = await side.conn.multi().incr(counter).pexpire(counter, 2 * ms).exec();
      if (r?.[0]?.[0] != null) throw r[0][0];
      if (Number(r?.[0]?.[1]) > boundedMax) return false;
      await side.conn.set(key(ns, id), value, 'PX', ms);
      return true;
    }),
    take: (ns, id) => call(() => side.conn.getdel(key(ns, id))),
    delete: (ns, id) => call(async () => { await side.conn.del(key(ns, id)); }),
    close: () => side.close(),
  };
}
