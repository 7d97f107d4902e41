/** Why events were dropped: the queue was full, or the sink failed to write a batch. */
export type DropReason = 'queue_full' | 'store_error' | 'rate_limited';

export interface BatchQueueOptions<T> {
  /** Most items held while waiting to be written; one more push is dropped and counted. @default 10_000 */
  capacity?: number;
  /** Items per write; reaching it starts a flush without waiting for the timer. @default 128 */
  batchSize?: number;
  /** Longest an item waits before its batch is written. @default 250 */
  flushIntervalMs?: number;
  /** Writes one batch, in push order. A rejection drops the batch: there is no retry buffer. */
  write: (batch: T[]) => Promise<void>;
  /** Told about every drop, with how many items and why (metrics, a rate-limited log line). */
  onDrop: (count: number, reason: DropReason, err?: unknown) => void;
}

export interface BatchQueue<T> {
  /** Never blocks and never throws: false when the item was dropped. */
  push(item: T): boolean;
  /** Writes everything queued so far (batch by batch, in order). */
  flush(): Promise<void>;
  /** Stops the timer, writes what is queued, then drops whatever is pushed afterwards. */
  close(): Promise<void>;
  /** Items waiting (not counting a batch being written). */
  readonly size: number;
}

/**
 * A bounded queue between the request path and a slow sink. The request path only pushes onto
 * an array; batches are written one at a time off the request path (on a timer, or as soon as a
 * batch is full). Memory is bounded by `capacity` plus the one batch in flight: when the sink is
 * slow or down, new items are dropped and counted rather than buffered or waited for.
 */
export function createBatchQueue<T>(opts: BatchQueueOptions<T>): BatchQueue<T> {
  const capacity = opts.capacity ?? 10_000;
  const batchSize = opts.batchSize ?? 128;
  let items: T[] = [];
  let running: Promise<void> | null = null;
  let scheduled = false;
  let closed = false;

  function drop(count: number, reason: DropReason, err?: unknown): void {
    try {
      opts.onDrop(count, reason, err);
    } catch {
      // A broken drop listener must not break the caller of push.
    }
  }

  async function drain(): Promise<void> {
    while (items.length > 0) {
      const batch = items.length <= batchSize ? items : items.slice(0, batchSize);
      items = batch === items ? [] : items.slice(batchSize);
      try {
        await opts.write(batch);
      } catch (e) {
        drop(batch.length, 'store_error', e);
      }
    }
  }

  /** One writer at a time, so batches land in push order. */
  function flush(): Promise<void> {
    // Items pushed while a drain runs are picked up by its loop: waiting for it is enough.
    running ??= drain().finally(() => (running = null));
    return running;
  }

  const timer = setInterval(() => void flush(), opts.flushIntervalMs ?? 250);
  timer.unref();

  return {
    push(item) {
      if (closed || items.length >= capacity) {
        drop(1, 'queue_full');
        return false;
      }
      items.push(item);
      if (items.length >= batchSize && running === null && !scheduled) {
        scheduled = true;
        // Not synchronously: the request that filled the batch must not pay for encoding it.
        setImmediate(() => {
          scheduled = false;
          void flush();
        });
      }
      return true;
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
      closed = true;
    },
    get size() {
      return items.length;
    },
  };
}
