/**
 * Issue 14, key-lifecycle policy: two real `keygate serve` replicas on one real redis-server, a
 * real webhook receiver verifying signatures with the algorithm docs/webhooks.md documents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startServe, runCli, type ServeProcess } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminApi, proxiedStatus } from '../helpers/admin.ts';
import { referenceVerify, startReceiver, type Received, type TestReceiver } from '../helpers/webhook-receiver.ts';
import { verifySignature } from '../../src/webhooks/sign.ts';
import { createRedisKeyStore } from '../../src/keystore/redis-store.ts';

const TOKEN = 'admin-token-for-lifecycle-tests-0123';
const SECRET = 'whsec_test_0123456789abcdefghijklmnop';
const DAY = 86_400_000;
type Rec = Record<string, unknown>;
type KeyBody = { key: Rec; secret: string };

let redis: TestRedis;
let receiver: TestReceiver;
let up: TestUpstream;
const replicas: { proc: ServeProcess; port: number; adminPort: number }[] = [];
let a: ReturnType<typeof adminApi>;
let b: ReturnType<typeof adminApi>;
let principalId = '';

beforeAll(async () => {
  redis = await startRedis();
  receiver = await startReceiver(SECRET);
  up = await startUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'keygate-lifecycle-'));
  const file = join(dir, 'keygate.yaml');
  writeFileSync(file, `
server: { port: "\${PORT}", host: 127.0.0.1 }
admin: { port: "\${ADMIN_PORT}", host: 127.0.0.1, token: "${TOKEN}" }
store: { redis: "${redis.url}" }
keys: { maxLifetime: 30d, defaultLifetime: 7d, expiryCheckInterval: 200ms, maxPerPrincipal: 200 }
webhooks:
  - { name: ops, url: "${receiver.url}", secret: "\${WEBHOOK_SECRET}", timeout: 5s, backoff: 100ms, maxBackoff: 400ms, maxAttempts: 4 }
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [application:view] }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
log: { level: info }
`);
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const adminPort = await freePort();
    const proc = await startServe(file, { PORT: String(port), ADMIN_PORT: String(adminPort), WEBHOOK_SECRET: SECRET });
    replicas.push({ proc, port, adminPort });
  }
  a = adminApi(`http://127.0.0.1:${replicas[0]!.adminPort}`, TOKEN);
  b = adminApi(`http://127.0.0.1:${replicas[1]!.adminPort}`, TOKEN);
  const p = await a<Rec>('POST', '/v1/principals', { name: 'ci-bot', kind: 'service', roles: ['viewer'] });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  principalId = p.body['id'] as string;
}, 60_000);

afterAll(async () => {
  receiver?.stall(false);
  for (const r of replicas) await r.proc.stop();
  await receiver?.close();
  await up?.close();
  await redis?.stop();
});

const life = (k: Rec) => Date.parse(k['expiresAt'] as string) - Date.parse(k['createdAt'] as string);
const ofType = (type: string, keyId?: string) => receiver.received.filter((r) => r.event.type === type && (keyId === undefined || r.event.data['keyId'] === keyId));

/** Waits until the receiver got an event matching `pick`, and returns its (first) delivery. */
async function eventually(pick: (r: Received) => boolean, what: string, timeoutMs = 15_000): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = receiver.received.find(pick);
    if (hit !== undefined) return hit;
    if (Date.now() > deadline) throw new Error(`no ${what} delivered; got: ${receiver.received.map((r) => `${r.event.type}(${String(r.event.data['keyId'] ?? '')})`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `read` until `ok` holds (or 10 s pass) and returns the last value read. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A metric's value summed over both replicas. */
async function fleetSum(re: RegExp): Promise<number> {
  let sum = 0;
  for (const r of replicas) sum += Number(re.exec(await (await request(`http://127.0.0.1:${r.adminPort}/metrics`)).body.text())?.[1] ?? 0);
  return sum;
}

async function gauge(adminPort: number): Promise<Record<string, number>> {
  const res = await request(`http://127.0.0.1:${adminPort}/metrics`);
  const text = await res.body.text();
  return Object.fromEntries([...text.matchAll(/^keygate_keys_expiring\{window="(\w+)"\} (\d+)$/gm)].map((m) => [m[1] as string, Number(m[2])]));
}

describe('keygate_keys_expiring', () => {
  it('counts live keys by window from the shared store, on every replica', async () => {
    expect(await gauge(replicas[0]!.adminPort)).toEqual({ '7d': 0, '1d': 0 });
    for (const expiresIn of ['12h', '3d', '20d']) expect((await a('POST', '/v1/keys', { principal: principalId, expiresIn })).status).toBe(201);
    // Written through replica A, counted by both from Redis at their next check (every 200 ms here).
    for (const r of replicas) expect(await until(() => gauge(r.adminPort), (g) => g['7d'] === 2)).toEqual({ '7d': 2, '1d': 1 });
  });
});

describe('lifetime policy (keys.maxLifetime 30d, keys.defaultLifetime 7d)', () => {
  it('refuses a key beyond maxLifetime at creation and import, creating nothing', async () => {
    const before = (await a<{ items: Rec[] }>('GET', '/v1/keys')).body.items.length;
    const r = await a<{ error: Rec }>('POST', '/v1/keys', { principal: principalId, expiresIn: '31d' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'key_lifetime_exceeded', field: 'expiresIn' });
    expect(r.body.error['message']).toContain('30d');
    const imp = await a<{ error: Rec }>('POST', '/v1/keys/import', { principal: principalId, secret: 'migrated-secret-0123456789abcdef', expiresIn: 60 });
    expect(imp.status).toBe(400);
    expect(imp.body.error['code']).toBe('key_lifetime_exceeded');
    expect(await proxiedStatus(`http://127.0.0.1:${replicas[0]!.port}/api/x`, 'migrated-secret-0123456789abcdef')).toEqual({ status: 401, code: 'invalid_key' });
    const cli = await runCli(['keys', 'create', '--principal', 'ci-bot', '--expires-in', '90d', '--admin-url', `http://127.0.0.1:${replicas[1]!.adminPort}`, '--token', TOKEN]);
    expect(cli.code).toBe(4);
    expect(cli.stderr).toMatch(/^keygate: 400 key_lifetime_exceeded: expiresIn: 90d is longer than keys.maxLifetime \(30d\)/);
    expect((await a<{ items: Rec[] }>('GET', '/v1/keys')).body.items.length).toBe(before);
  });

  it('gives a key created or imported without expiresIn the default lifetime', async () => {
    const r = await a<KeyBody>('POST', '/v1/keys', { principal: principalId });
    expect(r.status).toBe(201);
    expect(life(r.body.key)).toBe(7 * DAY);
    const imp = await a<Rec>('POST', '/v1/keys/import', { principal: principalId, secret: 'migrated-secret-fedcba9876543210' });
    expect(imp.status).toBe(201);
    expect(life(imp.body)).toBe(7 * DAY);
  });

  it('rotation keeps the policy: the successor gets the old lifetime from now, and no more than maxLifetime', async () => {
    const k = (await a<KeyBody>('POST', '/v1/keys', { principal: principalId, expiresIn: '30d' })).body.key;
    const tooLong = await a<{ error: Rec }>('POST', `/v1/keys/${k['id'] as string}/rotate`, { expiresIn: '45d' });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error['code']).toBe('key_lifetime_exceeded');
    expect((await a<Rec>('GET', `/v1/keys/${k['id'] as string}`)).body['status']).toBe('active'); // nothing rotated
    const rotated = await a<KeyBody>('POST', `/v1/keys/${k['id'] as string}/rotate`, {});
    expect(rotated.status).toBe(201);
    expect(life(rotated.body.key)).toBe(30 * DAY);
    expect(Date.parse(rotated.body.key['expiresAt'] as string)).toBeGreaterThan(Date.parse(k['expiresAt'] as string));
    const shorter = await a<KeyBody>('POST', `/v1/keys/${rotated.body.key['id'] as string}/rotate`, { expiresIn: '2d' });
    expect(life(shorter.body.key)).toBe(2 * DAY);
  });

  it('a later change of expiry (PATCH) cannot stretch a key past createdAt + maxLifetime, nor clear it', async () => {
    const k = (await a<KeyBody>('POST', '/v1/keys', { principal: principalId, expiresIn: '10d' })).body.key;
    const longer = await a<{ error: Rec }>('PATCH', `/v1/keys/${k['id'] as string}`, { expiresIn: '31d' });
    expect(longer.status).toBe(400);
    expect(longer.body.error).toMatchObject({ code: 'key_lifetime_exceeded', field: 'expiresIn' });
    const cleared = await a<{ error: Rec }>('PATCH', `/v1/keys/${k['id'] as string}`, { expiresAt: null });
    expect(cleared.status).toBe(400);
    expect(cleared.body.error['code']).toBe('key_expiry_required');
    expect((await a<Rec>('GET', `/v1/keys/${k['id'] as string}`)).body['expiresAt']).toBe(k['expiresAt']);
    const within = await a<Rec>('PATCH', `/v1/keys/${k['id'] as string}`, { expiresIn: '20d' });
    expect(within.status, JSON.stringify(within.body)).toBe(200);
  });
});

describe('events to the webhook', () => {
  it('key.created arrives signed, with an id the headers repeat and no secret or hash', async () => {
    const r = await a<KeyBody>('POST', '/v1/keys', { principal: principalId, name: 'signed' });
    const id = r.body.key['id'] as string;
    const got = await eventually((x) => x.event.type === 'key.created' && x.event.data['keyId'] === id, 'key.created');
    expect(got.verdict).toBe('ok');
    expect(got.event.id).toMatch(/^evt_/);
    expect(got.headers['keygate-event-id']).toBe(got.event.id);
    expect(got.headers['keygate-event-type']).toBe('key.created');
    expect(got.event.data).toMatchObject({ keyId: id, principalId, imported: false, createdBy: 'admin-token' });
    expect(Date.parse(got.event.at)).not.toBeNaN();
    expect(got.body).not.toContain(r.body.secret);
    expect(got.body).not.toContain(SECRET);
    expect(got.body).not.toMatch(/[0-9a-f]{64}/); // no hash
  });

  it('the documented verification refuses a tampered body and an old timestamp', async () => {
    const got = await eventually((x) => x.event.type === 'key.created', 'key.created');
    const header = got.headers['keygate-signature'] as string;
    const nowS = Math.floor(Date.now() / 1000);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(referenceVerify(header, got.body, SECRET, nowS)).toBe('ok');
    const tampered = got.body.replace('"key.created"', '"key.revoked"');
    expect(referenceVerify(header, tampered, SECRET, nowS)).toBe('mismatch');
    expect(referenceVerify(header, got.body, SECRET, nowS + 301)).toBe('too_old');
    expect(referenceVerify(header, got.body, 'another-secret-0123456789', nowS)).toBe('mismatch');
    // keygate's own verifier (src/webhooks/sign.ts) agrees.
    expect(verifySignature(header, tampered, SECRET).ok).toBe(false);
    expect(verifySignature(header, got.body, SECRET, { nowMs: (nowS + 301) * 1000 })).toEqual({ ok: false, reason: 'too_old' });
    // Replayed to the receiver with a changed body, it is refused there too.
    const replay = await request(receiver.url, { method: 'POST', headers: { 'content-type': 'application/json', 'keygate-signature': header }, body: tampered });
    expect(replay.statusCode).toBe(400);
    expect(await replay.body.text()).toBe('mismatch');
  });

  it('rotate, expire, delete and disable each emit their event, once, with ids only', async () => {
    const k = (await a<KeyBody>('POST', '/v1/keys', { principal: principalId })).body.key;
    const next = (await b<KeyBody>('POST', `/v1/keys/${k['id'] as string}/rotate`, { grace: '1h' })).body.key;
    const rotated = await eventually((x) => x.event.type === 'key.rotated' && x.event.data['previousKeyId'] === k['id'], 'key.rotated');
    expect(rotated.event.data).toMatchObject({ keyId: next['id'], principalId, expiresAt: next['expiresAt'] });
    expect(Date.parse(rotated.event.data['previousExpiresAt'] as string) - Date.now()).toBeGreaterThan(59 * 60_000);

    const e = (await a<KeyBody>('POST', '/v1/keys', { principal: principalId })).body.key;
    expect((await a('POST', `/v1/keys/${e['id'] as string}/expire`)).status).toBe(200);
    const revoked = await eventually((x) => x.event.type === 'key.revoked' && x.event.data['keyId'] === e['id'], 'key.revoked');
    expect(revoked.event.data['reason']).toBe('expired_by_admin');

    expect((await a('DELETE', `/v1/keys/${next['id'] as string}`)).status).toBe(204);
    const deleted = await eventually((x) => x.event.type === 'key.revoked' && x.event.data['keyId'] === next['id'], 'key.revoked (deleted)');
    expect(deleted.event.data['reason']).toBe('deleted');

    const p = (await a<Rec>('POST', '/v1/principals', { name: 'to-disable', kind: 'service' })).body;
    expect((await b('POST', `/v1/principals/${p['id'] as string}/disable`)).status).toBe(200);
    const disabled = await eventually((x) => x.event.type === 'principal.disabled' && x.event.data['principalId'] === p['id'], 'principal.disabled');
    expect(disabled.event.data).toMatchObject({ name: 'to-disable', by: 'admin-token' });
    expect((await b('POST', `/v1/principals/${p['id'] as string}/disable`)).status).toBe(200); // already disabled: no second event

    // Both replicas scan every 200 ms; over many scans the key expired by an admin never also
    // becomes key.expired, and nothing above was delivered twice.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(ofType('key.expired', e['id'] as string)).toHaveLength(0);
    expect(receiver.received.filter((x) => x.event.type === 'principal.disabled' && x.event.data['principalId'] === p['id'])).toHaveLength(1);
    const ids = receiver.received.filter((x) => x.verdict === 'ok').map((x) => x.event.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('key.expiring once per key, for the narrowest window it entered, across both replicas; then key.expired', async () => {
    // Keys issued ten days ago (a migration writes them so), now 12 h, 3 d and 2 s from expiry.
    const store = createRedisKeyStore({ url: redis.url, logger: { info() {}, warn() {}, error() {} } as never });
    const old = new Date(Date.now() - 10 * DAY);
    const ids = { halfDay: 'key_old_halfday', threeDays: 'key_old_threedays', seconds: 'key_old_seconds' };
    try {
      for (const [id, left] of [[ids.halfDay, DAY / 2], [ids.threeDays, 3 * DAY], [ids.seconds, 2_000]] as const) {
        await store.createKey({ id, principalId, hash: randomBytes(32).toString('hex'), createdAt: old, expiresAt: new Date(Date.now() + left), type: 'api_key' }, { maxLive: 1000, now: new Date() });
      }
    } finally {
      await store.close();
    }
    expect((await eventually((x) => x.event.type === 'key.expiring' && x.event.data['keyId'] === ids.halfDay, 'key.expiring (12h)')).event.data['window']).toBe('1d');
    expect((await eventually((x) => x.event.type === 'key.expiring' && x.event.data['keyId'] === ids.threeDays, 'key.expiring (3d)')).event.data['window']).toBe('7d');
    expect((await eventually((x) => x.event.type === 'key.expiring' && x.event.data['keyId'] === ids.seconds, 'key.expiring (2s)')).event.data['window']).toBe('1d');
    const expired = await eventually((x) => x.event.type === 'key.expired' && x.event.data['keyId'] === ids.seconds, 'key.expired', 10_000);
    const rec = (await a<Rec>('GET', `/v1/keys/${ids.seconds}`)).body;
    expect(expired.event.at).toBe(rec['expiresAt']);
    expect(rec['status']).toBe('expired');
    // A key issued through the API for 3 s expires without a warning: its whole life fits in the window.
    const soon = (await a<KeyBody>('POST', '/v1/keys', { principal: principalId, expiresIn: '3s' })).body.key;
    await eventually((x) => x.event.type === 'key.expired' && x.event.data['keyId'] === soon['id'], 'key.expired (API key)');
    await new Promise((r) => setTimeout(r, 1_500)); // several more scans on each replica
    for (const id of Object.values(ids)) expect(ofType('key.expiring', id)).toHaveLength(1);
    expect(ofType('key.expired', ids.seconds)).toHaveLength(1);
    expect(ofType('key.expired', soon['id'] as string)).toHaveLength(1);
    expect(ofType('key.expiring', soon['id'] as string)).toHaveLength(0);
    // Both replicas emitted some of these; one marker per key let only one of them send each.
    expect(await fleetSum(/^keygate_events_total\{type="key.expiring"\} (\d+)/m)).toBe(ofType('key.expiring').length);
  });
});

describe('delivery', () => {
  it('retries after the receiver answers 500, then logs the delivery as delivered with its attempts', async () => {
    const flaky = ((await a<Rec>('POST', '/v1/principals', { name: 'flaky-receiver', kind: 'service' })).body)['id'];
    const seen = new Map<string, number>();
    receiver.respond = (r) => {
      if (r.event.data['principalId'] !== flaky) return undefined;
      const n = (seen.get(r.event.id) ?? 0) + 1;
      seen.set(r.event.id, n);
      return n === 1 ? 500 : n === 2 ? 503 : 200;
    };
    const k = (await a<KeyBody>('POST', '/v1/keys', { principal: flaky, name: 'retried' })).body.key;
    const firsts = () => receiver.received.filter((x) => x.event.type === 'key.created' && x.event.data['keyId'] === k['id']);
    const deadline = Date.now() + 15_000;
    while (firsts().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const tries = firsts();
    expect(tries).toHaveLength(3);
    expect(new Set(tries.map((t) => t.event.id)).size).toBe(1); // the same event id every time: receivers dedup on it
    expect(tries.map((t) => t.headers['keygate-delivery-attempt'])).toEqual(['1', '2', '3']);
    expect(tries.every((t) => t.verdict === 'ok')).toBe(true);
    const eventId = tries[0]!.event.id;
    let log: Rec[] = [];
    for (let i = 0; i < 100; i++) {
      log = (await b<{ items: Rec[] }>('GET', `/v1/webhooks/deliveries?eventId=${eventId}`)).body.items; // the log is shared: ask the other replica
      if (log[0]?.['status'] === 'delivered') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ webhook: 'ops', eventType: 'key.created', eventId, status: 'delivered', attempts: 3, lastStatus: 200, lastError: null, nextAttemptAt: null });
    expect(log[0]!['id']).toBe(tries[0]!.headers['keygate-delivery-id']);
    const cli = await runCli(['webhooks', 'deliveries', '--event', eventId, '--admin-url', `http://127.0.0.1:${replicas[0]!.adminPort}`, '--token', TOKEN]);
    expect(cli.code, cli.stderr).toBe(0);
    const [head, row] = cli.stdout.trim().split('\n');
    expect(head).toMatch(/^ID\s+WEBHOOK\s+EVENT\s+TYPE\s+STATUS\s+ATTEMPTS/);
    expect(row).toMatch(new RegExp(`^${String(log[0]!['id'])}\\s+ops\\s+${eventId}\\s+key.created\\s+delivered\\s+3\\s+200\\s+-`));
  });

  it('a receiver that gives up on every attempt ends as failed with its last error, never the secret', async () => {
    const doomed = ((await a<Rec>('POST', '/v1/principals', { name: 'doomed-receiver', kind: 'service' })).body)['id'];
    receiver.respond = (r) => (r.event.data['principalId'] === doomed ? 500 : undefined);
    const k = (await a<KeyBody>('POST', '/v1/keys', { principal: doomed, name: 'doomed' })).body.key;
    let failed: Rec | undefined;
    for (let i = 0; i < 300 && failed === undefined; i++) {
      const items = (await a<{ items: Rec[] }>('GET', '/v1/webhooks/deliveries?status=failed')).body.items;
      failed = items.find((d) => receiver.received.some((x) => x.event.id === d['eventId'] && x.event.data['keyId'] === k['id']));
      if (failed === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(failed).toMatchObject({ status: 'failed', attempts: 4, lastStatus: 500, lastError: 'HTTP 500' });
    const all = await a('GET', '/v1/webhooks/deliveries?limit=1000');
    expect(JSON.stringify(all.body)).not.toContain(SECRET);
    expect((await a<{ error: Rec }>('GET', '/v1/webhooks/deliveries?status=lost')).body.error['code']).toBe('invalid_input');
    // Whichever replica made the last attempt counted it.
    expect(await fleetSum(/^keygate_webhook_deliveries_total\{webhook="ops",result="failed"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
  });

  it('a stalled receiver never holds up requests: admin writes and proxied requests complete while it holds a delivery', async () => {
    receiver.stall(true);
    try {
      const first = await a<KeyBody>('POST', '/v1/keys', { principal: principalId, name: 'stalled-1' });
      expect(first.status).toBe(201);
      await receiver.waitHeld();
      // The receiver is holding a delivery unanswered right now; everything below still completes.
      for (let i = 0; i < 5; i++) {
        const more = await b<KeyBody>('POST', '/v1/keys', { principal: principalId, name: `stalled-${i + 2}` });
        expect(more.status).toBe(201);
        expect(await proxiedStatus(`http://127.0.0.1:${replicas[1]!.port}/api/stalled`, more.body.secret)).toEqual({ status: 200, code: null });
        expect(receiver.held()).toBeGreaterThan(0);
      }
      expect(up.received.filter((r) => r.url === '/api/stalled')).toHaveLength(5);
    } finally {
      receiver.stall(false);
    }
    // Released, the held deliveries are answered and every queued one follows.
    const stalledKeys = (await a<{ items: Rec[] }>('GET', '/v1/keys')).body.items.filter((k) => String(k['name']).startsWith('stalled-'));
    expect(stalledKeys).toHaveLength(6);
    for (const k of stalledKeys) await eventually((x) => x.event.type === 'key.created' && x.event.data['keyId'] === k['id'], `key.created for ${String(k['name'])}`);
  });
});

describe('keys list --unused', () => {
  it('lists keys whose last use (or creation, if never used) is older than the window', async () => {
    const idle = (await a<KeyBody>('POST', '/v1/keys', { principal: principalId, name: 'idle' })).body.key['id'] as string;
    const busy = (await a<KeyBody>('POST', '/v1/keys', { principal: principalId, name: 'busy' })).body.key['id'] as string;
    // Last-used times as the gateways record them (batched touchKeys), 40 days ago and now.
    const store = createRedisKeyStore({ url: redis.url, logger: { info() {}, warn() {}, error() {} } as never });
    try {
      await store.touchKeys(new Map([[idle, new Date(Date.now() - 40 * DAY)], [busy, new Date()]]));
    } finally {
      await store.close();
    }
    const r = await runCli(['keys', 'list', '--unused', '30d', '--json', '--admin-url', `http://127.0.0.1:${replicas[1]!.adminPort}`, '--token', TOKEN]);
    expect(r.code, r.stderr).toBe(0);
    const ids = (JSON.parse(r.stdout) as { items: Rec[] }).items.map((k) => k['id']);
    expect(ids).toEqual([idle]); // every other key was created minutes ago
    const table = await runCli(['keys', 'list', '--unused', '30d', '--admin-url', `http://127.0.0.1:${replicas[0]!.adminPort}`, '--token', TOKEN]);
    expect(table.stdout).toContain(idle);
    expect(table.stdout).not.toContain(busy);
    expect((await a<{ error: Rec }>('GET', '/v1/keys?unusedFor=soon')).body.error).toMatchObject({ code: 'invalid_input', field: 'unusedFor' });
  });
});
