/**
 * Proxy overhead bench: keygate against the upstream alone, bare undici and http-proxy-3
 * passthroughs, @fastify/http-proxy and nginx, plus 100 MiB / 1 GiB streaming through keygate.
 * Entry point is bench/run.sh (`npm run bench`), which checks tools and pins this process to
 * core 1; systems under test run on core 0. BENCH_QUICK=1: 1 round, 3 s runs, 100 MiB only.
 * Writes docs/benchmarks.md (section "proxy"); QUICK writes bench/.work/benchmarks-quick.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/ports.ts';
import { TICK_US, coreTicks, killAll, setPidsFile, startPinned, stopGroup, tree, treeCpuMicros, treePeakRssMiB, waitForPort } from './lib/procs.ts';
import { idleRss } from './lib/idle-rss.ts';
import { makeSecrets, writeKeygateConfig } from './lib/keygate-config.ts';
import { ROOT, SYSTEMS, type Ctx, type System } from './lib/systems.ts';
import { wrk } from './lib/wrk.ts';
import { fixedRate } from './lib/fixedrate.ts';
import { transfer } from './lib/streaming.ts';
import { publish, type Outcome, type Results, type Round, type StreamRow } from './lib/proxy-report.ts';

const QUICK = process.env['BENCH_QUICK'] === '1';
const num = (k: string, d: number) => Number(process.env[k] ?? d);
const CFG = {
  // 8 rounds (issue 12): on the shared 2-core VM the same system's req/s moved by up to 2x
  // between runs minutes apart; a median of 8 per-round ratios is much steadier than one of 3.
  rounds: num('BENCH_ROUNDS', QUICK ? 1 : 8),
  seconds: num('BENCH_SECONDS', QUICK ? 3 : 8),
  warmSeconds: num('BENCH_WARM', QUICK ? 1 : 3),
  latSeconds: num('BENCH_LAT_SECONDS', QUICK ? 3 : 8),
  // Issue 12's latency target is at half keygate's measured capacity: 0 (the default) = probe
  // keygate's req/s once before the rounds and use half of it for every system.
  rate: num('BENCH_RATE', 0),
  connections: num('BENCH_CONNECTIONS', 50),
  sizes: QUICK ? [100 * 2 ** 20] : [100 * 2 ** 20, 2 ** 30],
  only: (process.env['BENCH_ONLY'] ?? '').split(',').filter((s) => s !== ''),
};
const PATH = '/api/applications/42/items';
// cpus(), not availableParallelism(): run.sh has pinned this process to one core already.
const pinned = cpus().length >= 2;
const [SUT_CORE, LOAD_CORE] = pinned ? [0, 1] : [null, null];

const work = join(ROOT, 'bench/.work');
mkdirSync(work, { recursive: true });
setPidsFile(join(work, 'pids'));
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { killAll(); process.exit(130); });

const log = (s: string) => process.stderr.write(`${s}\n`);
const secretsFile = join(work, 'secrets.txt');
const secrets = makeSecrets(secretsFile);
const upstreamPort = await freePort();
const upstream = startPinned(LOAD_CORE, [process.execPath, join(ROOT, 'bench/upstream.mjs'), String(upstreamPort)]);
await waitForPort(upstreamPort, upstream);
const ctx: Ctx = { core: SUT_CORE, upstream: `http://127.0.0.1:${upstreamPort}`, upstreamPort, work, secrets };
const systems = SYSTEMS.filter((s) => CFG.only.length === 0 || CFG.only.includes(s.id));
if (!pinned) log('fewer than 2 cores: running unpinned, figures are not comparable to pinned runs');

/** Correctness before speed: a known key gets 200 everywhere; keygate must also refuse a bad key. */
async function check(sys: System, origin: string): Promise<void> {
  const get = async (secret: string) => {
    const r = await fetch(origin + PATH, { headers: { authorization: `Bearer ${secret}` } });
    await r.arrayBuffer();
    return r.status;
  };
  const ok = await get(secrets[0] as string);
  if (ok !== 200) throw new Error(`GET ${PATH} with a valid key answered ${ok}`);
  if (sys.id.startsWith('keygate')) {
    const bad = await get('kg_not-a-real-key');
    if (bad !== 401) throw new Error(`a bad key answered ${bad}, not 401: auth is not on the path`);
  }
}

async function measure(sys: System): Promise<Outcome> {
  const why = sys.unavailable?.() ?? null;
  if (why !== null) return { skipped: why };
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  let s: Awaited<ReturnType<System['start']>> | undefined;
  try {
    s = await sys.start(port, ctx);
    await check(sys, origin);
  } catch (e) {
    if (s !== undefined) await stopGroup(s);
    return { skipped: `${sys.id.startsWith('keygate') ? 'keygate not available' : 'failed to start'}: ${(e as Error).message.slice(0, 300)}` };
  }
  try {
    const run = (seconds: number) => wrk({ origin, path: PATH, secretsFile, seconds, connections: CFG.connections, core: LOAD_CORE });
    await run(CFG.warmSeconds);
    const [cpu0, c0, c1] = [treeCpuMicros(s.pid), coreTicks(0), coreTicks(1)];
    const w = await run(CFG.seconds);
    const [cpu1, d0, d1] = [treeCpuMicros(s.pid), coreTicks(0), coreTicks(1)];
    const windowUs = (d0.total - c0.total) * TICK_US;
    const lat = await fixedRate({ origin, path: PATH, secrets, rate: CFG.rate, seconds: CFG.latSeconds, connections: CFG.connections });
    return {
      rps: w.rps, requests: w.requests, wrkErrors: w.errors,
      cpuUsPerReq: (cpu1 - cpu0) / w.requests, rssMiB: treePeakRssMiB(s.pid),
      p50ms: lat.p50ms, p99ms: lat.p99ms, latErrors: lat.errors, achievedRate: lat.achievedRps,
      core0Busy: (d0.busy - c0.busy) / Math.max(1, d0.total - c0.total),
      core1Busy: (d1.busy - c1.busy) / Math.max(1, d1.total - c1.total),
      // Core 0 time spent neither in the system under test nor in interrupts: other work, steal.
      core0Foreign: (d0.busy - c0.busy - (d0.irq - c0.irq)) / Math.max(1, d0.total - c0.total) - (cpu1 - cpu0) / Math.max(1, windowUs),
    };
  } finally {
    await stopGroup(s);
  }
}

/** keygate's req/s in one wrk run, for the fixed-rate latency runs at half of it. */
async function probeCapacity(): Promise<number> {
  const sys = systems.find((s) => s.id === 'keygate');
  if (sys === undefined || sys.unavailable?.() != null) return 1000;
  const port = await freePort();
  const s = await sys.start(port, ctx);
  try {
    const run = (seconds: number) => wrk({ origin: `http://127.0.0.1:${port}`, path: PATH, secretsFile, seconds, connections: CFG.connections, core: LOAD_CORE });
    await run(CFG.warmSeconds);
    return (await run(CFG.seconds)).rps;
  } finally {
    await stopGroup(s);
  }
}
if (CFG.rate <= 0) {
  const capacity = await probeCapacity();
  CFG.rate = Math.max(100, Math.round(capacity / 2));
  log(`keygate capacity ${capacity.toFixed(0)} req/s: latency runs at ${CFG.rate} req/s`);
}

const rounds: Round[] = [];
const idle: { embedded: number; declared: number }[] = [];
for (let r = 1; r <= CFG.rounds; r++) {
  const round: Round = {};
  for (const sys of systems) {
    log(`round ${r}/${CFG.rounds}: ${sys.id} ...`);
    const o = await measure(sys);
    round[sys.id] = o;
    log('skipped' in o ? `  ${o.skipped}` : `  ${o.rps.toFixed(0)} req/s, ${o.cpuUsPerReq.toFixed(1)} µs CPU/req, p50 ${o.p50ms.toFixed(2)} ms, p99 ${o.p99ms.toFixed(2)} ms, ${o.rssMiB.toFixed(1)} MiB, errors ${o.wrkErrors}+${o.latErrors}`);
  }
  if (systems.some((sys) => sys.id === 'keygate') && SYSTEMS.find((x) => x.id === 'keygate')?.unavailable?.() == null) {
    const tenK = (port: number, adminPort: number): string => {
      const f = join(work, 'keygate-idle.yaml');
      writeKeygateConfig(f, { port, adminPort, upstream: ctx.upstream, secrets, logLevel: 'info' });
      return f;
    };
    const embedded = (await idleRss(SUT_CORE, null)).rss;
    const declared = (await idleRss(SUT_CORE, tenK)).rss;
    idle.push({ embedded, declared });
    log(`  idle RSS: embedded default ${embedded.toFixed(1)} MiB, 10k declared keys ${declared.toFixed(1)} MiB`);
  }
  rounds.push(round);
}

/** Streaming: a fresh process per transfer, VmHWM reset just before it, so the peak is that transfer's and nothing else's. */
const streams: StreamRow[] = [];
for (const sys of SYSTEMS.filter((s) => s.id === 'keygate' || s.id === 'undici')) {
  const why = sys.unavailable?.() ?? null;
  for (const size of CFG.sizes) {
    for (const direction of ['upload', 'download'] as const) {
      if (why !== null) { streams.push({ system: sys.id, size, direction, skipped: why }); continue; }
      const port = await freePort();
      log(`stream: ${sys.id} ${direction} ${size / 2 ** 20} MiB ...`);
      let s: Awaited<ReturnType<System['start']>> | undefined;
      try {
        s = await sys.start(port, ctx);
        // The transfer's own peak: VmHWM reset to the current RSS first, or keygate's start-up
        // peak (the 10k-key config load) would hide any stream that stays below it (bench/memory.ts).
        for (const pid of tree(s.pid)) writeFileSync(`/proc/${pid}/clear_refs`, '5');
        const t = await transfer(`http://127.0.0.1:${port}`, secrets[1] as string, direction, size);
        streams.push({ system: sys.id, size, direction, ...t, rssMiB: treePeakRssMiB(s.pid) });
        log(`  ${t.detail}, ${t.mibPerSec.toFixed(0)} MiB/s, peak RSS ${treePeakRssMiB(s.pid).toFixed(1)} MiB`);
      } catch (e) {
        streams.push({ system: sys.id, size, direction, skipped: `${(e as Error).message.slice(0, 300)}` });
        log(`  failed: ${(e as Error).message.slice(0, 300)}`);
      } finally {
        if (s !== undefined) await stopGroup(s);
      }
    }
  }
}
await stopGroup(upstream);

/** First line a tool prints about itself, whichever stream it uses (nginx -v: stderr; wrk -v: stdout, exit 1). */
const ver = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? 'not found';
};
const machine = {
  nproc: String(cpus().length), // not `nproc`: this process is pinned to one core
  cpu: /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown',
  kernel: release(), node: process.version, nginx: ver('nginx', ['-v']), wrk: ver('wrk', ['-v']).replace(/ Copyright.*/, ''),
  // What was measured: keygate is under active development in this tree.
  commit: `${ver('git', ['rev-parse', '--short', 'HEAD'])}${ver('git', ['status', '--porcelain', '--', 'src']) !== '' ? ' + uncommitted changes in src/' : ''}`,
};
const env = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_')).map(([k, v]) => `${k}=${v} `).join('');
const results: Results = {
  date: new Date().toISOString(), command: `${env}npm run bench`, cfg: CFG, quick: QUICK, pinned, machine, rounds, streams, idle,
  audit: existsSync(join(work, 'audit-overhead.json')) ? (JSON.parse(readFileSync(join(work, 'audit-overhead.json'), 'utf8')) as Results['audit']) : null,
  systems: systems.map((s) => ({ id: s.id, label: s.label })),
};
// QUICK results go elsewhere, so a smoke run never overwrites the last full run's figures.
writeFileSync(join(work, QUICK ? 'results-quick.json' : 'results.json'), JSON.stringify(results, null, 2));
publish(results);
