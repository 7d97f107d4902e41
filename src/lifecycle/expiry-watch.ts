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
 * key is in a warning window (the narrowest one only, so a key issued for 12 hours is warned
 * once) and `key.expired` when it has passed expiry. Every replica notices; the marker, claimed
 * in Redis with SET NX (or in process), lets exactly one of them emit. The marker's name holds
 * the expiry time, so a key whose expiry is moved is warned again for its new date.
 */
export function createExpiryWatch(opts: ExpiryWatchOptions) {
  const now = opts.now ?? Date.now;
  let last: { at: number; counts: ExpiringCounts } = { at: 0, counts: { '7d': 0, '1d': 0 } };
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<void> | null = null;

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
      if (await opts.markers.claim(`expired:${k.id}:${exp}`, 2 * EXPIRED_LOOKBACK_MS)) opts.events.emit('key.expired', ref, { at: new Date(exp) });
      return;
    }
    const w = windowOf(left);
    if (w !== null && (await opts.markers.claim(`expiring:${w}:${k.id}:${exp}`, left + DAY_MS))) opts.events.emit('key.expiring', { ...ref, window: w });
  }

  /** One pass: refresh the counts, emit what is due. A store or marker fault ends the pass; the next one retries. */
  async function scan(): Promise<void> {
    const keys = await listAll();
    const t = now();
    last = { at: t, counts: expiringCounts(keys, t) };
    for (const k of keys) if (watched(k)) await notice(k, t);
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
     * Counts for the gauge at scrape time: fresh when the last pass is older than a second, the
     * last known when the store cannot be listed (a scrape never fails for it).
     */
    async counts(): Promise<ExpiringCounts> {
      if (now() - last.at > 1_000) {
        try {
          const t = now();
          last = { at: t, counts: expiringCounts(await listAll(), t) };
        } catch (e) {
          opts.onError(e);
        }
      }
      return last.counts;
    },
    /** The key was expired by an admin (`key.revoked`): no `key.expired` for it as well. */
    async markRevoked(keyId: string, expiresAt: string | null): Promise<void> {
      if (expiresAt !== null) await opts.markers.claim(`expired:${keyId}:${new Date(expiresAt).getTime()}`, 2 * EXPIRED_LOOKBACK_MS);
    },
    async close(): Promise<void> {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      await running;
    },
  };
}

export type ExpiryWatch = ReturnType<typeof createExpiryWatch>;
