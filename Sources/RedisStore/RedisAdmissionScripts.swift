/// The two Lua scripts of `RedisAdmissionStore`: each runs atomically on the server (no other
/// command runs in between), with the server's clock, so hosts sharing a Redis can never
/// over-admit together. They are the `AdmissionLedger` of GatewayCore, line for line, with the
/// same floating-point steps (Lua numbers are doubles, like the Swift GCRA's arithmetic).
///
/// Both take `ARGV[1]` = key prefix and `ARGV[2]` = the clock in µs. Production sends `""`
/// (the script reads `TIME`); only the differential tests send a fixed instant.
enum RedisAdmissionScripts {
    /// Shared helpers: the clock, GCRA, rounding, period identifiers, TTLs.
    private static let prelude = """
        -- Redis < 5 replicates scripts verbatim and refuses writes after TIME without this; from
        -- Redis 5 on (and in Valkey) effects replication is the default and this is a no-op.
        if redis.replicate_commands then redis.replicate_commands() end
        local prefix = ARGV[1]
        local now
        if ARGV[2] ~= '' then
          now = tonumber(ARGV[2])
        else
          local time = redis.call('TIME')
          now = tonumber(time[1]) * 1000000 + tonumber(time[2])
        end
        local PERIOD = 60000000
        -- A TAT is never more than one period ahead, and one in the past counts as none.
        local LIMIT_TTL = 180000
        local function budget_ttl(period)
          if period == 'day' then return 259200000 end  -- 3 days
          return 3456000000                             -- 40 days
        end
        local USAGE_TTL = 34560000000                   -- 400 days

        local function round(x)  -- Swift's rounded(): to nearest, ties away from zero
          if x < 0 then return -round(-x) end
          local f = math.floor(x)
          if x - f >= 0.5 then return f + 1 end
          return f
        end

        local function store(key, value, ttl)
          redis.call('SET', key, string.format('%d', value), 'PX', ttl)
        end

        -- BudgetPeriod.identifier: the UTC day (YYYY-MM-DD) or month (YYYY-MM) of `micros`.
        local function period_id(period, micros)
          local z = math.floor(math.floor(micros / 1000) / 86400000) + 719468
          local era = math.floor(z / 146097)
          local doe = z - era * 146097
          local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
          local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
          local mp = math.floor((5 * doy + 2) / 153)
          local day = doy - math.floor((153 * mp + 2) / 5) + 1
          local month = mp < 10 and mp + 3 or mp - 9
          local year = yoe + era * 400
          if month <= 2 then year = year + 1 end
          if period == 'day' then return string.format('%d-%02d-%02d', year, month, day) end
          return string.format('%d-%02d', year, month)
        end
        """

    /// Check-and-charge (`AdmissionLedger.admit`). After the prefix and clock: `ARGV[3]` reserved
    /// micro-USD, `ARGV[4]` the number of scopes, then six per scope: id, rpm, tpm, token cost,
    /// budget limit (micro-USD), budget period (`day`/`month`); `""` where a scope has none.
    ///
    /// Returns `{1, now, remainingRequests, limitRequests, remainingTokens, limitTokens}` (-1 for
    /// none), `{2, scope, metric (1 requests, 2 tokens), retryAfterMicros}` or `{3, scope, spent}`.
    static let admit = RedisScript(
        prelude + """

            local reserved = tonumber(ARGV[3])
            local writes, repairs = {}, {}

            -- The stored TAT, brought back to at most one period ahead of now (a repair).
            local function stored(key)
              local tat = (tonumber(redis.call('GET', key) or '0') or 0)
              local horizon = now + PERIOD
              if tat > horizon then
                repairs[#repairs + 1] = key
                return horizon
              end
              return tat
            end

            -- GCRA.check: true, newTAT, remaining, or false, retryAfterMicros.
            local function check(tat, cost, limit)
              if cost > limit then return false, PERIOD end
              if cost < 0 then cost = 0 end
              local interval = PERIOD / limit
              local base = math.max(math.min(tat, now + PERIOD), now)
              local tat2 = base + math.ceil(cost * interval)
              local allowed_at = tat2 - PERIOD
              if allowed_at > now then return false, allowed_at - now end
              return true, tat2, math.max(0, limit - math.ceil((tat2 - now) / interval))
            end

            -- A refusal charges nothing; only repairs are written.
            local function refuse(decision)
              for _, key in ipairs(repairs) do store(key, now + PERIOD, LIMIT_TTL) end
              return decision
            end

            local rem_r, lim_r, rem_t, lim_t
            for i = 1, tonumber(ARGV[4]) do
              local base = 5 + (i - 1) * 6
              local id, rpm, tpm = ARGV[base], tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
              local cost, limit, period = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4]), ARGV[base + 5]
              if rpm then
                local key = prefix .. 'rpm/' .. id
                local ok, value, remaining = check(stored(key), 1, rpm)
                if not ok then return refuse({2, i, 1, value}) end
                writes[#writes + 1] = {key, value, LIMIT_TTL}
                if rem_r == nil or remaining < rem_r then rem_r, lim_r = remaining, rpm end
              end
              if tpm then
                local key = prefix .. 'tpm/' .. id
                local ok, value, remaining = check(stored(key), cost, tpm)
                if not ok then return refuse({2, i, 2, value}) end
                writes[#writes + 1] = {key, value, LIMIT_TTL}
                if rem_t == nil or remaining < rem_t then rem_t, lim_t = remaining, tpm end
              end
              if period ~= '' then
                local key = prefix .. 'budget/' .. id .. '/' .. period_id(period, now)
                local spent = (tonumber(redis.call('GET', key) or '0') or 0)
                -- Admit while anything is left; the reservation itself may overshoot slightly.
                if spent >= limit then return refuse({3, i, spent}) end
                writes[#writes + 1] = {key, spent + reserved, budget_ttl(period)}
              end
            end
            for _, write in ipairs(writes) do store(write[1], write[2], write[3]) end
            return {1, now, rem_r or -1, lim_r or -1, rem_t or -1, lim_t or -1}
            """)

    /// Settlement (`AdmissionLedger.settle` for each ticket, then the usage totals), as a list of
    /// operations after the prefix and clock, applied in order:
    /// - `T id tpm delta`: GCRA.adjust of `tpm/<id>`, when it exists;
    /// - `B budget/<scope>/<period> delta ttl`: spend += delta, never below 0;
    /// - `U caller/team/model prompt completion microUSD`: adds one request to today's usage line.
    static let finish = RedisScript(
        prelude + """

            local i = 3
            while i <= #ARGV do
              local op = ARGV[i]
              if op == 'T' then
                local key, limit, delta = prefix .. 'tpm/' .. ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
                local tat = tonumber(redis.call('GET', key) or '')  -- none (or damaged): nothing to correct
                if tat then
                  local horizon = now + PERIOD
                  local moved = math.min(tat, horizon) + round(delta * (PERIOD / limit))
                  if delta < 0 then moved = math.max(moved, now) else moved = math.min(moved, horizon) end
                  store(key, moved, LIMIT_TTL)
                end
                i = i + 4
              elseif op == 'B' then
                local key, delta, ttl = prefix .. ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
                local spent = (tonumber(redis.call('GET', key) or '0') or 0)
                store(key, math.max(0, spent + delta), ttl)
                i = i + 4
              elseif op == 'U' then
                local key = prefix .. 'usage/' .. period_id('day', now) .. '/' .. ARGV[i + 1]
                redis.call('HINCRBY', key, 'requests', 1)
                redis.call('HINCRBY', key, 'prompt', ARGV[i + 2])
                redis.call('HINCRBY', key, 'completion', ARGV[i + 3])
                redis.call('HINCRBY', key, 'micro_usd', ARGV[i + 4])
                redis.call('PEXPIRE', key, USAGE_TTL)
                i = i + 5
              else
                return redis.error_reply('llmgw finish: unknown operation ' .. tostring(op))
              end
            end
            return 1
            """)
}
