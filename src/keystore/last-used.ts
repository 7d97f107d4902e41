import type { KeyStore } from './types.ts';

/**
 * Records when keys were last used without touching the request path: a Map write per request,
 * at most one store write per key per minute, flushed in batches off the hot path.
 */
export class LastUsedRecorder {
  private readonly store: KeyStore;
  private readonly lastRecorded = new Map<string, number>();
  private pending = new Map<string, Date>();
  private readonly timer: NodeJS.Timeout;
  private readonly onError: (e: unknown) => void;

  constructor(store: KeyStore, onError: (e: unknown) => void, flushEveryMs = 10_000) {
    this.store = store;
    this.onError = onError;
    this.timer = setInterval(() => void this.flush(), flushEveryMs);
    this.timer.unref();
  }

  touch(keyId: string, now: number): void {
    const last = this.lastRecorded.get(keyId);
    if (last !== undefined && now - last < 60_000) return;
    this.lastRecorded.set(keyId, now);
    this.pending.set(keyId, new Date(now));
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
