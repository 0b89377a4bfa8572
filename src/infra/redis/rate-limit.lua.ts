/**
 * Every rate-limit decision is this one script: read the state of each check,
 * decide, charge all or none, report. It mirrors
 * platform/rate-limit/rate-limit.algorithms.ts step for step; the shared test
 * suite holds the two to the same answers.
 *
 * KEYS: one per check, in order (all under one hash tag per decision).
 * ARGV: [1] now in ms (0: take Redis TIME), [2] TTL padding ms, [3] number of
 *   decisions, then per decision: mode (1 decide, 2 refund), cost, number of
 *   checks, then per check: algorithm letter, limit, window ms, delta.
 * Returns four integers per check: admitted (1/0), remaining, reset ms,
 *   retry-after ms.
 */
export const RATE_LIMIT_SCRIPT = String.raw`
local now = tonumber(ARGV[1])
if now <= 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local pad = tonumber(ARGV[2])
local function str(x) return string.format('%.0f', x) end
local function expire_in(key, ms) redis.call('PEXPIRE', key, str(math.max(1, math.ceil(ms)) + pad)) end

local A = {}

A.F = {
  load = function(c)
    local v = redis.call('HMGET', c.key, 's', 'c')
    c.s = tonumber(v[1]) or 0
    c.n = tonumber(v[2]) or 0
    if c.n > 0 and now - c.s >= c.w then c.n = 0 end
    c.s0 = c.s
    if c.delta > 0 then
      if c.n == 0 then c.s = now end
      c.n = c.n + c.delta
      c.dirty = true
    end
  end,
  admits = function(c, cost) return c.n + cost <= c.limit end,
  retry = function(c, cost)
    if cost > c.limit or c.n == 0 then return c.w end
    return c.s + c.w - now
  end,
  charge = function(c, cost)
    if c.n == 0 then c.s = now end
    c.n = c.n + cost
  end,
  refund = function(c, cost) c.n = math.max(0, c.n - cost) end,
  save = function(c)
    if c.s == c.s0 then
      -- The same window: its expiry is already set.
      redis.call('HSET', c.key, 'c', str(c.n))
    else
      redis.call('HSET', c.key, 's', str(c.s), 'c', str(c.n))
      expire_in(c.key, c.s + c.w - now)
    end
  end,
  remaining = function(c) return math.max(0, c.limit - c.n) end,
  reset = function(c)
    if c.n > 0 then return c.s + c.w - now end
    return 0
  end,
}

A.L = {
  load = function(c)
    redis.call('ZREMRANGEBYSCORE', c.key, '-inf', str(now - c.w))
    c.n = redis.call('ZCARD', c.key)
  end,
  admits = function(c, cost) return c.n + cost <= c.limit end,
  retry = function(c, cost)
    local i = c.n + cost - c.limit - 1
    if i < 0 then return 0 end
    if i >= c.n then return c.w end
    local e = redis.call('ZRANGE', c.key, i, i, 'WITHSCORES')
    return tonumber(e[2]) + c.w - now
  end,
  charge = function(c, cost)
    local args = {}
    for j = 1, cost do
      args[#args + 1] = str(now)
      args[#args + 1] = str(now) .. ':' .. string.format('%010d', c.n + j)
    end
    if cost > 0 then redis.call('ZADD', c.key, unpack(args)) end
    c.n = c.n + cost
    c.newest = now
  end,
  refund = function(c, cost)
    if c.n > 0 and cost > 0 then
      redis.call('ZREMRANGEBYRANK', c.key, -math.min(cost, c.n), -1)
      c.n = math.max(0, c.n - cost)
    end
  end,
  save = function(c)
    if c.n > 0 then expire_in(c.key, c.w) end
  end,
  remaining = function(c) return math.max(0, c.limit - c.n) end,
  reset = function(c)
    if c.n == 0 then return 0 end
    if c.newest == nil then
      local e = redis.call('ZRANGE', c.key, -1, -1, 'WITHSCORES')
      c.newest = tonumber(e[2])
    end
    return c.newest + c.w - now
  end,
}

local function estimate(c) return c.prev * (c.w - (now - c.s)) / c.w + c.cur end
A.S = {
  load = function(c)
    local v = redis.call('HMGET', c.key, 's', 'c', 'p')
    c.s = tonumber(v[1]) or 0
    c.cur = tonumber(v[2]) or 0
    c.prev = tonumber(v[3]) or 0
    local start = now - (now % c.w)
    if c.s ~= start then
      if c.s == start - c.w then c.prev = c.cur else c.prev = 0 end
      c.cur = 0
      c.s = start
    end
  end,
  admits = function(c, cost) return estimate(c) + cost <= c.limit end,
  retry = function(c, cost)
    local elapsed = now - c.s
    if cost > c.limit then return 2 * c.w - elapsed end
    if c.cur + cost <= c.limit then
      return math.max(1, math.ceil(c.w - ((c.limit - c.cur - cost) * c.w) / c.prev - elapsed))
    end
    local extra = 0
    if c.cur > 0 then extra = math.max(0, math.ceil(c.w - ((c.limit - cost) * c.w) / c.cur)) end
    return c.w - elapsed + extra
  end,
  charge = function(c, cost) c.cur = c.cur + cost end,
  refund = function(c, cost)
    if c.cur >= cost then
      c.cur = c.cur - cost
    else
      c.prev = math.max(0, c.prev - (cost - c.cur))
      c.cur = 0
    end
  end,
  save = function(c)
    redis.call('HSET', c.key, 's', str(c.s), 'c', str(c.cur), 'p', str(c.prev))
    expire_in(c.key, c.s + 2 * c.w - now)
  end,
  remaining = function(c) return math.max(0, math.floor(c.limit - estimate(c))) end,
  reset = function(c)
    if c.cur > 0 then return c.s + 2 * c.w - now end
    if c.prev > 0 then return c.s + c.w - now end
    return 0
  end,
}

A.T = {
  load = function(c)
    local v = redis.call('HMGET', c.key, 'k', 't')
    local capacity = c.limit * c.w
    c.k = tonumber(v[1])
    c.t = tonumber(v[2]) or 0
    if c.k == nil then c.k = capacity end
    if now > c.t then
      if c.t == 0 then c.k = capacity else c.k = math.min(capacity, c.k + (now - c.t) * c.limit) end
      c.t = now
    end
  end,
  admits = function(c, cost) return c.k >= cost * c.w end,
  retry = function(c, cost) return math.ceil((cost * c.w - c.k) / c.limit) end,
  charge = function(c, cost) c.k = c.k - cost * c.w end,
  refund = function(c, cost) c.k = math.min(c.limit * c.w, c.k + cost * c.w) end,
  save = function(c)
    redis.call('HSET', c.key, 'k', str(c.k), 't', str(c.t))
    expire_in(c.key, (c.limit * c.w - c.k) / c.limit)
  end,
  remaining = function(c) return math.floor(c.k / c.w) end,
  reset = function(c) return math.ceil((c.limit * c.w - c.k) / c.limit) end,
}

A.G = {
  load = function(c)
    c.tat = tonumber(redis.call('GET', c.key)) or 0
    c.t = math.ceil((c.w * 1000) / c.limit)
    c.now = now * 1000
  end,
  admits = function(c, cost) return math.max(c.tat, c.now) + cost * c.t - c.t * c.limit <= c.now end,
  retry = function(c, cost) return math.ceil((math.max(c.tat, c.now) + cost * c.t - c.t * c.limit - c.now) / 1000) end,
  charge = function(c, cost) c.tat = math.max(c.tat, c.now) + cost * c.t end,
  refund = function(c, cost) c.tat = c.tat - cost * c.t end,
  save = function(c)
    if c.tat > c.now then
      redis.call('SET', c.key, str(c.tat), 'PX', str(math.ceil((c.tat - c.now) / 1000) + pad))
    else
      redis.call('DEL', c.key)
    end
  end,
  remaining = function(c) return math.max(0, math.floor((c.now + c.t * c.limit - math.max(c.tat, c.now)) / c.t)) end,
  reset = function(c) return math.ceil((math.max(c.tat, c.now) - c.now) / 1000) end,
}

local out = {}
local a = 4
local k = 1
for _ = 1, tonumber(ARGV[3]) do
  local mode, cost, n = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  local checks = {}
  local all = true
  for i = 1, n do
    local c = { key = KEYS[k], alg = A[ARGV[a]], limit = tonumber(ARGV[a + 1]), w = tonumber(ARGV[a + 2]), delta = tonumber(ARGV[a + 3]) }
    k = k + 1
    a = a + 4
    c.alg.load(c)
    if mode == 1 then
      c.ok = c.alg.admits(c, cost)
      if not c.ok then
        c.retry = c.alg.retry(c, cost)
        all = false
      end
    end
    checks[i] = c
  end
  for i = 1, n do
    local c = checks[i]
    if mode == 2 then
      c.alg.refund(c, cost)
      c.alg.save(c)
    elseif all and cost > 0 then
      c.alg.charge(c, cost)
      c.alg.save(c)
    elseif c.dirty then
      c.alg.save(c)
    end
    local ok = 0
    if c.ok then ok = 1 end
    out[#out + 1] = ok
    out[#out + 1] = c.alg.remaining(c)
    out[#out + 1] = c.alg.reset(c)
    out[#out + 1] = c.retry or 0
  end
end
return out
`;

/** The letter the script knows each algorithm by. */
export const ALGORITHM_LETTERS = {
  'fixed-window': 'F',
  'sliding-log': 'L',
  'sliding-window': 'S',
  'token-bucket': 'T',
  gcra: 'G',
} as const;
