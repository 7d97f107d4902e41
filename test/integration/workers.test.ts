/**
 * `server.workers: 2` (issue 12): a real `keygate serve` forking two workers on one real Redis.
 * Which worker answered is read from the access log's `worker` field (every line carries it),
 * and every request goes on a fresh connection so the primary's round-robin spreads them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startRedis } from '../helpers/redis.ts';
import { freePort } from '../helpers/ports.ts';
import { runCli, startServe, type ServeProcess } from '../helpers/cli.ts';
import { adminApi } from '../helpers/admin.ts';
import { newKey } from '../helpers/keys.ts';
import { checkClient } from '../helpers/grpc-check.ts';

const TOKEN = 'workers-admin-token-0123456789abcdef';
let redis: Awaited<ReturnType<typeof startRedis>>;
let up: TestUpstream;
let proc: ServeProcess;
let port: number;
let adminPort: number;
let checkPort: number;
let grpcPort: number;
let file: string;
let admin: ReturnType<typeof adminApi>;
const metered = newKey();

const ROUTES = `
  - { name: app, path: "/api/*", upstream: app, action: application:view }
  - { name: pub, path: "/pub/*", upstream: app, public: true }`;
const MORE = `
  - { name: items, path: "/items/*", upstream: app, public: true }`;

function config(routes: string): string {
  return `
server: { port: ${port}, host: 127.0.0.1, workers: 2, drainTimeout: 20s }
admin: { port: ${adminPort}, host: 127.0.0.1, token: "${TOKEN}" }
check: { port: ${checkPort}, host: 127.0.0.1, grpcPort: ${grpcPort} }
store: { redis: "${redis.url}" }
limiter: { refusedCredentials: { rate: "0" } }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:${routes}
principals:
  - { name: metered-bot, kind: service, roles: [viewer], keys: [{ id: metered-1, hash: "${metered.hash}", quota: { requests: 20, period: day } }] }
`;
}

/** One GET on its own connection (agent: false), so consecutive requests reach different workers. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

type Line = Record<string, unknown>;
const lines = (): Line[] => proc.output().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
const requestLines = (pred: (l: Line) => boolean) => lines().filter((l) => l['msg'] === 'request' && pred(l));
/** The access log is batched for up to 100 ms; wait until `n` matching lines are out. */
async function waitLines(pred: (l: Line) => boolean, n: number, timeoutMs = 10_000): Promise<Line[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hits = requestLines(pred);
    if (hits.length >= n) return hits;
    if (Date.now() > until) throw new Error(`only ${hits.length} of ${n} access lines`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const workersOf = (ls: Line[]) => [...new Set(ls.map((l) => l['worker']))].sort();

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  [port, adminPort, checkPort, grpcPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  file = join(mkdtempSync(join(tmpdir(), 'keygate-workers-')), 'keygate.yaml');
  writeFileSync(file, config(ROUTES));
  // A primary and two workers each load the gateway: on a loaded machine that takes a while.
  proc = await startServe(file, {}, 50_000);
  admin = adminApi(`http://127.0.0.1:${adminPort}`, TOKEN);
}, 60_000);
afterAll(async () => {
  await proc?.stop();
  await up?.close();
  await redis?.stop();
});

describe('server.workers: 2 on Redis', () => {
  it('starts two workers behind one port; requests land on both and reach the upstream', async () => {
    const listening = await proc.waitForLog('keygate listening');
    expect(listening).toMatchObject({ worker: 'primary', workers: 2, port, adminPort, checkPort, grpcCheckPort: grpcPort });
    expect(new Set(listening['pids'] as number[]).size).toBe(2);
    const before = up.received.length;
    for (let i = 0; i < 10; i++) expect((await get(`http://127.0.0.1:${port}/pub/spread-${i}`)).status).toBe(200);
    expect(up.received.slice(before).map((r) => r.url).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `/pub/spread-${i}`).sort());
    const served = await waitLines((l) => String(l['path']).startsWith('/pub/spread-'), 10);
    expect(workersOf(served)).toEqual([1, 2]);
  });

  it('the check listener is shared too', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await get(`http://127.0.0.1:${checkPort}/check`, { 'x-original-method': 'GET', 'x-original-uri': `/pub/check-${i}` });
      expect(r.status).toBe(200);
    }
    expect(workersOf(await waitLines((l) => String(l['path']).startsWith('/pub/check-'), 6))).toEqual([1, 2]);
  });

  it('the Envoy gRPC Check port is shared too', async () => {
    // One client is one HTTP/2 connection: a client per call spreads them over the workers.
    for (let i = 0; i < 6; i++) {
      const client = checkClient(`127.0.0.1:${grpcPort}`);
      try {
        const path = `/pub/grpc-${i}`;
        const res = await client.check({ attributes: { request: { http: { method: 'GET', path, host: 'api.example.com', headers: { ':method': 'GET', ':path': path } } } } });
        expect(res.http_response).toBe('ok_response');
      } finally {
        client.close();
      }
    }
    expect(workersOf(await waitLines((l) => String(l['path']).startsWith('/pub/grpc-'), 6))).toEqual([1, 2]);
  });

  /** A fresh key for a fresh principal, served by both workers (so both caches hold it). */
  async function warmKey(name: string): Promise<{ id: string; secret: string }> {
    expect((await admin('POST', '/v1/principals', { name, kind: 'service', roles: ['viewer'] })).status).toBe(201);
    const { body } = await admin<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: name });
    const auth = { authorization: `Bearer ${body.secret}` };
    for (let i = 0; i < 6; i++) expect((await get(`http://127.0.0.1:${port}/api/${name}-warm-${i}`, auth)).status).toBe(200);
    expect(workersOf(await waitLines((l) => l['keyId'] === body.key.id && l['status'] === 200, 6))).toEqual([1, 2]);
    return { id: body.key.id, secret: body.secret };
  }

  /** After a change made through the admin API (on worker 1), every worker refuses the secret. */
  async function refusedOnEveryWorker(name: string, secret: string): Promise<string[]> {
    const auth = { authorization: `Bearer ${secret}` };
    // Pub/sub reaches both workers' caches; give it a bounded moment, then every request on
    // either worker is refused and none reaches the upstream.
    const until = Date.now() + 5_000;
    while ((await get(`http://127.0.0.1:${port}/api/${name}-settle`, auth)).status !== 401) {
      if (Date.now() > until) throw new Error(`${name}: still accepted after 5 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
    const before = up.received.length;
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await get(`http://127.0.0.1:${port}/api/${name}-after-${i}`, auth);
      expect(r.status).toBe(401);
      codes.push((JSON.parse(r.body) as { error: { code: string } }).error.code);
    }
    expect(up.received.slice(before).filter((r) => r.url.startsWith(`/api/${name}-after-`))).toEqual([]);
    expect(workersOf(await waitLines((l) => String(l['path']).startsWith(`/api/${name}-after-`) && l['status'] === 401, 10))).toEqual([1, 2]);
    return [...new Set(codes)];
  }

  it('a deleted key is refused by every worker, warm caches included', async () => {
    const k = await warmKey('delete-bot');
    expect((await admin('DELETE', `/v1/keys/${k.id}`)).status).toBe(204);
    expect(await refusedOnEveryWorker('delete-bot', k.secret)).toEqual(['invalid_key']);
  });

  it('a rotated key\'s old secret is refused by every worker; the new one works on both', async () => {
    const k = await warmKey('rotate-bot');
    const { status, body } = await admin<{ key: { id: string }; secret: string }>('POST', `/v1/keys/${k.id}/rotate`, {});
    expect(status).toBe(201);
    expect(await refusedOnEveryWorker('rotate-bot', k.secret)).toHaveLength(1);
    for (let i = 0; i < 4; i++) expect((await get(`http://127.0.0.1:${port}/api/rotated-${i}`, { authorization: `Bearer ${body.secret}` })).status).toBe(200);
    expect(workersOf(await waitLines((l) => String(l['path']).startsWith('/api/rotated-') && l['status'] === 200, 4))).toEqual([1, 2]);
  });

  it('disabling the principal refuses its keys on every worker', async () => {
    const k = await warmKey('disable-bot');
    expect((await admin('POST', '/v1/principals/disable-bot/disable')).status).toBe(200);
    expect(await refusedOnEveryWorker('disable-bot', k.secret)).toEqual(['principal_disabled']);
  });

  it('a key quota is one fleet-wide count: both workers together serve at most the quota', async () => {
    const auth = { authorization: `Bearer ${metered.secret}` };
    const before = up.received.length;
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await get(`http://127.0.0.1:${port}/api/metered-${i}`, auth)).status);
    const served = up.received.slice(before).filter((r) => r.url.startsWith('/api/metered-')).length;
    // Leases can leave a few of the 20 unspent (docs/limits.md, Exactness), never more than 20.
    expect(served).toBeLessThanOrEqual(20);
    expect(served).toBeGreaterThanOrEqual(16);
    expect(statuses.filter((x) => x === 200)).toHaveLength(served);
    expect(statuses.filter((x) => x === 429)).toHaveLength(40 - served);
    const refused = await waitLines((l) => String(l['path']).startsWith('/api/metered-') && l['error'] === 'quota_exhausted', 40 - served);
    expect(workersOf(refused)).toEqual([1, 2]);
    expect(workersOf(await waitLines((l) => String(l['path']).startsWith('/api/metered-') && l['status'] === 200, served))).toEqual([1, 2]);
  });

  it('/metrics on the one admin listener sums both workers', async () => {
    for (let i = 0; i < 10; i++) await get(`http://127.0.0.1:${port}/pub/count-${i}`);
    // Proxied so far on the pub route: the 10 of the first test and these 10 (check decisions are not requests_total).
    const served = await waitLines((l) => /^\/pub\/(spread|count)-/.test(String(l['path'])) && l['status'] === 200, 20);
    expect(served).toHaveLength(20);
    expect(workersOf(served)).toEqual([1, 2]);
    const r = await get(`http://127.0.0.1:${adminPort}/metrics`);
    expect(r.status).toBe(200);
    const value = (series: string) => Number(r.body.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1]);
    // 10 spread + 10 counted, half on each worker: only the sum is 20.
    expect(value('keygate_requests_total{route="pub",method="GET",status="200"}')).toBe(served.length);
    // A state every worker reports is not doubled.
    expect(value('keygate_keystore_up')).toBe(1);
    // The primary's own series.
    expect(value('keygate_workers')).toBe(2);
    expect(value('keygate_worker_restarts_total')).toBe(0);
    // One exposition: each family once, and as clean for promtool as a single process's.
    expect(r.body.match(/^# TYPE keygate_requests_total /gm)).toHaveLength(1);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: r.body, encoding: 'utf8' });
    expect(`${lint.stdout}${lint.stderr}`.trim()).toBe('');
    expect(lint.status).toBe(0);
  });

  it('SIGHUP reloads every worker', async () => {
    writeFileSync(file, config(ROUTES + MORE));
    proc.child.kill('SIGHUP');
    const until = Date.now() + 15_000;
    // The primary never parses the file: worker 1 (the canary) loads it, then the other.
    while (new Set(lines().filter((l) => l['msg'] === 'config reloaded').map((l) => l['worker'])).size < 2) {
      if (Date.now() > until) throw new Error('not every worker logged the reload');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(lines().filter((l) => l['msg'] === 'config reloaded').map((l) => l['worker']).sort()).toEqual([1, 2]);
    expect(await proc.waitForLog('config reload relayed to every worker')).toMatchObject({ worker: 'primary', reason: 'sighup', workers: 2 });
    for (let i = 0; i < 6; i++) expect((await get(`http://127.0.0.1:${port}/items/${i}`)).status).toBe(200);
    expect(workersOf(await waitLines((l) => l['route'] === 'items', 6))).toEqual([1, 2]);
    const m = await get(`http://127.0.0.1:${adminPort}/metrics`);
    // Counted once per reload, not once per worker.
    expect(m.body).toContain('keygate_config_reloads_total{result="success"} 1\n');
  });

  it('a change of the file reloads every worker; a bad file is refused once, by the canary, and counted once', async () => {
    const EXTRA = `
  - { name: extra, path: "/extra/*", upstream: app, public: true }`;
    const byReason = (reason: string, msg: string) => new Set(lines().filter((l) => l['msg'] === msg && l['reason'] === reason).map((l) => l['worker']));
    // Replaced whole (write + rename), as editors and ConfigMap updates do.
    writeFileSync(`${file}.new`, config(ROUTES + MORE + EXTRA));
    renameSync(`${file}.new`, file);
    const until = Date.now() + 15_000;
    while (byReason('file-change', 'config reloaded').size < 2) {
      if (Date.now() > until) throw new Error('not every process logged the file-change reload');
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 6; i++) expect((await get(`http://127.0.0.1:${port}/extra/${i}`)).status).toBe(200);
    expect(workersOf(await waitLines((l) => l['route'] === 'extra', 6))).toEqual([1, 2]);

    writeFileSync(`${file}.new`, config(ROUTES).replace('upstream: app', 'upstream: nowhere'));
    renameSync(`${file}.new`, file);
    const rejected = await proc.waitForLog('config reload rejected; keeping the running config');
    expect(rejected['worker']).toBe(1);
    expect(await proc.waitForLog('config reload refused; every worker keeps the running config')).toMatchObject({ worker: 'primary', canary: 1 });
    // The workers keep the running config: the extra route still answers on both.
    for (let i = 0; i < 4; i++) expect((await get(`http://127.0.0.1:${port}/extra/kept-${i}`)).status).toBe(200);
    expect(workersOf(await waitLines((l) => String(l['path']).startsWith('/extra/kept-'), 4))).toEqual([1, 2]);
    // Worker 2 never loaded the bad file.
    expect(lines().filter((l) => l['msg'] === 'config reload rejected; keeping the running config').map((l) => l['worker'])).toEqual([1]);
    const m = (await get(`http://127.0.0.1:${adminPort}/metrics`)).body;
    expect(m).toContain('keygate_config_reloads_total{result="success"} 2\n');
    expect(m).toContain('keygate_config_reloads_total{result="failure"} 1\n');
    // Put the good file back for the tests after this one: the canary loads it again; worker 2
    // finds it is the file it runs (same digest) and has nothing to do.
    writeFileSync(`${file}.new`, config(ROUTES + MORE + EXTRA));
    renameSync(`${file}.new`, file);
    const back = Date.now() + 15_000;
    while (lines().filter((l) => l['msg'] === 'config reload relayed to every worker' && l['reason'] === 'file-change').length < 2) {
      if (Date.now() > back) throw new Error('the good file was not reloaded again');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('log lines stay whole under concurrent load from both workers', async () => {
    // Long paths make each line ~3.3 KB, so a 64 KiB batch from each worker is in the pipe at once.
    const pad = 'p'.repeat(3000);
    const n = 600;
    let next = 0;
    // A slow log reader: with the pipe full, a write(2) bigger than PIPE_BUF goes in pieces, and
    // the other worker's bytes can land between them (what log/sink.ts's `shared` prevents).
    // Paused on and off rather than throughout: a blocking write would otherwise wait forever.
    const out = proc.child.stdout;
    let ticks = 0;
    const toggle = setInterval(() => (++ticks % 4 === 0 ? out?.resume() : out?.pause()), 100);
    try {
      await Promise.all(Array.from({ length: 24 }, async () => {
        while (next < n) {
          const i = next++;
          expect((await get(`http://127.0.0.1:${port}/pub/load-${i}-${pad}`)).status).toBe(200);
        }
      }));
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      clearInterval(toggle);
      out?.resume();
    }
    // lines() parses every line of the output: a torn line would throw here.
    const served = await waitLines((l) => String(l['path']).startsWith('/pub/load-'), n);
    expect(served.length).toBe(n);
    expect(workersOf(served)).toEqual([1, 2]);
    for (const l of proc.output().split('\n').filter((x) => x !== '')) expect(l.startsWith('{"level":')).toBe(true);
  });

  it('a worker that dies is replaced; both slots serve again', async () => {
    const listening = await proc.waitForLog('keygate listening');
    const [, second] = listening['pids'] as [number, number];
    process.kill(second, 'SIGKILL');
    await proc.waitForLog('worker exited; starting another');
    // While the slot is empty (0.5 s back-off, then a start of seconds), /metrics still answers,
    // from the worker that is left.
    const during = await get(`http://127.0.0.1:${adminPort}/metrics`);
    expect(during.status).toBe(200);
    expect(during.body).toContain('\nkeygate_workers 1\n');
    // Still ready (the pod serves on the other worker), and says what is missing.
    const ready = await get(`http://127.0.0.1:${adminPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ready', checks: { workers: '1 of 2 serving' } });
    const restarted = await proc.waitForLog('worker restarted', 30_000);
    expect(restarted['slot']).toBe(2);
    expect(restarted['pid']).not.toBe(second);
    expect(lines().find((l) => l['msg'] === 'worker exited; starting another')).toMatchObject({ slot: 2, pid: second, signal: 'SIGKILL' });
    for (let i = 0; i < 6; i++) expect((await get(`http://127.0.0.1:${port}/pub/after-restart-${i}`)).status).toBe(200);
    expect(workersOf(await waitLines((l) => String(l['path']).startsWith('/pub/after-restart-'), 6))).toEqual([1, 2]);
    expect(JSON.parse((await get(`http://127.0.0.1:${adminPort}/readyz`)).body)).toMatchObject({ checks: { workers: '2 of 2 serving' } });
    const m = (await get(`http://127.0.0.1:${adminPort}/metrics`)).body;
    expect(m).toContain('\nkeygate_worker_restarts_total 1\n');
    expect(m).toContain('\nkeygate_workers 2\n');
  }, 40_000);

  it('SIGTERM drains: an in-flight request completes on its worker, then everything exits 0', async () => {
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    up.setHandler((_req, res) => void held.then(() => res.end('finished late')));
    const arrived = up.nextRequest();
    const inflight = get(`http://127.0.0.1:${port}/pub/slow`);
    await arrived;
    proc.child.kill('SIGTERM');
    // Both workers hear the drain while the request is still held upstream.
    const until = Date.now() + 10_000;
    while (new Set(lines().filter((l) => l['msg'] === 'draining').map((l) => l['worker'])).size < 3) {
      if (Date.now() > until) throw new Error('not every process logged draining');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(proc.child.exitCode).toBe(null);
    release();
    expect(await inflight).toEqual({ status: 200, body: 'finished late' });
    expect(await proc.exited).toBe(0);
    expect(lines().filter((l) => l['msg'] === 'keygate stopped').map((l) => l['worker']).sort()).toEqual([1, 2, 'primary']);
    up.setHandler(null);
  });
});

describe('server.workers when the primary dies', () => {
  it('SIGKILL to the primary: each worker sees the IPC channel close, drains and exits (no orphan holds the port)', async () => {
    const p = await freePort();
    const f = join(mkdtempSync(join(tmpdir(), 'keygate-workers-orphan-')), 'keygate.yaml');
    writeFileSync(f, `
server: { port: ${p}, host: 127.0.0.1, workers: 2 }
admin: { port: ${await freePort()}, host: 127.0.0.1 }
store: { redis: "${redis.url}" }
upstreams: { app: { url: "${up.url}" } }
routes:
  - { name: pub, path: "/pub/*", upstream: app, public: true }
`);
    const orphaned = await startServe(f, {}, 50_000);
    const pids = (await orphaned.waitForLog('keygate listening'))['pids'] as number[];
    expect(pids).toHaveLength(2);
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    up.setHandler((_req, res) => void held.then(() => res.end('finished without a primary')));
    const arrived = up.nextRequest();
    const inflight = get(`http://127.0.0.1:${p}/pub/orphan`);
    await arrived;
    orphaned.child.kill('SIGKILL');
    await orphaned.exited;
    // The worker holding the request drains it rather than dying with it.
    const drainingBy = Date.now() + 10_000;
    while (orphaned.output().split('\n').filter((l) => l.includes('primary exited')).length < 2 && Date.now() < drainingBy) await new Promise((r) => setTimeout(r, 50));
    release();
    expect(await inflight).toEqual({ status: 200, body: 'finished without a primary' });
    up.setHandler(null);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const until = Date.now() + 20_000;
    while (pids.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(pids.filter(alive)).toEqual([]);
    // The port is free again: nothing answers on it.
    await expect(get(`http://127.0.0.1:${p}/pub/x`)).rejects.toThrow();
    // Each worker said why it stopped.
    const said = orphaned.output().split('\n').filter((l) => l.includes('"msg":"draining"') && l.includes('primary exited'));
    expect(said).toHaveLength(2);
  }, 80_000);
});

describe('server.workers start-up failures', () => {
  it('a proxy port already taken: the primary says why and exits 1, leaving no worker behind', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const busy = (taken.address() as AddressInfo).port;
    try {
      const f = join(mkdtempSync(join(tmpdir(), 'keygate-workers-busy-')), 'keygate.yaml');
      writeFileSync(f, `
server: { port: ${busy}, host: 127.0.0.1, workers: 2 }
admin: { port: ${await freePort()}, host: 127.0.0.1 }
store: { redis: "${redis.url}" }
upstreams: { app: { url: "http://127.0.0.1:1" } }
routes:
  - { name: pub, path: "/pub/*", upstream: app, public: true }
`);
      // runCli resolves when stdout closes: the workers hold it too, so this waits for every one.
      const r = await runCli(['serve', '--config', f], { timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      const out = r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
      expect(out.find((l) => l['msg'] === 'could not start' && typeof l['worker'] === 'number')).toBeDefined();
      expect(out.find((l) => l['msg'] === 'could not start: a worker exited during startup')).toMatchObject({ worker: 'primary' });
    } finally {
      await new Promise((r) => taken.close(r));
    }
  }, 70_000);

  it('keygate serve refuses to start, naming the file, the line and why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-workers-embedded-'));
    const f = join(dir, 'keygate.yaml');
    writeFileSync(f, 'server:\n  port: 0\n  workers: 2\nupstreams: { app: { url: "http://127.0.0.1:1" } }\nroutes:\n  - { name: pub, path: "/pub/*", upstream: app, public: true }\n');
    const r = await runCli(['serve', '--config', f], { timeoutMs: 30_000 });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${f}:3:12: /server/workers: workers: 2 needs a Redis store`);
    expect(r.stdout).toBe('');
  }, 40_000);
});
