/**
 * Every rate-limit decision is this one script: read the state of each check,
 * decide, charge all or none, report. It mirrors
 * platform/rate-limit/rate-limit.algorithms.ts step for step; the shared test
 * suite holds the two to the same answers.
 *
 * One call carries many decisions (the store batches those made while its
 * previous call is out), so the arguments are packed to keep Redis's per-argument
 * cost down — it is most of what a decision costs here:
 *
 * KEYS: one per check, in order (all under one hash tag per call on a Cluster).
 * ARGV: [1] now in ms (0: take Redis TIME), [2] TTL padding ms, [3] P, the
 *   number of distinct policies, then P × (algorithm letter, limit, window ms),
 *   then one argument per decision, `head`, followed by one per check, `code`:
 *     head = (cost × 64 + checks) × 2 + (1 for a refund, 0 for a decision)
 *     code = delta × 64 + policy index (0-based)
 * Returns three integers per check: remaining when admitted, or −1 − remaining
 *   when not; reset ms; retry-after ms.
 *
 * Numbers are handed to redis.call as Lua numbers: Redis writes them exactly
 * (integers below 2^53), which `tostring` would not.
 */
export const RATE_LIMIT_SCRIPT = String.raw`
local call, tonumber, ceil, floor, max, min = redis.call, tonumber, math.ceil, math.floor, math.max, math.min
local now = tonumber(ARGV[1])
if now <= 0 then
  local t = call('TIME')
  now = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
end
local pad = tonumber(ARGV[2])
local function expire_in(key, ms) call('PEXPIRE', key, max(1, ceil(ms)) + pad) end

-- The fixed window, the default and by far the most used, is written out in
-- the main loop below: no per-check table, no function calls. Each other
-- algorithm: load(c) reads the state into the check c; admits/retry decide;
-- charge/refund change c; save writes it back; report returns remaining and
-- reset ms. Built on first use (make[letter]), so a call pays only for the
-- algorithms its policies use.
local make = {}

-- Sliding log: a sorted set of admission times. n: entries in the window, newest: the latest time.
make.L = function() return {
  load = function(c)
    call('ZREMRANGEBYSCORE', c.key, '-inf', now - c.w)
    c.n = call('ZCARD', c.key)
  end,
  admits = function(c, cost) return c.n + cost <= c.limit end,
  retry = function(c, cost)
    local i = c.n + cost - c.limit - 1
    if i < 0 then return 0 end
    if i >= c.n then return c.w end
    local e = call('ZRANGE', c.key, i, i, 'WITHSCORES')
    return tonumber(e[2]) + c.w - now
  end,
  charge = function(c, cost)
    if cost <= 0 then return end
    local args = {}
    for j = 1, cost do
      args[2 * j - 1] = now
      args[2 * j] = string.format('%.0f:%010d', now, c.n + j)
    end
    call('ZADD', c.key, unpack(args))
    c.n = c.n + cost
    c.newest = now
  end,
  refund = function(c, cost)
    if c.n > 0 and cost > 0 then
      call('ZREMRANGEBYRANK', c.key, -min(cost, c.n), -1)
      c.n = max(0, c.n - cost)
    end
  end,
  save = function(c)
    if c.n > 0 then expire_in(c.key, c.w) end
  end,
  report = function(c)
    if c.n == 0 then return c.limit, 0 end
    if c.newest == nil then
      local e = call('ZRANGE', c.key, -1, -1, 'WITHSCORES')
      c.newest = tonumber(e[2])
    end
    return max(0, c.limit - c.n), c.newest + c.w - now
  end,
} end

-- Sliding window counter over epoch-aligned windows. s: current window start, cur/prev: counts.
local function estimate(c) return c.prev * (c.w - (now - c.s)) / c.w + c.cur end
make.S = function() return {
  load = function(c)
    local v = call('HMGET', c.key, 's', 'c', 'p')
    local s, cur, prev = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0
    local start = now - (now % c.w)
    if s ~= start then
      if s == start - c.w then prev = cur else prev = 0 end
      cur = 0
      s = start
    end
    c.s, c.cur, c.prev = s, cur, prev
  end,
  admits = function(c, cost) return estimate(c) + cost <= c.limit end,
  retry = function(c, cost)
    local elapsed = now - c.s
    if cost > c.limit then return 2 * c.w - elapsed end
    if c.cur + cost <= c.limit then
      return max(1, ceil(c.w - ((c.limit - c.cur - cost) * c.w) / c.prev - elapsed))
    end
    local extra = 0
    if c.cur > 0 then extra = max(0, ceil(c.w - ((c.limit - cost) * c.w) / c.cur)) end
    return c.w - elapsed + extra
  end,
  charge = function(c, cost) c.cur = c.cur + cost end,
  refund = function(c, cost)
    if c.cur >= cost then
      c.cur = c.cur - cost
    else
      c.prev = max(0, c.prev - (cost - c.cur))
      c.cur = 0
    end
  end,
  save = function(c)
    call('HSET', c.key, 's', c.s, 'c', c.cur, 'p', c.prev)
    expire_in(c.key, c.s + 2 * c.w - now)
  end,
  report = function(c)
    local remaining = max(0, floor(c.limit - estimate(c)))
    if c.cur > 0 then return remaining, c.s + 2 * c.w - now end
    if c.prev > 0 then return remaining, c.s + c.w - now end
    return remaining, 0
  end,
} end

-- Token bucket. k: credits (tokens × window ms), t: last refill.
make.T = function() return {
  load = function(c)
    local v = call('HMGET', c.key, 'k', 't')
    local capacity = c.limit * c.w
    local k, t = tonumber(v[1]) or capacity, tonumber(v[2]) or 0
    if now > t then
      if t == 0 then k = capacity else k = min(capacity, k + (now - t) * c.limit) end
      t = now
    end
    c.k, c.t = k, t
  end,
  admits = function(c, cost) return c.k >= cost * c.w end,
  retry = function(c, cost) return ceil((cost * c.w - c.k) / c.limit) end,
  charge = function(c, cost) c.k = c.k - cost * c.w end,
  refund = function(c, cost) c.k = min(c.limit * c.w, c.k + cost * c.w) end,
  save = function(c)
    call('HSET', c.key, 'k', c.k, 't', c.t)
    expire_in(c.key, (c.limit * c.w - c.k) / c.limit)
  end,
  report = function(c) return floor(c.k / c.w), ceil((c.limit * c.w - c.k) / c.limit) end,
} end

-- GCRA. tat: theoretical arrival time (µs), e: emission interval (µs), us: now in µs.
make.G = function() return {
  load = function(c)
    c.tat = tonumber(call('GET', c.key)) or 0
    c.e = ceil((c.w * 1000) / c.limit)
    c.us = now * 1000
  end,
  admits = function(c, cost) return max(c.tat, c.us) + cost * c.e - c.e * c.limit <= c.us end,
  retry = function(c, cost) return ceil((max(c.tat, c.us) + cost * c.e - c.e * c.limit - c.us) / 1000) end,
  charge = function(c, cost) c.tat = max(c.tat, c.us) + cost * c.e end,
  refund = function(c, cost) c.tat = c.tat - cost * c.e end,
  save = function(c)
    if c.tat > c.us then
      call('SET', c.key, c.tat, 'PX', ceil((c.tat - c.us) / 1000) + pad)
    else
      call('DEL', c.key)
    end
  end,
  report = function(c)
    local ahead = max(c.tat, c.us)
    return max(0, floor((c.us + c.e * c.limit - ahead) / c.e)), ceil((ahead - c.us) / 1000)
  end,
} end

local policies, algorithms = {}, {}
local a = 4
for p = 1, tonumber(ARGV[3]) do
  local letter = ARGV[a]
  local alg = false
  if letter ~= 'F' then
    alg = algorithms[letter]
    if alg == nil then
      alg = make[letter]()
      algorithms[letter] = alg
    end
  end
  policies[p] = { alg = alg, limit = tonumber(ARGV[a + 1]), w = tonumber(ARGV[a + 2]) }
  a = a + 3
end

local out, o, k = {}, 0, 1
-- Per check of the current decision: its table (other algorithms) or false (fixed window), and the fixed
-- window's policy, key, start, count, start as loaded, admitted, retry-after and unflushed delta.
local C, P, K, S, N, S0, OK, R, D = {}, {}, {}, {}, {}, {}, {}, {}, {}
local argc = #ARGV
while a <= argc do
  local head = tonumber(ARGV[a])
  a = a + 1
  local refund = head % 2 == 1
  head = (head - head % 2) / 2
  local n = head % 64
  local cost = (head - n) / 64
  local all = true
  for i = 1, n do
    local code = tonumber(ARGV[a])
    local index = code % 64
    local p = policies[index + 1]
    local delta = (code - index) / 64
    local key = KEYS[k]
    k = k + 1
    a = a + 1
    if p.alg then
      -- Every field the algorithms set is named here, so the table is sized once.
      local c = { key = key, alg = p.alg, limit = p.limit, w = p.w, delta = delta, ok = true, retry = 0,
        cur = 0, prev = 0, s = 0, n = 0, k = 0, t = 0, tat = 0, e = 0, us = 0, newest = nil }
      c.alg.load(c)
      if not refund and not c.alg.admits(c, cost) then
        c.ok = false
        c.retry = c.alg.retry(c, cost)
        all = false
      end
      C[i] = c
    else
      -- Fixed window: at most limit per window; the window opens at the key's first request.
      local v = call('HMGET', key, 's', 'c')
      local s, count = tonumber(v[1]) or 0, tonumber(v[2]) or 0
      if count > 0 and now - s >= p.w then count = 0 end
      S0[i] = s
      D[i] = delta > 0
      if delta > 0 then
        if count == 0 then s = now end
        count = count + delta
      end
      C[i], P[i], K[i], S[i], N[i], OK[i], R[i] = false, p, key, s, count, true, 0
      if not refund and count + cost > p.limit then
        OK[i] = false
        if cost > p.limit or count == 0 then R[i] = p.w else R[i] = s + p.w - now end
        all = false
      end
    end
  end
  for i = 1, n do
    local c = C[i]
    local ok, remaining, reset, retry
    if c then
      if refund then
        c.alg.refund(c, cost)
        c.alg.save(c)
      elseif all and cost > 0 then
        c.alg.charge(c, cost)
        c.alg.save(c)
      end
      remaining, reset = c.alg.report(c)
      ok, retry = c.ok, c.retry
    else
      local p, s, count = P[i], S[i], N[i]
      local save = D[i]
      if refund then
        count = max(0, count - cost)
        save = true
      elseif all and cost > 0 then
        if count == 0 then s = now end
        count = count + cost
        save = true
      end
      if save then
        if s == S0[i] then
          -- The same window: its expiry is already set.
          call('HSET', K[i], 'c', count)
        else
          call('HSET', K[i], 's', s, 'c', count)
          expire_in(K[i], s + p.w - now)
        end
      end
      if count > 0 then remaining, reset = max(0, p.limit - count), s + p.w - now else remaining, reset = p.limit, 0 end
      ok, retry = OK[i], R[i]
    end
    if ok then out[o + 1] = remaining else out[o + 1] = -1 - remaining end
    out[o + 2] = reset
    out[o + 3] = retry
    o = o + 3
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

/** Checks per decision and distinct policies per call: both fit six bits of the packed arguments. */
export const MAX_CHECKS_PER_DECISION = 63;
export const MAX_POLICIES_PER_CALL = 64;
