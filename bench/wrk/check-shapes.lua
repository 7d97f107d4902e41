-- Decision-mode load (bench/check.ts, bench/grpc-check.ts): rotating over the secrets in
-- $BENCH_SECRETS like rotate-keys.lua. $BENCH_SHAPE picks what is sent:
--   proxy  GET $BENCH_PATH with Authorization (keygate proxying, the baseline)
--   nginx  GET /check with X-Original-Method and X-Original-URI ($BENCH_PATH)
--   envoy  the original request under Envoy's path_prefix: GET /envoy$BENCH_PATH
-- Run with -t1: the counter is per thread.
local path = os.getenv("BENCH_PATH") or "/api/applications/42/items"
local shape = os.getenv("BENCH_SHAPE") or "nginx"
local secrets = {}
for line in io.lines(os.getenv("BENCH_SECRETS")) do
  secrets[#secrets + 1] = "Bearer " .. line
end
local i = 0

request = function()
  i = i % #secrets + 1
  if shape == "proxy" then
    return wrk.format("GET", path, { ["Authorization"] = secrets[i] })
  end
  if shape == "envoy" then
    return wrk.format("GET", "/envoy" .. path, { ["Authorization"] = secrets[i], ["Content-Length"] = "0" })
  end
  return wrk.format("GET", "/check", {
    ["Authorization"] = secrets[i], ["X-Original-Method"] = "GET", ["X-Original-URI"] = path,
  })
end

-- The same machine-readable line as rotate-keys.lua; a refused check (>= 400) counts as an error.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
