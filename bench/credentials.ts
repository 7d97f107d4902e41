/**
 * Issue 4's credential paths as ratios to Bearer: the body-credential path (Mend `userKey`,
 * body read, parsed and re-emitted without the field) and the token path (a JWT from
 * /auth/token, verification cached after its first use). keygate runs as `keygate serve`
 * pinned to core 0; this process (load generator + upstream) is pinned to core 1.
 * Run: node bench/credentials.ts   (3 interleaved rounds; BENCH_SECONDS per run, default 8)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startUpstream } from '../test/helpers/upstream.ts';
import { freePort } from '../test/helpers/ports.ts';
import { adminApi } from '../test/helpers/admin.ts';
import { load } from './lib/loadgen.ts';
import { cpuMicros, peakRssMiB } from './lib/proc.ts';
import { pinSelf, startPinnedGateway, stop } from './lib/pinned.ts';
import { fmt, machine, writeSection } from './lib/report.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const TOKEN = 'bench-admin-token-0123456789abcdef';
pinSelf(1);
const up = await startUpstream({ keepBodies: false });
const port = await freePort();
const adminPort = await freePort();
const file = join(mkdtempSync(join(tmpdir(), 'keygate-bench-')), 'keygate.yaml');
writeFileSync(file, `
server: { port: ${port}, host: 127.0.0.1 }
admin: { port: ${adminPort}, host: 127.0.0.1, token: "${TOKEN}" }
credentials: { bearer: true, body: { enabled: true } }
tokens: { enabled: true, signingKeys: [{ id: b1, secret: "bench-signing-secret-0123456789abcdef" }] }
upstreams: { app: { url: "${up.url}", connections: 64 } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
  - { name: mend, path: /mend, methods: [POST], upstream: app, action: application:view, credentials: [body] }
`);
const gw = await startPinnedGateway(file, 0, `http://127.0.0.1:${adminPort}`);
const origin = `http://127.0.0.1:${port}`;
try {
  const call = adminApi(`http://127.0.0.1:${adminPort}`, TOKEN);
  await call('POST', '/v1/principals', { name: 'bench', kind: 'service', roles: ['viewer'] });
  const key = (await call<{ secret: string }>('POST', '/v1/keys', { principal: 'bench' })).body.secret;
  const pair = (await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'bench', type: 'key_pair' })).body;
  const ex = await request(`${origin}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key_id: pair.key.id, key_secret: pair.secret }) });
  const token = ((await ex.body.json()) as { bearer_token: string }).bearer_token;
  const mendBody = JSON.stringify({ requestType: 'getProjectVulnerabilityReport', userKey: key, projectToken: '438629e2da934b4ca68220c', agentInfo: { agent: 'bench', version: '1.0' } });

  const scenarios = {
    bearer: () => ({ path: '/api/x', headers: { authorization: `Bearer ${key}` } }),
    body: () => ({ path: '/mend', method: 'POST', headers: { 'content-type': 'application/json' }, body: mendBody }),
    token: () => ({ path: '/api/x', headers: { authorization: `Bearer ${token}` } }),
  } as const;
  type Name = keyof typeof scenarios;
  const results: Record<Name, { rps: number[]; p50: number[]; p99: number[]; cpu: number[] }> = {
    bearer: { rps: [], p50: [], p99: [], cpu: [] }, body: { rps: [], p50: [], p99: [], cpu: [] }, token: { rps: [], p50: [], p99: [], cpu: [] },
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of Object.keys(scenarios) as Name[]) {
      await load({ origin, connections: 16, durationMs: 1_000, request: scenarios[name] }); // warm-up
      const c0 = cpuMicros(gw.pid!);
      const r = await load({ origin, connections: 16, durationMs: SECONDS * 1000, request: scenarios[name] });
      const c1 = cpuMicros(gw.pid!);
      if ((r.statuses.get(200) ?? 0) !== r.requests) throw new Error(`${name}: not every request succeeded: ${JSON.stringify([...r.statuses])}`);
      results[name].rps.push(r.rps);
      results[name].p50.push(r.p50ms);
      results[name].p99.push(r.p99ms);
      results[name].cpu.push((c1 - c0) / r.requests);
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const base = { rps: med(results.bearer.rps), cpu: med(results.bearer.cpu) };
  const rows = (Object.keys(results) as Name[]).map((n) => {
    const r = results[n];
    return `| ${n} | ${fmt(med(r.rps), 0)} | ${fmt(med(r.rps) / base.rps, 2)} | ${fmt(med(r.p50), 2)} | ${fmt(med(r.p99), 2)} | ${fmt(med(r.cpu), 0)} | ${fmt(med(r.cpu) / base.cpu, 2)} |`;
  });
  const lines = [
    '## Credential paths (issue 4)',
    '',
    `Command: \`node bench/credentials.ts\` · ${new Date().toISOString().slice(0, 10)} · ${machine()} · keygate pinned to core 0, load + upstream on core 1, ${ROUNDS} interleaved rounds of ${SECONDS} s, 16 connections, medians.`,
    '',
    '| path | rps | rps ÷ bearer | p50 ms | p99 ms | gateway CPU µs/req | CPU ÷ bearer |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `\`body\`: a ${Buffer.byteLength(mendBody)}-byte Mend request, read, validated and forwarded without its userKey. \`token\`: an HS256 token from \`/auth/token\`; after its first verification a token costs a hash and a cache lookup, plus the lookup of its key. Gateway peak RSS: ${fmt(peakRssMiB(gw.pid!), 0)} MiB.`,
  ];
  console.log(lines.join('\n'));
  writeSection('credentials', lines.join('\n'));
} finally {
  await stop(gw);
  await up.close();
}
