-- wrk script for bench/callback: replays the messages made by gen_messages.py.
-- Each line of the file is `/wechat?<query>\t<body>`; every request is formatted once at load
-- time, so request() only hands out the next one. Each thread starts at its own offset
-- (thread i of n at i*N/n) and walks the list in order, wrapping around only if the run sends
-- more requests than there are messages (run.sh reports the wrap-arounds as wxlib duplicates).
-- Usage: wrk -tT ... -s replay.lua URL -- MESSAGES_FILE T

local counter = 0
local threads = {}

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local reqs = {}
local n = 0
local i = 0

function init(args)
   local file = args[1] or os.getenv("MESSAGES") or "messages.txt"
   local headers = { ["Content-Type"] = "text/xml" }
   for line in io.lines(file) do
      local tab = line:find("\t", 1, true)
      if tab then
         n = n + 1
         reqs[n] = wrk.format("POST", line:sub(1, tab - 1), headers, line:sub(tab + 1))
      end
   end
   if n == 0 then
      error("no messages in " .. file)
   end
   wrk.thread:set("n", n)
   local nthreads = tonumber(args[2]) or 1
   local id = tonumber(wrk.thread:get("id")) or 0
   i = math.floor(id * n / nthreads)
end

function request()
   i = i + 1
   if i > n then
      i = 1
   end
   return reqs[i]
end

function done(summary, latency, requests)
   -- Machine-readable summary for run.sh (latencies in microseconds).
   local e = summary.errors
   local n = tonumber(threads[1]:get("n")) or 0
   io.write(string.format(
      "RESULT requests=%d duration_us=%d rps=%.1f p50=%d p90=%d p99=%d max=%d non2xx=%d connect=%d read=%d write=%d timeout=%d messages=%d\n",
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.status, e.connect, e.read, e.write, e.timeout, n))
end
