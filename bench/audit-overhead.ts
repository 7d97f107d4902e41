/**
 * The request path's cost of auditing: keygate with the audit trail on (a Redis Stream, the
 * production setup) against the same config with `audit: { enabled: false }`. Target: latency
 * within 5%.
 *
 * keygate runs as `keygate serve` in a child process (info logs to /dev/null, as in the proxy
 * bench), the upstream (bench/upstream.mjs) in another, the load generator here; Redis is real.
 * Rounds alternate on/off (ABAB…) so drift in the machine hits both alike; each round is a fresh
 * gateway, warmed, then a closed loop of CONNECTIONS for ROUND_MS. The ratio compares the
 * median round of each side.
 *
 *   node bench/audit-overhead.ts            print the table and the ratio
 *   node bench/audit-overhead.ts --write    also write its section of docs/benchmarks.md
 *   BENCH_ROUNDS=5 BENCH_ROUND_MS=8000 BENCH_CONNECTIONS=16 (the defaults)
 *
 * With 2+ cores and taskset, keygate runs pinned to core 0 and everything else (this load
 * generator, the upstream, Redis) to core 1, as in bench/proxy.ts: unpinned, the scheduler's
 * placement moved single rounds by ±15%, more than the effect measured.
 *
 * Loopback only; bounded by rounds × time (about a minute with the defaults).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startRedis } from '../test/helpers/redis.ts';
import { load, type LoadResult } from './lib/loadgen.ts';
import { wrk } from './lib/wrk.ts';
import { cpuMicros } from './lib/proc.ts';
import { fmt, machine, writeSection } from './lib/report.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
mkdirSync(fileURLToPath(new URL('./.work/', import.meta.url)), { recursive: true });
const ROUND_MS = Number(process.env['BENCH_ROUND_MS'] ?? 8_000);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 16);
const TOKEN = 'bench-audit-admin-token-0123456789';
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const UPSTREAM = fileURLToPath(new URL('./upstream.mjs', import.meta.url));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

const PIN = cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
if (PIN && process.env['KG_BENCH_PINNED'] !== '1') {
  // Re-run this script on core 1; Redis and the upstream, started from it, inherit that core.
  const r = spawnSync('taskset', ['-c', '1', process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, KG_BENCH_PINNED: '1' } });
  process.exit(r.status ?? 1);
}

const children = new Set<ChildProcess>();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

/** A node child; `core` pins it (taskset execs node, so the pid is node's). */
function start(argv: string[], core?: number): ChildProcess {
  const child = PIN && core !== undefined
    ? spawn('taskset', ['-c', String(core), process.execPath, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(t);
}

async function untilUp(url: string, child: ChildProcess): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode})`);
    try {
      const r = await request(url);
      await r.body.dump();
      if (r.statusCode === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > end) throw new Error(`${url}: not up within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const redis = await startRedis();
const upPort = await freePort();
const upstream = start([UPSTREAM, String(upPort)]);
const dir = mkdtempSync(join(tmpdir(), 'keygate-bench-audit-'));

function config(audit: boolean, port: number, adminPort: number): string {
  const file = join(dir, `keygate-${audit ? 'on' : 'off'}.yaml`);
  writeFileSync(file, `
server: { port: ${port}, host: 127.0.0.1 }
admin: { port: ${adminPort}, host: 127.0.0.1, token: "${TOKEN}" }
log: { level: info }
store: { redis: "${redis.url}" }
audit: { enabled: ${audit} }
upstreams: { app: { url: "http://127.0.0.1:${upPort}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET], upstream: app, action: application:view }
`);
  return file;
}

interface Round { audit: boolean; r: LoadResult; meanMs: number; cpuUsPerReq: number }

let secret = '';
const WRK = spawnSync('wrk', ['--version']).error === undefined;

/** One wrk run with the bench key (bench/wrk/rotate-keys.lua, a one-line secrets file). */
async function wrkLoad(origin: string): Promise<LoadResult> {
  const secretsFile = join(dir, 'secrets.txt');
  writeFileSync(secretsFile, `${secret}\n`);
  const w = await wrk({ origin, path: '/api/applications/42/items', secretsFile, seconds: ROUND_MS / 1000, connections: CONNECTIONS, core: null });
  return { requests: w.requests, errors: w.errors, statuses: new Map(), seconds: w.seconds, rps: w.rps, p50ms: w.p50ms, p99ms: w.p99ms };
}

async function round(audit: boolean): Promise<Round> {
  const port = await freePort();
  const adminPort = await freePort();
  const gw = start([CLI, 'serve', '--config', config(audit, port, adminPort)], 0);
  try {
    await untilUp(`http://127.0.0.1:${adminPort}/readyz`, gw);
    if (secret === '') {
      const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      await (await request(`http://127.0.0.1:${adminPort}/v1/principals`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'bench', kind: 'service', roles: ['viewer'] }) })).body.dump();
      const k = await request(`http://127.0.0.1:${adminPort}/v1/keys`, { method: 'POST', headers: auth, body: JSON.stringify({ principal: 'bench' }) });
      secret = ((await k.body.json()) as { secret: string }).secret;
    }
    const headers = { authorization: `Bearer ${secret}` };
    const origin = `http://127.0.0.1:${port}`;
    await load({ origin, connections: CONNECTIONS, durationMs: 1_500, maxRequests: 20_000, request: () => ({ path: '/api/applications/42/items', headers }) });
    const cpu0 = cpuMicros(gw.pid as number);
    // wrk where installed: a Node load generator sharing core 1 with Redis ran out of CPU first
    // once Redis had the audit stream to write, which showed up as gateway "overhead".
    const r: LoadResult = WRK
      ? await wrkLoad(origin)
      : await load({ origin, connections: CONNECTIONS, durationMs: ROUND_MS, maxRequests: 2_000_000, request: (i) => ({ path: `/api/applications/${i % 100}/items`, headers }) });
    const cpu = cpuMicros(gw.pid as number) - cpu0;
    return { audit, r, meanMs: (CONNECTIONS / r.rps) * 1000, cpuUsPerReq: cpu / r.requests };
  } finally {
    await stop(gw);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

try {
  await untilUp(`http://127.0.0.1:${upPort}/`, upstream);
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const audit of i % 2 === 0 ? [true, false] : [false, true]) {
      const r = await round(audit);
      const errors = r.r.errors + [...r.r.statuses].filter(([s]) => s !== 200).reduce((n, [, c]) => n + c, 0);
      if (errors > 0) throw new Error(`round ${i} (audit ${audit ? 'on' : 'off'}): ${errors} failed requests`);
      rounds.push(r);
      process.stderr.write(`round ${i + 1}/${ROUNDS} audit ${audit ? 'on ' : 'off'}: ${fmt(r.r.rps, 0)} req/s, mean ${fmt(r.meanMs, 3)} ms, p99 ${fmt(r.r.p99ms, 2)} ms\n`);
    }
  }
  const side = (audit: boolean) => {
    const rs = rounds.filter((r) => r.audit === audit);
    return {
      rps: median(rs.map((r) => r.r.rps)), mean: median(rs.map((r) => r.meanMs)), p50: median(rs.map((r) => r.r.p50ms)),
      p99: median(rs.map((r) => r.r.p99ms)), cpu: median(rs.map((r) => r.cpuUsPerReq)), requests: rs.reduce((n, r) => n + r.r.requests, 0),
    };
  };
  const on = side(true);
  const off = side(false);
  const events = await (async () => {
    const { Redis } = await import('ioredis');
    const c = new Redis(redis.url);
    const n = await c.xlen('{kg}:audit');
    c.disconnect();
    return n;
  })();
  // Each ABAB pair ran back to back: the median of the pairs' ratios cancels slow drift.
  const pairs = Array.from({ length: ROUNDS }, (_, i) => rounds.slice(2 * i, 2 * i + 2));
  const pairRatio = (f: (r: Round) => number) => median(pairs.map((p) => f(p.find((r) => r.audit)!) / f(p.find((r) => !r.audit)!)));
  const ratio = pairRatio((r) => r.meanMs);
  const cpuRatio = pairRatio((r) => r.cpuUsPerReq);
  const md = `## Audit trail overhead

\`node bench/audit-overhead.ts\` — keygate (\`keygate serve\`, Redis store, info logs) with the audit trail on
(a Redis Stream, XADD batches) and off; ${ROUNDS} alternating rounds of ${ROUND_MS / 1000} s each, ${CONNECTIONS} connections,
closed loop on loopback (${WRK ? 'wrk' : 'a Node load generator'}); medians of the rounds. ${PIN ? 'keygate pinned to core 0; load generator, upstream and Redis on core 1.' : 'Not pinned (fewer than 2 cores or no taskset).'} ${machine()}.

| audit | req/s | mean latency (ms) | p50 (ms) | p99 (ms) | gateway CPU per request (µs) |
| --- | ---: | ---: | ---: | ---: | ---: |
| off | ${fmt(off.rps, 0)} | ${fmt(off.mean, 3)} | ${fmt(off.p50, 3)} | ${fmt(off.p99, 3)} | ${fmt(off.cpu, 1)} |
| on | ${fmt(on.rps, 0)} | ${fmt(on.mean, 3)} | ${fmt(on.p50, 3)} | ${fmt(on.p99, 3)} | ${fmt(on.cpu, 1)} |

**Latency with auditing on / off: ${fmt(ratio, 3)}** (target ≤ 1.05); gateway CPU per request on / off: ${fmt(cpuRatio, 3)}
(medians of the per-pair ratios). ${events.toLocaleString('en-US')} audit events were written to the stream
during the "on" rounds (${on.requests.toLocaleString('en-US')} requests measured, plus warm-up).
`;
  process.stdout.write(`${md}\nratio ${fmt(ratio, 4)}\n`);
  if (process.argv.includes('--write')) writeSection('audit-overhead', md);
  // For bench/proxy.ts's target table (npm run bench runs this first).
  writeFileSync(fileURLToPath(new URL('./.work/audit-overhead.json', import.meta.url)), JSON.stringify({ date: new Date().toISOString(), rounds: ROUNDS, latencyRatio: ratio, cpuRatio, on, off }, null, 2));
} finally {
  for (const c of [...children]) await stop(c);
  await redis.stop();
}
