/**
 * Decision-mode bench (issue 13), ratios within one run on the same machine:
 * - CPU per decision on the check listener (nginx shape and Envoy HTTP shape) against keygate's
 *   CPU per proxied request, both with 10k keys rotating (target: ≤ 40%);
 * - nginx `auth_request` + keygate's check, end to end, against keygate proxying alone, as
 *   throughput per core: requests/s divided by the cores the system under test used (nginx and
 *   keygate together, or keygate alone; target ≥ 1.5×).
 * Systems under test on core 0, wrk and the upstream on core 1 (like bench/proxy.ts). One keygate
 * process serves both listeners, so every scenario runs against the same warmed-up gateway.
 * Run: `taskset -c 1 node bench/check.ts` (BENCH_QUICK=1: 1 round of 3 s; BENCH_ROUNDS, BENCH_SECONDS). Prints a Markdown
 * report and writes it with the raw figures to bench/.work/check-results.{md,json}.
 */
import { mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/ports.ts';
import { killAll, setPidsFile, startPinned, stopGroup, treeCpuMicros, waitForPort, type Started } from './lib/procs.ts';
import { makeSecrets, writeKeygateConfig } from './lib/keygate-config.ts';
import { ROOT } from './lib/systems.ts';
import { wrk, type WrkResult } from './lib/wrk.ts';

const QUICK = process.env['BENCH_QUICK'] === '1';
const num = (k: string, d: number) => Number(process.env[k] ?? d);
const CFG = {
  rounds: num('BENCH_ROUNDS', QUICK ? 1 : 5),
  seconds: num('BENCH_SECONDS', QUICK ? 3 : 8),
  warmSeconds: num('BENCH_WARM', QUICK ? 1 : 2),
  connections: num('BENCH_CONNECTIONS', 50),
};
const PATH = '/api/applications/42/items';
const SHAPES = fileURLToPath(new URL('./wrk/check-shapes.lua', import.meta.url));
const pinned = cpus().length >= 2;
const [SUT_CORE, LOAD_CORE] = pinned ? [0, 1] : [null, null];

const work = join(ROOT, 'bench/.work');
mkdirSync(work, { recursive: true });
setPidsFile(join(work, 'pids-check'));
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { killAll(); process.exit(130); });
const log = (s: string) => process.stderr.write(`${s}\n`);

const secretsFile = join(work, 'secrets-check.txt');
const secrets = makeSecrets(secretsFile);

const upstreamPort = await freePort();
const upstream = startPinned(LOAD_CORE, [process.execPath, join(ROOT, 'bench/upstream.mjs'), String(upstreamPort)]);
await waitForPort(upstreamPort, upstream);

// keygate: the proxy listener and the check listener, one process, the access log on (stdout to
// /dev/null) and check.accessLog unset (the default: refusals, the audit trail being on). A second
// keygate, the same config with check.accessLog: all, shows what a line per allowed decision costs.
async function startKeygate(name: string, checkExtra: string) {
  const ports = { proxy: await freePort(), admin: await freePort(), check: await freePort() };
  const file = join(work, `${name}.yaml`);
  writeKeygateConfig(file, { port: ports.proxy, adminPort: ports.admin, upstream: `http://127.0.0.1:${upstreamPort}`, secrets, logLevel: process.env['BENCH_KEYGATE_LOG'] ?? 'info' });
  appendFileSync(file, `check: { port: ${ports.check}, host: 127.0.0.1${checkExtra} }\n`);
  const proc = startPinned(SUT_CORE, [process.execPath, 'src/cli/main.ts', 'serve', '--config', file], { cwd: ROOT, stdout: 'ignore' });
  await waitForPort(ports.proxy, proc, 120_000);
  await waitForPort(ports.check, proc, 120_000);
  return { proc, ports };
}
const main = await startKeygate('keygate-check', '');
const keygate = main.proc;
const [proxyPort, checkPort] = [main.ports.proxy, main.ports.check];
const logAll = await startKeygate('keygate-check-logall', ', accessLog: all');
const nginxPort = await freePort();
const load0 = loadavg();

// nginx in front: docs/forward-auth.md's auth_request setup, keep-alive to both keygate and the upstream.
const prefix = join(work, 'nginx-check');
mkdirSync(join(prefix, 'tmp'), { recursive: true });
const identity = ['user', 'id', 'kind', 'key_id', 'roles', 'org'];
writeFileSync(join(prefix, 'nginx.conf'), `
worker_processes 1;
daemon off;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  keepalive_requests 1000000;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; keepalive_requests 1000000; }
  upstream keygate_check { server 127.0.0.1:${checkPort}; keepalive 128; keepalive_requests 1000000; keepalive_timeout 4s; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      auth_request /_keygate_check;
${identity.map((h) => `      auth_request_set $kg_${h} $upstream_http_x_authenticated_${h};`).join('\n')}
${identity.map((h) => `      proxy_set_header X-Authenticated-${h.replace('_', '-')} $kg_${h};`).join('\n')}
      proxy_set_header Authorization "";
      proxy_set_header Connection "";
      proxy_http_version 1.1;
      proxy_pass http://app;
    }
    location = /_keygate_check {
      internal;
      proxy_pass http://keygate_check/check;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`);
const nginx = startPinned(SUT_CORE, ['nginx', '-p', `${prefix}/`, '-c', 'nginx.conf', '-e', 'error.log']);
await waitForPort(nginxPort, nginx);

interface Scenario {
  id: string;
  label: string;
  origin: string;
  /** The processes whose CPU is the system under test. */
  sut: Started[];
  script?: string;
  env?: Record<string, string>;
}
const scenarios: Scenario[] = [
  { id: 'proxy', label: 'keygate proxying (auth + forward)', origin: `http://127.0.0.1:${proxyPort}`, sut: [keygate] },
  { id: 'check-nginx', label: 'check listener, nginx shape (X-Original-*)', origin: `http://127.0.0.1:${checkPort}`, sut: [keygate], script: SHAPES, env: { BENCH_SHAPE: 'nginx' } },
  { id: 'check-envoy', label: 'check listener, Envoy HTTP shape', origin: `http://127.0.0.1:${checkPort}`, sut: [keygate], script: SHAPES, env: { BENCH_SHAPE: 'envoy' } },
  { id: 'check-nginx-logall', label: 'check listener, nginx shape, check.accessLog: all', origin: `http://127.0.0.1:${logAll.ports.check}`, sut: [logAll.proc], script: SHAPES, env: { BENCH_SHAPE: 'nginx' } },
  { id: 'nginx+check', label: 'nginx auth_request + keygate check, end to end', origin: `http://127.0.0.1:${nginxPort}`, sut: [nginx, keygate] },
];

/** Correctness before speed: a valid key passes each scenario, a bad one is refused. */
async function verify(s: Scenario): Promise<void> {
  const req = async (secret: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${secret}` };
    let url = s.origin + PATH;
    if (s.env?.['BENCH_SHAPE'] === 'nginx') { url = `${s.origin}/check`; headers['x-original-method'] = 'GET'; headers['x-original-uri'] = PATH; }
    if (s.env?.['BENCH_SHAPE'] === 'envoy') url = `${s.origin}/envoy${PATH}`;
    const r = await fetch(url, { headers });
    await r.arrayBuffer();
    return { status: r.status, user: r.headers.get('x-authenticated-user') };
  };
  const ok = await req(secrets[0] as string);
  if (ok.status !== 200) throw new Error(`${s.id}: a valid key answered ${ok.status}`);
  if (s.id.startsWith('check') && ok.user !== 'bench-1') throw new Error(`${s.id}: no identity in the answer`);
  const bad = await req('kg_not-a-real-key');
  if (bad.status !== 401) throw new Error(`${s.id}: a bad key answered ${bad.status}, not 401`);
}

interface Run extends WrkResult { cpuUs: number; cores: number; cpuPerReqUs: number; rpsPerCore: number }

async function run(s: Scenario): Promise<Run> {
  const base = { origin: s.origin, path: PATH, secretsFile, connections: CFG.connections, core: LOAD_CORE, ...(s.script === undefined ? {} : { script: s.script }), ...(s.env === undefined ? {} : { env: s.env }) };
  if (CFG.warmSeconds > 0) await wrk({ ...base, seconds: CFG.warmSeconds });
  const cpu0 = s.sut.reduce((n, p) => n + treeCpuMicros(p.pid), 0);
  const r = await wrk({ ...base, seconds: CFG.seconds });
  const cpuUs = s.sut.reduce((n, p) => n + treeCpuMicros(p.pid), 0) - cpu0;
  if (r.errors > 0) throw new Error(`${s.id}: ${r.errors} errors (${r.statusErrors} statuses >= 400)`);
  const cores = cpuUs / 1e6 / r.seconds;
  return { ...r, cpuUs, cores, cpuPerReqUs: cpuUs / r.requests, rpsPerCore: r.rps / cores };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

try {
  for (const s of scenarios) await verify(s);
  // Once, before any round: JIT and caches warm even when rounds skip their own warm-up
  // (BENCH_WARM=0, for many short rounds on a machine whose load drifts).
  for (const s of scenarios) await run(s);
  const results: Record<string, Run[]> = Object.fromEntries(scenarios.map((s) => [s.id, []]));
  const ratios: { cpuNginxShape: number[]; cpuEnvoyShape: number[]; cpuNginxLogAll: number[]; perCore: number[] } = { cpuNginxShape: [], cpuEnvoyShape: [], cpuNginxLogAll: [], perCore: [] };
  for (let round = 1; round <= CFG.rounds; round++) {
    const got: Record<string, Run> = {};
    // Rotate the order every round so no scenario always runs on a cold or a hot machine.
    const order = scenarios.map((_, i) => scenarios[(i + round - 1) % scenarios.length] as Scenario);
    for (const s of order) {
      const r = await run(s);
      got[s.id] = r;
      results[s.id]?.push(r);
      log(`round ${round} ${s.id}: ${r.rps.toFixed(0)} req/s, ${r.cpuPerReqUs.toFixed(1)} µs CPU/req, ${r.cores.toFixed(2)} cores, ${r.rpsPerCore.toFixed(0)} req/s per core, p99 ${r.p99ms.toFixed(2)} ms`);
    }
    const g = (id: string) => got[id] as Run;
    ratios.cpuNginxShape.push(g('check-nginx').cpuPerReqUs / g('proxy').cpuPerReqUs);
    ratios.cpuEnvoyShape.push(g('check-envoy').cpuPerReqUs / g('proxy').cpuPerReqUs);
    ratios.cpuNginxLogAll.push(g('check-nginx-logall').cpuPerReqUs / g('proxy').cpuPerReqUs);
    ratios.perCore.push(g('nginx+check').rpsPerCore / g('proxy').rpsPerCore);
  }
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const spread = (xs: number[], f: (x: number) => string) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
  const times = (x: number) => `${x.toFixed(2)}×`;
  const load1 = loadavg();
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const rows = scenarios.map((s) => {
    const rs = results[s.id] as Run[];
    return `| ${s.label} | ${median(rs.map((r) => r.rps)).toFixed(0)} | ${median(rs.map((r) => r.cpuPerReqUs)).toFixed(1)} | ${median(rs.map((r) => r.cores)).toFixed(2)} | ${median(rs.map((r) => r.rpsPerCore)).toFixed(0)} | ${median(rs.map((r) => r.p99ms)).toFixed(2)} |`;
  });
  // Pooled over every round: all CPU ÷ all requests per scenario. Less sensitive than the median
  // of per-round ratios to one round that met a load spike.
  const pooled = (id: string) => {
    const rs = results[id] as Run[];
    const cpu = rs.reduce((n, r) => n + r.cpuUs, 0);
    const req = rs.reduce((n, r) => n + r.requests, 0);
    const sec = rs.reduce((n, r) => n + r.seconds, 0);
    return { cpuPerReq: cpu / req, perCore: req / sec / (cpu / 1e6 / sec) };
  };
  const pooledCpu = (id: string) => pooled(id).cpuPerReq / pooled('proxy').cpuPerReq;
  const pooledCore = pooled('nginx+check').perCore / pooled('proxy').perCore;
  const md = [
    `## Decision mode (${CFG.rounds} round(s) of ${CFG.seconds} s, ${CFG.connections} connections, 10k keys rotating, medians)`,
    '',
    `Systems under test on core ${SUT_CORE ?? '(unpinned)'}; wrk and the upstream on core ${LOAD_CORE ?? '(unpinned)'}. CPU is utime + stime of the processes under test. Load average (1/5/15 min) at the start ${load0.map((x) => x.toFixed(1)).join(' / ')}, at the end ${load1.map((x) => x.toFixed(1)).join(' / ')} (${cpus().length} cores).`,
    '',
    '| scenario | req/s | CPU µs per request | cores used | req/s per core | p99 ms |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '| ratio (median of per-round ratios) | measured | spread (min–max) | target |',
    '| --- | --- | --- | --- |',
    `| CPU per decision (nginx shape) / CPU per proxied request | ${pct(median(ratios.cpuNginxShape))} | ${spread(ratios.cpuNginxShape, pct)} | ≤ 40%: ${verdict(median(ratios.cpuNginxShape) <= 0.4)} |`,
    `| CPU per decision (Envoy HTTP shape) / CPU per proxied request | ${pct(median(ratios.cpuEnvoyShape))} | ${spread(ratios.cpuEnvoyShape, pct)} | ≤ 40%: ${verdict(median(ratios.cpuEnvoyShape) <= 0.4)} |`,
    `| CPU per decision (nginx shape, check.accessLog: all) / CPU per proxied request | ${pct(median(ratios.cpuNginxLogAll))} | ${spread(ratios.cpuNginxLogAll, pct)} | (not a target) |`,
    `| nginx + keygate check, req/s per core / keygate proxying alone | ${times(median(ratios.perCore))} | ${spread(ratios.perCore, times)} | ≥ 1.5×: ${verdict(median(ratios.perCore) >= 1.5)} |`,
    '',
    `Pooled over all rounds (all CPU ÷ all requests): CPU per decision / per proxied request ${pct(pooledCpu('check-nginx'))} (nginx shape), ${pct(pooledCpu('check-envoy'))} (Envoy HTTP), ${pct(pooledCpu('check-nginx-logall'))} (nginx shape, accessLog: all); nginx + check per core ${times(pooledCore)}.`,
    '',
    `Per round: CPU ratio (nginx shape) ${ratios.cpuNginxShape.map(pct).join(', ')}; (Envoy HTTP) ${ratios.cpuEnvoyShape.map(pct).join(', ')}; per-core ratio ${ratios.perCore.map(times).join(', ')}.`,
  ].join('\n');
  process.stdout.write(`${md}\n`);
  writeFileSync(join(work, 'check-results.md'), `${md}\n`);
  writeFileSync(join(work, 'check-results.json'), JSON.stringify({ config: CFG, load: { start: load0, end: load1 }, results, ratios, nginx: readFileSync(join(prefix, 'nginx.conf'), 'utf8') }, null, 2));
} finally {
  await stopGroup(nginx);
  await stopGroup(keygate);
  await stopGroup(logAll.proc);
  await stopGroup(upstream);
}
