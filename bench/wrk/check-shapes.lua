-- The HTTP request shapes beside the gRPC Check bench (bench/grpc-check.ts), rotating over the
-- secrets in $BENCH_SECRETS like rotate-keys.lua:
--   BENCH_SHAPE=proxy   GET $BENCH_PATH with Authorization (keygate proxying)
--   BENCH_SHAPE=nginx   GET /check with X-Original-Method/-URI (nginx auth_request)
-- Run with -t1: the counter is per thread.
local path = os.getenv("BENCH_PATH") or "/api/applications/42/items"
local shape = os.getenv("BENCH_SHAPE") or "proxy"
local secrets = {}
for line in io.lines(os.getenv("BENCH_SECRETS")) do
  secrets[#secrets + 1] = "Bearer " .. line
end
local i = 0

request = function()
  i = i % #secrets + 1
  if shape == "nginx" then
    return wrk.format("GET", "/check", { ["Authorization"] = secrets[i], ["X-Original-Method"] = "GET", ["X-Original-URI"] = path })
  end
  return wrk.format("GET", path, { ["Authorization"] = secrets[i] })
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
