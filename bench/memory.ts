/**
 * Memory bench (issue 12, target 4), on its own: `npm run bench:memory` (= `bash bench/run.sh
 * memory`, which compiles dist/ and pins this process to core 1). keygate runs as shipped
 * (dist/cli/bin.js, bench/lib/keygate-entry.ts), pinned to core 0. Per round: idle RSS with the
 * embedded default config and with 10k declared keys (fresh processes left alone until RSS
 * settles), then keygate under the proxy bench's load (the same config, key rotation, warm-up,
 * wrk run and fixed-rate run at half the measured req/s) and its VmHWM at the end. Then 100 MiB
 * and 1 GiB streamed each way, one fresh process per transfer. Memory hardly depends on the
 * shared machine's CPU noise, so 3 rounds are enough (BENCH_ROUNDS). Writes docs/benchmarks.md
 * (section "memory"); BENCH_QUICK=1 (1 round, short runs, 100 MiB and 1 GiB still) writes
 * bench/.work/memory-quick.md instead.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/ports.ts';
import { killAll, setPidsFile, startPinned, stopGroup, treePeakRssMiB, treeRssMiB, waitForPort } from './lib/procs.ts';
import { makeSecrets, writeKeygateConfig } from './lib/keygate-config.ts';
import { ROOT, SYSTEMS, type Ctx } from './lib/systems.ts';
import { idleRss, type IdleRss } from './lib/idle-rss.ts';
import { KEYGATE_BIN } from './lib/keygate-entry.ts';
import { wrk } from './lib/wrk.ts';
import { fixedRate } from './lib/fixedrate.ts';
import { transfer } from './lib/streaming.ts';
import { median } from './lib/proxy-report.ts';
import { fmt, machine, writeSection } from './lib/report.ts';

const QUICK = process.env['BENCH_QUICK'] === '1';
const num = (k: string, d: number) => Number(process.env[k] ?? d);
const CFG = {
  rounds: num('BENCH_ROUNDS', QUICK ? 1 : 3),
  seconds: num('BENCH_SECONDS', QUICK ? 3 : 8),
  warmSeconds: num('BENCH_WARM', QUICK ? 1 : 3),
  latSeconds: num('BENCH_LAT_SECONDS', QUICK ? 3 : 8),
  connections: num('BENCH_CONNECTIONS', 50),
};
const PATH = '/api/applications/42/items';
const MB20_IN_MIB = 20e6 / 2 ** 20; // the "20 MB"; VmHWM is in KiB
const pinned = cpus().length >= 2;
const [SUT_CORE, LOAD_CORE] = pinned ? [0, 1] : [null, null];

const work = join(ROOT, 'bench/.work');
mkdirSync(work, { recursive: true });
setPidsFile(join(work, 'pids'));
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { killAll(); process.exit(130); });
const log = (s: string) => process.stderr.write(`${s}\n`);

const keygate = SYSTEMS.find((s) => s.id === 'keygate');
if (keygate === undefined) throw new Error('no keygate system in bench/lib/systems.ts');
const why = keygate.unavailable?.() ?? null;
if (why !== null) { log(why); process.exit(1); }

const secretsFile = join(work, 'secrets.txt');
const secrets = makeSecrets(secretsFile);
const upstreamPort = await freePort();
const upstream = startPinned(LOAD_CORE, [process.execPath, join(ROOT, 'bench/upstream.mjs'), String(upstreamPort)]);
await waitForPort(upstreamPort, upstream);
const ctx: Ctx = { core: SUT_CORE, upstream: `http://127.0.0.1:${upstreamPort}`, upstreamPort, work, secrets };
const tenK = (port: number, adminPort: number): string => {
  const f = join(work, 'keygate-idle.yaml');
  writeKeygateConfig(f, { port, adminPort, upstream: ctx.upstream, secrets, logLevel: 'info' });
  return f;
};

interface LoadRound { rps: number; rate: number; p99ms: number; errors: number; rssEnd: number; peak: number }

/** keygate under the proxy bench's load: VmHWM at the end is its peak over the whole run, start-up included. */
async function underLoad(): Promise<LoadRound> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const s = await (keygate as NonNullable<typeof keygate>).start(port, ctx);
  try {
    for (const [secret, want] of [[secrets[0] as string, 200], ['kg_not-a-real-key', 401]] as const) {
      const r = await fetch(origin + PATH, { headers: { authorization: `Bearer ${secret}` } });
      await r.arrayBuffer();
      if (r.status !== want) throw new Error(`GET ${PATH} answered ${r.status}, not ${want}`);
    }
    const run = (seconds: number) => wrk({ origin, path: PATH, secretsFile, seconds, connections: CFG.connections, core: LOAD_CORE });
    await run(CFG.warmSeconds);
    const w = await run(CFG.seconds);
    const rate = Math.max(100, Math.round(w.rps / 2));
    const lat = await fixedRate({ origin, path: PATH, secrets, rate, seconds: CFG.latSeconds, connections: CFG.connections });
    return { rps: w.rps, rate, p99ms: lat.p99ms, errors: w.errors + lat.errors, rssEnd: treeRssMiB(s.pid), peak: treePeakRssMiB(s.pid) };
  } finally {
    await stopGroup(s);
  }
}

const rounds: { embedded: IdleRss; declared: IdleRss; load: LoadRound }[] = [];
for (let r = 1; r <= CFG.rounds; r++) {
  log(`round ${r}/${CFG.rounds}: idle, embedded default ...`);
  const embedded = await idleRss(SUT_CORE, null);
  log(`  ${fmt(embedded.rss)} MiB (start-up peak ${fmt(embedded.peak)}); idle, 10k declared keys ...`);
  const declared = await idleRss(SUT_CORE, tenK);
  log(`  ${fmt(declared.rss)} MiB (start-up peak ${fmt(declared.peak)}); under the proxy load ...`);
  const load = await underLoad();
  log(`  ${fmt(load.rps, 0)} req/s, then ${load.rate} req/s fixed (p99 ${fmt(load.p99ms, 2)} ms), errors ${load.errors}: RSS ${fmt(load.rssEnd)} MiB at the end, peak ${fmt(load.peak)} MiB`);
  rounds.push({ embedded, declared, load });
}

/**
 * Streams: VmHWM is reset (`/proc/<pid>/clear_refs` 5: to the current RSS) just before the
 * transfer, so the peak is the transfer's own. Without it a fresh process's start-up peak (the
 * 10k-key config load) hides any stream that stays below it, and 1 GiB vs 100 MiB would compare
 * two start-ups.
 */
const streams: { size: number; direction: 'upload' | 'download'; before: number; startPeak: number; peak: number; verified: boolean; detail: string }[] = [];
const resetPeak = (pid: number) => writeFileSync(`/proc/${pid}/clear_refs`, '5');
for (const size of [100 * 2 ** 20, 2 ** 30]) {
  for (const direction of ['upload', 'download'] as const) {
    const port = await freePort();
    log(`stream: ${direction} ${size / 2 ** 20} MiB ...`);
    const s = await keygate.start(port, ctx);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const startPeak = treePeakRssMiB(s.pid);
      const before = treeRssMiB(s.pid);
      resetPeak(s.pid);
      const t = await transfer(`http://127.0.0.1:${port}`, secrets[1] as string, direction, size);
      const peak = treePeakRssMiB(s.pid);
      streams.push({ size, direction, before, startPeak, peak, verified: t.verified, detail: t.detail });
      log(`  ${t.detail}, ${fmt(t.mibPerSec, 0)} MiB/s, RSS before ${fmt(before)} MiB, peak during the transfer ${fmt(peak)} MiB (start-up peak ${fmt(startPeak)})`);
    } finally {
      await stopGroup(s);
    }
  }
}
await stopGroup(upstream);

const idleEmbedded = median(rounds.map((r) => r.embedded.rss));
const idleDeclared = median(rounds.map((r) => r.declared.rss));
const peak = Math.max(...rounds.map((r) => r.load.peak));
const streamPeak = (d: string, size: number) => {
  const s = streams.find((x) => x.direction === d && x.size === size);
  return s?.verified === true ? s.peak : Number.NaN;
};
const growth = (d: string) => streamPeak(d, 2 ** 30) - streamPeak(d, 100 * 2 ** 20);
const verdict = (x: number, ok: (x: number) => boolean) => (Number.isFinite(x) ? (ok(x) ? 'PASS' : 'FAIL') : 'not measured');
const targets = [
  ['4. idle RSS, embedded default config <= 90 MiB (median)', `${fmt(idleEmbedded)} MiB`, verdict(idleEmbedded, (x) => x <= 90)],
  ['4. idle RSS, 10k declared keys <= 140 MiB (median)', `${fmt(idleDeclared)} MiB`, verdict(idleDeclared, (x) => x <= 140)],
  ['4. keygate peak RSS over the proxy load <= 230 MiB (highest round)', `${fmt(peak)} MiB`, verdict(peak, (x) => x <= 230)],
  ...(['upload', 'download'] as const).map((d) => [`4. peak RSS, 1 GiB ${d} within 20 MB of 100 MiB`, `${fmt(growth(d))} MiB`, verdict(growth(d), (x) => x <= MB20_IN_MIB)]),
];
const perRound = rounds.map((r, i) => [
  String(i + 1), fmt(r.embedded.rss), fmt(r.embedded.peak), fmt(r.declared.rss), fmt(r.declared.peak),
  fmt(r.load.rps, 0), `${r.load.rate}`, fmt(r.load.rssEnd), fmt(r.load.peak), String(r.load.errors),
]);
const streamRows = streams.map((s) => [s.direction, `${s.size / 2 ** 20} MiB`, s.verified ? 'yes' : `NO (${s.detail})`, fmt(s.before), fmt(s.peak), fmt(s.startPeak)]);

const table = (head: string[], rows: string[][]) => [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const ver = (cmd: string, args: string[]) => `${spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? ''}`.trim();
const dirty = ver('git', ['status', '--porcelain', '--', 'src']) !== '' ? ' + uncommitted changes in src/' : '';
const env = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_')).map(([k, v]) => `${k}=${v} `).join('');
const md = `## Memory (bench/memory.ts, issue 12 target 4)

- Command: \`${env}npm run bench:memory\` (= \`bash bench/run.sh memory\`)${QUICK ? ' — QUICK smoke mode, not for quoting' : ''}
- Date: ${new Date().toISOString()}
- keygate: commit ${ver('git', ['rev-parse', '--short', 'HEAD'])}${dirty}, run as shipped: \`node ${KEYGATE_BIN} serve\` (compiled by bench/run.sh), which re-executes itself with its own V8 flags (src/cli/runtime-flags.ts), compacts the heap once after start and collects streamed buffers by bytes (src/memory/)
- Machine: ${machine()}, ${cpus().length} cores; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (1 / 5 / 15 min: other work on the machine)

### Method

- keygate pinned to core 0, the upstream, wrk and the clients on core 1; loopback only. RSS is VmRSS, peak is VmHWM (/proc/<pid>/status).
- Idle: a fresh \`keygate serve\`, left alone after its admin port opens until two readings 1 s apart agree within 1 MiB. "Embedded default": config/keygate.yaml, no Redis. "10k declared keys": the proxy bench's config (100 service principals × 100 \`sha256:\` hashes, info log).
- Under load: the proxy bench's keygate run — a fresh process with the 10k-key config, checked (200 / 401), wrk ${CFG.warmSeconds} s warm-up, \`wrk -t1 -c${CFG.connections} -d${CFG.seconds}s\` rotating over the 10k keys, then ${CFG.latSeconds} s at a fixed half of the measured req/s; its VmHWM at the end is the peak over the whole run, start-up included.
- Streaming: one fresh process per transfer (the 10k-key config), 100 MiB and 1 GiB each way, byte counts verified. VmHWM is reset just before the transfer (\`/proc/<pid>/clear_refs\` 5), so "peak during the transfer" is the transfer's own and the target compares those; the start-up peak would otherwise hide every stream below it.
- ${CFG.rounds} round(s); idle figures are medians, the load peak is the highest round.
- The peak under load depends a little on throughput: the embedded audit ring grows with the events it holds (≈11 MiB at its 100k cap), which a slow run on a busy machine reaches later or not at all; the start-up peak (loading the 10k-key file) is the same at any speed.

### Per round (MiB)

${table(['round', 'idle embedded', 'its start-up peak', 'idle 10k keys', 'its start-up peak', 'load req/s', 'fixed rate', 'RSS after load', 'peak over load', 'errors'], perRound)}

### Streaming

${table(['direction', 'size', 'verified', 'RSS before MiB', 'peak during the transfer MiB', 'start-up peak MiB'], streamRows)}

### Targets

${table(['target', 'measured', 'result'], targets)}
`;
const plain = targets.map((t) => t.join('  ')).join('\n');
process.stdout.write(`${plain}\n`);
if (QUICK) {
  writeFileSync(join(work, 'memory-quick.md'), md);
  log('QUICK mode: report written to bench/.work/memory-quick.md (docs/benchmarks.md untouched)');
} else {
  writeSection('memory', md);
  log('report written to docs/benchmarks.md (section "memory")');
}
