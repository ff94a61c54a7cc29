/**
 * Atomic "store unless the cache holds a newer revision" (the rule of `mayReplace` in cache-entry.ts). Entries start with `<revision>|`
 * (see shared/domain/cache-entry.ts). KEYS[1] key; ARGV[1] revision, ARGV[2] entry, ARGV[3] TTL ms.
 */
export const PUT_IF_NEWER_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  if sep then
    local rev = tonumber(string.sub(cur, 1, sep - 1))
    local next_rev = tonumber(ARGV[1])
    if rev and rev > next_rev then return 0 end
    -- At an equal revision a tombstone does not replace a value (tags: A, I, N values; T tombstone).
    local next_sep = string.find(ARGV[2], '|', 1, true)
    if rev and rev == next_rev and string.sub(ARGV[2], next_sep + 1, next_sep + 1) == 'T'
      and string.sub(cur, sep + 1, sep + 1) ~= 'T' then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;
