import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type Received, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { adminApi } from '../helpers/admin.ts';
import { newKey } from '../helpers/keys.ts';
import { checkClient, okHeaders } from '../helpers/grpc-check.ts';

/**
 * Security review (h-attack2): `credentials.serviceKey.requireOrgKey: true` was only enforced for
 * the Contrast service-key style. The same secret sent as `Authorization: Bearer <key>` — or
 * APIKEY, a query parameter, a body `userKey`, or a short-lived token minted from the org
 * principal's key pair — passed without any org key. Now every request of a principal that
 * belongs to an org carries a valid key of that org, in every style and at the token exchange;
 * otherwise 401 `invalid_org_key` and nothing reaches the upstream. A principal without an org is
 * unaffected except in the service-key style (today's rule). The check listener shares the rule.
 */

const TOKEN = 'require-org-key-regression-admin-0123';
const acmeOrg = newKey('org_acme_');
const globexOrg = newKey('org_globex_');
let redis: TestRedis;
let up: TestUpstream;
let gw: TestGateway;
const keys: Record<string, { id: string; secret: string }> = {};

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}" }
check: { grpcPort: 9191 }
limiter: { refusedCredentials: { burst: 10000 } }
credentials:
  hideCredentials: true
  apiKey: { enabled: true, scheme: APIKEY }
  serviceKey: { enabled: true, orgHeader: API-Key, requireOrgKey: true }
  body: { enabled: true, field: userKey, orgField: orgToken, maxBytes: 2048 }
  query: { enabled: true, param: apiKey }
tokens: { enabled: true, ttl: 10m, signingKeys: [{ id: k1, secret: "require-org-key-signing-secret-0123456" }] }
orgs:
  acme: { keys: [{ id: acme-1, hash: "${acmeOrg.hash}" }] }
  globex: { keys: [{ id: globex-1, hash: "${globexOrg.hash}" }] }
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [application:view] }
routes:
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view }
  - { name: mend, path: /api/v1.4, methods: [POST], upstream: app, action: application:view, credentials: [body, bearer] }
`);
  const call = adminApi(gw.adminUrl, TOKEN);
  for (const p of [{ name: 'acme-bot', org: 'acme' }, { name: 'plain-bot' }]) {
    expect((await call('POST', '/v1/principals', { kind: 'service', roles: ['viewer'], ...p })).status).toBe(201);
  }
  for (const [name, principal, type] of [['acme', 'acme-bot', 'bearer'], ['acmePair', 'acme-bot', 'key_pair'], ['plain', 'plain-bot', 'bearer'], ['plainPair', 'plain-bot', 'key_pair']] as const) {
    const r = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal, ...(type === 'key_pair' ? { type } : {}) });
    expect(r.status).toBe(201);
    keys[name] = { id: r.body.key.id, secret: r.body.secret };
  }
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
  await redis?.stop();
});

type Init = { method?: 'GET' | 'POST'; headers: Record<string, string>; body?: string };

async function send(path: string, init: Init): Promise<{ status: number; code: string | null; seen: Received | null }> {
  const before = up.received.length;
  const res = await request(`${gw.url}${path}`, { method: init.method ?? 'GET', headers: init.headers, body: init.body ?? null });
  const text = await res.body.text();
  const code = text.startsWith('{"error"') ? (JSON.parse(text) as { error: { code: string } }).error.code : null;
  if (res.statusCode !== 200) expect(up.received.length, 'a refused request must not reach the upstream').toBe(before);
  return { status: res.statusCode, code, seen: res.statusCode === 200 ? (up.received[before] ?? null) : null };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const json = { 'content-type': 'application/json' };

/** Each style carrying `secret` of `user`, plus the org key headers `org` (none: {}). */
function styles(user: string, secret: string, org: Record<string, string>): [string, string, Init][] {
  return [
    ['bearer', '/api/applications/a1/x', { headers: { authorization: `Bearer ${secret}`, ...org } }],
    ['apikey', '/api/applications/a1/x', { headers: { authorization: `APIKEY ${secret}`, ...org } }],
    ['service_key', '/api/applications/a1/x', { headers: { authorization: b64(`${user}:${secret}`), ...org } }],
    ['service_key (Basic)', '/api/applications/a1/x', { headers: { authorization: `Basic ${b64(`${user}:${secret}`)}`, ...org } }],
    ['query', `/api/applications/a1/x?apiKey=${secret}`, { headers: { ...org } }],
    ['body', '/api/v1.4', { method: 'POST', headers: { ...json, ...org }, body: `{"requestType":"x","userKey":"${secret}"}` }],
  ];
}

function expectClean(seen: Received | null, ...secrets: string[]): void {
  expect(seen).not.toBeNull();
  const everything = JSON.stringify(seen!.rawHeaders) + seen!.url + seen!.body.toString('utf8');
  for (const s of secrets) expect(everything).not.toContain(s);
  expect(seen!.headers.has('api-key')).toBe(false);
}

describe('an org principal, every style', () => {
  it.each(styles('acme-bot', 'SECRET', {}).map(([style]) => [style]))('%s without the org key: 401 invalid_org_key, nothing forwarded', async (style) => {
    const [, path, init] = styles('acme-bot', keys['acme']!.secret, {}).find(([s]) => s === style)!;
    expect(await send(path, init)).toMatchObject({ status: 401, code: 'invalid_org_key' });
  });

  it.each(styles('acme-bot', 'SECRET', {}).map(([style]) => [style]))('%s with another org\'s key: 401 invalid_org_key', async (style) => {
    const [, path, init] = styles('acme-bot', keys['acme']!.secret, { 'api-key': globexOrg.secret }).find(([s]) => s === style)!;
    expect(await send(path, init)).toMatchObject({ status: 401, code: 'invalid_org_key' });
  });

  it.each(styles('acme-bot', 'SECRET', {}).map(([style]) => [style]))('%s with its org\'s key: forwarded with the org, neither key upstream', async (style) => {
    const [, path, init] = styles('acme-bot', keys['acme']!.secret, { 'api-key': acmeOrg.secret }).find(([s]) => s === style)!;
    const r = await send(path, init);
    expect(r.status).toBe(200);
    expect(r.seen!.headers.get('x-authenticated-user')).toEqual(['acme-bot']);
    expect(r.seen!.headers.get('x-authenticated-org')).toEqual(['acme']);
    expectClean(r.seen, keys['acme']!.secret, acmeOrg.secret);
  });

  it('the body style takes the org key as orgToken too, and refuses another org\'s there', async () => {
    const body = (org: string) => `{"requestType":"x","userKey":"${keys['acme']!.secret}","orgToken":"${org}"}`;
    const ok = await send('/api/v1.4', { method: 'POST', headers: json, body: body(acmeOrg.secret) });
    expect(ok.status).toBe(200);
    expect(ok.seen!.headers.get('x-authenticated-org')).toEqual(['acme']);
    expect(await send('/api/v1.4', { method: 'POST', headers: json, body: body(globexOrg.secret) })).toMatchObject({ status: 401, code: 'invalid_org_key' });
  });
});

describe('a principal without an org', () => {
  it.each(styles('plain-bot', 'SECRET', {}).filter(([s]) => !s.startsWith('service_key')).map(([style]) => [style]))('%s needs no org key', async (style) => {
    const [, path, init] = styles('plain-bot', keys['plain']!.secret, {}).find(([s]) => s === style)!;
    const r = await send(path, init);
    expect(r.status).toBe(200);
    expect(r.seen!.headers.get('x-authenticated-user')).toEqual(['plain-bot']);
    expect(r.seen!.headers.has('x-authenticated-org')).toBe(false);
  });

  it('the service-key style still needs a valid org key it cannot have (today\'s rule)', async () => {
    const sk = b64(`plain-bot:${keys['plain']!.secret}`);
    expect(await send('/api/applications/a1/x', { headers: { authorization: sk } })).toMatchObject({ status: 401, code: 'invalid_org_key' });
    expect(await send('/api/applications/a1/x', { headers: { authorization: sk, 'api-key': acmeOrg.secret } })).toMatchObject({ status: 401, code: 'invalid_org_key' });
  });

  it('an org key it sends must still be valid: none of an org is its own', async () => {
    expect(await send('/api/applications/a1/x', { headers: { authorization: `Bearer ${keys['plain']!.secret}`, 'api-key': acmeOrg.secret } })).toMatchObject({ status: 401, code: 'invalid_org_key' });
  });
});

describe('short-lived tokens', () => {
  async function exchange(pair: { id: string; secret: string }, org: Record<string, string>) {
    const res = await request(`${gw.url}/auth/token`, { method: 'POST', headers: { ...json, ...org }, body: JSON.stringify({ key_id: pair.id, key_secret: pair.secret }) });
    const body = (await res.body.json()) as { bearer_token?: string; error?: { code: string } };
    return { status: res.statusCode, code: body.error?.code ?? null, token: body.bearer_token ?? null };
  }

  it('an org principal\'s exchange needs its org key: none or another org\'s is 401 invalid_org_key and no token', async () => {
    expect(await exchange(keys['acmePair']!, {})).toEqual({ status: 401, code: 'invalid_org_key', token: null });
    expect(await exchange(keys['acmePair']!, { 'api-key': globexOrg.secret })).toEqual({ status: 401, code: 'invalid_org_key', token: null });
  });

  it('a token of an org principal is refused without the org key on each request, forwarded with it', async () => {
    const x = await exchange(keys['acmePair']!, { 'api-key': acmeOrg.secret });
    expect(x.status).toBe(200);
    const token = x.token!;
    expect(await send('/api/applications/a1/x', { headers: { authorization: `Bearer ${token}` } })).toMatchObject({ status: 401, code: 'invalid_org_key' });
    expect(await send('/api/applications/a1/x', { headers: { authorization: `Bearer ${token}`, 'api-key': globexOrg.secret } })).toMatchObject({ status: 401, code: 'invalid_org_key' });
    const ok = await send('/api/applications/a1/x', { headers: { authorization: `Bearer ${token}`, 'api-key': acmeOrg.secret } });
    expect(ok.status).toBe(200);
    expect(ok.seen!.headers.get('x-authenticated-user')).toEqual(['acme-bot']);
    expect(ok.seen!.headers.get('x-authenticated-org')).toEqual(['acme']);
    expectClean(ok.seen, token, acmeOrg.secret);
  });

  it('a principal without an org exchanges and uses its token without one', async () => {
    const x = await exchange(keys['plainPair']!, {});
    expect(x.status).toBe(200);
    const r = await send('/api/applications/a1/x', { headers: { authorization: `Bearer ${x.token!}` } });
    expect(r.status).toBe(200);
    expect(r.seen!.headers.get('x-authenticated-user')).toEqual(['plain-bot']);
  });
});

describe('the check listener decides by the same rule', () => {
  async function check(path: string, headers: Record<string, string>) {
    const res = await request(`${gw.checkUrl}${path}`, { headers });
    const text = await res.body.text();
    const code = text.startsWith('{"error"') ? (JSON.parse(text) as { error: { code: string } }).error.code : null;
    return { status: res.statusCode, code, headers: res.headers };
  }
  const nginx = (headers: Record<string, string>) => check('/check', { 'x-original-method': 'GET', 'x-original-uri': '/api/applications/a1/x', ...headers });
  const envoy = (headers: Record<string, string>) => check('/envoy/api/applications/a1/x', { host: 'api.example.com', ...headers });

  it('an org principal\'s Bearer key without the org key is refused; with it, allowed with the org', async () => {
    const bearer = `Bearer ${keys['acme']!.secret}`;
    expect(await nginx({ authorization: bearer })).toMatchObject({ status: 401, code: 'invalid_org_key' });
    expect(await nginx({ authorization: bearer, 'api-key': globexOrg.secret })).toMatchObject({ status: 401, code: 'invalid_org_key' });
    const ok = await nginx({ authorization: bearer, 'api-key': acmeOrg.secret });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-authenticated-org']).toBe('acme');
    expect(await envoy({ authorization: bearer })).toMatchObject({ status: 401, code: 'invalid_org_key' });
    const e = await envoy({ authorization: bearer, 'api-key': acmeOrg.secret });
    expect(e.status).toBe(200);
    // Envoy removes the org key with the credential before the backend sees the request.
    expect(String(e.headers['x-envoy-auth-headers-to-remove']).split(',').sort()).toEqual(['api-key', 'authorization']);
  });

  it('the Envoy gRPC Check service too: denied without the org key, allowed with it, the org key removed', async () => {
    const client = checkClient(`127.0.0.1:${gw.grpcCheckPort!}`);
    try {
      const ask = (headers: Record<string, string>) => client.check({
        attributes: { request: { http: { method: 'GET', path: '/api/applications/a1/x', host: 'api.example.com', scheme: 'http', protocol: 'HTTP/1.1', headers: { ':authority': 'api.example.com', ':method': 'GET', ':path': '/api/applications/a1/x', ':scheme': 'http', ...headers } } } },
      });
      const bearer = `Bearer ${keys['acme']!.secret}`;
      const denied = await ask({ authorization: bearer });
      expect(denied.http_response).toBe('denied_response');
      expect(denied.denied_response?.status?.code).toBe('Unauthorized');
      expect(denied.denied_response?.body).toContain('"invalid_org_key"');
      const ok = await ask({ authorization: bearer, 'api-key': acmeOrg.secret });
      expect(ok.http_response).toBe('ok_response');
      expect(okHeaders(ok)['x-authenticated-org']).toBe('acme');
      expect(ok.ok_response?.headers_to_remove).toEqual(expect.arrayContaining(['authorization', 'api-key']));
    } finally {
      client.close();
    }
  });

  it('a principal without an org is allowed on a Bearer key alone', async () => {
    const r = await nginx({ authorization: `Bearer ${keys['plain']!.secret}` });
    expect(r.status).toBe(200);
    expect(r.headers['x-authenticated-user']).toBe('plain-bot');
  });
});

describe('requireOrgKey with the service-key style off', () => {
  it('the org header is still read (and removed): a Bearer key of an org principal needs it', async () => {
    const g = await startTestGateway(`
store: { redis: "${redis.url}" }
credentials:
  hideCredentials: true
  serviceKey: { enabled: false, requireOrgKey: true }
orgs:
  acme: { keys: [{ id: acme-1, hash: "${acmeOrg.hash}" }] }
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [application:view] }
routes:
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view }
`);
    try {
      const at = async (headers: Record<string, string>) => {
        const before = up.received.length;
        const res = await request(`${g.url}/api/applications/a1/x`, { headers });
        const text = await res.body.text();
        return { status: res.statusCode, text, seen: res.statusCode === 200 ? (up.received[before] ?? null) : null, forwarded: up.received.length > before };
      };
      const bearer = `Bearer ${keys['acme']!.secret}`;
      const refused = await at({ authorization: bearer });
      expect([refused.status, refused.forwarded]).toEqual([401, false]);
      expect(refused.text).toContain('"invalid_org_key"');
      const ok = await at({ authorization: bearer, 'api-key': acmeOrg.secret });
      expect(ok.status).toBe(200);
      expect(ok.seen!.headers.get('x-authenticated-org')).toEqual(['acme']);
      expectClean(ok.seen, keys['acme']!.secret, acmeOrg.secret);
      expect((await at({ authorization: `Bearer ${keys['plain']!.secret}` })).status).toBe(200);
    } finally {
      await g.close();
    }
  });
});

describe('org keys guessed at the token exchange', () => {
  it('spend the refused-credential budget of the address, as on the proxy', async () => {
    const g = await startTestGateway(`
store: { redis: "${redis.url}" }
log: { level: silent }
server: { trustedProxies: ["127.0.0.1"] }
limiter: { refusedCredentials: { rate: 1/h, burst: 2 } }
credentials:
  serviceKey: { enabled: true, requireOrgKey: true }
tokens: { enabled: true, ttl: 10m, signingKeys: [{ id: k1, secret: "require-org-key-signing-secret-0123456" }] }
orgs:
  acme: { keys: [{ id: acme-1, hash: "${acmeOrg.hash}" }] }
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [application:view] }
routes:
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view }
`);
    try {
      const exchange = async (xff: string, org: string) => {
        const res = await request(`${g.url}/auth/token`, {
          method: 'POST', headers: { ...json, 'x-forwarded-for': xff, 'api-key': org }, body: JSON.stringify({ key_id: keys['acmePair']!.id, key_secret: keys['acmePair']!.secret }),
        });
        const body = (await res.body.json()) as { bearer_token?: string; error?: { code: string } };
        return body.error?.code ?? (typeof body.bearer_token === 'string' ? 'issued' : null);
      };
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push(await exchange('203.0.113.20', newKey('org_guess_').secret));
      expect(codes).toEqual(['invalid_org_key', 'invalid_org_key', 'too_many_failed_credentials']);
      // Another address with the right org key still gets its token.
      expect(await exchange('198.51.100.20', acmeOrg.secret)).toBe('issued');
    } finally {
      await g.close();
    }
  });
});
