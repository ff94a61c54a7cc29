/**
 * Atomic "store unless the cache holds a newer revision". Entries start with `<revision>|`
 * (see shared/domain/cache-entry.ts). KEYS[1] key; ARGV[1] revision, ARGV[2] entry, ARGV[3] TTL ms.
 */
export const PUT_IF_NEWER_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  if sep then
    local rev = tonumber(string.sub(cur, 1, sep - 1))
    if rev and rev > tonumber(ARGV[1]) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;
