/**
 * The Lua scripts of the Redis store: one atomic read-modify-write of one key per call, ports of
 * `src/limits/gcra.ts` and `src/limits/sliding-window.ts` step for step. Every value is an integer
 * below 2^53 (validated before the call), so Lua's doubles give the same answers as JavaScript's:
 * `math.floor`/`math.ceil` of a quotient round the same IEEE value, and `math.fmod` is C's `fmod`,
 * which is what JavaScript's `%` is (Lua's own `%` is floored and would differ for negatives).
 *
 * The state of a key is one hash:
 * - `a`: the algorithm that wrote it (`g` or `w`); a state written by the other algorithm counts as none;
 * - `e`: when it is equivalent to no state at all, on the callers' clock (`now + resetMs`): the
 *   script checks it against `now` itself, so results follow the callers' clock exactly, and the
 *   real-time PEXPIRE only frees memory;
 * - `t`, `f` (GCRA): the theoretical arrival time `t + f / limit` ms;
 * - `s`, `c`, `p` (sliding window): the current window's start, its count and the previous count.
 *
 * KEYS[1] is the key; ARGV is `limit, periodMs, burst, cost, now, graceMs` (burst is unused by the
 * window). The `…_NONCE_SCRIPT` variants take two keys, the nonce first, and its TTL as ARGV[7]: they
 * record the nonce (`SET NX PX`) and, only when it is a first use, run the limit on KEYS[2]; a
 * replay replies `{-1}` and touches no limit. The reply is `{allowed (1/0), remaining, retryAfterMs, resetMs}`. When `resetMs` is 0 the
 * key is deleted; otherwise it gets `PEXPIRE resetMs + graceMs`.
 */

/** Shared prologue: arguments, the stored state if it is live for `algo`, and the write-back helper. */
const PROLOGUE = `
local key = KEYS[#KEYS]
local limit = tonumber(ARGV[1])
local periodMs = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local graceMs = tonumber(ARGV[6])
local function int(n)
  return string.format('%.0f', n)
end
local function live(algo, fields)
  local st = redis.call('HMGET', key, 'a', 'e', unpack(fields))
  if st[1] ~= algo or not st[2] or tonumber(st[2]) <= now then
    return nil
  end
  local values = {}
  for i = 1, #fields do
    values[i] = tonumber(st[i + 2])
  end
  return values
end
local function finish(algo, state, allowed, remaining, retryAfterMs, resetMs)
  if resetMs == 0 then
    redis.call('DEL', key)
  else
    local args = {'a', algo, 'e', int(now + resetMs)}
    for i = 1, #state, 2 do
      args[#args + 1] = state[i]
      args[#args + 1] = int(state[i + 1])
    end
    if redis.call('HGET', key, 'a') ~= algo then
      redis.call('DEL', key)
    end
    redis.call('HSET', key, unpack(args))
    redis.call('PEXPIRE', key, int(resetMs + graceMs))
  end
  return {allowed, remaining, retryAfterMs, resetMs}
end
`;

/** GCRA, as `gcra()` in `src/limits/gcra.ts`. */
export const GCRA_SCRIPT = `${PROLOGUE}
local ahead = 0
local tatMs = nil
local tatFrac = 0
local st = live('g', {'t', 'f'})
if st and st[1] and st[2] then
  tatMs = st[1]
  tatFrac = st[2]
end
if tatMs and tatMs >= now then
  local frac = tatFrac
  if frac >= limit then
    frac = limit - 1
  end
  ahead = (tatMs - now) * limit + frac
end
local capacity = burst * periodMs
local after = ahead + cost * periodMs
if after <= capacity then
  return finish('g', {'t', now + math.floor(after / limit), 'f', math.fmod(after, limit)},
    1, math.floor((capacity - after) / periodMs), 0, math.ceil(after / limit))
end
local remaining = 0
if ahead < capacity then
  remaining = math.floor((capacity - ahead) / periodMs)
end
local state = {}
if tatMs then
  state = {'t', tatMs, 'f', tatFrac}
end
return finish('g', state, 0, remaining, math.ceil((after - capacity) / limit), math.ceil(ahead / limit))
`;

/** The sliding window, as `slidingWindow()` in `src/limits/sliding-window.ts`. */
export const SLIDING_WINDOW_SCRIPT = `${PROLOGUE}
local elapsed = math.fmod(now, periodMs)
if elapsed < 0 then
  elapsed = elapsed + periodMs
end
local start = now - elapsed
local current = 0
local previous = 0
local st = live('w', {'s', 'c', 'p'})
if st and st[1] then
  if st[1] == start then
    current = st[2] or 0
    previous = st[3] or 0
  elseif st[1] == start - periodMs then
    previous = st[2] or 0
  end
end
local function resetAfter(c, p)
  if c > 0 then
    return 2 * periodMs - elapsed
  end
  if p > 0 then
    return periodMs - elapsed
  end
  return 0
end
local weight = periodMs - elapsed
local capacity = limit * periodMs
local used = previous * weight + current * periodMs
local after = used + cost * periodMs
if after <= capacity then
  return finish('w', {'s', start, 'c', current + cost, 'p', previous},
    1, math.floor((capacity - after) / periodMs), 0, resetAfter(current + cost, previous))
end
local retryAfterMs
if current + cost <= limit then
  retryAfterMs = periodMs - math.floor(((limit - current - cost) * periodMs) / previous) - elapsed
else
  retryAfterMs = periodMs - elapsed + periodMs - math.floor(((limit - cost) * periodMs) / current)
end
local remaining = 0
if used < capacity then
  remaining = math.floor((capacity - used) / periodMs)
end
return finish('w', {'s', start, 'c', current, 'p', previous}, 0, remaining, retryAfterMs, resetAfter(current, previous))
`;

/** Records the nonce at KEYS[1] (first use) or replies `{-1}` (a replay) before the limit runs. */
const NONCE_PRELUDE = `
if not redis.call('SET', KEYS[1], '1', 'PX', ARGV[7], 'NX') then
  return {-1}
end
`;

/** A nonce, then GCRA on KEYS[2]. */
export const GCRA_NONCE_SCRIPT = NONCE_PRELUDE + GCRA_SCRIPT;

/** A nonce, then the sliding window on KEYS[2]. */
export const SLIDING_WINDOW_NONCE_SCRIPT = NONCE_PRELUDE + SLIDING_WINDOW_SCRIPT;
