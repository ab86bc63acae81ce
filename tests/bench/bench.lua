-- One wrk script for every workload.
-- Arguments (after `--`): REQUEST [+ EVERY REQUEST]
--   REQUEST = METHOD PATH BODY_FILE IDS_FILE [HEADER ...]
--   PATH may contain "{id}", replaced by the next id of IDS_FILE (one per line, cycling;
--   each thread starts at a different offset). BODY_FILE and IDS_FILE may be "-" (none).
--   A body is sent as JSON unless a "Content-Type: …" HEADER says otherwise.
--   With a second REQUEST, every EVERY-th request of each thread is the second one and
--   the others the first (a mix of reads and writes on the same connections).
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

local first, second, every, i

-- One request shape from its arguments; `fixed` is the whole request when it never varies.
local function shape(args)
  local s = {method = args[1], path = args[2], ids = {}, headers = {}}
  if args[3] ~= "-" then s.body = read_file(args[3]) end
  if args[4] ~= "-" then
    for line in io.lines(args[4]) do
      if line ~= "" then table.insert(s.ids, line) end
    end
  end
  for k = 5, #args do
    local name, value = args[k]:match("^([^:]+):%s*(.*)$")
    s.headers[name] = value
  end
  -- JSON unless the request names its own type (a multipart upload).
  if s.body and not s.headers["Content-Type"] then s.headers["Content-Type"] = "application/json" end
  if #s.ids == 0 then s.fixed = wrk.format(s.method, s.path, s.headers, s.body) end
  return s
end

local function build(s)
  if s.fixed then return s.fixed end
  local p = s.path:gsub("{id}", s.ids[(i % #s.ids) + 1])
  return wrk.format(s.method, p, s.headers, s.body)
end

function init(args)
  local a, b = {}, nil
  local k = 1
  while k <= #args do
    if args[k] == "+" and b == nil then
      every = assert(tonumber(args[k + 1]), "`+` must be followed by EVERY")
      b = {}
      k = k + 2
    else
      table.insert(b or a, args[k])
      k = k + 1
    end
  end
  first = shape(a)
  if b then second = shape(b) end
  i = tonumber(offset) or 0
  if not second and first.fixed then
    -- No per-request variation: the same request every time.
    request = function() return first.fixed end
  end
end

function request()
  i = i + 1
  if second and i % every == 0 then return build(second) end
  return build(first)
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
