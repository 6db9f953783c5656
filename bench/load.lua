-- wrk script for `make bench`: one request shape per run, configured by bench/run.py through
-- the environment. Items (tokens, emails) come from a pool file; with BENCH_POOL_ONCE=1 each
-- item is sent at most once across all threads (refresh tokens are single-use), and running
-- past the end of the pool is counted so the report can say so.
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  table.insert(threads, thread)
  next_id = next_id + 1
end

function init(args)
  pool = {}
  local file = os.getenv("BENCH_POOL") or ""
  if file ~= "" then
    for line in io.lines(file) do
      if line ~= "" then pool[#pool + 1] = line end
    end
  end
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
  index = id
  once = os.getenv("BENCH_POOL_ONCE") == "1"
  exhausted = 0
  wrapped = false
  method = os.getenv("BENCH_METHOD") or "GET"
  target = os.getenv("BENCH_PATH") or "/"
  body_template = os.getenv("BENCH_BODY") or ""
  auth_template = os.getenv("BENCH_AUTH") or ""
  content_type = os.getenv("BENCH_CONTENT_TYPE") or "application/json"
end

function request()
  local item = ""
  if #pool > 0 then
    if index > #pool then
      wrapped = true
      index = ((index - 1) % #pool) + 1
    end
    -- Past the end of a single-use pool every request resends a spent item: count them all.
    if once and wrapped then exhausted = exhausted + 1 end
    item = pool[index]
    index = index + step
  end
  local headers = {}
  if auth_template ~= "" then
    headers["Authorization"] = (auth_template:gsub("{item}", item))
  end
  local body = nil
  if body_template ~= "" then
    body = (body_template:gsub("{item}", item))
    headers["Content-Type"] = content_type
  end
  return wrk.format(method, target, headers, body)
end

function done(summary, latency, requests)
  local spent = 0
  for _, thread in ipairs(threads) do
    spent = spent + (thread:get("exhausted") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"non_2xx":%d,"socket_errors":%d,"timeouts":%d,"pool_exhausted":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write, e.timeout,
    spent))
end
