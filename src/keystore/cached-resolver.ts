import { LRUCache } from 'lru-cache';
import { GatewayError } from '../errors.ts';
import { findById, judge, type KeyResolver, type Resolution } from './resolve.ts';
import { StoreUnavailableError, type Invalidation, type KeyStore, type KeyWithPrincipal } from './types.ts';

export type CacheEvent = 'hit' | 'miss' | 'negative_hit' | 'coalesced' | 'invalidated' | 'stale_serve' | 'flushed';

export interface CacheOptions {
  /** Max cached hashes (positive and negative together). @default 100_000 */
  max: number;
  /** Safety-net lifetime of a positive entry; changes arrive by invalidation long before. @default 60_000 */
  ttlMs: number;
  /** Lifetime of a "no such key" entry: short, so a key created a moment later works. @default 2_000 */
  negativeTtlMs: number;
  /** What to do while the store is unreachable. @default "serve-stale" */
  onError: 'serve-stale' | 'deny';
  /** serve-stale: how long after the store became unreachable cached keys keep working. @default 30_000 */
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

/** Stored for "this hash is no key": lru-cache cannot hold undefined. */
const ABSENT = Symbol('absent');
type Entry = KeyWithPrincipal | typeof ABSENT;

export interface CachedResolver extends KeyResolver {
  /** Entries currently held (positive and negative). */
  size(): number;
  /** Whether the store is currently considered unreachable. */
  storeDown(): boolean;
  /** serve-stale: the store is down but cached keys still work (inside staleTtl). */
  servingStale(): boolean;
  /** Applies an invalidation now (the writer's own replica need not wait for its pub/sub echo). */
  invalidate(inv: Invalidation): void;
}

/**
 * The key cache in front of the store, keyed by secret hash. Known keys resolve synchronously
 * (no await, no store round trip); misses for one hash coalesce into one store call. Every
 * answer is judged against the record (expiry, revocation, principal state) on every hit, so
 * the cache TTL never decides whether a key is still valid — invalidations and that judgement do.
 */
export function createCachedResolver(store: KeyStore, opts: CacheOptions): CachedResolver {
  const now = opts.now ?? Date.now;
  const emit = opts.onEvent ?? (() => {});
  /** Cache keys per principal, so a principal change drops every key of it. */
  const byPrincipal = new Map<string, Set<string>>();
  /** Entries cached by key id (tokens) are keyed `#id:<id>`; their key's hash → that cache key. */
  const idEntryByHash = new Map<string, string>();
  /** Bumped on every invalidation: a fetch that raced one must not be kept. */
  let epoch = 0;
  let downSince: number | null = null;

  const cache = new LRUCache<string, Entry>({
    max: opts.max,
    ttl: opts.ttlMs,
    // An entry that outlived its TTL is still the best answer while the store is down.
    noDeleteOnFetchRejection: true,
    noDeleteOnStaleGet: true,
    // An invalidation deletes the entry even while its fetch runs; that fetch must still answer
    // its callers (the epoch check below keeps its result out of the cache).
    ignoreFetchAbort: true,
    // TTLs follow the injected clock, so tests can move time.
    ...(opts.now === undefined ? {} : { perf: { now: opts.now }, ttlResolution: 0 }),
    // The per-principal and by-hash indexes follow what the cache holds: added when a value is
    // stored, removed when it leaves. Indexing inside fetchMethod instead raced lru-cache, which
    // disposes the stale value a refetch replaces *after* the fetch returns — unindexing the fresh
    // entry, so a later disable or revocation missed it (the flaky "disabling kills tokens" test).
    onInsert: (value, cacheKey) => {
      if (value !== ABSENT) index(cacheKey, value);
    },
    dispose: (value, cacheKey) => {
      if (value === ABSENT) return;
      const set = byPrincipal.get(value.principal.id);
      set?.delete(cacheKey);
      if (set?.size === 0) byPrincipal.delete(value.principal.id);
      if (cacheKey.startsWith(ID) && idEntryByHash.get(value.key.hash) === cacheKey) idEntryByHash.delete(value.key.hash);
    },
    fetchMethod: async (cacheKey, stale, { options }) => {
      const startEpoch = epoch;
      let found: KeyWithPrincipal | null;
      const t0 = performance.now();
      try {
        found = cacheKey.startsWith(ID) ? await findById(store, cacheKey.slice(ID.length)) : await store.findByHash(cacheKey);
        opts.onStoreCall?.('find_by_hash', (performance.now() - t0) / 1000);
      } catch (e) {
        if (!(e instanceof StoreUnavailableError)) throw e;
        downSince ??= now();
        if (stale !== undefined && stale !== ABSENT && staleAllowed()) {
          emit('stale_serve');
          options.ttl = Math.max(1, (downSince + opts.staleTtlMs) - now());
          return stale;
        }
        throw e;
      }
      // Deferred: clearing the cache from inside its own fetch would abort this fetch.
      if (downSince !== null && store.isReady()) queueMicrotask(recovered);
      if (found === null) options.ttl = opts.negativeTtlMs;
      // Raced an invalidation: answer this caller, but keep nothing.
      if (epoch !== startEpoch) options.ttl = 1;
      return found ?? ABSENT;
    },
  });

  function index(cacheKey: string, found: KeyWithPrincipal): void {
    let set = byPrincipal.get(found.principal.id);
    if (set === undefined) byPrincipal.set(found.principal.id, (set = new Set()));
    set.add(cacheKey);
    if (cacheKey.startsWith(ID)) idEntryByHash.set(found.key.hash, cacheKey);
  }

  function staleAllowed(): boolean {
    return opts.onError === 'serve-stale' && downSince !== null && now() - downSince <= opts.staleTtlMs;
  }

  function unavailable(cause?: unknown): GatewayError {
    return new GatewayError('keystore_unavailable', undefined, cause === undefined ? undefined : { cause });
  }

  function invalidate(inv: Invalidation): void {
    epoch++;
    emit('invalidated');
    switch (inv.type) {
      case 'key': {
        cache.delete(inv.hash);
        const byId = idEntryByHash.get(inv.hash);
        if (byId !== undefined) cache.delete(byId);
        break;
      }
      case 'principal': for (const h of [...(byPrincipal.get(inv.id) ?? [])]) cache.delete(h); break;
      // Groups only shape authorization, which is computed from the principal per request.
      case 'group': break;
      case 'all': cache.clear(); break;
    }
  }

  store.onInvalidate(invalidate);
  /** Invalidations published while we could not hear them are lost: start over. */
  function recovered(): void {
    downSince = null;
    epoch++;
    cache.clear();
    emit('flushed');
  }

  store.onConnectionChange((state) => {
    if (state === 'down') downSince ??= now();
    else recovered();
  });

  function answer(entry: Entry, t: number): Resolution {
    return judge(entry === ABSENT ? null : entry, t);
  }

  const status: LRUCache.Status<string, Entry> = {};
  function lookup(cacheKey: string, t: number): Resolution | Promise<Resolution> {
    if (downSince !== null) {
      // While the store is unreachable, revocations elsewhere cannot reach us: a bounded window, then 503.
      if (!staleAllowed()) throw unavailable();
    }
    const hit = cache.get(cacheKey);
    if (hit !== undefined) {
      emit(hit === ABSENT ? 'negative_hit' : downSince !== null ? 'stale_serve' : 'hit');
      return answer(hit, t);
    }
    status.fetch = undefined;
    const p = cache.fetch(cacheKey, { status });
    emit(status.fetch === 'inflight' ? 'coalesced' : 'miss');
    return p.then(
      (entry) => {
        if (entry === undefined) throw unavailable();
        return answer(entry, t);
      },
      (e: unknown) => {
        throw e instanceof StoreUnavailableError ? unavailable(e) : e;
      },
    );
  }

  return {
    resolve: (hash, t) => lookup(hash, t),
    resolveId: (keyId, t) => lookup(ID + keyId, t),
    size: () => cache.size,
    storeDown: () => downSince !== null,
    servingStale: () => downSince !== null && staleAllowed(),
    invalidate,
  };
}
