/**
 * `limiter.refusedCredentials` bounds what anyone can make the key store do: each unknown key
 * costs a lookup. The token exchange (`POST tokens.path`) was answered before the request
 * chain, outside that limit, so unknown key ids (each a store lookup, here in a real Redis) could
 * be sent without end. It now spends the same per-address budget as the proxy's credentials: an
 * address that has spent it gets 429 `too_many_failed_credentials` on both, without a lookup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { adminApi } from '../helpers/admin.ts';

const TOKEN = 'token-exchange-refused-admin-token-0123';
let redis: TestRedis;
let up: TestUpstream;
let gw: TestGateway;
let pair = { id: '', secret: '' };

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}" }
log: { level: silent }
server: { trustedProxies: ["127.0.0.1"] }
limiter: { refusedCredentials: { rate: 1/h, burst: 3 } }
tokens: { enabled: true, ttl: 10m, signingKeys: [{ id: k1, secret: "token-exchange-refused-signing-secret-01" }] }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view, credentials: [bearer, token] }
`);
  const call = adminApi(gw.adminUrl, TOKEN);
  expect((await call('POST', '/v1/principals', { name: 'asa-bot', kind: 'service', roles: ['viewer'] })).status).toBe(201);
  const k = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'asa-bot', type: 'key_pair' });
  pair = { id: k.body.key.id, secret: k.body.secret };
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
  await redis?.stop();
});

async function exchange(xff: string, id: string, secret: string): Promise<{ status: number; code: string | null }> {
  const res = await request(`${gw.url}/auth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': xff }, body: JSON.stringify({ key_id: id, key_secret: secret }),
  });
  const body = (await res.body.json()) as { error?: { code: string } };
  return { status: res.statusCode, code: body.error?.code ?? null };
}

describe('the token exchange spends the refused-credential budget', () => {
  it('unknown key ids from one address: 401 until the budget is spent, then 429', async () => {
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await exchange('203.0.113.9', `k_unknown${i}`, 'guess-secret-0123456789')).code);
    expect(codes).toEqual(['invalid_key', 'invalid_key', 'invalid_key', 'too_many_failed_credentials', 'too_many_failed_credentials']);
  });

  it('one budget for both doors: the same address is refused on the proxy too', async () => {
    const res = await request(`${gw.url}/api/x`, { headers: { authorization: `Bearer guess-${'x'.repeat(30)}`, 'x-forwarded-for': '203.0.113.9' } });
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('too_many_failed_credentials');
    expect(up.received).toEqual([]);
  });

  it('another address still exchanges a real key pair for a token', async () => {
    const res = await request(`${gw.url}/auth/token`, {
      method: 'POST', headers: { 'content-type': 'Application/JSON', 'x-forwarded-for': '198.51.100.4' }, body: JSON.stringify({ key_id: pair.id, key_secret: pair.secret }),
    });
    const body = (await res.body.json()) as { bearer_token?: string };
    expect(res.statusCode).toBe(200);
    expect(typeof body.bearer_token).toBe('string');
  });
});
