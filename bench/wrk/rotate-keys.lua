-- Every request: GET $BENCH_PATH with "Authorization: Bearer <secret>", rotating over the
-- secrets in $BENCH_SECRETS (one per line). keygate thus sees all 10k keys, and the other systems
-- parse exactly the same bytes. Run with -t1: the counter is per thread.
local path = os.getenv("BENCH_PATH") or "/api/applications/42/items"
local secrets = {}
for line in io.lines(os.getenv("BENCH_SECRETS")) do
  secrets[#secrets + 1] = "Bearer " .. line
end
local i = 0

request = function()
  i = i % #secrets + 1
  return wrk.format("GET", path, { ["Authorization"] = secrets[i] })
end

-- One machine-readable line for bench/lib/wrk.ts. errors.status counts answers >= 400, so a
-- refused key (401) can never pass as throughput.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
