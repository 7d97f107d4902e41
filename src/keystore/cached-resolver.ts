import { LRUCache } from 'lru-cache';
import { GatewayError } from '../errors.ts';
import { findById, judge, type KeyResolver, type Resolution } from './resolve.ts';
import { StoreUnavailableError, type Invalidation, type KeyStore, type KeyWithPrincipal } from './types.ts';

export type CacheEvent =
  | 'hit' | 'miss' | 'negative_hit' | 'coalesced' | 'invalidated' | 'stale_serve' | 'flushed' | 'evicted' | 'negative_evicted';

export interface CacheOptions {
  /** Max cached keys (positive entries). @default 100_000 */
  max: number;
  /**
   * Max cached "no such key" answers, bounded apart from `max` so that a flood of unknown
   * well-formed keys can never push a valid key out of the cache (issue 10, item 15).
   * @default 10_000
   */
  negativeMax?: number;
  /** Safety-net lifetime of a positive entry; changes arrive by invalidation long before. @default 60_000 */
  ttlMs: number;
  /** Lifetime of a "no such key" entry: short, so a key created a moment later works. @default 2_000 */
  negativeTtlMs: number;
  /** What to do while the store is unreachable. @default "serve-stale" */
  onError: 'serve-stale' | 'deny';
  /**
   * serve-stale: how long cached keys keep working once the store is unreachable, counted from
   * the last moment this replica is known to have received every invalidation. @default 30_000
   */
  staleTtlMs: number;
  /** Observer for metrics; called synchronously, must be cheap. */
  onEvent?: (e: CacheEvent) => void;
  /** Observer of store round trips (seconds), for keygate_keystore_duration_seconds. */
  onStoreCall?: (op: 'find_by_hash', seconds: number) => void;
  /** Injected clock for tests. @default Date.now */
  now?: () => number;
}

/** Cache-key prefix of entries looked up by key id; hashes are hex and never start with it. */
const ID = '#id:';

export interface CachedResolver extends KeyResolver {
  /** Entries currently held (positive and negative). */
  size(): number;
  /** Entries by kind, for keygate_keystore_cache_entries. */
  sizes(): { positive: number; negative: number };
  /** Whether the store is currently considered unreachable. */
  storeDown(): boolean;
  /** serve-stale: the store is down but cached keys still work (inside staleTtl). */
  servingStale(): boolean;
  /** Applies an invalidation now (the writer's own replica need not wait for its pub/sub echo). */
  invalidate(inv: Invalidation): void;
  /** Called after the cache was flushed because invalidations may have been missed. */
  onFlush(listener: () => void): void;
}

/**
 * The key cache in front of the store, keyed by secret hash. Known keys resolve synchronously
 * (no await, no store round trip); misses for one hash coalesce into one store call. Every
 * answer is judged against the record (expiry, revocation, principal state) on every hit, so
 * the cache TTL never decides whether a key is still valid — invalidations and that judgement do.
 *
 * Whether the store is down is the store's own view (`isReady`, which the Redis store keeps
 * true to the wire with a heartbeat), never a flag set by one failed call: a slow command must
 * not leave the replica refusing everyone after Redis answers again (issue 10, item 12).
 */
export function createCachedResolver(store: KeyStore, opts: CacheOptions): CachedResolver {
  const now = opts.now ?? Date.now;
  const emit = opts.onEvent ?? (() => {});
  /** Cache keys per principal, so a principal change drops every key of it. */
  const byPrincipal = new Map<string, Set<string>>();
  /** Entries cached by key id (tokens) are keyed `#id:<id>`; their key's hash → that cache key. */
  const idEntryByHash = new Map<string, string>();
  /** One store call per cache key at a time. */
  const inflight = new Map<string, Promise<KeyWithPrincipal | null>>();
  const flushListeners: (() => void)[] = [];
  /** Bumped on every invalidation: a fetch that raced one must not be kept. */
  let epoch = 0;
  /** When this resolver saw the store go down; the stale window's start when the store cannot say better. */
  let downSince: number | null = null;
  const clock = opts.now === undefined ? {} : { perf: { now: opts.now }, ttlResolution: 0 };

  const positive = new LRUCache<string, KeyWithPrincipal>({
    max: opts.max,
    ttl: opts.ttlMs,
    // An entry that outlived its TTL is still the best answer while the store is down.
    noDeleteOnStaleGet: true,
    // TTLs follow the injected clock, so tests can move time.
    ...clock,
    dispose: (value, cacheKey, reason) => {
      if (reason === 'evict') emit('evicted');
      const set = byPrincipal.get(value.principal.id);
      set?.delete(cacheKey);
      if (set?.size === 0) byPrincipal.delete(value.principal.id);
      if (cacheKey.startsWith(ID) && idEntryByHash.get(value.key.hash) === cacheKey) idEntryByHash.delete(value.key.hash);
    },
  });
  // "No such key" answers: their own LRU, so refusals only ever displace refusals.
  const negative = new LRUCache<string, true>({
    max: opts.negativeMax ?? 10_000,
    ttl: opts.negativeTtlMs,
    ...clock,
    dispose: (_v, _k, reason) => {
      if (reason === 'evict') emit('negative_evicted');
    },
  });

  function index(cacheKey: string, found: KeyWithPrincipal): void {
    let set = byPrincipal.get(found.principal.id);
    if (set === undefined) byPrincipal.set(found.principal.id, (set = new Set()));
    set.add(cacheKey);
    if (cacheKey.startsWith(ID)) idEntryByHash.set(found.key.hash, cacheKey);
  }

  function isDown(): boolean {
    if (store.isReady()) return false;
    downSince ??= now();
    return true;
  }

  /** The last moment this replica is known to have heard every invalidation. */
  function syncedAt(): number {
    const s = store.syncedAt?.();
    return s === undefined ? (downSince ?? now()) : Math.min(s, downSince ?? s);
  }

  function staleAllowed(): boolean {
    return opts.onError === 'serve-stale' && now() - syncedAt() <= opts.staleTtlMs;
  }

  function unavailable(cause?: unknown): GatewayError {
    return new GatewayError('keystore_unavailable', undefined, cause === undefined ? undefined : { cause });
  }

  function drop(cacheKey: string): void {
    positive.delete(cacheKey);
    negative.delete(cacheKey);
  }

  function invalidate(inv: Invalidation): void {
    epoch++;
    emit('invalidated');
    switch (inv.type) {
      case 'key': {
        drop(inv.hash);
        const byId = idEntryByHash.get(inv.hash);
        if (byId !== undefined) drop(byId);
        break;
      }
      case 'principal': for (const h of [...(byPrincipal.get(inv.id) ?? [])]) drop(h); break;
      // Groups only shape authorization, which is computed from the principal per request.
      case 'group': break;
      case 'all': positive.clear(); negative.clear(); break;
    }
  }

  store.onInvalidate(invalidate);
  /** Invalidations published while we could not hear them are lost: start over. */
  function recovered(): void {
    downSince = null;
    epoch++;
    positive.clear();
    negative.clear();
    emit('flushed');
    for (const l of flushListeners) l();
  }

  store.onConnectionChange((state) => {
    if (state === 'down') downSince ??= now();
    else recovered();
  });

  function fetch(cacheKey: string): Promise<KeyWithPrincipal | null> {
    const running = inflight.get(cacheKey);
    if (running !== undefined) {
      emit('coalesced');
      return running;
    }
    emit('miss');
    const startEpoch = epoch;
    const t0 = performance.now();
    const p = (cacheKey.startsWith(ID) ? findById(store, cacheKey.slice(ID.length)) : store.findByHash(cacheKey)).then(
      (found) => {
        opts.onStoreCall?.('find_by_hash', (performance.now() - t0) / 1000);
        // Raced an invalidation (or a flush): answer this caller, but keep nothing.
        if (epoch === startEpoch) {
          if (found === null) {
            positive.delete(cacheKey);
            negative.set(cacheKey, true);
          } else {
            negative.delete(cacheKey);
            positive.set(cacheKey, found);
            index(cacheKey, found);
          }
        }
        return found;
      },
    );
    inflight.set(cacheKey, p);
    const done = (): void => {
      if (inflight.get(cacheKey) === p) inflight.delete(cacheKey);
    };
    p.then(done, done);
    return p;
  }

  function lookup(cacheKey: string, t: number): Resolution | Promise<Resolution> {
    const down = isDown();
    // While the store is unreachable, revocations elsewhere cannot reach us: a bounded window,
    // then 503. The store keeps probing meanwhile, so this ends when Redis answers, not later.
    if (down && !staleAllowed()) throw unavailable();
    const hit = positive.get(cacheKey);
    if (hit !== undefined) {
      emit(down ? 'stale_serve' : 'hit');
      return judge(hit, t);
    }
    if (negative.get(cacheKey) !== undefined) {
      emit('negative_hit');
      return judge(null, t);
    }
    return fetch(cacheKey).then(
      (found) => judge(found, t),
      (e: unknown) => {
        if (!(e instanceof StoreUnavailableError)) throw e;
        // One failed call (the store may still be up): an entry past its TTL beats a 503, inside the window.
        const stale = positive.get(cacheKey, { allowStale: true });
        if (stale !== undefined && staleAllowed()) {
          emit('stale_serve');
          return judge(stale, t);
        }
        throw unavailable(e);
      },
    );
  }

  return {
    resolve: (hash, t) => lookup(hash, t),
    resolveId: (keyId, t) => lookup(ID + keyId, t),
    inMemory: (hash) => positive.has(hash) || negative.has(hash),
    size: () => positive.size + negative.size,
    sizes: () => ({ positive: positive.size, negative: negative.size }),
    storeDown: () => isDown(),
    servingStale: () => isDown() && staleAllowed(),
    invalidate,
    onFlush: (l) => void flushListeners.push(l),
  };
}
