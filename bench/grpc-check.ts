/**
 * gRPC Check bench (issue 13): keygate's CPU per `envoy.service.auth.v3.Authorization/Check`
 * call, measured in the same run beside the HTTP shapes it is compared with: a proxied request
 * (the baseline of the ratios) and an nginx `auth_request` check on `/check`.
 *
 * keygate runs pinned to core 0 with 10k declared keys (bench/lib/keygate-config.ts), the load
 * generators on core 1: wrk (-t1) for HTTP, bench/lib/grpc-load.ts (grpc-js, one HTTP/2 channel
 * like an Envoy worker) for gRPC. CPU is keygate's utime+stime over each measured run divided by
 * the requests it answered. The shapes alternate within each round; figures are medians.
 *   node bench/grpc-check.ts            (BENCH_ROUNDS=3, BENCH_SECONDS=6, BENCH_CONNECTIONS=50,
 *                                        BENCH_ONLY=proxy,nginx-check,grpc-check to pick shapes)
 * Writes bench/.work/grpc-check.json and prints a Markdown table on stdout.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/ports.ts';
import { killAll, setPidsFile, startPinned, stopGroup, track, treeCpuMicros, waitForPort } from './lib/procs.ts';
import { makeSecrets, writeKeygateConfig } from './lib/keygate-config.ts';
import { ROOT } from './lib/systems.ts';

const num = (k: string, d: number) => Number(process.env[k] ?? d);
const CFG = {
  rounds: num('BENCH_ROUNDS', 3), seconds: num('BENCH_SECONDS', 6), warm: num('BENCH_WARM', 2), connections: num('BENCH_CONNECTIONS', 50),
  only: (process.env['BENCH_ONLY'] ?? '').split(',').filter((s) => s !== ''),
};
const PATH = '/api/applications/42/items';
const pinned = cpus().length >= 2;
const [SUT_CORE, LOAD_CORE] = pinned ? [0, 1] : [null, null];
const log = (s: string) => process.stderr.write(`${s}\n`);

const work = join(ROOT, 'bench/.work');
mkdirSync(work, { recursive: true });
setPidsFile(join(work, 'grpc-check-pids'));
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { killAll(); process.exit(130); });

const secretsFile = join(work, 'grpc-check-secrets.txt');
const secrets = makeSecrets(secretsFile);
const [upstreamPort, port, adminPort, checkPort, grpcPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
const configFile = join(work, 'grpc-check.yaml');
writeKeygateConfig(configFile, { port, adminPort, upstream: `http://127.0.0.1:${upstreamPort}`, secrets });
appendFileSync(configFile, `check: { port: ${checkPort}, host: 127.0.0.1, grpcPort: ${grpcPort} }\n`);

const upstream = startPinned(LOAD_CORE, [process.execPath, join(ROOT, 'bench/upstream.mjs'), String(upstreamPort)]);
await waitForPort(upstreamPort, upstream);
const keygate = startPinned(SUT_CORE, [process.execPath, 'src/cli/main.ts', 'serve', '--config', configFile], { cwd: ROOT, stdout: 'ignore' });
await waitForPort(grpcPort, keygate, 60_000);
await waitForPort(checkPort, keygate);

interface Run { requests: number; seconds: number; errors: number }

function wrkShape(shape: 'proxy' | 'nginx', seconds: number): Promise<Run> {
  const origin = `http://127.0.0.1:${shape === 'proxy' ? port : checkPort}`;
  const args = ['-t1', `-c${CFG.connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', join(ROOT, 'bench/wrk/check-shapes.lua'), origin + PATH];
  const argv = LOAD_CORE === null ? ['wrk', ...args] : ['taskset', '-c', String(LOAD_CORE), 'wrk', ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0] as string, argv.slice(1), { env: { ...process.env, BENCH_SECRETS: secretsFile, BENCH_PATH: PATH, BENCH_SHAPE: shape }, timeout: (seconds + 30) * 1000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const line = /^WRK_JSON (.+)$/m.exec(stdout)?.[1];
      if (err !== null || line === undefined) return reject(new Error(`wrk failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
      const j = JSON.parse(line) as Record<string, number>;
      const n = (k: string) => j[k] ?? 0;
      resolve({ requests: n('requests'), seconds: n('duration_us') / 1e6, errors: n('connect') + n('read') + n('write') + n('timeout') + n('status') });
    });
    track(child);
  });
}

function grpcShape(seconds: number): Promise<Run> {
  const args = [process.execPath, join(ROOT, 'bench/lib/grpc-load.ts'), String(grpcPort), secretsFile, String(seconds), String(CFG.connections), PATH];
  const argv = LOAD_CORE === null ? args : ['taskset', '-c', String(LOAD_CORE), ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0] as string, argv.slice(1), { cwd: ROOT, timeout: (seconds + 60) * 1000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const line = /^GRPC_JSON (.+)$/m.exec(stdout)?.[1];
      if (err !== null || line === undefined) return reject(new Error(`grpc load failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
      const j = JSON.parse(line) as { calls: number; ok: number; denied: number; failed: number; seconds: number };
      resolve({ requests: j.calls, seconds: j.seconds, errors: j.denied + j.failed });
    });
    track(child);
  });
}

const SHAPES = {
  proxy: (s: number) => wrkShape('proxy', s),
  'nginx-check': (s: number) => wrkShape('nginx', s),
  'grpc-check': (s: number) => grpcShape(s),
} as const;
type Shape = keyof typeof SHAPES;
const results: Record<Shape, { cpuUsPerReq: number; rps: number; errors: number }[]> = { proxy: [], 'nginx-check': [], 'grpc-check': [] };

try {
  for (let r = 1; r <= CFG.rounds; r++) {
    for (const shape of (Object.keys(SHAPES) as Shape[]).filter((x) => CFG.only.length === 0 || CFG.only.includes(x))) {
      await SHAPES[shape](CFG.warm);
      const cpu0 = treeCpuMicros(keygate.pid);
      const run = await SHAPES[shape](CFG.seconds);
      const cpu = treeCpuMicros(keygate.pid) - cpu0;
      const row = { cpuUsPerReq: cpu / Math.max(1, run.requests), rps: run.requests / run.seconds, errors: run.errors };
      results[shape].push(row);
      log(`round ${r}/${CFG.rounds} ${shape}: ${row.rps.toFixed(0)} req/s, ${row.cpuUsPerReq.toFixed(1)} µs keygate CPU/req, errors ${row.errors}`);
    }
  }
} finally {
  await stopGroup(keygate);
  await stopGroup(upstream);
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2; };
const proxyCpu = median(results.proxy.map((x) => x.cpuUsPerReq));
const rows = (Object.keys(results) as Shape[]).filter((shape) => results[shape].length > 0).map((shape) => {
  const cpu = median(results[shape].map((x) => x.cpuUsPerReq));
  return { shape, cpuUsPerReq: cpu, ratioToProxy: cpu / proxyCpu, rps: median(results[shape].map((x) => x.rps)), errors: results[shape].reduce((a, x) => a + x.errors, 0) };
});
writeFileSync(join(work, 'grpc-check.json'), `${JSON.stringify({ config: CFG, pinned, rounds: results, medians: rows }, null, 2)}\n`);
process.stdout.write([
  `| shape | keygate CPU µs/request (median of ${CFG.rounds}) | vs proxied request | req/s (closed loop, ${CFG.connections} in flight) | errors |`,
  '| --- | ---: | ---: | ---: | ---: |',
  ...rows.map((x) => `| ${x.shape} | ${x.cpuUsPerReq.toFixed(1)} | ${(x.ratioToProxy * 100).toFixed(0)}% | ${x.rps.toFixed(0)} | ${x.errors} |`),
  '',
].join('\n'));
