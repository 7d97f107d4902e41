import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startRedis } from '../helpers/redis.ts';
import { freePort } from '../helpers/ports.ts';
import { startServe, type ServeProcess } from '../helpers/cli.ts';
import { adminApi, proxiedStatus } from '../helpers/admin.ts';

const TOKEN = 'replica-admin-token-0123456789abc';
let redis: Awaited<ReturnType<typeof startRedis>>;
let up: TestUpstream;
const replicas: { proc: ServeProcess; url: string; admin: ReturnType<typeof adminApi> }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'keygate-replicas-'));
  for (const name of ['a', 'b']) {
    const port = await freePort();
    const adminPort = await freePort();
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `
server: { port: ${port}, host: 127.0.0.1 }
admin: { port: ${adminPort}, host: 127.0.0.1, token: "${TOKEN}" }
store: { redis: "${redis.url}" }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
`);
    const proc = await startServe(file);
    replicas.push({ proc, url: `http://127.0.0.1:${port}/api/x`, admin: adminApi(`http://127.0.0.1:${adminPort}`, TOKEN) });
  }
});
afterAll(async () => {
  for (const r of replicas) await r.proc.stop();
  await up?.close();
  await redis?.stop();
});

/** Polls until the replica refuses the key; returns how long that took. */
async function refusedWithin(url: string, secret: string, code: string, limitMs: number): Promise<number> {
  const start = performance.now();
  for (;;) {
    const r = await proxiedStatus(url, secret);
    if (r.status === 401 && r.code === code) return performance.now() - start;
    if (performance.now() - start > limitMs) throw new Error(`still ${r.status} after ${limitMs} ms`);
  }
}

describe('two keygate processes on one Redis', () => {
  it('a key created on A works on B; expired on A it is refused by B, whose cache was warm', async () => {
    const [a, b] = replicas as [typeof replicas[0], typeof replicas[0]];
    await a.admin('POST', '/v1/principals', { name: 'shared-bot', kind: 'service', roles: ['viewer'] });
    const { body } = await a.admin<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'shared-bot' });
    expect((await proxiedStatus(b.url, body.secret)).status).toBe(200);
    expect((await proxiedStatus(b.url, body.secret)).status).toBe(200); // served from B's cache
    await a.admin('POST', `/v1/keys/${body.key.id}/expire`);
    // The propagation figure itself is measured in bench/ (docs/benchmarks.md); here: it happens, promptly.
    await refusedWithin(b.url, body.secret, 'key_expired', 2_000);
  });

  it('disabling the principal on B kills its keys on A', async () => {
    const [a, b] = replicas as [typeof replicas[0], typeof replicas[0]];
    await b.admin('POST', '/v1/principals', { name: 'disable-me', kind: 'user', roles: ['viewer'] });
    const { body } = await b.admin<{ secret: string }>('POST', '/v1/keys', { principal: 'disable-me' });
    expect((await proxiedStatus(a.url, body.secret)).status).toBe(200);
    await b.admin('POST', '/v1/principals/disable-me/disable');
    await refusedWithin(a.url, body.secret, 'principal_disabled', 2_000);
  });
});
