-- One wrk script for every workload.
-- Arguments (after `--`): METHOD PATH BODY_FILE IDS_FILE [HEADER ...]
--   PATH may contain "{id}", replaced by the next id of IDS_FILE (one per line, cycling;
--   each thread starts at a different offset). BODY_FILE and IDS_FILE may be "-" (none).
-- `done` prints one line `BENCH_RESULT {json}` that run.py parses.

local function read_file(path)
  local f = assert(io.open(path, "r"))
  local text = f:read("*a")
  f:close()
  return text
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
  table.insert(threads, thread)
end

local method, path, body, ids, headers, i

function init(args)
  method = args[1]
  path = args[2]
  if args[3] ~= "-" then body = read_file(args[3]) end
  ids = {}
  if args[4] ~= "-" then
    for line in io.lines(args[4]) do
      if line ~= "" then table.insert(ids, line) end
    end
  end
  headers = {}
  for k = 5, #args do
    local name, value = args[k]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  if body then headers["Content-Type"] = "application/json" end
  i = tonumber(offset) or 0
  if #ids == 0 then
    -- No per-request variation: build the request once.
    local fixed = wrk.format(method, path, headers, body)
    request = function() return fixed end
  end
end

function request()
  i = i + 1
  local p = path:gsub("{id}", ids[(i % #ids) + 1])
  return wrk.format(method, p, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write,
    e.status, e.timeout))
end
