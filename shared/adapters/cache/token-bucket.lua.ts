/**
 * `takeFromBuckets` (shared/domain/rate-limit.ts) as one atomic script over several buckets, timed by
 * the Redis server's clock (one clock for every container). KEYS: the buckets (hashes {t, ts});
 * ARGV[1]: how many tokens are wanted (1 per request; more for a lease); then per bucket its rate per
 * second, its burst and its cost per request (1; a bulk change's share). Returns {1, requests taken
 * (1..wanted), 0} when allowed, else {0, index of the bucket that waits longest (1-based), wait in ms}.
 * A bucket idle long enough to be full again expires.
 */
export const TOKEN_BUCKET_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local taken = tonumber(ARGV[1])
local levels = {}
local denied, wait = 0, 0
for i = 1, #KEYS do
  local rate, burst, cost = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local state = redis.call('HMGET', KEYS[i], 't', 'ts')
  local level, at = tonumber(state[1]), tonumber(state[2])
  if level == nil or at == nil then
    level = burst
  elseif now > at then
    level = math.min(burst, level + (now - at) * rate / 1000)
  end
  levels[i] = level
  local need = math.min(cost, burst)
  taken = math.min(taken, math.max(1, math.floor(level / cost)))
  if level < need then
    local w = math.ceil((need - level) * 1000 / rate)
    if w > wait then denied, wait = i, w end
  end
end
if denied > 0 then return {0, denied, wait} end
for i = 1, #KEYS do
  local rate, burst, cost = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local level = levels[i] - cost * taken
  redis.call('HSET', KEYS[i], 't', tostring(level), 'ts', tostring(now))
  -- Until it is full again (a debt lasts longer than a burst).
  redis.call('PEXPIRE', KEYS[i], math.ceil((burst - level) * 1000 / rate) + 1000)
end
return {1, taken, 0}
`;
