/**
 * Issue 14's CPU target: gateway CPU per request with a rate limit attached against the same
 * config without one, on the cached path (a warm key, a warm bucket). Target: at most 3 µs more
 * per request.
 *
 * Same harness as bench/audit-overhead.ts: `keygate serve` in a child process (Redis store,
 * info logs to /dev/null), bench/upstream.mjs in another, alternating rounds (ABAB…), each a
 * fresh gateway, warmed, then a closed loop; the CPU the gateway process used (/proc) divided
 * by the requests it answered. keygate is pinned to core 0 when taskset and 2+ cores exist.
 *
 *   node bench/limits-cpu.ts            print the table
 *   node bench/limits-cpu.ts --write    also write its section of docs/benchmarks.md
 *   BENCH_ROUNDS=5 BENCH_ROUND_MS=8000 BENCH_CONNECTIONS=16 (the defaults)
 *
 * Loopback only; bounded by rounds × time.
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
const TOKEN = 'bench-limits-admin-token-0123456789';
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
const dir = mkdtempSync(join(tmpdir(), 'keygate-bench-limits-'));

function config(limited: boolean, port: number, adminPort: number): string {
  const file = join(dir, `keygate-${limited ? 'limited' : 'free'}.yaml`);
  // A limit far above what the load reaches: every request passes, decided from the lease.
  writeFileSync(file, `
server: { port: ${port}, host: 127.0.0.1 }
admin: { port: ${adminPort}, host: 127.0.0.1, token: "${TOKEN}" }
log: { level: info }
store: { redis: "${redis.url}" }
audit: { enabled: false }
limits: { roomy: { rate: 1000000000/h, burst: 10000000 } }
upstreams: { app: { url: "http://127.0.0.1:${upPort}" } }
roles: { viewer: { actions: [application:view]${limited ? ', limit: roomy' : ''} } }
routes:
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET], upstream: app, action: application:view }
`);
  return file;
}

interface Round { limited: boolean; r: LoadResult; meanMs: number; cpuUsPerReq: number }

let secret = '';
const WRK = spawnSync('wrk', ['--version']).error === undefined;

/** One wrk run with the bench key (bench/wrk/rotate-keys.lua, a one-line secrets file). */
async function wrkLoad(origin: string): Promise<LoadResult> {
  const secretsFile = join(dir, 'secrets.txt');
  writeFileSync(secretsFile, `${secret}\n`);
  const w = await wrk({ origin, path: '/api/applications/42/items', secretsFile, seconds: ROUND_MS / 1000, connections: CONNECTIONS, core: null });
  return { requests: w.requests, errors: w.errors, statuses: new Map(), seconds: w.seconds, rps: w.rps, p50ms: w.p50ms, p99ms: w.p99ms };
}

async function round(limited: boolean): Promise<Round> {
  const port = await freePort();
  const adminPort = await freePort();
  const gw = start([CLI, 'serve', '--config', config(limited, port, adminPort)], 0);
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
    // wrk where installed: it leaves core 1's CPU to the upstream and Redis.
    const r: LoadResult = WRK
      ? await wrkLoad(origin)
      : await load({ origin, connections: CONNECTIONS, durationMs: ROUND_MS, maxRequests: 2_000_000, request: (i) => ({ path: `/api/applications/${i % 100}/items`, headers }) });
    const cpu = cpuMicros(gw.pid as number) - cpu0;
    return { limited, r, meanMs: (CONNECTIONS / r.rps) * 1000, cpuUsPerReq: cpu / r.requests };
  } finally {
    await stop(gw);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

try {
  await untilUp(`http://127.0.0.1:${upPort}/`, upstream);
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const limited of i % 2 === 0 ? [true, false] : [false, true]) {
      const r = await round(limited);
      const errors = r.r.errors + [...r.r.statuses].filter(([s]) => s !== 200).reduce((n, [, c]) => n + c, 0);
      if (errors > 0) throw new Error(`round ${i} (limit ${limited ? 'on' : 'off'}): ${errors} failed requests`);
      rounds.push(r);
      process.stderr.write(`round ${i + 1}/${ROUNDS} limit ${limited ? 'on ' : 'off'}: ${fmt(r.r.rps, 0)} req/s, ${fmt(r.cpuUsPerReq, 1)} µs CPU per request\n`);
    }
  }
  const side = (limited: boolean) => {
    const rs = rounds.filter((r) => r.limited === limited);
    return {
      rps: median(rs.map((r) => r.r.rps)), mean: median(rs.map((r) => r.meanMs)), p50: median(rs.map((r) => r.r.p50ms)),
      p99: median(rs.map((r) => r.r.p99ms)), cpu: median(rs.map((r) => r.cpuUsPerReq)), requests: rs.reduce((n, r) => n + r.r.requests, 0),
    };
  };
  const on = side(true);
  const off = side(false);
  // Each ABAB pair ran back to back: the median of the pairs' ratios cancels slow drift.
  const pairs = Array.from({ length: ROUNDS }, (_, i) => rounds.slice(2 * i, 2 * i + 2));
  const pairDiff = (f: (r: Round) => number) => median(pairs.map((p) => f(p.find((r) => r.limited)!) - f(p.find((r) => !r.limited)!)));
  const extraCpu = pairDiff((r) => r.cpuUsPerReq);
  const md = `## Rate limit CPU overhead (issue 14)

\`node bench/limits-cpu.ts\` — keygate (\`keygate serve\`, Redis store, info logs, audit off) with a rate limit
attached to the caller's role (far above the load: every request is decided from the replica's lease) and without;
${ROUNDS} alternating rounds of ${ROUND_MS / 1000} s each, ${CONNECTIONS} connections, closed loop on loopback
(${WRK ? 'wrk' : 'a Node load generator'}); medians of the rounds. ${PIN ? 'keygate pinned to core 0; load generator, upstream and Redis on core 1.' : 'Not pinned (fewer than 2 cores or no taskset).'} ${machine()}.

| limit | req/s | p99 (ms) | gateway CPU per request (µs) |
| --- | ---: | ---: | ---: |
| none | ${fmt(off.rps, 0)} | ${fmt(off.p99, 3)} | ${fmt(off.cpu, 1)} |
| attached | ${fmt(on.rps, 0)} | ${fmt(on.p99, 3)} | ${fmt(on.cpu, 1)} |

**CPU per request, limit attached − none: ${fmt(extraCpu, 2)} µs** (median of the per-pair differences; target ≤ 3 µs).
`;
  process.stdout.write(md);
  if (process.argv.includes('--write')) writeSection('limits-cpu', md);
} finally {
  for (const c of [...children]) await stop(c);
  await redis.stop();
}
