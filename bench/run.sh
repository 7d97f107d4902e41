#!/usr/bin/env bash
# Proxy bench entry point: `npm run bench`, or `BENCH_QUICK=1 npm run bench` for a ~2-minute
# smoke run; `bash bench/run.sh memory` (npm run bench:memory) runs only the memory targets.
# Installs what is missing (wrk, nginx-light via apt when root), compiles dist/, then runs
# bench/proxy.ts pinned to core 1; it pins every system under test to core 0 itself.
# Loopback only; every load run is bounded; everything started is killed on exit, even on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
WORK=bench/.work
mkdir -p "$WORK"

# Processes bench/proxy.ts started, by process-group id (it lists them in $WORK/pids): killed here
# too, in case it died without cleaning up.
NODE_PID=
cleanup() {
  [ -n "$NODE_PID" ] && kill -TERM "$NODE_PID" 2>/dev/null && sleep 1
  [ -f "$WORK/pids" ] || return 0
  while read -r pg; do [ -n "$pg" ] && kill -KILL -- "-$pg" 2>/dev/null || true; done < "$WORK/pids"
  rm -f "$WORK/pids"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]} (install with: apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi

if ! node -e 'process.exit(process.features.typescript ? 0 : 1)' 2>/dev/null; then
  echo "Node $(node -v 2>/dev/null || echo '(none)') cannot run TypeScript directly; need Node >= 22.18 (scripts/dev installs one into .tools/)" >&2
  exit 1
fi
for pkg in undici http-proxy-3 fastify @fastify/http-proxy; do
  if [ ! -d "node_modules/$pkg" ]; then
    echo "node_modules/$pkg missing: installing the locked dependencies (npm ci)" >&2
    npm ci --no-audit --no-fund >&2
    break
  fi
done

# keygate is measured as it ships (issue 12): the compiled dist/ that the npm package's bin and
# the image run, not the .ts sources (bench/lib/keygate-entry.ts).
echo "compiling dist/ (tsc -p tsconfig.build.json)" >&2
node node_modules/typescript/bin/tsc -p tsconfig.build.json

# `bash bench/run.sh memory` (npm run bench:memory): the memory targets alone (bench/memory.ts).
if [ "${1:-}" = memory ]; then
  if [ "$(nproc --all)" -ge 2 ]; then taskset -c 1 node bench/memory.ts & else node bench/memory.ts & fi
  NODE_PID=$!
  wait "$NODE_PID"
  NODE_PID=
  exit 0
fi

# The console's figure (issue 15: 1,000 principals rendered in Debian's chromium), its own section
# of docs/benchmarks.md; needs /usr/bin/chromium. BENCH_SKIP_CONSOLE=1 (or BENCH_QUICK=1) skips it.
if [ "${BENCH_SKIP_CONSOLE:-0}" != 1 ] && [ "${BENCH_QUICK:-0}" != 1 ]; then
  node bench/console-principals.ts >&2 &
  NODE_PID=$!
  wait "$NODE_PID" || echo "console bench failed: docs/benchmarks.md keeps its previous console figures" >&2
  NODE_PID=
fi

# In the background + wait, so a TERM/INT to this script is acted on at once (bash defers traps
# while a foreground command runs) and the EXIT trap stops the bench and everything it started.
# The audit-trail target (latency on/off on a Redis Stream) first: bench/proxy.ts reads its
# result (bench/.work/audit-overhead.json) into the one target table. BENCH_SKIP_AUDIT=1 skips it.
rm -f "$WORK/audit-overhead.json"
if [ "${BENCH_SKIP_AUDIT:-0}" != 1 ] && [ "${BENCH_QUICK:-0}" != 1 ]; then
  node bench/audit-overhead.ts >&2 &
  NODE_PID=$!
  wait "$NODE_PID" || echo "audit-overhead bench failed: its target is reported as not measured" >&2
  NODE_PID=
fi

if [ "$(nproc --all)" -ge 2 ]; then
  taskset -c 1 node bench/proxy.ts &
else
  node bench/proxy.ts &
fi
NODE_PID=$!
wait "$NODE_PID"
NODE_PID=

# server.workers 1 against 2 (issue 12, "every core"): its own table and PASS/FAIL lines.
# BENCH_SKIP_WORKERS=1 skips it; it runs the compiled dist/ when built (`npm run build`).
if [ "${BENCH_SKIP_WORKERS:-0}" != 1 ] && [ "${BENCH_QUICK:-0}" != 1 ]; then
  node bench/workers.ts &
  NODE_PID=$!
  wait "$NODE_PID" || echo "workers bench failed: its targets are reported as not measured" >&2
  NODE_PID=
fi
