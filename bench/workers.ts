/**
 * Issue 12, "every core": `server.workers: 1` against `server.workers: 2`, the same config on one
 * Redis. Per round a fresh `keygate serve`, warmed, then a closed loop (wrk -t1, one cached key);
 * the CPU every keygate process used (primary and workers, /proc) divided by the requests
 * answered, throughput, and memory: idle RSS and PSS of each process once it is ready, peak RSS
 * after the load. Logs at info go to a pipe this script drains (as a log collector would), so a
 * worker's line-end cut writes (log/sink.ts) are in the figure.
 *
 * Nothing is pinned: two workers need both cores, and the load generator, the upstream and
 * Redis share them; on a two-core machine the scaling figure is therefore a floor, and the
 * machine's load average (other users) is printed with the result.
 *
 *   node bench/workers.ts            print the table
 *   node bench/workers.ts --write    also write its section of docs/benchmarks.md
 *   BENCH_ROUNDS=4 BENCH_ROUND_MS=8000 BENCH_CONNECTIONS=32 BENCH_RATE=500 (the defaults)
 *   BENCH_ENTRY=src runs the .ts sources even when dist/ is built
 *   BENCH_IDLE_MS=20000: how long after start idle memory is read
 *
 * Two CPU figures: in the closed loop (as fast as it goes: more processes than cores inflate CPU
 * time with context switches), and at a fixed BENCH_RATE req/s that both configurations sustain
 * (the same work each: the fair "per request" comparison).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startRedis } from '../test/helpers/redis.ts';
import { wrk } from './lib/wrk.ts';
import { fixedRate } from './lib/fixedrate.ts';
import { cpuMicros, peakRssMiB, rssMiB } from './lib/proc.ts';
import { fmt, machine, writeSection } from './lib/report.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 4);
const ROUND_MS = Number(process.env['BENCH_ROUND_MS'] ?? 8_000);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const TOKEN = 'bench-workers-admin-token-0123456789';
const DIST = fileURLToPath(new URL('../dist/cli/bin.js', import.meta.url));
// The compiled entry (what the image and the npm package run) when built (`npm run build`): the
// .ts sources cost ≈ 44 MB more per process (docs/operations.md, Footprint), in every worker.
const CLI = process.env['BENCH_ENTRY'] === 'src' || !existsSync(DIST) ? fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)) : DIST;
const ENTRY = CLI === DIST ? 'compiled dist/cli/bin.js' : 'the .ts sources';
const RATE = Number(process.env['BENCH_RATE'] ?? 500);
const UPSTREAM = fileURLToPath(new URL('./upstream.mjs', import.meta.url));
mkdirSync(fileURLToPath(new URL('./.work/', import.meta.url)), { recursive: true });
if (spawnSync('wrk', ['--version']).error !== undefined) throw new Error('bench/workers.ts needs wrk (apt-get install wrk)');

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

const children = new Set<ChildProcess>();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

function start(argv: string[]): ChildProcess {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

/** Resolves with the pids serving (the workers', or the single process's) once it is listening. */
function listening(child: ChildProcess): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let found = false;
    const timer = setTimeout(() => reject(new Error('keygate not listening within 60 s')), 60_000);
    child.stdout?.on('data', (c: Buffer) => {
      if (found) return; // drained, as a log collector would
      buf += c.toString();
      for (const line of buf.split('\n')) {
        if (!line.includes('"msg":"keygate listening"')) continue;
        found = true;
        clearTimeout(timer);
        const l = JSON.parse(line) as { pids?: number[] };
        resolve(l.pids ?? []);
        buf = '';
        return;
      }
    });
    child.on('exit', (code) => reject(new Error(`keygate exited (${code}) before listening`)));
  });
}

/** Proportional set size (shared pages split between the processes sharing them), MiB. */
function pssMiB(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

const redis = await startRedis();
const upPort = await freePort();
const upstream = start([UPSTREAM, String(upPort)]);
upstream.stdout?.resume();
const dir = mkdtempSync(join(tmpdir(), 'keygate-bench-workers-'));

function config(workers: number, port: number, adminPort: number): string {
  const file = join(dir, `keygate-${workers}.yaml`);
  writeFileSync(file, `
server: { port: ${port}, host: 127.0.0.1, workers: ${workers} }
admin: { port: ${adminPort}, host: 127.0.0.1, token: "${TOKEN}" }
log: { level: info }
store: { redis: "${redis.url}" }
upstreams: { app: { url: "http://127.0.0.1:${upPort}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET], upstream: app, action: application:view }
`);
  return file;
}

interface Round {
  workers: number; rps: number; p99: number; cpuUsPerReq: number;
  /** At the fixed rate. */
  rateCpuUsPerReq: number; rateP99: number;
  /** Idle, ready: [primary?, ...workers] */
  idleRss: number[]; idlePss: number[]; peakRss: number[]; load1: number;
}

let secret = '';
async function round(workers: number): Promise<Round> {
  const port = await freePort();
  const adminPort = await freePort();
  const gw = start([CLI, 'serve', '--config', config(workers, port, adminPort)]);
  gw.stderr?.resume();
  try {
    const serving = await listening(gw);
    const pids = workers === 1 ? [gw.pid as number] : [gw.pid as number, ...serving];
    if (secret === '') {
      const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      await (await request(`http://127.0.0.1:${adminPort}/v1/principals`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'bench', kind: 'service', roles: ['viewer'] }) })).body.dump();
      const k = await request(`http://127.0.0.1:${adminPort}/v1/keys`, { method: 'POST', headers: auth, body: JSON.stringify({ principal: 'bench' }) });
      secret = ((await k.body.json()) as { secret: string }).secret;
      writeFileSync(join(dir, 'secrets.txt'), `${secret}\n`);
    }
    // Idle: past the workers' start-up collection (1 s after each is ready, src/workers/worker.ts)
    // and V8's giving the pages back, which took 5–19 s after it here. BENCH_IDLE_MS to change.
    await new Promise((r) => setTimeout(r, Number(process.env['BENCH_IDLE_MS'] ?? 20_000)));
    const idleRss = pids.map(rssMiB);
    const idlePss = pids.map(pssMiB);
    const origin = `http://127.0.0.1:${port}`;
    const path = '/api/applications/42/items';
    await wrk({ origin, path, secretsFile: join(dir, 'secrets.txt'), seconds: 2, connections: CONNECTIONS, core: null });
    const cpu0 = pids.reduce((n, p) => n + cpuMicros(p), 0);
    const w = await wrk({ origin, path, secretsFile: join(dir, 'secrets.txt'), seconds: ROUND_MS / 1000, connections: CONNECTIONS, core: null });
    const cpu = pids.reduce((n, p) => n + cpuMicros(p), 0) - cpu0;
    if (w.errors > 0) throw new Error(`workers ${workers}: ${w.errors} failed requests`);
    const fixedCpu0 = pids.reduce((n, p) => n + cpuMicros(p), 0);
    const f = await fixedRate({ origin, path, secrets: [secret], rate: RATE, seconds: ROUND_MS / 1000, connections: 16, warmSeconds: 0 });
    const fixedCpu = pids.reduce((n, p) => n + cpuMicros(p), 0) - fixedCpu0;
    if (f.errors > 0) throw new Error(`workers ${workers}: ${f.errors} failed requests at ${RATE} req/s`);
    return {
      workers, rps: w.rps, p99: w.p99ms, cpuUsPerReq: cpu / w.requests, rateCpuUsPerReq: fixedCpu / f.sent, rateP99: f.p99ms,
      idleRss, idlePss, peakRss: pids.map(peakRssMiB), load1: loadavg()[0] ?? NaN,
    };
  } finally {
    await stop(gw);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const spread = (xs: number[], d = 1) => `${fmt(median(xs), d)} [${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}]`;

try {
  const load0 = loadavg();
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const workers of i % 2 === 0 ? [1, 2] : [2, 1]) {
      const r = await round(workers);
      rounds.push(r);
      process.stderr.write(`round ${i + 1}/${ROUNDS} workers ${workers}: ${fmt(r.rps, 0)} req/s, ${fmt(r.cpuUsPerReq, 1)} µs CPU per request (${fmt(r.rateCpuUsPerReq, 1)} at ${RATE}/s), idle RSS ${r.idleRss.map((x) => fmt(x, 0)).join('+')} MiB, PSS ${r.idlePss.map((x) => fmt(x, 0)).join('+')} MiB, load ${fmt(r.load1, 1)}\n`);
    }
  }
  const of = (w: number) => rounds.filter((r) => r.workers === w);
  const one = of(1);
  const two = of(2);
  const pairs = Array.from({ length: ROUNDS }, (_, i) => rounds.slice(2 * i, 2 * i + 2));
  const pairRatio = (f: (r: Round) => number) => pairs.map((p) => f(p.find((r) => r.workers === 2) as Round) / f(p.find((r) => r.workers === 1) as Round));
  // Memory a second worker adds: the two-worker tree (primary + 2 workers) minus the single process.
  const addedPss = pairs.map((p) => sum((p.find((r) => r.workers === 2) as Round).idlePss) - sum((p.find((r) => r.workers === 1) as Round).idlePss));
  const addedRss = pairs.map((p) => sum((p.find((r) => r.workers === 2) as Round).idleRss) - sum((p.find((r) => r.workers === 1) as Round).idleRss));
  const load1 = loadavg();
  const cpuRatio = pairRatio((r) => r.cpuUsPerReq);
  const rateCpuRatio = pairRatio((r) => r.rateCpuUsPerReq);
  const thrRatio = pairRatio((r) => r.rps);
  const perWorkerPss = two.map((r) => median(r.idlePss.slice(1)));
  const md = `## Workers (issue 12, "every core")

\`node bench/workers.ts\` — \`keygate serve\` with \`server.workers: 1\` and \`2\`, same config (Redis store, info logs
to a drained pipe, audit on), ${ROUNDS} alternating rounds of ${ROUND_MS / 1000} s, wrk -t1 with ${CONNECTIONS}
connections on one cached key, closed loop on loopback. Nothing pinned: ${availableParallelism()} cores shared by
keygate, wrk, the upstream and Redis — and by other users: load average ${load0.map((x) => fmt(x, 1)).join(' / ')} (1/5/15 min)
at the start, ${load1.map((x) => fmt(x, 1)).join(' / ')} at the end. Medians with [min–max]. ${machine()}; keygate runs ${ENTRY}.

| workers | closed loop: req/s | p99 (ms) | CPU per request, all keygate processes (µs) | at ${RATE} req/s: CPU per request (µs) | p99 (ms) | idle RSS per process (MiB) | idle PSS, all processes (MiB) | peak RSS per process (MiB) |
| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |
| 1 | ${spread(one.map((r) => r.rps), 0)} | ${fmt(median(one.map((r) => r.p99)), 2)} | ${spread(one.map((r) => r.cpuUsPerReq))} | ${spread(one.map((r) => r.rateCpuUsPerReq))} | ${fmt(median(one.map((r) => r.rateP99)), 2)} | ${fmt(median(one.map((r) => r.idleRss[0] as number)), 0)} | ${fmt(median(one.map((r) => sum(r.idlePss))), 0)} | ${fmt(median(one.map((r) => r.peakRss[0] as number)), 0)} |
| 2 | ${spread(two.map((r) => r.rps), 0)} | ${fmt(median(two.map((r) => r.p99)), 2)} | ${spread(two.map((r) => r.cpuUsPerReq))} | ${spread(two.map((r) => r.rateCpuUsPerReq))} | ${fmt(median(two.map((r) => r.rateP99)), 2)} | primary ${fmt(median(two.map((r) => r.idleRss[0] as number)), 0)}, workers ${fmt(median(two.map((r) => median(r.idleRss.slice(1)))), 0)} | ${fmt(median(two.map((r) => sum(r.idlePss))), 0)} | primary ${fmt(median(two.map((r) => r.peakRss[0] as number)), 0)}, workers ${fmt(median(two.map((r) => Math.max(...r.peakRss.slice(1)))), 0)} |

- ${median(rateCpuRatio) <= 1.05 ? 'PASS' : 'FAIL'} CPU per request, 2 workers ÷ 1, at a fixed ${RATE} req/s: **${spread(rateCpuRatio, 2)}**; in the closed loop ${spread(cpuRatio, 2)}
  (per ABAB pair; target: no regression per request, ≤ 1.05).
- Throughput, 2 workers ÷ 1: **${spread(thrRatio, 2)}** on this ${availableParallelism()}-core machine, with the load generator,
  upstream and Redis on the same cores (a single process was already using more than one core's worth with them).
- Memory a second worker adds (two-worker tree − single process, idle): PSS **${spread(addedPss, 0)} MiB**, RSS ${spread(addedRss, 0)} MiB
  (RSS counts the shared Node binary and libraries in every process; PSS splits them). Each further worker adds one
  worker's PSS, ${spread(perWorkerPss, 0)} MiB (the primary is paid once).
- ${median(perWorkerPss) <= 60 ? 'PASS' : 'FAIL'} memory per added worker (PSS): ${fmt(median(perWorkerPss), 0)} MiB, target ≤ 60 MiB.
`;
  process.stdout.write(md);
  if (process.argv.includes('--write')) writeSection('workers', md);
} finally {
  for (const c of [...children]) await stop(c);
  await redis.stop();
}
