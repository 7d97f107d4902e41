/**
 * Issue 14's limit measurements, written to docs/benchmarks.md:
 *  1. CPU of the limit stage on the cached path: the work a request with a limit does that one
 *     without does not (demands, the in-process lease, the RateLimit headers), per request;
 *  2. Redis commands per request under the limit, counted by Redis (total_commands_processed)
 *     for a run with a limit and a run without, audit off, so the difference is the limiter's;
 *  3. end to end: throughput and p99 of the same gateway with and without a limit attached.
 * Run: node bench/limits.ts   (loopback only; bounded by count and time)
 */
import { request } from 'undici';
import { startRedis } from '../test/helpers/redis.ts';
import { startUpstream } from '../test/helpers/upstream.ts';
import { startTestGateway } from '../test/helpers/gateway.ts';
import { newKey } from '../test/helpers/keys.ts';
import { load, type LoadResult } from './lib/loadgen.ts';
import { fmt, machine, writeSection } from './lib/report.ts';
import { loadConfigText } from '../src/config/load.ts';
import { createLimiter } from '../src/limits/limiter.ts';
import { createMemoryLimitBackend } from '../src/limits/memory-backend.ts';
import { demandsFor } from '../src/limits/applicable.ts';
import { rateLimitHeaders } from '../src/limits/headers.ts';
import type { KeyRecord, PrincipalRecord } from '../src/keystore/types.ts';
import { must } from '../src/must.ts';

const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 20_000);
const limited = newKey();
const free = newKey();

// 1. The stage itself, in process: a warm bucket, as on every request after a bucket's first.
const micro = await (async () => {
  const loaded = loadConfigText(`
limits: { big: { rate: 1000000000/s, burst: 1000000000 } }
upstreams: { app: { url: "http://127.0.0.1:1" } }
roles: { viewer: { actions: [application:view], limit: big }, plain: { actions: [application:view] } }
routes: [{ name: app, path: "/api/*", upstream: app, action: application:view }]
`, 'bench.yaml', {});
  if (!loaded.ok) throw new Error('bench config invalid');
  const c = loaded.config;
  const route = must(c.routes[0], 'one route');
  const key: KeyRecord = { id: 'k1', principalId: 'p1', hash: 'h', createdAt: new Date(), type: 'api_key' };
  const p = (roles: string[]): PrincipalRecord => ({ id: 'p1', name: 'bench', kind: 'service', roles, groups: [], disabled: false, createdAt: new Date(), metadata: {}, source: 'api' });
  const limiter = createLimiter({ backend: createMemoryLimitBackend(), config: () => c.limiter });
  const run = (principal: PrincipalRecord, n: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const d = demandsFor(c, route, key, principal);
      if (d.length === 0) continue;
      const v = limiter.take(d);
      if (v instanceof Promise) throw new Error('a warm bucket never waits');
      rateLimitHeaders(v.report);
    }
    return Number(process.hrtime.bigint() - t0) / n;
  };
  const withLimit = p(['viewer']);
  const without = p(['plain']);
  await limiter.take(demandsFor(c, route, key, withLimit));
  run(withLimit, 200_000);
  run(without, 200_000);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < 5; i++) {
    a.push(run(withLimit, 500_000));
    b.push(run(without, 500_000));
  }
  await limiter.close();
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
  return { withNs: median(a), withoutNs: median(b) };
})();

// 2 and 3. A real gateway on a real Redis: one principal with a limit far above the load, one without.
const redis = await startRedis();
const up = await startUpstream({ keepBodies: false });
const gw = await startTestGateway(`
log: { level: silent }
store: { redis: "${redis.url}" }
# Audit and usage writes go to Redis too (batched, off the request path): audit off, so the
# command counts are the key store's and the limiter's.
audit: { enabled: false }
limits:
  roomy: { rate: 1000000/h, burst: 100000, per: principal }
upstreams: { app: { url: "${up.url}" } }
roles:
  limited: { actions: [application:view], limit: roomy }
  free: { actions: [application:view] }
routes: [{ name: app, path: "/api/*", upstream: app, action: application:view }]
principals:
  - { name: limited, kind: service, roles: [limited], keys: [{ id: limited-1, hash: "${limited.hash}" }] }
  - { name: free, kind: service, roles: [free], keys: [{ id: free-1, hash: "${free.hash}" }] }
`);
try {
  const run = async (secret: string): Promise<{ r: LoadResult; commands: number }> => {
    const headers = { authorization: `Bearer ${secret}` };
    const warm = await request(`${gw.url}/api/x`, { headers });
    await warm.body.dump();
    const before = await redis.commandCount();
    const r = await load({ origin: gw.url, connections: 16, durationMs: 30_000, maxRequests: REQUESTS, request: () => ({ path: '/api/x', headers }) });
    // The INFO call that reads the counter is itself counted once.
    return { r, commands: (await redis.commandCount()) - before - 1 };
  };
  const off = await run(free.secret);
  const on = await run(limited.secret);
  const leases = Number(/^keygate_limiter_leases_total\{kind="rate",result="ok"\} (\d+)$/m.exec(await (await request(`${gw.adminUrl}/metrics`)).body.text())?.[1] ?? NaN);
  const extra = (micro.withNs - micro.withoutNs) / 1000;
  // Background commands (heartbeats of the key store and the limiter, usage flushes) tick per
  // second, not per request: what the limited run executed beyond that rate is the limiter's.
  const background = (off.commands / off.r.seconds) * on.r.seconds;
  const beyond = Math.max(0, on.commands - background);
  const lines = [
    '## Rate limits (issue 14)',
    '',
    `Command: \`node bench/limits.ts\` · ${new Date().toISOString().slice(0, 10)} · ${machine()} · one process (gateway + load), real redis-server.`,
    '',
    '| measurement | no limit | limit attached |',
    '| --- | --- | --- |',
    `| limit stage, in process, warm bucket (demands + lease + headers) | ${fmt(micro.withoutNs, 0)} ns | ${fmt(micro.withNs, 0)} ns (**+${fmt(extra, 2)} µs** per request) |`,
    `| requests (closed loop, 16 connections) | ${off.r.requests} at ${fmt(off.r.rps, 0)} rps, p99 ${fmt(off.r.p99ms, 2)} ms | ${on.r.requests} at ${fmt(on.r.rps, 0)} rps, p99 ${fmt(on.r.p99ms, 2)} ms |`,
    `| Redis commands during the run | ${off.commands} in ${fmt(off.r.seconds, 1)} s (background only) | ${on.commands} in ${fmt(on.r.seconds, 1)} s: ~${fmt(beyond, 0)} beyond the first run's background rate (usage flushes every 5 s make it bursty); ${leases} leases in all, each off the request path (**${fmt(leases / on.r.requests, 5)} per request**) |`,
    '',
    'Background commands in both columns: the key store\'s heartbeat and the limiter\'s replica heartbeat (one script a second each). Leases are `limiter.leaseSize` (0.1) of the burst: 10 000 tokens here, one lease per ~5 000 requests at full speed.',
  ];
  lines.push('', `Verdict: CPU ${extra <= 3 ? 'PASS' : 'FAIL'} (target ≤ 3 µs more per request on the cached path); Redis ${leases <= Math.ceil(on.r.requests / 5000) + 1 ? 'PASS' : 'FAIL'} (no command on the request path under the limit: only the first lease and background leases, one per ~5 000 requests).`);
  console.log(lines.join('\n'));
  writeSection('limits', lines.join('\n'));
} finally {
  await gw.close();
  await up.close();
  await redis.stop();
}
