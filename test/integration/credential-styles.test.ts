import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { startUpstream, type Received, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis } from '../helpers/redis.ts';
import { adminApi } from '../helpers/admin.ts';
import { newKey } from '../helpers/keys.ts';
import { pythonWithRequests } from '../helpers/python.ts';

const TOKEN = 'credential-styles-admin-token-0123';
const acmeOrg = newKey('org_acme_');
const globexOrg = newKey('org_globex_');
let redis: Awaited<ReturnType<typeof startRedis>>;
let up: TestUpstream;
let gw: TestGateway;
let call: ReturnType<typeof adminApi>;
const keys: Record<string, { id: string; secret: string }> = {};

function config(extra = ''): string {
  return `
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}" }
credentials:
  bearer: true
  hideCredentials: true
  apiKey: { enabled: true, scheme: APIKEY }
  serviceKey: { enabled: true, orgHeader: API-Key }
  body: { enabled: true, field: userKey, orgField: orgToken, maxBytes: 2048 }
  query: { enabled: true, param: apiKey }
${extra}
tokens: { enabled: true, ttl: 1h, signingKeys: [{ id: k1, secret: "test-signing-secret-0123456789abcdef" }] }
orgs:
  acme: { keys: [{ id: acme-1, hash: "${acmeOrg.hash}" }] }
  globex: { keys: [{ id: globex-1, hash: "${globexOrg.hash}" }] }
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [application:view] }
  editor: { actions: [application:view, application:edit] }
  auditor: { actions: [audit:read], serviceOnly: true }
routes:
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view, resource: { type: application, param: appId } }
  - { name: app-edit, path: "/edit/:appId", methods: [POST], upstream: app, action: application:edit }
  - { name: mend, path: /api/v1.4, methods: [POST], upstream: app, action: application:view, credentials: [body, bearer] }
  - { name: bearer-only, path: "/bearer-only/*", upstream: app, action: application:view, credentials: [bearer] }
`;
}

async function send(path: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}, g = gw) {
  const before = up.received.length;
  const res = await request(`${g.url}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers ?? {}, body: init.body ?? null });
  const text = await res.body.text();
  const code = text.startsWith('{"error"') ? (JSON.parse(text) as { error: { code: string } }).error.code : null;
  // The echo upstream records a request before answering it, so a 200 means it is recorded.
  const seen: Received | null = res.statusCode === 200 ? (up.received[before] ?? null) : null;
  if (res.statusCode !== 200) expect(up.received.length, 'a refused request must not reach the upstream').toBe(before);
  return { status: res.statusCode, code, seen, text };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  gw = await startTestGateway(config());
  call = adminApi(gw.adminUrl, TOKEN);
  const principals = [
    { name: 'regscale-svc', kind: 'service', roles: ['viewer'], org: 'acme' },
    { name: 'contrast-api', kind: 'service', roles: ['viewer'], org: 'acme' },
    { name: 'mend-user', kind: 'user', roles: ['viewer'], org: 'acme' },
    { name: 'asa-bot', kind: 'service', roles: ['viewer'] },
    { name: 'team-member', kind: 'user', roles: [], groups: ['team-a'] },
    { name: 'editor', kind: 'user', roles: ['editor'] },
  ];
  expect((await call('POST', '/v1/groups', { name: 'team-a', roles: ['viewer'], resources: { application: ['app-1'] } })).status).toBe(201);
  for (const p of principals) expect((await call('POST', '/v1/principals', p)).status).toBe(201);
  for (const [name, principal, extra] of [
    ['regscale', 'regscale-svc', { expiresIn: 30, purpose: 'nightly sync' }],
    ['contrast', 'contrast-api', {}],
    ['mend', 'mend-user', {}],
    ['asa', 'asa-bot', { type: 'key_pair' }],
    ['asaPlain', 'asa-bot', {}],
    ['member', 'team-member', {}],
    ['scoped', 'editor', { scopes: ['application:view'] }],
    ['editor', 'editor', {}],
  ] as const) {
    const r = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal, ...extra });
    expect(r.status).toBe(201);
    keys[name] = { id: r.body.key.id, secret: r.body.secret };
  }
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
  await redis?.stop();
});

describe('1. Bearer (RegScale service-account tokens)', () => {
  it('the RegScale Python requests snippet works verbatim but for URL and token', async () => {
    const script = [
      '# setup request library',
      'import requests',
      '#set the header',
      `jwt = "Bearer " + "${keys['regscale']!.secret}"`,
      'headers = {',
      "'Authorization': jwt",
      '}',
      '#setup API url',
      `url_atl = "${gw.url}/api/applications/app-7/issues/getAll"`,
      '#make the call',
      'response = requests.request("GET", url_atl, headers=headers)',
      'print(response.status_code)',
    ].join('\n');
    const next = up.nextRequest();
    // Asynchronously: the gateway runs in this process and must keep serving while Python waits.
    const r = await promisify(execFile)(pythonWithRequests(), ['-c', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout.trim(), r.stderr).toBe('200');
    const seen = await next;
    expect(seen.url).toBe('/api/applications/app-7/issues/getAll');
    expect(seen.headers.get('x-authenticated-user')).toEqual(['regscale-svc']);
    expect(seen.headers.get('x-authenticated-org')).toEqual(['acme']);
    expect(seen.headers.has('authorization')).toBe(false);
  });
});

describe('2. APIKEY scheme (ThreadFix)', () => {
  it('accepts Authorization: APIKEY <key>, case-insensitively, and hides it', async () => {
    for (const scheme of ['APIKEY', 'apikey']) {
      const r = await send('/api/applications/app-1/x', { headers: { authorization: `${scheme} ${keys['regscale']!.secret}` } });
      expect(r.status).toBe(200);
      expect(r.seen!.headers.get('x-authenticated-user')).toEqual(['regscale-svc']);
      expect(r.seen!.headers.has('authorization')).toBe(false);
    }
  });

  it('the scheme word is configurable', async () => {
    const g = await startTestGateway(config().replace('scheme: APIKEY', 'scheme: TFKEY'));
    try {
      expect((await send('/api/applications/app-1/x', { headers: { authorization: `TFKEY ${keys['regscale']!.secret}` } }, g)).status).toBe(200);
      expect((await send('/api/applications/app-1/x', { headers: { authorization: `APIKEY ${keys['regscale']!.secret}` } }, g)).code).toBe('missing_credentials');
    } finally {
      await g.close();
    }
  });
});

describe('3. Service key (Contrast)', () => {
  const sk = () => b64(`contrast-api:${keys['contrast']!.secret}`);

  it('accepts the bare base64(user:key) Authorization and the Basic form', async () => {
    for (const value of [sk(), `Basic ${sk()}`]) {
      const r = await send('/api/applications/app-1/x', { headers: { authorization: value, accept: 'application/json' } });
      expect(r.status).toBe(200);
      expect(r.seen!.headers.get('x-authenticated-user')).toEqual(['contrast-api']);
    }
  });

  it('the user name must be the key\'s principal', async () => {
    const r = await send('/api/applications/app-1/x', { headers: { authorization: b64(`someone-else:${keys['contrast']!.secret}`) } });
    expect([r.status, r.code]).toEqual([401, 'invalid_key']);
  });

  it('an API-Key org header must be valid and of the principal\'s org; it is not forwarded', async () => {
    const ok = await send('/api/applications/app-1/x', { headers: { authorization: sk(), 'api-key': acmeOrg.secret } });
    expect(ok.status).toBe(200);
    expect(ok.seen!.headers.get('x-authenticated-org')).toEqual(['acme']);
    expect(ok.seen!.headers.has('api-key')).toBe(false);
    expect((await send('/api/applications/app-1/x', { headers: { authorization: sk(), 'api-key': globexOrg.secret } })).code).toBe('invalid_org_key');
    expect((await send('/api/applications/app-1/x', { headers: { authorization: sk(), 'api-key': 'nonsense-org-key' } })).code).toBe('invalid_org_key');
  });

  it('requireOrgKey: a key of an org\'s principal without the org header is refused, as a service key or as Bearer', async () => {
    const g = await startTestGateway(config().replace('orgHeader: API-Key }', 'orgHeader: API-Key, requireOrgKey: true }'));
    try {
      expect((await send('/api/applications/app-1/x', { headers: { authorization: sk() } }, g)).code).toBe('invalid_org_key');
      expect((await send('/api/applications/app-1/x', { headers: { authorization: sk(), 'api-key': acmeOrg.secret } }, g)).status).toBe(200);
      const bearer = `Bearer ${keys['contrast']!.secret}`;
      expect((await send('/api/applications/app-1/x', { headers: { authorization: bearer } }, g)).code).toBe('invalid_org_key');
      const ok = await send('/api/applications/app-1/x', { headers: { authorization: bearer, 'api-key': acmeOrg.secret } }, g);
      expect(ok.status).toBe(200);
      expect(ok.seen!.headers.get('x-authenticated-org')).toEqual(['acme']);
      expect(ok.seen!.headers.has('api-key')).toBe(false);
    } finally {
      await g.close();
    }
  });
});

describe('4. userKey in a JSON body (Mend)', () => {
  const mendBody = (userKey: string, extra = '') =>
    `{\n"requestType" : "getProjectVulnerabilityReport",\n"userKey":"${userKey}",\n"projectToken" : "438629e2da934b4ca68220c"${extra}\n}`;

  it('authenticates from the body and forwards it byte for byte minus the credential field', async () => {
    const body = mendBody(keys['mend']!.secret);
    const r = await send('/api/v1.4', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(r.status).toBe(200);
    expect(r.seen!.headers.get('x-authenticated-user')).toEqual(['mend-user']);
    const forwarded = r.seen!.body.toString('utf8');
    expect(forwarded).not.toContain(keys['mend']!.secret);
    expect(JSON.parse(forwarded)).toEqual({ requestType: 'getProjectVulnerabilityReport', projectToken: '438629e2da934b4ca68220c' });
    expect(forwarded).toContain('"requestType" : "getProjectVulnerabilityReport"'); // untouched bytes keep their spacing
    expect(r.seen!.headers.get('content-length')).toEqual([String(Buffer.byteLength(forwarded))]);
  });

  it('with hideCredentials off the body reaches the upstream exactly as sent', async () => {
    const g = await startTestGateway(config().replace('hideCredentials: true', 'hideCredentials: false'));
    try {
      const body = mendBody(keys['mend']!.secret, ',\n"__proto__": {"polluted": true}');
      const r = await send('/api/v1.4', { method: 'POST', headers: { 'content-type': 'application/json' }, body }, g);
      expect(r.status).toBe(200);
      expect(createHash('sha256').update(r.seen!.body).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    } finally {
      await g.close();
    }
  });

  it('an orgToken of the user\'s org is accepted; another org\'s is refused', async () => {
    expect((await send('/api/v1.4', { method: 'POST', headers: { 'content-type': 'application/json' }, body: mendBody(keys['mend']!.secret, `,"orgToken":"${acmeOrg.secret}"`) })).status).toBe(200);
    expect((await send('/api/v1.4', { method: 'POST', headers: { 'content-type': 'application/json' }, body: mendBody(keys['mend']!.secret, `,"orgToken":"${globexOrg.secret}"`) })).code).toBe('invalid_org_key');
  });

  it.each([
    ['too large', 'x'.repeat(3000), 413, 'body_too_large'],
    ['invalid JSON', '{"userKey": ', 400, 'invalid_json'],
    ['a repeated userKey', () => `{"userKey":"${keys['mend']!.secret}","userKey":"other"}`, 400, 'invalid_json'],
    ['deep nesting', `{"userKey":"k","a":${'['.repeat(200)}${']'.repeat(200)}}`, 400, 'invalid_json'],
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"userKey":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), 400, 'invalid_json'],
  ])('%s: %i %s and nothing forwarded', async (_n, body, status, code) => {
    const before = up.received.length;
    const payload = typeof body === 'function' ? body() : body;
    const res = await request(`${gw.url}/api/v1.4`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
    const json = (await res.body.json()) as { error: { code: string } };
    expect([res.statusCode, json.error.code]).toEqual([status, code]);
    expect(up.received.length).toBe(before);
  });

  it('a header credential on a body route still streams the body untouched, whatever its type', async () => {
    const body = Buffer.alloc(100_000, 'a'); // not JSON, larger than body.maxBytes
    const r = await send('/api/v1.4', { method: 'POST', headers: { authorization: `Bearer ${keys['mend']!.secret}`, 'content-type': 'application/octet-stream' }, body });
    expect(r.status).toBe(200);
    expect(r.seen!.body.equals(body)).toBe(true);
  });

  it('routes that do not list body never read one', async () => {
    const r = await send('/api/applications/app-1/x', { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"userKey":"${keys['mend']!.secret}"}` });
    expect([r.status, r.code]).toEqual([401, 'missing_credentials']);
  });
});

describe('5. key id + secret exchanged for a short-lived token (Okta ASA)', () => {
  async function exchange(id: string, secret: string) {
    const res = await request(`${gw.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key_id: id, key_secret: secret }) });
    return { status: res.statusCode, body: (await res.body.json()) as { bearer_token?: string; expires_at?: string; error?: { code: string } } };
  }

  it('issues a token for a key pair; the token authenticates as the key\'s principal', async () => {
    const r = await exchange(keys['asa']!.id, keys['asa']!.secret);
    expect(r.status).toBe(200);
    const ttl = Date.parse(r.body.expires_at!) - Date.now();
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    const used = await send('/api/applications/app-1/x', { headers: { authorization: `Bearer ${r.body.bearer_token!}` } });
    expect(used.status).toBe(200);
    expect(used.seen!.headers.get('x-authenticated-user')).toEqual(['asa-bot']);
    expect(used.seen!.headers.get('x-authenticated-key-id')).toEqual([keys['asa']!.id]);
  });

  it('refuses a wrong secret, an unknown id and a plain API key alike', async () => {
    for (const [id, secret] of [[keys['asa']!.id, keys['asaPlain']!.secret], ['key_nope', keys['asa']!.secret], [keys['asaPlain']!.id, keys['asaPlain']!.secret]] as const) {
      const r = await exchange(id, secret);
      expect([r.status, r.body.error?.code]).toEqual([401, 'invalid_key']);
    }
  });

  it('a tampered or foreign-signed token is refused', async () => {
    const { body } = await exchange(keys['asa']!.id, keys['asa']!.secret);
    const [h, p, s] = body.bearer_token!.split('.') as [string, string, string];
    const forged = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await send('/api/applications/app-1/x', { headers: { authorization: `Bearer ${forged}` } })).code).toBe('invalid_key');
  });

  it('expiring the key kills every token minted from it at once', async () => {
    const k = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'asa-bot', type: 'key_pair' });
    const t1 = (await exchange(k.body.key.id, k.body.secret)).body.bearer_token!;
    const t2 = (await exchange(k.body.key.id, k.body.secret)).body.bearer_token!;
    for (const t of [t1, t2]) expect((await send('/api/applications/app-1/x', { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
    await call('POST', `/v1/keys/${k.body.key.id}/expire`);
    for (const t of [t1, t2]) expect((await send('/api/applications/app-1/x', { headers: { authorization: `Bearer ${t}` } })).code).toBe('key_expired');
  });

  it('rotating past the grace period and disabling the principal kill tokens too', async () => {
    await call('POST', '/v1/principals', { name: 'asa-rotate', kind: 'service', roles: ['viewer'] });
    const k = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'asa-rotate', type: 'key_pair' });
    const t = (await exchange(k.body.key.id, k.body.secret)).body.bearer_token!;
    await call('POST', `/v1/keys/${k.body.key.id}/rotate`, {});
    expect((await send('/api/applications/app-1/x', { headers: { authorization: `Bearer ${t}` } })).code).toBe('key_expired');
    const k2 = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'asa-rotate', type: 'key_pair' });
    const t2 = (await exchange(k2.body.key.id, k2.body.secret)).body.bearer_token!;
    expect((await send('/api/applications/app-1/x', { headers: { authorization: `Bearer ${t2}` } })).status).toBe(200);
    await call('POST', '/v1/principals/asa-rotate/disable');
    expect((await send('/api/applications/app-1/x', { headers: { authorization: `Bearer ${t2}` } })).code).toBe('principal_disabled');
  });

  it('signing keys rotate without downtime: tokens of a verify-only key still verify', async () => {
    const oldTokens = (await exchange(keys['asa']!.id, keys['asa']!.secret)).body.bearer_token!;
    const g = await startTestGateway(config().replace(
      'signingKeys: [{ id: k1, secret: "test-signing-secret-0123456789abcdef" }]',
      'signingKeys: [{ id: k2, secret: "second-signing-secret-0123456789abcd" }, { id: k1, secret: "test-signing-secret-0123456789abcdef", verifyOnly: true }]',
    ));
    try {
      expect((await send('/api/applications/app-1/x', { headers: { authorization: `Bearer ${oldTokens}` } }, g)).status).toBe(200);
      const fresh = await request(`${g.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key_id: keys['asa']!.id, key_secret: keys['asa']!.secret }) });
      const token = ((await fresh.body.json()) as { bearer_token: string }).bearer_token;
      expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid).toBe('k2');
      // The old gateway does not know k2 yet: tokens are only honoured where their key is configured.
      expect((await send('/api/applications/app-1/x', { headers: { authorization: `Bearer ${token}` } })).code).toBe('invalid_key');
    } finally {
      await g.close();
    }
  });
});

describe('6. query parameter (discouraged, off by default)', () => {
  it('accepts ?apiKey= when enabled and removes it before forwarding', async () => {
    const r = await send(`/api/applications/app-1/x?a=1&apiKey=${keys['regscale']!.secret}&b=2`);
    expect(r.status).toBe(200);
    expect(r.seen!.url).toBe('/api/applications/app-1/x?a=1&b=2');
  });

  it('is off by default', async () => {
    const g = await startTestGateway(config().replace('query: { enabled: true, param: apiKey }', ''));
    try {
      expect((await send(`/api/applications/app-1/x?apiKey=${keys['regscale']!.secret}`, {}, g)).code).toBe('missing_credentials');
    } finally {
      await g.close();
    }
  });
});

describe('precedence and the enforcement switch', () => {
  it('two different credentials on one request: 400 ambiguous_credentials', async () => {
    const r = await send(`/api/applications/app-1/x?apiKey=${keys['contrast']!.secret}`, { headers: { authorization: `Bearer ${keys['regscale']!.secret}` } });
    expect([r.status, r.code]).toEqual([400, 'ambiguous_credentials']);
  });

  it('a route credentials list narrows the accepted styles', async () => {
    expect((await send('/bearer-only/x', { headers: { authorization: `APIKEY ${keys['regscale']!.secret}` } })).code).toBe('missing_credentials');
    expect((await send('/bearer-only/x', { headers: { authorization: `Bearer ${keys['regscale']!.secret}` } })).status).toBe(200);
  });

  it('requireUserKey: an org key alone is 401 user_key_required', async () => {
    const g = await startTestGateway(config('  requireUserKey: true'));
    try {
      const r = await send('/api/applications/app-1/x', { headers: { 'api-key': acmeOrg.secret } }, g);
      expect([r.status, r.code]).toEqual([401, 'user_key_required']);
      const body = `{"requestType":"x","orgToken":"${acmeOrg.secret}"}`;
      expect((await send('/api/v1.4', { method: 'POST', headers: { 'content-type': 'application/json' }, body }, g)).code).toBe('user_key_required');
    } finally {
      await g.close();
    }
  });
});

describe('authorization', () => {
  it('resource scoping: a group grants its roles only on the applications it lists (BOLA)', async () => {
    const auth = { authorization: `Bearer ${keys['member']!.secret}` };
    expect((await send('/api/applications/app-1/findings', { headers: auth })).status).toBe(200);
    const other = await send('/api/applications/app-2/findings', { headers: auth });
    expect([other.status, other.code]).toEqual([403, 'forbidden']);
    expect(other.text).toContain('application:view');
    expect(other.text).not.toContain('app-2');
  });

  it('a key\'s scopes narrow its principal\'s actions', async () => {
    expect((await send('/edit/app-1', { method: 'POST', headers: { authorization: `Bearer ${keys['editor']!.secret}` }, body: '' })).status).toBe(200);
    const scoped = await send('/edit/app-1', { method: 'POST', headers: { authorization: `Bearer ${keys['scoped']!.secret}` }, body: '' });
    expect([scoped.status, scoped.code]).toEqual([403, 'forbidden']);
  });

  it('a serviceOnly role cannot be given to a human user', async () => {
    const r = await call<{ error: { code: string; field: string } }>('POST', '/v1/principals', { name: 'human-auditor', kind: 'user', roles: ['auditor'] });
    expect([r.status, r.body.error.field]).toEqual([400, 'roles']);
    expect((await call('POST', '/v1/principals', { name: 'svc-auditor', kind: 'service', roles: ['auditor'] })).status).toBe(201);
  });

  it('unknown and wrong keys get the same answer', async () => {
    const unknown = await send('/api/applications/app-1/x', { headers: { authorization: `Bearer ${newKey().secret}` } });
    const wrong = await send('/api/applications/app-1/x', { headers: { authorization: b64(`regscale-svc:${keys['contrast']!.secret}`) } });
    expect(unknown.text.replace(/"requestId":"[^"]+"/, '')).toBe(wrong.text.replace(/"requestId":"[^"]+"/, ''));
  });
});
