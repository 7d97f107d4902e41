/**
 * Issue 3's propagation figure: a key expired through the admin API of replica A is refused by
 * replica B — two real `keygate serve` processes on one real Redis — measured from the moment
 * the expire call is sent to B's first refusal, B's cache having been warm.
 * Run: node bench/propagation.ts   (200 rounds by default; loopback only)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startRedis } from '../test/helpers/redis.ts';
import { startUpstream } from '../test/helpers/upstream.ts';
import { startServe, type ServeProcess } from '../test/helpers/cli.ts';
import { freePort } from '../test/helpers/ports.ts';
import { adminApi } from '../test/helpers/admin.ts';
import { percentile } from './lib/loadgen.ts';
import { fmt, machine, writeSection } from './lib/report.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 200);
const TOKEN = 'bench-admin-token-0123456789abcdef';
const redis = await startRedis();
const up = await startUpstream({ keepBodies: false });
const dir = mkdtempSync(join(tmpdir(), 'keygate-prop-'));
const replicas: { proc: ServeProcess; origin: string; admin: ReturnType<typeof adminApi> }[] = [];
try {
  for (const name of ['a', 'b']) {
    const port = await freePort();
    const adminPort = await freePort();
    writeFileSync(join(dir, `${name}.yaml`), `
log: { level: info }
server: { port: ${port}, host: 127.0.0.1 }
admin: { port: ${adminPort}, host: 127.0.0.1, token: "${TOKEN}" }
store: { redis: "${redis.url}" }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes: [{ name: app, path: "/api/*", upstream: app, action: application:view }]
`);
    replicas.push({ proc: await startServe(join(dir, `${name}.yaml`)), origin: `http://127.0.0.1:${port}`, admin: adminApi(`http://127.0.0.1:${adminPort}`, TOKEN) });
  }
  const [a, b] = replicas as [typeof replicas[0], typeof replicas[0]];
  const pool = new Pool(b.origin, { connections: 1 });
  const status = async (secret: string) => {
    const r = await pool.request({ path: '/api/x', method: 'GET', headers: { authorization: `Bearer ${secret}` } });
    await r.body.dump();
    return r.statusCode;
  };
  await a.admin('POST', '/v1/principals', { name: 'prop', kind: 'service', roles: ['viewer'] });
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const { body } = await a.admin<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'prop' });
    if ((await status(body.secret)) !== 200 || (await status(body.secret)) !== 200) throw new Error('key not served by B');
    const t0 = performance.now();
    const expired = a.admin('POST', `/v1/keys/${body.key.id}/expire`);
    let polls = 0;
    while ((await status(body.secret)) === 200) {
      if (++polls > 100_000) throw new Error('B never refused the key');
    }
    samples.push(performance.now() - t0);
    await expired;
    await a.admin('DELETE', `/v1/keys/${body.key.id}`);
  }
  await pool.close();
  samples.sort((x, y) => x - y);
  const p99 = percentile(samples, 0.99);
  const lines = [
    '## Invalidation across replicas (issue 3)',
    '',
    `Command: \`node bench/propagation.ts\` · ${new Date().toISOString().slice(0, 10)} · ${machine()} · two \`keygate serve\` processes, one redis-server, ${ROUNDS} rounds.`,
    '',
    'Each round: issue a key on A, serve it twice on B (warm cache), send `POST /v1/keys/{id}/expire` to A, and poll B',
    'back to back until it refuses; the time is from sending the expire call to B\'s first refusal.',
    '',
    '| p50 | p90 | p99 | max | target (p99) |',
    '| --- | --- | --- | --- | --- |',
    `| ${fmt(percentile(samples, 0.5), 2)} ms | ${fmt(percentile(samples, 0.9), 2)} ms | **${fmt(p99, 2)} ms** | ${fmt(samples[samples.length - 1] ?? NaN, 2)} ms | < 100 ms: ${p99 < 100 ? 'PASS' : 'FAIL'} |`,
  ];
  console.log(lines.join('\n'));
  writeSection('propagation', lines.join('\n'));
} finally {
  for (const r of replicas) await r.proc.stop();
  await up.close();
  await redis.stop();
}
