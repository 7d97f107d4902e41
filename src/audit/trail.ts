import type { DecisionContext } from '../context.ts';
import type { AuditConfig } from '../config/types.ts';
import type { RedisConn } from '../keystore/redis/connection.ts';
import { isRedis, openSideConnection, type StoreTarget } from './connection.ts';
import { requestEvent, type AuditEvent } from './event.ts';
import { MemoryAuditSink } from './memory-sink.ts';
import { createBatchQueue, type DropReason } from './queue.ts';
import type { AuditFilter, AuditPage } from './query.ts';
import { createRedisAuditSink } from './redis-sink.ts';
import { createAnonymousLimit } from './anonymous-limit.ts';
import { addressBucket } from '../limits/address-bucket.ts';

export const AUDIT_DEFAULTS: AuditConfig = {
  enabled: true, maxLen: 1_000_000, retentionMs: 30 * 86_400_000, queueSize: 10_000, batchSize: 128, flushIntervalMs: 250, anonymousRate: 10,
};

/** The embedded ring holds whole objects in the heap: capped whatever maxLen says. */
export const MAX_RING = 100_000;

export interface AuditLogger {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
}

export interface AuditTrailOptions {
  /** Where the store lives: the trail goes next to it (Redis) or in process (embedded). */
  store: StoreTarget;
  audit?: Partial<AuditConfig>;
  /** Every dropped event, for `keygate_audit_events_dropped_total`. */
  onDrop: (count: number, reason: DropReason) => void;
  logger: AuditLogger;
  /** Tests: an existing connection instead of one opened from `store` (not closed by close()). */
  conn?: RedisConn;
}

export interface AuditTrail {
  readonly backend: 'redis' | 'memory' | 'off';
  /** Never blocks, never throws: queued, or dropped and counted. */
  record(event: AuditEvent): void;
  /** `record(requestEvent(ctx, status))` when the request is one the trail keeps. */
  recordRequest(ctx: DecisionContext, status: number): void;
  query(filter: AuditFilter): Promise<AuditPage>;
  /** Writes what is queued. */
  flush(): Promise<void>;
  /** Flushes, then closes the trail's own Redis connection. */
  close(): Promise<void>;
}

const EMPTY: AuditPage = { items: [], nextCursor: null };

/**
 * The audit trail for the configured store: a Redis Stream behind a bounded queue, or the
 * embedded ring. Redis gets a connection of its own: a batch of XADDs on the key store's
 * connection would queue key lookups behind it.
 */
export function createAuditTrail(opts: AuditTrailOptions): AuditTrail {
  const cfg = { ...AUDIT_DEFAULTS, ...opts.audit };
  const s = opts.store;
  const redis = opts.conn !== undefined || isRedis(s);
  const drop = (n: number, reason: DropReason) => {
    try {
      opts.onDrop(n, reason);
    } catch {
      // Counting must not fail a request.
    }
  };

  if (!cfg.enabled) {
    return {
      backend: 'off', record() {}, recordRequest() {}, query: async () => EMPTY, flush: async () => {}, close: async () => {},
    };
  }

  // Bursts of ten seconds' worth, so a client retrying a few bad keys is recorded in full.
  const anonymous = createAnonymousLimit({ rate: cfg.anonymousRate, burst: cfg.anonymousRate * 10 });
  // A client hammering its rate limit or spent quota (issue 14) would fill the capped trail with
  // 429s just as fast: the same sampling, per principal (the 429s are counted in metrics).
  const overLimit = createAnonymousLimit({ rate: cfg.anonymousRate, burst: cfg.anonymousRate * 10 });

  /** A request's event into `put`; a fault building it is a dropped event, not a failed request. */
  const fromRequest = (put: (e: AuditEvent) => void) => (ctx: DecisionContext, status: number): void => {
    let e: AuditEvent | null;
    try {
      e = requestEvent(ctx, status);
    } catch {
      drop(1, 'store_error');
      return;
    }
    if (e === null) return;
    // Per /64 for IPv6 clients, as the refused-credential limit counts them: a host picks any
    // address of its /64, and per address each refusal would get a fresh bucket.
    if (e.principalId === null && e.decision === 'denied' && !anonymous(e.client === null ? null : addressBucket(e.client))) {
      drop(1, 'rate_limited');
      return;
    }
    if ((e.reason === 'rate_limited' || e.reason === 'quota_exhausted') && !overLimit(e.principalId)) {
      drop(1, 'rate_limited');
      return;
    }
    put(e);
  };

  if (!redis) {
    const ring = new MemoryAuditSink(Math.min(cfg.maxLen, MAX_RING));
    return {
      backend: 'memory',
      record: (e) => ring.write(e),
      recordRequest: fromRequest((e) => ring.write(e)),
      query: async (f) => ring.query(f),
      flush: async () => {},
      close: async () => {},
    };
  }

  const side = openSideConnection(s, opts.conn);
  const sink = createRedisAuditSink({ conn: side.conn, prefix: s.prefix, maxLen: cfg.maxLen, retentionMs: cfg.retentionMs });

  // One warning per outage, one line when writes work again: not one per batch.
  let failing = false;
  const queue = createBatchQueue<AuditEvent>({
    capacity: cfg.queueSize,
    batchSize: cfg.batchSize,
    flushIntervalMs: cfg.flushIntervalMs,
    write: async (batch) => {
      await side.starting();
      await sink.write(batch);
      if (failing) {
        failing = false;
        opts.logger.info({ stream: sink.stream }, 'audit trail writes resumed');
      }
    },
    onDrop(n, reason, err) {
      drop(n, reason);
      if (reason === 'store_error' && !failing) {
        failing = true;
        opts.logger.warn({ stream: sink.stream, err: err instanceof Error ? err.message : String(err) }, 'audit trail cannot write; dropping events until it can');
      }
    },
  });

  return {
    backend: 'redis',
    record: (e) => void queue.push(e),
    recordRequest: fromRequest((e) => void queue.push(e)),
    query: (f) => sink.query(f),
    flush: () => queue.flush(),
    async close() {
      await queue.close();
      sink.close();
      await side.close();
    },
  };
}
