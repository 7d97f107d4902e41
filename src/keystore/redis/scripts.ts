import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/**
 * Every multi-record write is one Lua script: Redis runs it to completion or not at all, so a
 * crash or a dropped connection never leaves half a write, and the invalidation is PUBLISHed
 * inside the same script, so a write that happened is always announced.
 *
 * Calling convention for all scripts: ARGV[1] is the key root (`{kg}:`), ARGV[2] the
 * invalidation channel. KEYS carries at least one key under the root so Cluster routes the
 * call to the slot of the shared hash tag; the scripts build the other key names from the root
 * (same slot, so this is legal in Cluster too).
 */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

const PRELUDE = `
local P, CHANNEL = ARGV[1], ARGV[2]
local function publish(inv) redis.call('PUBLISH', CHANNEL, cjson.encode(inv)) end
-- Same rule as the resolver: revoked/expired once the instant is reached.
local function isLive(f, now)
  return f[1] and (not f[2] or tonumber(f[2]) > now) and (not f[3] or tonumber(f[3]) > now)
end
local function hsetArgs(key, from, n)
  if n > 0 then redis.call('HSET', key, unpack(ARGV, from, from + n - 1)) end
end
-- Removes a key record, its hash index and its membership; returns its hash.
local function deleteKeyRecord(kid)
  local f = redis.call('HMGET', P .. 'k:' .. kid, 'hash', 'principalId')
  if f[1] and redis.call('GET', P .. 'kh:' .. f[1]) == kid then redis.call('DEL', P .. 'kh:' .. f[1]) end
  if f[2] then redis.call('SREM', P .. 'pk:' .. f[2], kid) end
  redis.call('DEL', P .. 'k:' .. kid)
  return f[1]
end
local function deletePrincipalRecord(pid)
  local name = redis.call('HGET', P .. 'p:' .. pid, 'name')
  for _, kid in ipairs(redis.call('SMEMBERS', P .. 'pk:' .. pid)) do deleteKeyRecord(kid) end
  redis.call('DEL', P .. 'p:' .. pid, P .. 'pk:' .. pid)
  if name and redis.call('GET', P .. 'pn:' .. name) == pid then redis.call('DEL', P .. 'pn:' .. name) end
  redis.call('SREM', P .. 'ps', pid)
end
`;

function script(name: string, body: string): LuaScript {
  const lua = PRELUDE + body;
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** KEYS[1] = kh:<hash>. → { key fields, principal fields } or nil. */
export const FIND_BY_HASH = script('findByHash', `
local id = redis.call('GET', KEYS[1])
if not id then return false end
local kk = P .. 'k:' .. id
local pid = redis.call('HGET', kk, 'principalId')
if not pid then return false end
local principal = redis.call('HGETALL', P .. 'p:' .. pid)
if #principal == 0 then return false end
return { redis.call('HGETALL', kk), principal }
`);

/** KEYS[1] = pn:<name>. → principal fields or nil. */
export const PRINCIPAL_BY_NAME = script('principalByName', `
local id = redis.call('GET', KEYS[1])
if not id then return false end
local h = redis.call('HGETALL', P .. 'p:' .. id)
if #h == 0 then return false end
return h
`);

/** KEYS[1] = a set of ids; ARGV[3] = record infix (p:, k:, g:). → list of field lists. */
export const LIST_MEMBERS = script('listMembers', `
local out = {}
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.call('HGETALL', P .. ARGV[3] .. m)
  if #h > 0 then out[#out + 1] = h end
end
return out
`);

/** KEYS[1] = ps. → the id of every key of every principal (ids only: pages are cut in JS). */
export const ALL_KEY_IDS = script('allKeyIds', `
local out = {}
for _, pid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  for _, kid in ipairs(redis.call('SMEMBERS', P .. 'pk:' .. pid)) do out[#out + 1] = kid end
end
return out
`);

/** KEYS = record hashes. → their fields, in order; an empty list for one deleted meanwhile. */
export const GET_RECORDS = script('getRecords', `
local out = {}
for i, k in ipairs(KEYS) do out[i] = redis.call('HGETALL', k) end
return out
`);

/** KEYS[1] = ps. → every key of every principal. */
export const LIST_ALL_KEYS = script('listAllKeys', `
local out = {}
for _, pid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  for _, kid in ipairs(redis.call('SMEMBERS', P .. 'pk:' .. pid)) do
    local h = redis.call('HGETALL', P .. 'k:' .. kid)
    if #h > 0 then out[#out + 1] = h end
  end
end
return out
`);

/** KEYS = p:<id>, pn:<name>, ps; ARGV[3] = id, ARGV[4..] = fields. → 'ok' | 'duplicate'. */
export const CREATE_PRINCIPAL = script('createPrincipal', `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 'duplicate' end
hsetArgs(KEYS[1], 4, #ARGV - 3)
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[3])
publish({ type = 'principal', id = ARGV[3] })
return 'ok'
`);

/**
 * KEYS[1] = p:<id> or k:<id>; ARGV[3] = 'principal' | 'key', ARGV[4] = id, ARGV[5] = n,
 * ARGV[6 .. 5+n] = field/value pairs to set, the rest = fields to delete. → fields or nil.
 */
export const PATCH_RECORD = script('patchRecord', `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local n = tonumber(ARGV[5])
hsetArgs(KEYS[1], 6, n)
if #ARGV >= 6 + n then redis.call('HDEL', KEYS[1], unpack(ARGV, 6 + n)) end
if ARGV[3] == 'principal' then
  publish({ type = 'principal', id = ARGV[4] })
else
  publish({ type = 'key', hash = redis.call('HGET', KEYS[1], 'hash') })
end
return redis.call('HGETALL', KEYS[1])
`);

/** KEYS[1] = p:<id>; ARGV[3] = id. Deletes the principal and all its keys. → 1 | 0. */
export const DELETE_PRINCIPAL = script('deletePrincipal', `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
deletePrincipalRecord(ARGV[3])
publish({ type = 'principal', id = ARGV[3] })
return 1
`);

/**
 * KEYS = k:<id>, kh:<hash>, p:<principalId>, pk:<principalId>; ARGV[3] = id, ARGV[4] = hash,
 * ARGV[5] = maxLive (-1: no limit), ARGV[6] = now (ms), ARGV[7..] = fields.
 * → 'ok' | 'duplicate' | 'key_limit_reached' | 'principal_not_found'.
 */
export const CREATE_KEY = script('createKey', `
if redis.call('EXISTS', KEYS[3]) == 0 then return 'principal_not_found' end
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 'duplicate' end
local maxLive, now = tonumber(ARGV[5]), tonumber(ARGV[6])
if maxLive >= 0 then
  local live = 0
  for _, kid in ipairs(redis.call('SMEMBERS', KEYS[4])) do
    if isLive(redis.call('HMGET', P .. 'k:' .. kid, 'id', 'revokedAt', 'expiresAt'), now) then live = live + 1 end
  end
  if live >= maxLive then return 'key_limit_reached' end
end
hsetArgs(KEYS[1], 7, #ARGV - 6)
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
publish({ type = 'key', hash = ARGV[4] })
return 'ok'
`);

/** KEYS[1] = k:<id>; ARGV[3] = id. → 1 | 0. */
export const DELETE_KEY = script('deleteKey', `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local hash = deleteKeyRecord(ARGV[3])
if hash then publish({ type = 'key', hash = hash }) end
return 1
`);

/**
 * KEYS = k:<old>, k:<new>, kh:<newHash>, p:<principalId>, pk:<principalId>; ARGV[3] = old id,
 * ARGV[4] = new id, ARGV[5] = new hash, ARGV[6] = old key's new expiry (ms), ARGV[7..] = new
 * key's fields. → old key's fields | nil | 'duplicate' | 'principal_not_found'.
 */
export const ROTATE_KEY = script('rotateKey', `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('EXISTS', KEYS[4]) == 0 then return 'principal_not_found' end
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then return 'duplicate' end
-- The grace period only ever shortens the old key's life, never extends it.
local exp = ARGV[6]
local cur = redis.call('HGET', KEYS[1], 'expiresAt')
if cur and tonumber(cur) < tonumber(exp) then exp = cur end
redis.call('HSET', KEYS[1], 'rotatedTo', ARGV[4], 'expiresAt', exp)
hsetArgs(KEYS[2], 7, #ARGV - 6)
redis.call('SET', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[5], ARGV[4])
publish({ type = 'key', hash = redis.call('HGET', KEYS[1], 'hash') })
publish({ type = 'key', hash = ARGV[5] })
return redis.call('HGETALL', KEYS[1])
`);

/**
 * KEYS = k:<id>...; ARGV[3..] = last use (ms) per key. Skips deleted keys (no resurrected
 * half-records) and never moves lastUsedAt backwards (replicas flush out of order).
 */
export const TOUCH_KEYS = script('touchKeys', `
for i, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then
    local cur = tonumber(redis.call('HGET', k, 'lastUsedAt') or '0')
    if tonumber(ARGV[i + 2]) > cur then redis.call('HSET', k, 'lastUsedAt', ARGV[i + 2]) end
  end
end
return 'ok'
`);

/** KEYS = g:<name>, gs; ARGV[3] = name, ARGV[4] = '1' to create, ARGV[5..] = fields. → 'ok' | 'duplicate'. */
export const PUT_GROUP = script('putGroup', `
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 'duplicate' end
redis.call('DEL', KEYS[1])
hsetArgs(KEYS[1], 5, #ARGV - 4)
redis.call('SADD', KEYS[2], ARGV[3])
publish({ type = 'group', name = ARGV[3] })
return 'ok'
`);

/** KEYS = g:<name>, gs; ARGV[3] = name. → 1 | 0. */
export const DELETE_GROUP = script('deleteGroup', `
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[3])
publish({ type = 'group', name = ARGV[3] })
return 1
`);

/**
 * KEYS[1] = ps; ARGV[3] = number of principals, then per principal: id, name, n, n field
 * strings, number of keys, then per key: id, hash, n, n field strings.
 * Validates everything first (a Lua error part-way would not roll back), then replaces every
 * `source: config` principal and its keys. → 'ok' | { 'duplicate', what }.
 */
export const SYNC_DECLARATIVE = script('syncDeclarative', `
local cfgP, cfgPList, cfgK = {}, {}, {}
for _, pid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('HGET', P .. 'p:' .. pid, 'source') == 'config' then
    cfgP[pid] = true
    cfgPList[#cfgPList + 1] = pid
    for _, kid in ipairs(redis.call('SMEMBERS', P .. 'pk:' .. pid)) do cfgK[kid] = true end
  end
end
local plan, seenName, seenPid, seenKid, seenHash = {}, {}, {}, {}, {}
local i = 4
for _ = 1, tonumber(ARGV[3]) do
  local pid, name, nf = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local p = { pid = pid, name = name, from = i + 3, n = nf, keys = {} }
  i = i + 3 + nf
  local owner = redis.call('GET', P .. 'pn:' .. name)
  if seenName[name] or seenPid[pid] or (owner and not cfgP[owner])
    or (redis.call('EXISTS', P .. 'p:' .. pid) == 1 and not cfgP[pid]) then
    return { 'duplicate', 'principal ' .. name }
  end
  seenName[name], seenPid[pid] = true, true
  local nk = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, nk do
    local kid, hash, kf = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
    p.keys[#p.keys + 1] = { kid = kid, hash = hash, from = i + 3, n = kf }
    i = i + 3 + kf
    local hashOwner = redis.call('GET', P .. 'kh:' .. hash)
    if seenKid[kid] or seenHash[hash] or (hashOwner and not cfgK[hashOwner])
      or (redis.call('EXISTS', P .. 'k:' .. kid) == 1 and not cfgK[kid]) then
      return { 'duplicate', 'key ' .. kid .. ' of principal ' .. name }
    end
    seenKid[kid], seenHash[hash] = true, true
  end
  plan[#plan + 1] = p
end
for _, pid in ipairs(cfgPList) do deletePrincipalRecord(pid) end
for _, p in ipairs(plan) do
  hsetArgs(P .. 'p:' .. p.pid, p.from, p.n)
  redis.call('SET', P .. 'pn:' .. p.name, p.pid)
  redis.call('SADD', KEYS[1], p.pid)
  for _, k in ipairs(p.keys) do
    hsetArgs(P .. 'k:' .. k.kid, k.from, k.n)
    redis.call('SET', P .. 'kh:' .. k.hash, k.kid)
    redis.call('SADD', P .. 'pk:' .. p.pid, k.kid)
  end
end
publish({ type = 'all' })
return 'ok'
`);

/**
 * EVALSHA, falling back to EVAL when the server does not know the script (first use, or a
 * restarted Redis); EVAL caches it again. This is what ioredis' defineCommand does, without
 * the untyped dynamic methods.
 */
export async function runScript(
  conn: Redis | Cluster, s: LuaScript, keys: string[], args: (string | number)[],
): Promise<unknown> {
  try {
    return await conn.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (e) {
    if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
    return await conn.eval(s.lua, keys.length, ...keys, ...args);
  }
}
