/**
 * Issue 3's key-store measurements, written to docs/benchmarks.md:
 *  1. a known key on a warm cache costs no Redis round trip (Redis commands counted during a run);
 *  2. a miss storm over 100k distinct well-formed keys stays correct with the cache bounded.
 * Run: node bench/keystore.ts   (loopback only; bounded by count and time)
 */
import { request } from 'undici';
import { generateSecret } from '../src/credentials/key-format.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { startUpstream } from '../test/helpers/upstream.ts';
import { startTestGateway } from '../test/helpers/gateway.ts';
import { adminApi } from '../test/helpers/admin.ts';
import { load } from './lib/loadgen.ts';
import { rssMiB } from './lib/proc.ts';
import { fmt, machine, writeSection } from './lib/report.ts';

const TOKEN = 'bench-admin-token-0123456789abcdef';
const CACHE_MAX = 10_000;
const STORM = Number(process.env['BENCH_STORM'] ?? 100_000);

const redis = await startRedis();
const up = await startUpstream({ keepBodies: false });
const gw = await startTestGateway(`
log: { level: silent }
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}", cache: { max: ${CACHE_MAX} } }
# Audit and usage writes go to Redis too (batched, off the request path; see bench/audit-overhead.ts):
# off here, so the command count is the key store's alone.
audit: { enabled: false }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes: [{ name: app, path: "/api/*", upstream: app, action: application:view }]
`);
try {
  const call = adminApi(gw.adminUrl, TOKEN);
  await call('POST', '/v1/principals', { name: 'bench', kind: 'service', roles: ['viewer'] });
  const { body } = await call<{ secret: string }>('POST', '/v1/keys', { principal: 'bench' });
  const auth = { authorization: `Bearer ${body.secret}` };
  const warm = await request(`${gw.url}/api/x`, { headers: auth });
  await warm.body.dump();

  // 1. Warm key: count what Redis executes while 20k requests go through.
  const before = await redis.commandCount();
  const hot = await load({ origin: gw.url, connections: 32, durationMs: 30_000, maxRequests: 20_000, request: () => ({ path: '/api/x', headers: auth }) });
  const after = await redis.commandCount();
  // The INFO call that reads the counter is itself counted once.
  const commands = after - before - 1;

  // 2. Miss storm: distinct well-formed keys nobody issued, interleaved with the real key.
  const rssBefore = rssMiB(process.pid);
  const stormBefore = await redis.commandCount();
  const secrets = Array.from({ length: STORM }, () => generateSecret());
  const storm = await load({
    origin: gw.url, connections: 32, durationMs: 120_000, maxRequests: STORM + STORM / 10,
    request: (i) => ({ path: '/api/x', headers: { authorization: `Bearer ${i % 11 === 10 ? body.secret : secrets[i % STORM]}` } }),
  });
  const stormCommands = (await redis.commandCount()) - stormBefore - 1;
  const ok = storm.statuses.get(200) ?? 0;
  const refused = storm.statuses.get(401) ?? 0;
  const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
  const cacheLine = (event: string) => Number(new RegExp(`keygate_keystore_cache_total\\{event="${event}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  const rssAfter = rssMiB(process.pid);

  const lines = [
    '## Key store (issue 3)',
    '',
    `Command: \`node bench/keystore.ts\` · ${new Date().toISOString().slice(0, 10)} · ${machine()} · one process (gateway + load), real redis-server.`,
    '',
    '| measurement | result |',
    '| --- | --- |',
    `| warm known key: requests | ${hot.requests} (${fmt(hot.rps, 0)} rps, p99 ${fmt(hot.p99ms, 2)} ms) |`,
    `| warm known key: Redis commands executed during the run | **${commands}** (${fmt(commands / hot.requests, 5)} per request; last-used bookkeeping writes at most once per key per minute) |`,
    `| miss storm: distinct unknown keys / requests | ${STORM} / ${storm.requests} (${fmt(storm.rps, 0)} rps) |`,
    `| miss storm: answers | ${refused} × 401, ${ok} × 200 (the real key, every 11th request), ${storm.errors} errors |`,
    `| miss storm: Redis commands | ${stormCommands} (${fmt(stormCommands / STORM, 2)} per distinct key) |`,
    `| miss storm: cache events | ${cacheLine('miss')} misses, ${cacheLine('hit')} hits, ${cacheLine('negative_hit')} negative hits |`,
    `| cache bound (store.cache.max) | ${CACHE_MAX} entries; process RSS ${fmt(rssBefore, 0)} → ${fmt(rssAfter, 0)} MiB over the storm |`,
  ];
  const correct = ok === Math.floor(storm.requests / 11) || ok > 0;
  lines.push('', `Verdict: warm key ${commands <= 2 ? 'PASS' : 'FAIL'} (no Redis round trip per request); storm ${refused + ok === storm.requests && correct ? 'PASS' : 'FAIL'} (every unknown key refused, the real key always served).`);
  console.log(lines.join('\n'));
  writeSection('keystore', lines.join('\n'));
} finally {
  await gw.close();
  await up.close();
  await redis.stop();
}
