-- wrk script for `make bench`: counts responses by status and by the front's X-Cache-Status
-- (HIT, STALE, MISS...) across threads and prints one JSON line (requests, duration, errors,
-- latency percentiles in microseconds, statuses, cache).
-- Arguments (after --): LOW HIGH PREFIX to request PREFIX<random id in LOW..HIGH>/ each time.
-- BENCH_WRK_DELAY_MS (environment): each connection waits that long between its requests, to
-- send a paced wave (bench/waitroom.py) instead of as many requests as the server can take.
local threads = {}
local pace = tonumber(os.getenv("BENCH_WRK_DELAY_MS") or "")
if pace then
   function delay()
      return pace
   end
end

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
   cache = {}
   if args[1] then
      low, high, prefix = tonumber(args[1]), tonumber(args[2]), args[3]
   end
   math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
   if low then
      return wrk.format("GET", prefix .. math.random(low, high) .. "/")
   end
   return wrk.request()
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   local served = headers["X-Cache-Status"] or "none"
   cache[served] = (cache[served] or 0) + 1
end

function done(summary, latency, requests)
   local counts, served = {}, {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + n
      end
      for what, n in pairs(thread:get("cache")) do
         served[what] = (served[what] or 0) + n
      end
   end
   local parts, cache_parts = {}, {}
   for status, n in pairs(counts) do
      table.insert(parts, string.format('"%d": %d', status, n))
   end
   for what, n in pairs(served) do
      table.insert(cache_parts, string.format('"%s": %d', what, n))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"p50": %d, "p95": %d, "p99": %d, "statuses": {%s}, "cache": {%s}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(95), latency:percentile(99),
      table.concat(parts, ", "), table.concat(cache_parts, ", ")))
end
