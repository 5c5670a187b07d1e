/**
 * The Lua scripts that make the Redis store's units atomic. Each runs as one Redis command, so
 * no other instance sees half a unit, and each owner write first checks the fencing token: the
 * lease value the writer believes it holds must still be the lease's value, or the script
 * refuses with `FENCED` and changes nothing (docs/high-availability.md).
 *
 * Kept as strings in TypeScript rather than `.lua` files so the compiled build carries them.
 */
import { COMMANDS_SUFFIX, HAND_OFF_SUFFIX } from './keys.js';

/** Shared prologue: ARGV[1] is the writer's lease value ('' = unfenced store), KEYS[1] the lease key. */
const FENCE = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('FENCED the bridge lease is held by another instance now')
end
`;

/**
 * Records a transaction and routes each of its commands to the partition of its conference's
 * bridge: the bridge already named for the command's ExtConfID (or, for a CreateConference,
 * its ConfKey), else the bridge the caller proposes (bridge-choice.ts); a CreateConference
 * fixes the route of its ExtConfID and ConfKey for every later command, on every instance.
 * KEYS: trans results hash, trans zset, routes hash, command seq.
 * ARGV: transId, result, receivedAt, bridge key prefix, then per command: ExtConfID, ConfKey
 * ('' unless a CreateConference), proposed bridge, JSON body.
 * Returns {0, result} for a repeat, else {1, id, bridge, id, bridge...}.
 */
export const RECORD_TRANSACTION = `
local seen = redis.call('HGET', KEYS[1], ARGV[1])
if seen then return {0, tonumber(seen)} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local out = {1}
for i = 5, #ARGV, 4 do
  local ext, key, proposed, body = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local bridge = redis.call('HGET', KEYS[3], 'ext:' .. ext)
  if not bridge and key ~= '' then bridge = redis.call('HGET', KEYS[3], 'key:' .. key) end
  if not bridge then bridge = proposed end
  if key ~= '' then redis.call('HSET', KEYS[3], 'ext:' .. ext, bridge, 'key:' .. key, bridge) end
  local id = redis.call('INCR', KEYS[4])
  redis.call('HSET', ARGV[4] .. bridge .. '${COMMANDS_SUFFIX}', id, body)
  redis.call('XADD', ARGV[4] .. bridge .. '${HAND_OFF_SUFFIX}', 'MAXLEN', '~', 1000, '*', 'last', id)
  out[#out + 1] = id
  out[#out + 1] = bridge
end
return out
`;

/**
 * One state change, optionally with a command's start or completion.
 * KEYS: lease, commands, started set, conferences hash, ended zset, outbox hash, outbox seq.
 * ARGV: fence, op ('start' | 'complete' | 'apply'), commandId, nConfs, then per conference
 * (confId, json, endedAt or ''), then the outbox records' JSON bodies.
 * Returns the new outbox ids.
 */
export const APPLY_CHANGE = FENCE + `
local op, commandId, nConfs = ARGV[2], ARGV[3], tonumber(ARGV[4])
if op == 'start' then
  if redis.call('HEXISTS', KEYS[2], commandId) == 1 then redis.call('SADD', KEYS[3], commandId) end
elseif op == 'complete' then
  redis.call('HDEL', KEYS[2], commandId)
  redis.call('SREM', KEYS[3], commandId)
end
local i = 5
for _ = 1, nConfs do
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
  if ARGV[i + 2] ~= '' then redis.call('ZADD', KEYS[5], ARGV[i + 2], ARGV[i]) else redis.call('ZREM', KEYS[5], ARGV[i]) end
  i = i + 3
end
local ids = {}
for j = i, #ARGV do
  local id = redis.call('INCR', KEYS[7])
  redis.call('HSET', KEYS[6], id, ARGV[j])
  ids[#ids + 1] = id
end
return ids
`;

/**
 * Gives pending outbox records their batch's TransID (their new bodies), only while they are
 * still pending: a record delivered meanwhile stays delivered.
 * KEYS: lease, outbox hash. ARGV: fence, then pairs of id and JSON body.
 */
export const OUTBOX_BATCH = FENCE + `
for i = 2, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
end
return 1
`;

/** KEYS: lease, outbox hash, outbox retry hash. ARGV: fence, then the ids of one POST's messages. */
export const OUTBOX_DELIVERED = FENCE + `
for i = 2, #ARGV do
  redis.call('HDEL', KEYS[2], ARGV[i])
  redis.call('HDEL', KEYS[3], ARGV[i])
end
return 1
`;

/** KEYS: lease, outbox hash, outbox retry hash. ARGV: fence, "attempts:nextAttemptAt", then ids. */
export const OUTBOX_RETRY = FENCE + `
for i = 3, #ARGV do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then redis.call('HSET', KEYS[3], ARGV[i], ARGV[2]) end
end
return 1
`;

/** KEYS: lease, outbox hash, outbox retry hash, dead letters hash. ARGV: fence, then pairs of id and dead letter JSON. */
export const OUTBOX_DEAD_LETTER = FENCE + `
for i = 2, #ARGV, 2 do
  if redis.call('HDEL', KEYS[2], ARGV[i]) == 1 then
    redis.call('HDEL', KEYS[3], ARGV[i])
    redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
  end
end
return 1
`;

/**
 * Forgets old TransIDs (shared) and one bridge's conferences ended long ago, with their routes.
 * KEYS: trans results hash, trans zset, conferences hash, ended zset, routes hash.
 * ARGV: transIdsBefore, endedBefore.
 */
export const COMPACT = `
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
for _, id in ipairs(old) do redis.call('HDEL', KEYS[1], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
local ended = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[2])
for _, id in ipairs(ended) do
  local body = redis.call('HGET', KEYS[3], id)
  if body then
    local conf = cjson.decode(body)
    if type(conf.extConfID) == 'string' then redis.call('HDEL', KEYS[5], 'ext:' .. conf.extConfID) end
    if type(conf.confKey) == 'string' then redis.call('HDEL', KEYS[5], 'key:' .. conf.confKey) end
    if type(conf.formerExtConfIDs) == 'table' then
      for _, former in ipairs(conf.formerExtConfIDs) do redis.call('HDEL', KEYS[5], 'ext:' .. former) end
    end
  end
  redis.call('HDEL', KEYS[3], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[2])
return #old
`;
