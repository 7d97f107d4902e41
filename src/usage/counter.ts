import type { RedisConn } from '../keystore/redis/connection.ts';
import { isRedis, openSideConnection, type StoreTarget } from '../audit/connection.ts';

/** One UTC day of a key's requests. */
export interface DayCount {
  /** `YYYY-MM-DD`, UTC. */
  date: string;
  count: number;
}

export interface UsageCounter {
  readonly backend: 'redis' | 'memory';
  /** One request by this key. A Map increment: called on the request path. */
  touch(keyId: string, now: number): void;
  /** The last `days` UTC days, oldest first, today last; days without requests are 0. Rejects when Redis fails. */
  counts(keyId: string, days: number, now?: number): Promise<DayCount[]>;
  /**
   * Requests over the last 7 UTC days (today included) per key, for `keys list`. Never rejects:
   * when Redis fails the map is empty (the counts are unknown, not zero).
   */
  sevenDay(keyIds: readonly string[], now?: number): Promise<Map<string, number>>;
  /** Writes the pending increments. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface UsageOptions {
  store: StoreTarget;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void };
  /** @default 5_000 */
  flushIntervalMs?: number;
  /** Days a day's count is kept. @default 90 */
  retentionDays?: number;
  /** Pending (key, day) counts kept across failed flushes; beyond it they are lost. @default 100_000 */
  maxPending?: number;
  /** Tests: an existing connection (not closed by close()). */
  conn?: RedisConn;
}

const DAY_MS = 86_400_000;
export const MAX_DAYS = 90;

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The `n` UTC dates ending today, oldest first. */
function lastDays(n: number, now: number): string[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return Array.from({ length: n }, (_, i) => utcDay(today - (n - 1 - i) * DAY_MS));
}

/** day → key id → requests not yet written. */
type Pending = Map<string, Map<string, number>>;

function add(p: Pending, day: string, keyId: string, n: number): void {
  let m = p.get(day);
  if (m === undefined) p.set(day, (m = new Map()));
  m.set(keyId, (m.get(keyId) ?? 0) + n);
}

/**
 * Per-key daily request counts. The request path only increments an in-process Map; every few
 * seconds the increments go to Redis as one pipeline of HINCRBY on `{<prefix>}:usage:<keyId>`
 * (field = UTC date, the hash expiring `retentionDays` after its last write), or stay in process
 * for the embedded store. Counts are exact once flushed: increments add up across replicas.
 */
export function createUsageCounter(opts: UsageOptions): UsageCounter {
  const s = opts.store;
  const retentionDays = opts.retentionDays ?? MAX_DAYS;
  const maxPending = opts.maxPending ?? 100_000;
  let pending: Pending = new Map();
  let pendingSize = 0;
  // The UTC date string of the current day, recomputed only when the day changes.
  let dayStart = 0;
  let day = '';

  function touch(keyId: string, now: number): void {
    if (now < dayStart || now >= dayStart + DAY_MS) {
      dayStart = Math.floor(now / DAY_MS) * DAY_MS;
      day = utcDay(dayStart);
    }
    let m = pending.get(day);
    if (m === undefined) pending.set(day, (m = new Map()));
    const c = m.get(keyId);
    if (c === undefined) pendingSize++;
    m.set(keyId, (c ?? 0) + 1);
  }

  const redis = opts.conn !== undefined || isRedis(s);
  if (!redis) return memoryCounter(touch, () => {
    const p = pending;
    pending = new Map();
    pendingSize = 0;
    return p;
  }, retentionDays);

  const side = openSideConnection(s, opts.conn);
  const { conn } = side;
  const hash = (keyId: string) => `{${s.prefix}}:usage:${keyId}`;
  const ttlSeconds = String(retentionDays * 86_400);
  let failing = false;
  let running: Promise<void> | null = null;

  async function write(): Promise<void> {
    if (pendingSize === 0) return;
    await side.starting();
    const batch = pending;
    pending = new Map();
    pendingSize = 0;
    const p = conn.pipeline();
    const touched = new Set<string>();
    for (const [d, counts] of batch) {
      for (const [keyId, n] of counts) {
        p.hincrby(hash(keyId), d, n);
        touched.add(keyId);
      }
    }
    for (const keyId of touched) p.expire(hash(keyId), ttlSeconds);
    try {
      const results = await p.exec();
      const failed = results?.find(([err]) => err !== null);
      if (results === null || failed !== undefined) throw failed?.[0] ?? new Error('usage: pipeline not executed');
      if (failing) {
        failing = false;
        opts.logger.info({}, 'key usage counts are being written again');
      }
    } catch (e) {
      // Redis may have applied part of the pipeline; re-adding all of it can overcount a little,
      // which beats losing an outage's worth of counts. Bounded by maxPending.
      for (const [d, counts] of batch) {
        for (const [keyId, n] of counts) {
          if (pendingSize >= maxPending) break;
          if (pending.get(d)?.has(keyId) !== true) pendingSize++;
          add(pending, d, keyId, n);
        }
      }
      if (!failing) {
        failing = true;
        opts.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'cannot write key usage counts; keeping them in memory (bounded) until Redis is back');
      }
    }
  }

  function flush(): Promise<void> {
    running ??= write().finally(() => (running = null));
    return running;
  }

  const timer = setInterval(() => void flush(), opts.flushIntervalMs ?? 5_000);
  timer.unref();

  return {
    backend: 'redis',
    touch,
    async counts(keyId, days, now = Date.now()) {
      await flush();
      const dates = lastDays(Math.min(Math.max(1, days), retentionDays), now);
      const values = (await conn.hmget(hash(keyId), ...dates)) as (string | null)[];
      return dates.map((date, i) => ({ date, count: Number(values[i] ?? 0) }));
    },
    async sevenDay(keyIds, now = Date.now()) {
      const out = new Map<string, number>();
      if (keyIds.length === 0) return out;
      try {
        await flush();
        const dates = lastDays(7, now);
        const p = conn.pipeline();
        for (const id of keyIds) p.hmget(hash(id), ...dates);
        const results = (await p.exec()) ?? [];
        keyIds.forEach((id, i) => {
          const [err, values] = results[i] ?? [new Error('missing reply'), null];
          if (err === null) out.set(id, (values as (string | null)[]).reduce((sum, v) => sum + Number(v ?? 0), 0));
        });
      } catch {
        // Unknown, not zero: the caller shows no count.
      }
      return out;
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
      await side.close();
    },
  };
}

/** The embedded store's counts: in process, pruned to the retention window. */
function memoryCounter(touch: (keyId: string, now: number) => void, take: () => Pending, retentionDays: number): UsageCounter {
  const days: Pending = new Map();
  function settle(now: number): void {
    for (const [d, counts] of take()) for (const [keyId, n] of counts) add(days, d, keyId, n);
    const oldest = utcDay(now - (retentionDays - 1) * DAY_MS);
    for (const d of days.keys()) if (d < oldest) days.delete(d);
  }
  const timer = setInterval(() => settle(Date.now()), 5_000);
  timer.unref();
  const count = (keyId: string, dates: string[]) => dates.map((date) => ({ date, count: days.get(date)?.get(keyId) ?? 0 }));
  return {
    backend: 'memory',
    touch,
    async counts(keyId, n, now = Date.now()) {
      settle(now);
      return count(keyId, lastDays(Math.min(Math.max(1, n), retentionDays), now));
    },
    async sevenDay(keyIds, now = Date.now()) {
      settle(now);
      const dates = lastDays(7, now);
      return new Map(keyIds.map((id) => [id, count(id, dates).reduce((sum, d) => sum + d.count, 0)]));
    },
    flush: async () => settle(Date.now()),
    close: async () => clearInterval(timer),
  };
}
