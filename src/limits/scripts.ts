import { createHash } from 'node:crypto';
import type { LuaScript } from '../keystore/redis/scripts.ts';

/**
 * The limiter's Lua: a lease is a read-modify-write of one bucket or counter, so it runs as one
 * script (atomic, no lost updates between replicas). Time is Redis' own clock (TIME), so
 * replicas whose clocks disagree still refill one bucket at one rate. Each script touches only
 * KEYS[1] (Cluster-safe); names are built by the caller under the store's hash tag.
 */
function script(name: string, lua: string): LuaScript {
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Token bucket lease. KEYS[1] = bucket hash {t = tokens, at = ms}. ARGV: count, periodMs, burst,
 * want, give. → { granted, tokens left (string), ms until half of want is back }.
 */
export const RATE_LEASE = script('rateLease', `
local count, period, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local want, give = tonumber(ARGV[4]), tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens, at = tonumber(h[1]), tonumber(h[2])
if not tokens then tokens, at = burst, now end
if now > at then tokens = tokens + (now - at) * count / period end
tokens = math.min(burst, tokens + give)
local granted = math.min(want, math.floor(tokens))
if granted < 0 then granted = 0 end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 't', string.format('%.6f', tokens), 'at', math.max(now, at))
-- Forgotten once it would be full again anyway.
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * period / count) + 1000)
local wait = 0
if granted < want then
  local need = math.max(1, math.ceil(want / 2)) - tokens
  if need > 0 then wait = math.ceil(need * period / count) end
end
return { granted, string.format('%.3f', tokens), wait }
`);

/**
 * Quota lease. KEYS[1] = counter hash {p = period, u = used}. ARGV: period, requests, want, give,
 * spent, expireAt (ms, 0: never). A new period starts the count again. → { granted, used }.
 */
export const QUOTA_LEASE = script('quotaLease', `
local period, requests = ARGV[1], tonumber(ARGV[2])
local want, give, spent, expireAt = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local h = redis.call('HMGET', KEYS[1], 'p', 'u')
local used = 0
if h[1] == period then used = tonumber(h[2]) or 0 end
used = math.max(0, used - give) + spent
local granted = math.max(0, math.min(want, requests - used))
used = used + granted
redis.call('HSET', KEYS[1], 'p', period, 'u', used)
if expireAt > 0 then redis.call('PEXPIREAT', KEYS[1], expireAt) else redis.call('PERSIST', KEYS[1]) end
return { granted, used }
`);

/** KEYS[1] = counter. ARGV: period. → used in that period (0 for another one). */
export const QUOTA_USED = script('quotaUsed', `
local h = redis.call('HMGET', KEYS[1], 'p', 'u')
if h[1] == ARGV[1] then return tonumber(h[2]) or 0 end
return 0
`);

/** KEYS[1] = counter. ARGV: period, used, expireAt. */
export const QUOTA_SET = script('quotaSet', `
redis.call('HSET', KEYS[1], 'p', ARGV[1], 'u', ARGV[2])
local expireAt = tonumber(ARGV[3])
if expireAt > 0 then redis.call('PEXPIREAT', KEYS[1], expireAt) else redis.call('PERSIST', KEYS[1]) end
return 1
`);

/**
 * KEYS[1] = sorted set of replicas by last heartbeat. ARGV: replica id, window ms.
 * → replicas seen within the window (this one included).
 */
export const HEARTBEAT = script('limiterHeartbeat', `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZCARD', KEYS[1])
`);
