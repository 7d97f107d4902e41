import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { randomBytes } from 'node:crypto';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { adminApi } from '../helpers/admin.ts';
import { rawExchange, statuses } from '../helpers/raw.ts';
import type { StoredAuditEvent } from '../../src/audit/event.ts';

/**
 * Issue 10.2: a `key_pair` secret (Okta ASA: key id + secret, exchanged at POST /auth/token for a
 * short-lived token) was accepted as a Bearer key — a never-expiring way around the token model.
 * A key pair's secret is only ever exchanged: sent as a credential in any style, on the proxy, on
 * a WebSocket handshake or on the admin API, it is refused 401 `key_pair_secret_not_credential`,
 * nothing reaches the upstream, and the refusal is recorded with the key's ids. The exchange, and
 * the tokens it mints, keep working.
 */

const TOKEN = 'key-pair-regression-admin-token-0123';
let redis: TestRedis;
let up: TestUpstream;
let gw: TestGateway;
let call: ReturnType<typeof adminApi>;
let pair: { id: string; secret: string };
let principalId: string;

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}" }
audit: { flushInterval: 20ms }
credentials:
  hideCredentials: true
  apiKey: { enabled: true, scheme: APIKEY }
  serviceKey: { enabled: true, orgHeader: API-Key }
  body: { enabled: true, field: userKey, orgField: orgToken, maxBytes: 2048 }
  query: { enabled: true, param: apiKey }
tokens: { enabled: true, ttl: 10m, signingKeys: [{ id: k1, secret: "key-pair-regression-signing-secret-0123" }] }
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [application:view] }
  operator: { actions: [keygate:admin] }
routes:
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view, credentials: [bearer, apikey, service_key, query, token] }
  - { name: mend, path: /api/v1.4, methods: [POST], upstream: app, action: application:view, credentials: [body] }
`);
  call = adminApi(gw.adminUrl, TOKEN);
  const p = await call<{ id: string }>('POST', '/v1/principals', { name: 'asa-bot', kind: 'service', roles: ['viewer', 'operator'] });
  expect(p.status).toBe(201);
  principalId = p.body.id;
  const k = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'asa-bot', type: 'key_pair' });
  expect(k.status).toBe(201);
  pair = { id: k.body.key.id, secret: k.body.secret };
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
  await redis?.stop();
});

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Every style a route can accept, each carrying the key pair's secret. */
function styles(): [string, string, { method?: 'POST'; headers: Record<string, string>; body?: string }][] {
  return [
    ['bearer', '/api/applications/a1/x', { headers: { authorization: `Bearer ${pair.secret}` } }],
    ['apikey', '/api/applications/a1/x', { headers: { authorization: `APIKEY ${pair.secret}` } }],
    ['service_key', '/api/applications/a1/x', { headers: { authorization: `Basic ${b64(`asa-bot:${pair.secret}`)}` } }],
    ['service_key', '/api/applications/a1/x', { headers: { authorization: b64(`asa-bot:${pair.secret}`) } }],
    ['query', `/api/applications/a1/x?apiKey=${pair.secret}`, { headers: {} }],
    ['body', '/api/v1.4', { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"requestType":"x","userKey":"${pair.secret}"}` }],
  ];
}

async function auditOf(requestId: string): Promise<StoredAuditEvent> {
  for (let i = 0; i < 200; i++) {
    const r = await call<{ items: StoredAuditEvent[] }>('GET', `/v1/audit?key=${pair.id}&limit=1000`);
    const e = r.body.items.find((x) => x.requestId === requestId);
    if (e !== undefined) return e;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`no audit event for ${requestId}`);
}

describe('a key pair secret sent as a credential is refused in every style', () => {
  const names = ['Bearer', 'APIKEY', 'Basic service key', 'bare service key', 'query parameter', 'userKey in the body'];
  it.each(names.map((n, i) => [n, i] as const))('%s: 401 key_pair_secret_not_credential, nothing forwarded, recorded with its ids', async (_n, i) => {
    const [style, path, init] = styles()[i]!;
    const before = { requests: up.received.length, connections: up.connections.total };
    const requestId = `kp-${randomBytes(6).toString('hex')}`;
    const res = await request(`${gw.url}${path}`, { method: init.method ?? 'GET', headers: { ...init.headers, 'x-request-id': requestId }, body: init.body ?? null });
    const body = (await res.body.json()) as { error: { code: string; message: string } };
    expect([res.statusCode, body.error.code]).toEqual([401, 'key_pair_secret_not_credential']);
    expect(JSON.stringify(body)).not.toContain(pair.secret);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    await new Promise((r) => setTimeout(r, 50));
    expect(up.received.length - before.requests, 'requests at the upstream').toBe(0);
    expect(up.connections.total - before.connections, 'connections to the upstream').toBe(0);

    const line = (await gw.logs()).split('\n').filter((l) => l.includes(requestId)).map((l) => JSON.parse(l) as Record<string, unknown>)[0];
    expect(line).toMatchObject({ reqId: requestId, status: 401, error: 'key_pair_secret_not_credential', keyId: pair.id, principalId, credential: style });
    expect(JSON.stringify(line)).not.toContain(pair.secret);
    expect(await auditOf(requestId)).toMatchObject({ decision: 'denied', reason: 'key_pair_secret_not_credential', keyId: pair.id, principalId, principalName: 'asa-bot', credential: style });
  });

  it('on a WebSocket handshake too: 401 on the raw socket, no connection to the upstream', async () => {
    const before = up.connections.total;
    const head = [
      'GET /api/applications/a1/ws HTTP/1.1', 'Host: ws.test', 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', `Authorization: Bearer ${pair.secret}`, '', '',
    ].join('\r\n');
    const { text } = await rawExchange(gw.port, head);
    expect(statuses(text)).toEqual([401]);
    expect(text).toContain('"code":"key_pair_secret_not_credential"');
    expect(up.connections.total).toBe(before);
  });

  it('on the admin API: its principal holds keygate:admin, yet the secret is refused and nothing is created', async () => {
    const r = await call<{ error: { code: string } }>('POST', '/v1/principals', { name: 'made-by-key-pair', kind: 'service', roles: [] }, pair.secret);
    expect([r.status, r.body.error.code]).toEqual([401, 'key_pair_secret_not_credential']);
    expect((await call('GET', '/v1/principals/made-by-key-pair')).status).toBe(404);
    const list = await call<{ error: { code: string } }>('GET', '/v1/keys', undefined, pair.secret);
    expect([list.status, list.body.error.code]).toEqual([401, 'key_pair_secret_not_credential']);
  });
});

describe('the exchange still works, and so do its tokens', () => {
  it('id + secret → token → the upstream sees the key pair\'s principal', async () => {
    const ex = await request(`${gw.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key_id: pair.id, key_secret: pair.secret }) });
    const out = (await ex.body.json()) as { bearer_token: string; token_type: string };
    expect([ex.statusCode, out.token_type]).toEqual([200, 'Bearer']);
    const next = up.nextRequest();
    const res = await request(`${gw.url}/api/applications/a1/x`, { headers: { authorization: `Bearer ${out.bearer_token}` } });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    const seen = await next;
    expect(seen.headers.get('x-authenticated-user')).toEqual(['asa-bot']);
    expect(seen.headers.get('x-authenticated-key-id')).toEqual([pair.id]);
    expect(seen.headers.has('authorization')).toBe(false);
  });

  it('a plain API key of the same principal keeps working as a key', async () => {
    const k = await call<{ secret: string }>('POST', '/v1/keys', { principal: 'asa-bot' });
    const res = await request(`${gw.url}/api/applications/a1/x`, { headers: { authorization: `Bearer ${k.body.secret}` } });
    await res.body.text();
    expect(res.statusCode).toBe(200);
  });
});
