/**
 * Issue 14's fleet-wide limit: two real `keygate serve` processes on one real Redis share one
 * limit. With ten times the limit offered, what the replicas admitted each second (their access
 * logs; every admitted request also reached the upstream) stays within ±10% of the limit, and
 * requests under a limit are served from leases held in process: with Redis frozen (SIGSTOP),
 * they still pass without a single fallback decision or failed lease.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Pool, request } from 'undici';
import { startArrivalUpstream, type ArrivalUpstream } from '../helpers/arrival-upstream.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { freePort } from '../helpers/ports.ts';
import { startServe, type ServeProcess } from '../helpers/cli.ts';
import { newKey } from '../helpers/keys.ts';

const LIMIT = 50;
const flood = newKey();
const calm = newKey();
let redis: TestRedis;
/** Records when each request reached it, in a process of its own (the load generator here cannot blur it). */
let up: ArrivalUpstream;
const replicas: { proc: ServeProcess; url: string; metrics: string; pool: Pool }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  up = await startArrivalUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'keygate-limit-replicas-'));
  for (const name of ['a', 'b']) {
    const port = await freePort();
    const adminPort = await freePort();
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `
server: { port: ${port}, host: 127.0.0.1 }
admin: { port: ${adminPort}, host: 127.0.0.1 }
store: { redis: "${redis.url}" }
log: { level: info }
audit: { enabled: false }
limiter: { leaseSize: 0.2 }
limits:
  fleet: { rate: ${LIMIT}/s, burst: 10, per: principal }
  roomy: { rate: 100000/h, burst: 1000, per: principal }
upstreams: { app: { url: "${up.url}" } }
roles:
  flooder: { actions: [application:view], limit: fleet }
  calm: { actions: [application:view], limit: roomy }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
  - { name: fresh, path: "/fresh/*", upstream: app, action: application:view, limit: fleet }
principals:
  - { name: flooder, kind: service, roles: [flooder], keys: [{ id: flooder-1, hash: "${flood.hash}" }] }
  - { name: calm, kind: service, roles: [calm], keys: [{ id: calm-1, hash: "${calm.hash}" }] }
`);
    const proc = await startServe(file);
    replicas.push({ proc, url: `http://127.0.0.1:${port}`, metrics: `http://127.0.0.1:${adminPort}/metrics`, pool: new Pool(`http://127.0.0.1:${port}`, { connections: 32 }) });
  }
}, 60_000);
afterAll(async () => {
  for (const r of replicas) {
    await r.pool.close();
    await r.proc.stop();
  }
  redis?.resume();
  await up?.stop();
  await redis?.stop();
});

async function metric(url: string, line: RegExp): Promise<number> {
  const text = await (await request(url)).body.text();
  return Number(line.exec(text)?.[1] ?? NaN);
}

/** Waits until both replicas have seen each other in Redis (the heartbeat), so the outage share is known. */
async function bothCounted(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const counts = await Promise.all(replicas.map((r) => metric(r.metrics, /^keygate_limiter_replicas (\d+)$/m)));
    if (counts.every((c) => c === 2)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('replicas never counted each other');
}

describe('two keygate serve replicas on one Redis share a limit', () => {
  it(`with 10× the limit offered, admitted requests per second stay within ±10% of ${LIMIT}/s`, async () => {
    await bothCounted();
    const path = '/api/flood';
    const seconds = 6;
    const offerPerSecond = LIMIT * 10;
    const start = Date.now();
    let offered = 0;
    let inflight = 0;
    const statuses = new Map<number, number>();
    let firstRefusal = 0;
    const done: Promise<void>[] = [];
    // Paced by count, not by timer ticks (which stretch under load): catch up to rate × elapsed.
    for (let now = start; now - start < seconds * 1000; now = Date.now()) {
      const due = Math.floor(((now - start) / 1000) * offerPerSecond) - offered;
      for (let i = 0; i < due && inflight < 256; i++) {
        const r = replicas[offered % 2] as (typeof replicas)[0];
        offered++;
        inflight++;
        done.push(
          r.pool.request({ path, method: 'GET', headers: { authorization: `Bearer ${flood.secret}` } }).then(async (res) => {
            await res.body.dump();
            statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
            if (res.statusCode === 429 && firstRefusal === 0) firstRefusal = Date.now();
          }).finally(() => inflight--),
        );
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(done);
    const elapsed = (Date.now() - start) / 1000;
    const got = await up.arrivals(path);
    // When each replica admitted them: its access log line (written at the end, with the
    // duration), so neither a busy upstream nor this busy test process can blur the seconds.
    // Lines are written in batches: wait for the last ones.
    const logged = () => replicas.flatMap((r) => r.proc.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['msg'] === 'request' && l['path'] === path && l['status'] === 200)
      .map((l) => Date.parse(String(l['time'])) - Number(l['durationMs'])));
    let admittedAt = logged();
    for (let i = 0; i < 100 && admittedAt.length < (statuses.get(200) ?? 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
      admittedAt = logged();
    }
    // The burst is allowed on top of the rate once, after a quiet spell: it is spent within the
    // second after the first 429 (a replica can refuse while the shared bucket still holds some).
    // From then on every full second must hold the rate itself. The last half second is left
    // out: requests still queued in a busy gateway when the offering stops would be missing.
    const perSecond: number[] = [];
    const end = start + seconds * 1000 - 500;
    for (let t = firstRefusal + 1000; t + 1000 <= end; t += 1000) perSecond.push(admittedAt.filter((a) => a >= t && a < t + 1000).length);
    const offeredPerSecond = offered / elapsed;
    console.log(JSON.stringify({ offeredPerSecond: Math.round(offeredPerSecond), perSecond, statuses: Object.fromEntries(statuses) }));
    expect(offeredPerSecond).toBeGreaterThanOrEqual(LIMIT * 8); // the load really was far above the limit
    expect(statuses.get(500) ?? 0).toBe(0);
    expect((statuses.get(200) ?? 0) + (statuses.get(429) ?? 0)).toBe(offered);
    expect(got.length).toBe(statuses.get(200));
    expect(admittedAt.length).toBe(statuses.get(200));
    expect(perSecond.length).toBeGreaterThanOrEqual(3);
    for (const n of perSecond) {
      expect(n).toBeGreaterThanOrEqual(LIMIT * 0.9);
      expect(n).toBeLessThanOrEqual(LIMIT * 1.1);
    }
  }, 30_000);

  it('requests under their limit are decided from leases in process: Redis frozen, they still pass, no fallback, no failed lease', async () => {
    const [a] = replicas as [typeof replicas[0]];
    const path = '/api/calm';
    const get = async () => {
      const res = await request(`${a.url}${path}`, { headers: { authorization: `Bearer ${calm.secret}` } });
      await res.body.dump();
      return res.statusCode;
    };
    // Warm: the key cached and the first lease (burst 1000 × leaseSize 0.2 = 200 tokens) taken.
    expect(await get()).toBe(200);
    const fallback = () => metric(a.metrics, /^keygate_limiter_fallback_decisions_total (\d+)$/m);
    const leaseErrors = () => metric(a.metrics, /^keygate_limiter_leases_total\{kind="rate",result="error"\} (\d+)$/m);
    const [fb0, le0] = [await fallback(), await leaseErrors()];
    const before = (await up.arrivals(path)).length;
    redis.pause();
    try {
      const codes = [];
      // Fewer than half a lease: no refill is even asked for.
      for (let i = 0; i < 50; i++) codes.push(await get());
      expect(codes.every((c) => c === 200)).toBe(true);
    } finally {
      redis.resume();
    }
    expect((await up.arrivals(path)).length - before).toBe(50);
    expect(await fallback()).toBe(fb0);
    expect(await leaseErrors()).toBe(le0);
  }, 30_000);

  it('Redis MONITOR sees no limiter command and no key lookup while requests under their limit pass', async () => {
    const [, b] = replicas as [typeof replicas[0], typeof replicas[0]];
    const path = '/api/monitored';
    const get = async () => {
      const res = await request(`${b.url}${path}`, { headers: { authorization: `Bearer ${calm.secret}` } });
      await res.body.dump();
      return res.statusCode;
    };
    // Warm on this replica: the key cached, a lease of 200 tokens held.
    expect(await get()).toBe(200);
    const monitor = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(redis.port), 'MONITOR'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let seen = '';
    monitor.stdout.on('data', (c: Buffer) => (seen += c.toString()));
    let during = '';
    try {
      await new Promise<void>((resolve, reject) => {
        monitor.stdout.once('data', () => resolve()); // "OK": MONITOR is on
        monitor.once('exit', () => reject(new Error('redis-cli MONITOR exited')));
      });
      const codes = [];
      for (let i = 0; i < 80; i++) codes.push(await get());
      expect(codes.every((c) => c === 200)).toBe(true);
      during = seen;
      // The filter below does see leases: a route limit this principal never used is a new
      // bucket, whose first lease happens in view of MONITOR.
      const res = await request(`${b.url}/fresh/x`, { headers: { authorization: `Bearer ${calm.secret}` } });
      await res.body.dump();
      for (let i = 0; i < 50 && !seen.slice(during.length).includes(':limits:r:'); i++) await new Promise((r) => setTimeout(r, 20));
    } finally {
      const exited = new Promise((r) => monitor.once('exit', r));
      monitor.kill('SIGTERM');
      await exited;
    }
    expect(seen.slice(during.length)).toContain(':limits:r:');
    const commands = during.split('\n').filter((l) => l.includes('"'));
    // Background heartbeats may appear; lease scripts name the bucket key, lookups the key hash.
    expect(commands.filter((l) => l.includes(':limits:r:') || l.includes(':limits:q:'))).toEqual([]);
    expect(commands.filter((l) => l.includes(':kh:'))).toEqual([]);
    expect((await up.arrivals(path)).length).toBe(81);
  }, 30_000);
});
