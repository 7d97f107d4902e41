import { createHash } from 'node:crypto';
import type { RedisConn } from '../keystore/redis/connection.ts';
import { runScript, type LuaScript } from '../keystore/redis/scripts.ts';
import { matchesFilter, settled, type DeliveryRecord, type DeliveryStore, type QueuedDelivery } from './deliveries.ts';

const lua = (name: string, text: string): LuaScript => ({ name, lua: text, sha: createHash('sha1').update(text).digest('hex') });

/**
 * Every key under the store's hash tag `{<prefix>}` (one Cluster slot): `:wh:d:<id>` a hash with
 * the record (`rec`, JSON) and the payload (`body`), `:wh:due` a sorted set of waiting ids by
 * due time, `:wh:log` a sorted set of ids by creation for the delivery log.
 *
 * KEYS: due, log. ARGV: now, maxPending, maxLog, ttl seconds, dPrefix, then (id, rec, body)…
 * Refuses beyond maxPending (a receiver down for days must not fill Redis).
 */
const ENQUEUE = lua('webhook_enqueue', `
local refused = 0
for i = 6, #ARGV, 3 do
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    refused = refused + 1
  else
    local k = ARGV[5] .. ARGV[i]
    redis.call('HSET', k, 'rec', ARGV[i + 1], 'body', ARGV[i + 2])
    redis.call('EXPIRE', k, ARGV[4])
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
    redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
  end
end
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if extra > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, extra - 1)) do
    if redis.call('ZSCORE', KEYS[1], id) == false then redis.call('DEL', ARGV[5] .. id) end
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
return refused`);

/**
 * Leases due deliveries: each moves to now + lease in the due set, so a worker that dies leaves
 * it to be claimed again once the lease runs out. KEYS: due. ARGV: now, max, leaseUntil, dPrefix.
 * Returns id, rec, body triples; ids whose hash has gone (expired) are dropped from the set.
 */
const CLAIM = lua('webhook_claim', `
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))) do
  local k = ARGV[4] .. id
  local v = redis.call('HMGET', k, 'rec', 'body')
  if v[1] == false or v[2] == false then
    redis.call('ZREM', KEYS[1], id)
  else
    local rec = cjson.decode(v[1])
    rec['status'] = 'delivering'
    rec['attempts'] = rec['attempts'] + 1
    rec['updatedAt'] = ARGV[5]
    local text = cjson.encode(rec)
    redis.call('HSET', k, 'rec', text)
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    table.insert(out, id)
    table.insert(out, text)
    table.insert(out, v[2])
  end
end
return out`);

export interface RedisDeliveriesOptions {
  conn: RedisConn;
  prefix: string;
  maxPending: number;
  maxLog: number;
  /** How long a delivery's record is kept. @default 7 days */
  retentionS?: number;
  /** The side connection's first connect, awaited so a write right after start is not an outage. */
  starting?: () => Promise<void> | null;
}

export function createRedisDeliveries(opts: RedisDeliveriesOptions): DeliveryStore {
  const { conn } = opts;
  const tag = `{${opts.prefix}}`;
  const due = `${tag}:wh:due`;
  const log = `${tag}:wh:log`;
  const dPrefix = `${tag}:wh:d:`;
  const ttl = String(opts.retentionS ?? 7 * 86_400);

  return {
    backend: 'redis',
    async enqueue(items, now) {
      if (items.length === 0) return 0;
      await opts.starting?.();
      const args: string[] = [String(now.getTime()), String(opts.maxPending), String(opts.maxLog), ttl, dPrefix];
      for (const { record, body } of items) args.push(record.id, JSON.stringify(record), body);
      return Number(await runScript(conn, ENQUEUE, [due, log], args));
    },
    async claim(now, max, leaseMs) {
      await opts.starting?.();
      const flat = (await runScript(conn, CLAIM, [due], [String(now.getTime()), String(max), String(now.getTime() + leaseMs), dPrefix, now.toISOString()])) as string[];
      const out: QueuedDelivery[] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) out.push({ record: JSON.parse(flat[i + 1] as string) as DeliveryRecord, body: flat[i + 2] as string });
      return out;
    },
    async settle(id, s) {
      const k = dPrefix + id;
      const text = await conn.hget(k, 'rec');
      if (text === null) return;
      const rec = settled(JSON.parse(text) as DeliveryRecord, s);
      const m = conn.multi().hset(k, 'rec', JSON.stringify(rec));
      if (s.outcome === 'retry') m.zadd(due, String(s.nextAt.getTime()), id);
      else m.zrem(due, id).hdel(k, 'body');
      await m.exec();
    },
    async list(f) {
      const ids = await conn.zrevrange(log, 0, opts.maxLog - 1);
      const out: DeliveryRecord[] = [];
      const CHUNK = 200;
      for (let i = 0; i < ids.length && out.length < f.limit; i += CHUNK) {
        const p = conn.pipeline();
        for (const id of ids.slice(i, i + CHUNK)) p.hget(dPrefix + id, 'rec');
        for (const [err, v] of (await p.exec()) ?? []) {
          if (err !== null) throw err;
          if (typeof v !== 'string') continue;
          const r = JSON.parse(v) as DeliveryRecord;
          if (matchesFilter(r, f)) out.push(r);
          if (out.length >= f.limit) break;
        }
      }
      return out;
    },
    async pending() { return conn.zcard(due); },
    async close() {},
  };
}
