import type { KeyStore } from './types.ts';

/**
 * Records when keys were last used without touching the request path: a Map write per request,
 * at most one store write per key per minute, flushed in batches off the hot path.
 *
 * What the admin API shows (issue 15: a key used a moment ago showed "Never"): the store only
 * learns of a use at the next flush, so the admin API also asks this recorder. The replica that
 * served a request therefore answers with its exact time at once; another replica reads the store,
 * which has a key's first use within `flushEveryMs` and any later one within a minute plus
 * `flushEveryMs` (docs/operations.md, "Last used").
 */
export class LastUsedRecorder {
  private readonly store: KeyStore;
  private readonly lastRecorded = new Map<string, number>();
  /** The latest use of each key seen by this process, written or not. */
  private readonly latest = new Map<string, number>();
  private pending = new Map<string, Date>();
  private readonly timer: NodeJS.Timeout;
  private readonly onError: (e: unknown) => void;

  /** @param flushEveryMs how often pending times are written to the store. @default 10000 */
  constructor(store: KeyStore, onError: (e: unknown) => void, flushEveryMs = 10_000) {
    this.store = store;
    this.onError = onError;
    this.timer = setInterval(() => void this.flush(), flushEveryMs);
    this.timer.unref();
  }

  touch(keyId: string, now: number): void {
    if ((this.latest.get(keyId) ?? 0) < now) this.latest.set(keyId, now);
    const last = this.lastRecorded.get(keyId);
    if (last !== undefined && now - last < 60_000) return;
    this.lastRecorded.set(keyId, now);
    this.pending.set(keyId, new Date(now));
  }

  /** The latest use this process saw of a key (flushed or not); undefined when it saw none. */
  seen(keyId: string): Date | undefined {
    const t = this.latest.get(keyId);
    return t === undefined ? undefined : new Date(t);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.touchKeys(batch);
    } catch (e) {
      // Losing a last-used timestamp is harmless; failing a request for it would not be.
      for (const id of batch.keys()) this.lastRecorded.delete(id);
      this.onError(e);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
