import type { EventBus } from '../events/bus.ts';
import type { EventMarkers } from '../events/markers.ts';
import { EXPIRY_WINDOWS, type ExpiryWindow } from '../events/types.ts';
import type { KeyRecord, KeyStore } from '../keystore/types.ts';

const DAY_MS = 86_400_000;
export const WINDOW_MS: Record<ExpiryWindow, number> = { '7d': 7 * DAY_MS, '1d': DAY_MS };

/**
 * A key that passed expiry longer ago than this gets no `key.expired` event: a replica starting
 * after an outage does not flood receivers with history.
 */
export const EXPIRED_LOOKBACK_MS = DAY_MS;

export interface ExpiryWatchOptions {
  /** The stores whose keys are watched: the shared store, and the in-process one of declared keys when it is another. */
  stores: () => KeyStore[];
  markers: EventMarkers;
  events: EventBus;
  intervalMs: () => number;
  onError: (e: unknown) => void;
  now?: () => number;
}

export type ExpiringCounts = Record<ExpiryWindow, number>;

/**
 * Keys that will stop working on their own: not rotated out (their successor is what matters),
 * not revoked, with an expiry.
 */
function watched(k: KeyRecord): k is KeyRecord & { expiresAt: Date } {
  return k.expiresAt !== undefined && k.rotatedTo === undefined && k.revokedAt === undefined;
}

/** The narrowest window a key expiring in `leftMs` is in, or null. */
export function windowOf(leftMs: number): ExpiryWindow | null {
  let found: ExpiryWindow | null = null;
  for (const w of EXPIRY_WINDOWS) if (leftMs > 0 && leftMs <= WINDOW_MS[w]) found = w;
  return found;
}

/** Live keys expiring within each window (cumulative: the 7d count includes the 1d one). */
export function expiringCounts(keys: Iterable<KeyRecord>, now: number): ExpiringCounts {
  const c: ExpiringCounts = { '7d': 0, '1d': 0 };
  for (const k of keys) {
    if (!watched(k)) continue;
    const left = k.expiresAt.getTime() - now;
    for (const w of EXPIRY_WINDOWS) if (left > 0 && left <= WINDOW_MS[w]) c[w]++;
  }
  return c;
}

/**
 * Each replica lists the keys every `keys.expiryCheckInterval` and emits `key.expiring` when a
 * key has entered a warning window (the narrowest it is in, so a key found with 12 hours left is
 * warned once, for 1d; never for a window its whole lifetime fits in) and `key.expired` when it
 * has passed expiry. Every replica notices; the marker, claimed
 * in Redis with SET NX (or in process), lets exactly one of them emit. The marker's name holds
 * the expiry time, so a key whose expiry is moved is warned again for its new date.
 */
export function createExpiryWatch(opts: ExpiryWatchOptions) {
  const now = opts.now ?? Date.now;
  let last: { at: number; counts: ExpiringCounts } = { at: 0, counts: { '7d': 0, '1d': 0 } };
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<void> | null = null;
  /**
   * Markers this replica already holds or saw taken: a key sitting in a window is claimed once
   * per replica, not once per scan. Rebuilt each scan from the names still relevant.
   */
  let settled = new Set<string>();
  let seen = new Set<string>();

  async function claimOnce(name: string, ttlMs: number): Promise<boolean> {
    seen.add(name);
    if (settled.has(name)) return false;
    const won = await opts.markers.claim(name, ttlMs);
    settled.add(name);
    return won;
  }

  async function listAll(): Promise<KeyRecord[]> {
    const all: KeyRecord[] = [];
    for (const s of opts.stores()) all.push(...(await s.listKeys({})));
    return all;
  }

  async function notice(k: KeyRecord & { expiresAt: Date }, t: number): Promise<void> {
    const exp = k.expiresAt.getTime();
    const left = exp - t;
    const ref = { keyId: k.id, principalId: k.principalId, expiresAt: k.expiresAt.toISOString() };
    if (left <= 0) {
      if (-left > EXPIRED_LOOKBACK_MS) return;
      if (await claimOnce(`expired:${k.id}:${exp}`, 2 * EXPIRED_LOOKBACK_MS)) opts.events.emit('key.expired', ref, { at: new Date(exp) });
      return;
    }
    const w = windowOf(left);
    // Only a key that *entered* the window: one issued for 3 days is not warned at once that it
    // expires within 7 (its creator chose that), but is warned when it has a day left. Keys
    // declared in the YAML file have no issuer (no createdBy) and a createdAt that is only the
    // last config load: they are warned for any window they are in.
    if (w === null) return;
    if (k.createdBy !== undefined && exp - k.createdAt.getTime() <= WINDOW_MS[w]) return;
    if (await claimOnce(`expiring:${w}:${k.id}:${exp}`, left + DAY_MS)) opts.events.emit('key.expiring', { ...ref, window: w });
  }

  /** One pass: refresh the counts, emit what is due. A store or marker fault ends the pass; the next one retries. */
  async function scan(): Promise<void> {
    const keys = await listAll();
    const t = now();
    last = { at: t, counts: expiringCounts(keys, t) };
    seen = new Set();
    for (const k of keys) if (watched(k)) await notice(k, t);
    settled = new Set([...settled].filter((n) => seen.has(n)));
  }

  function runOnce(): Promise<void> {
    running ??= scan().catch(opts.onError).finally(() => { running = null; });
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => void runOnce().then(schedule), opts.intervalMs());
    timer.unref();
  }

  return {
    start(): void { void runOnce().then(schedule); },
    /** Runs a pass now (tests; after an admin write that changes expiries is not needed: the interval is short enough). */
    scan: runOnce,
    /**
     * Counts for the gauge, from the last pass (at most one interval old; the last known while
     * the store cannot be listed). A scrape never lists the store: with Redis, listing every key
     * is one script over the whole key set, fine once a minute, not once per scrape per replica.
     */
    counts(): ExpiringCounts {
      return last.counts;
    },
    /** The key was expired by an admin (`key.revoked`): no `key.expired` for it as well. */
    async markRevoked(keyId: string, expiresAt: string | null): Promise<void> {
      if (expiresAt !== null) await claimOnce(`expired:${keyId}:${new Date(expiresAt).getTime()}`, 2 * EXPIRED_LOOKBACK_MS);
    },
    async close(): Promise<void> {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      await running;
    },
  };
}

export type ExpiryWatch = ReturnType<typeof createExpiryWatch>;
