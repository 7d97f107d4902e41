/**
 * The Redis delivery queue is durable: a delivery owed by a keygate process that stops (SIGTERM)
 * or dies mid-attempt (SIGKILL) is delivered by the next process, with the same event id.
 * Real redis-server, real `keygate serve` processes, a real receiver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startServe, type ServeProcess } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { adminApi } from '../helpers/admin.ts';
import { startReceiver, type Received, type TestReceiver } from '../helpers/webhook-receiver.ts';

const TOKEN = 'admin-token-for-durable-tests-01234';
const SECRET = 'whsec_durable_0123456789abcdef';
let redis: TestRedis;
let receiver: TestReceiver;
let file = '';
let adminPort = 0;
let current: ServeProcess | null = null;
type Rec = Record<string, unknown>;

async function serve(): Promise<ReturnType<typeof adminApi>> {
  current = await startServe(file, { PORT: String(await freePort()), ADMIN_PORT: String(adminPort) });
  return adminApi(`http://127.0.0.1:${adminPort}`, TOKEN);
}

async function until(ok: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received ${receiver.received.map((r) => `${r.event.type}#${String(r.headers['keygate-delivery-attempt'])}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  redis = await startRedis();
  receiver = await startReceiver(SECRET);
  adminPort = await freePort();
  file = join(mkdtempSync(join(tmpdir(), 'keygate-durable-')), 'keygate.yaml');
  writeFileSync(file, `
server: { port: "\${PORT}", host: 127.0.0.1 }
admin: { port: "\${ADMIN_PORT}", host: 127.0.0.1, token: "${TOKEN}" }
store: { redis: "${redis.url}" }
webhooks:
  - { name: ops, url: "${receiver.url}", secret: "${SECRET}", events: [key.created], timeout: 1s, backoff: 100ms, maxBackoff: 200ms, maxAttempts: 50 }
upstreams: { app: { url: "http://127.0.0.1:9" } }
roles: { viewer: { actions: [app:view] } }
routes: [{ name: app, path: "/api/*", upstream: app, action: app:view }]
log: { level: info }
`);
}, 30_000);

afterAll(async () => {
  receiver?.stall(false);
  await current?.stop();
  await receiver?.close();
  await redis?.stop();
});

const forKey = (keyId: unknown) => (r: Received) => r.event.data['keyId'] === keyId;

describe('Redis delivery queue', () => {
  it('a delivery still owed when keygate stops is delivered by the next process', async () => {
    let call = await serve();
    const p = (await call<Rec>('POST', '/v1/principals', { name: 'bot', kind: 'service' })).body;
    receiver.respond = () => 503; // down for maintenance
    const k = (await call<{ key: Rec }>('POST', '/v1/keys', { principal: p['id'] })).body.key;
    await until(() => receiver.received.filter(forKey(k['id'])).length >= 2, 'two refused attempts');
    await current!.stop();
    receiver.respond = null; // back
    const before = receiver.received.filter(forKey(k['id'])).length;
    call = await serve();
    await until(() => receiver.received.filter(forKey(k['id'])).length > before, 'delivery by the new process');
    const tries = receiver.received.filter(forKey(k['id']));
    expect(new Set(tries.map((t) => t.event.id)).size).toBe(1);
    expect(tries.every((t) => t.verdict === 'ok')).toBe(true);
    let log: Rec[] = [];
    for (let i = 0; i < 100 && log[0]?.['status'] !== 'delivered'; i++) {
      log = (await call<{ items: Rec[] }>('GET', `/v1/webhooks/deliveries?eventId=${tries[0]!.event.id}`)).body.items;
      if (log[0]?.['status'] !== 'delivered') await new Promise((r) => setTimeout(r, 50));
    }
    expect(log[0]).toMatchObject({ status: 'delivered', lastStatus: 200, attempts: tries.length });
  }, 60_000);

  it('a process killed mid-delivery leaves it to the next one once the lease runs out: at least once', async () => {
    const call = adminApi(`http://127.0.0.1:${adminPort}`, TOKEN);
    receiver.stall(true);
    const k = (await call<{ key: Rec }>('POST', '/v1/keys', { principal: 'bot' })).body.key;
    await receiver.waitHeld();
    current!.child.kill('SIGKILL');
    await current!.exited;
    receiver.stall(false);
    await serve();
    await until(() => receiver.received.filter(forKey(k['id'])).length >= 2, 'the redelivery', 30_000);
    const tries = receiver.received.filter(forKey(k['id']));
    expect(tries.map((t) => t.headers['keygate-delivery-attempt'])).toEqual(['1', '2']);
    expect(tries[1]!.event.id).toBe(tries[0]!.event.id); // the receiver deduplicates on it
    expect(tries[1]!.verdict).toBe('ok');
  }, 60_000);
});
