-- wrk script for bench/collector.py: POST prepared bodies in rotation, report JSON.
--
-- BENCH_BODIES   a file with one request per line: "<user agent>\t<JSON body>"
-- BENCH_HEADERS  extra headers, one "Name: value" per line (content type, ingest key)
-- BENCH_OUT      where done() writes the summary (requests, errors, latency percentiles)
--
-- Requests are formatted once in init(); request() only hands the next one out, so the
-- load generator spends its time on the socket, not in Lua.

local prepared = {}
local next_index = 0

local function parse_headers(text)
  local headers = {}
  for line in string.gmatch(text or "", "[^\n]+") do
    local name, value = string.match(line, "^([^:]+):%s*(.*)$")
    if name then headers[name] = value end
  end
  return headers
end

function init(args)
  local headers = parse_headers(os.getenv("BENCH_HEADERS"))
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    local user_agent, body = string.match(line, "^([^\t]*)\t(.*)$")
    headers["User-Agent"] = user_agent
    prepared[#prepared + 1] = wrk.format("POST", nil, headers, body)
  end
  -- each wrk thread starts at a different place in the rotation
  next_index = math.random(#prepared)
end

function request()
  next_index = next_index % #prepared + 1
  return prepared[next_index]
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
  out:close()
end
