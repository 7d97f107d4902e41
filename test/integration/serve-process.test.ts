import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { newKey } from '../helpers/keys.ts';
import { freePort } from '../helpers/ports.ts';
import { startServe, type ServeProcess } from '../helpers/cli.ts';

const key = newKey();
let up: TestUpstream;
let dir: string;

function config(port: number, adminPort: number, upstream: string, routes: string): string {
  return `
server: { port: ${port}, host: 127.0.0.1, drainTimeout: 5s }
admin: { port: ${adminPort}, host: 127.0.0.1 }
upstreams: { app: { url: "${upstream}" } }
roles: { viewer: { actions: [application:view] } }
routes:
${routes}
principals:
  - { name: ci-bot, kind: service, roles: [viewer], keys: [{ id: ci-bot-1, hash: "${key.hash}" }] }
`;
}
const ROUTE_A = '  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET], upstream: app, action: application:view }';
const ROUTE_B = '  - { name: items, path: "/items/*", methods: [GET], upstream: app, action: application:view }';

beforeAll(async () => {
  up = await startUpstream();
  dir = mkdtempSync(join(tmpdir(), 'keygate-serve-'));
});
afterAll(async () => up?.close());

async function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await request(url, { headers });
  await r.body.dump();
  return r.statusCode;
}

describe('keygate serve (child process)', () => {
  let proc: ServeProcess;
  let port: number;
  let adminPort: number;
  let file: string;

  beforeAll(async () => {
    port = await freePort();
    adminPort = await freePort();
    file = join(dir, 'keygate.yaml');
    writeFileSync(file, config(port, adminPort, up.url, ROUTE_A));
    proc = await startServe(file);
  });
  afterAll(async () => { await proc?.stop(); });

  it('serves authenticated requests and reports health and readiness', async () => {
    const auth = { authorization: `Bearer ${key.secret}` };
    const next = up.nextRequest();
    expect(await status(`http://127.0.0.1:${port}/api/applications/1/x`, auth)).toBe(200);
    expect((await next).headers.get('x-authenticated-user')).toEqual(['ci-bot']);
    expect(await status(`http://127.0.0.1:${adminPort}/healthz`)).toBe(200);
    const ready = await request(`http://127.0.0.1:${adminPort}/readyz`);
    expect(ready.statusCode).toBe(200);
    expect(await ready.body.json()).toMatchObject({ status: 'ready', checks: { store: 'up' } });
  });

  it('reloads on SIGHUP; a bad file keeps the last good config and says why', async () => {
    const auth = { authorization: `Bearer ${key.secret}` };
    writeFileSync(file, config(port, adminPort, up.url, ROUTE_B));
    proc.child.kill('SIGHUP');
    await proc.waitForLog('config reloaded');
    expect(await status(`http://127.0.0.1:${port}/items/1`, auth)).toBe(200);
    expect(await status(`http://127.0.0.1:${port}/api/applications/1/x`, auth)).toBe(404);

    // Replaced whole, as editors and ConfigMap updates do: the watcher may otherwise read the file
    // half-written (rightly rejected too, but not for the reason this test checks).
    writeFileSync(`${file}.new`, config(port, adminPort, up.url, ROUTE_B).replace('upstream: app', 'upstream: nowhere'));
    renameSync(`${file}.new`, file);
    proc.child.kill('SIGHUP');
    const failure = await proc.waitForLog(/rejected|invalid|failed|kept/i);
    expect(JSON.stringify(failure)).toContain('nowhere');
    expect(await status(`http://127.0.0.1:${port}/items/1`, auth)).toBe(200);
  });

  it('logs no secret', () => {
    expect(proc.output()).not.toContain(key.secret);
  });
});

describe('SIGTERM drains in-flight requests', () => {
  it('finishes a slow in-flight request, refuses new connections, exits 0', async () => {
    const slow = await startUpstream();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    slow.setHandler((_req, res) => void gate.then(() => res.end('late but complete')));
    const port = await freePort();
    const adminPort = await freePort();
    const file = join(dir, 'drain.yaml');
    writeFileSync(file, config(port, adminPort, slow.url, ROUTE_A));
    const proc = await startServe(file);
    try {
      const inflight = request(`http://127.0.0.1:${port}/api/applications/1/x`, { headers: { authorization: `Bearer ${key.secret}` } });
      await slow.nextRequest();
      proc.child.kill('SIGTERM');
      await proc.waitForLog('draining');
      await expect(request(`http://127.0.0.1:${port}/api/applications/1/x`, { headers: { authorization: `Bearer ${key.secret}` } })).rejects.toThrow();
      release();
      const res = await inflight;
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe('late but complete');
      expect(await proc.exited).toBe(0);
    } finally {
      release();
      await proc.stop();
      await slow.close();
    }
  });
});
