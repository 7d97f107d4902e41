/**
 * Webhooks with the embedded store (queue and markers in process), keys.requireExpiry, and one
 * receiver that is down not holding up another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi } from '../helpers/admin.ts';
import { freePort } from '../helpers/ports.ts';
import { startReceiver, type TestReceiver } from '../helpers/webhook-receiver.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { proxiedStatus } from '../helpers/admin.ts';

const TOKEN = 'admin-token-for-webhook-tests-0123';
const SECRET = 'whsec_embedded_0123456789abcdef';
let gw: TestGateway;
let receiver: TestReceiver;
let call: ReturnType<typeof adminApi>;
let up: TestUpstream;
type Rec = Record<string, unknown>;

beforeAll(async () => {
  receiver = await startReceiver(SECRET);
  up = await startUpstream();
  const nobody = await freePort(); // nothing listens there: connection refused
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
keys: { requireExpiry: true, maxPerPrincipal: 50 }
webhooks:
  - { name: up, url: "${receiver.url}", secret: "${SECRET}", events: [key.created, key.revoked, limit.exceeded] }
  - { name: down, url: "http://127.0.0.1:${nobody}/hook", secret: "${SECRET}", backoff: 50ms, maxBackoff: 100ms, maxAttempts: 3 }
upstreams: { app: { url: "${up.url}" } }
limits: { trickle: { rate: 2/h, burst: 2, per: key } }
roles: { viewer: { actions: [app:view], limit: trickle } }
routes: [{ name: app, path: "/api/*", upstream: app, action: app:view }]
log: { level: silent }
`);
  call = adminApi(gw.adminUrl, TOKEN);
});
afterAll(async () => {
  await gw?.close();
  await receiver?.close();
  await up?.close();
});

async function poll<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('embedded store', () => {
  it('requireExpiry without a default refuses a key without expiresIn, creating nothing', async () => {
    const p = (await call<Rec>('POST', '/v1/principals', { name: 'svc', kind: 'service', roles: ['viewer'] })).body;
    const r = await call<{ error: Rec }>('POST', '/v1/keys', { principal: p['id'] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'key_expiry_required', field: 'expiresIn' });
    expect((await call<{ items: Rec[] }>('GET', '/v1/keys')).body.items).toHaveLength(0);
  });

  it('delivers to the receiver that is up while the other fails, and logs both', async () => {
    const k = (await call<{ key: Rec }>('POST', '/v1/keys', { principal: 'svc', expiresIn: '1h' })).body.key;
    const [got] = await receiver.waitFor(1);
    expect(got!.verdict).toBe('ok');
    expect(got!.event).toMatchObject({ type: 'key.created', data: { keyId: k['id'] } });
    const log = await poll(
      async () => (await call<{ items: Rec[] }>('GET', `/v1/webhooks/deliveries?eventId=${got!.event.id}`)).body.items,
      (items) => items.length === 2 && items.every((d) => d['status'] === 'delivered' || d['status'] === 'failed'),
    );
    const byName = Object.fromEntries(log.map((d) => [d['webhook'], d]));
    expect(byName['up']).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 200 });
    expect(byName['down']).toMatchObject({ status: 'failed', attempts: 3, lastStatus: null });
    expect(String((byName['down'] as Rec)['lastError'])).toMatch(/ECONNREFUSED|connect/);
  });

  it('filters events per receiver: principal.disabled only goes to the one that asked for all', async () => {
    expect((await call('POST', '/v1/principals/svc/disable')).status).toBe(200);
    const log = await poll(async () => (await call<{ items: Rec[] }>('GET', '/v1/webhooks/deliveries?limit=1000')).body.items, (items) => items.some((d) => d['eventType'] === 'principal.disabled'));
    expect(log.filter((d) => d['eventType'] === 'principal.disabled').map((d) => d['webhook'])).toEqual(['down']);
    expect(receiver.received.some((r) => r.event.type === 'principal.disabled')).toBe(false);
  });

  it('limit.exceeded from the limiter reaches the webhook, sampled: one for a burst of refusals', async () => {
    const p = (await call<Rec>('POST', '/v1/principals', { name: 'limited', kind: 'service', roles: ['viewer'] })).body;
    const k = (await call<{ key: Rec; secret: string }>('POST', '/v1/keys', { principal: p['id'], expiresIn: '1h' })).body;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await proxiedStatus(`${gw.url}/api/x`, k.secret)).status);
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
    expect(up.received).toHaveLength(2);
    const got = await poll(async () => receiver.received.filter((r) => r.event.type === 'limit.exceeded'), (l) => l.length > 0);
    expect(got).toHaveLength(1);
    expect(got[0]!.verdict).toBe('ok');
    expect(got[0]!.event.data).toMatchObject({ limit: 'trickle', kind: 'rate', per: 'key', keyId: k.key['id'], principalId: p['id'], route: 'app' });
    expect(got[0]!.body).not.toContain(k.secret);
  });

  it('counts per receiver and result in /metrics', async () => {
    const text = await (await request(`${gw.adminUrl}/metrics`)).body.text();
    expect(text).toMatch(/^keygate_webhook_deliveries_total\{webhook="up",result="delivered"\} [1-9]/m);
    expect(text).toMatch(/^keygate_webhook_deliveries_total\{webhook="down",result="failed"\} [1-9]/m);
    expect(text).toMatch(/^keygate_webhook_deliveries_total\{webhook="down",result="retried"\} [1-9]/m);
    expect(text).toMatch(/^keygate_events_total\{type="key.created"\} 2$/m);
    expect(text).toMatch(/^keygate_events_total\{type="limit.exceeded"\} 1$/m);
    expect(text).not.toContain(SECRET);
  });
});
