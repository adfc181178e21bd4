-- A fixed CPU workload for `npm run bench`: the same work every run, mixing what Lua
-- programs spend time on (table inserts and lookups, string building and matching,
-- closures, sorting). Takes about 1-2 s natively. Prints a checksum so a run that did
-- different work (or none) is visible: every runtime must print the same line.
--   lua /usr/share/lua/bench.lua [ROUNDS]

local rounds = tonumber(arg and arg[1]) or 50

local function work(seed)
  local t = {}
  for i = 1, 20000 do
    t[i] = string.format("%05d:%x", (i * 7919 + seed) % 100003, i)
  end
  table.sort(t)
  local index = {}
  for i, s in ipairs(t) do index[s] = i end
  local sum = 0
  for i = 1, #t, 3 do
    local key, hex = t[i]:match("^(%d+):(%x+)$")
    sum = (sum + tonumber(key) + tonumber(hex, 16) + index[t[i]]) % 1000000007
  end
  local parts = {}
  for i = 1, 2000 do parts[#parts + 1] = t[i]:sub(1, 3) end
  local joined = table.concat(parts, ",")
  local count = select(2, joined:gsub("0", "0"))
  local fib
  fib = function(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
  return (sum + count + fib(20)) % 1000000007
end

local checksum = 0
for r = 1, rounds do checksum = (checksum * 31 + work(r)) % 1000000007 end
print(string.format("bench.lua rounds=%d checksum=%d", rounds, checksum))
