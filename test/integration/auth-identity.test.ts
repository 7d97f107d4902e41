import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { rawExchange, statuses } from '../helpers/raw.ts';

const viewer = newKey();
const editor = newKey();
const expired = newKey();
const disabled = newKey();

let up: TestUpstream;
let gw: TestGateway;

function yaml(upstreamUrl: string, extra = ''): string {
  return `
upstreams: { app: { url: "${upstreamUrl}" } }
roles:
  viewer: { actions: [application:view] }
  editor: { actions: ["application:*"] }
routes:
  - { name: health, path: /health, upstream: app, public: true }
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET, HEAD], upstream: app, action: application:view }
  - { name: app-edit, path: "/api/applications/:appId/*", methods: [POST, PUT, PATCH, DELETE], upstream: app, action: application:edit }
principals:
  - name: ci-bot
    kind: service
    roles: [viewer]
    keys:
      - { id: ci-bot-1, hash: "${viewer.hash}" }
      - { id: ci-bot-old, hash: "${expired.hash}", expiresAt: "2020-01-01T00:00:00Z" }
  - { name: alice, kind: user, roles: [editor], org: acme, keys: [{ id: alice-1, hash: "${editor.hash}" }] }
  - { name: mallory, kind: user, roles: [editor], disabled: true, keys: [{ id: mallory-1, hash: "${disabled.hash}" }] }
${extra}`;
}

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(yaml(up.url));
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

async function get(path: string, headers: Record<string, string | string[]> = {}, method = 'GET') {
  const res = await request(`${gw.url}${path}`, { method: method as 'GET', headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: text.startsWith('{') ? (JSON.parse(text) as { error?: { code: string; message: string; requestId: string } }) : null };
}

describe('authenticated requests', () => {
  it('forwards the normalized path, the query and the resolved identity, and hides the key', async () => {
    const next = up.nextRequest();
    const r = await get('/api//applications/./7/items?x=%2F&y=1', { authorization: `Bearer ${viewer.secret}` });
    expect(r.status).toBe(200);
    const seen = await next;
    expect(seen.url).toBe('/api/applications/7/items?x=%2F&y=1');
    expect(seen.headers.get('x-authenticated-user')).toEqual(['ci-bot']);
    expect(seen.headers.get('x-authenticated-id')).toEqual(['cfg:ci-bot']);
    expect(seen.headers.get('x-authenticated-kind')).toEqual(['service']);
    expect(seen.headers.get('x-authenticated-key-id')).toEqual(['ci-bot-1']);
    expect(seen.headers.get('x-authenticated-roles')).toEqual(['viewer']);
    expect(seen.headers.has('x-authenticated-org')).toBe(false);
    expect(seen.headers.has('authorization')).toBe(false);
    expect(seen.headers.get('x-request-id')).toEqual([r.headers['x-request-id']]);
  });

  it('accepts a well-formed X-Request-Id from the client and generates one otherwise', async () => {
    const next = up.nextRequest();
    const r = await get('/api/applications/1/x', { authorization: `Bearer ${viewer.secret}`, 'x-request-id': 'trace-abc.123' });
    expect(r.headers['x-request-id']).toBe('trace-abc.123');
    expect((await next).headers.get('x-request-id')).toEqual(['trace-abc.123']);
    const bad = await get('/api/applications/1/x', { authorization: `Bearer ${viewer.secret}`, 'x-request-id': 'has spaces\tand tabs' });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('removes every client-sent identity header, whatever its case or count, then injects its own', async () => {
    const next = up.nextRequest();
    const r = await request(`${gw.url}/api/applications/1/x`, {
      headers: [
        'authorization', `Bearer ${editor.secret}`,
        'X-Authenticated-User', 'root', 'x-authenticated-user', 'root2', 'X-AUTHENTICATED-ROLES', 'admin',
        'x-authenticated-org', 'evil', 'X-Authenticated-Anything', 'x',
      ],
    });
    await r.body.text();
    const seen = await next;
    expect(seen.headers.get('x-authenticated-user')).toEqual(['alice']);
    expect(seen.headers.get('x-authenticated-roles')).toEqual(['editor']);
    expect(seen.headers.get('x-authenticated-org')).toEqual(['acme']);
    expect(seen.headers.has('x-authenticated-anything')).toBe(false);
  });

  it('a Connection header naming an identity header cannot remove the injected one', async () => {
    // undici normalizes the Connection header of its requests, so this one is written raw.
    const next = up.nextRequest();
    const { text } = await rawExchange(gw.port,
      `GET /api/applications/1/x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${viewer.secret}\r\nConnection: keep-alive, X-Authenticated-User, X-Custom\r\nX-Custom: 1\r\n\r\n`, 500);
    expect(statuses(text)).toEqual([200]);
    const seen = await next;
    expect(seen.headers.get('x-authenticated-user')).toEqual(['ci-bot']);
    expect(seen.headers.has('x-custom')).toBe(false);
  });

  it('public routes forward no identity at all, even a spoofed one', async () => {
    const next = up.nextRequest();
    const r = await get('/health', { 'x-authenticated-user': 'root', 'x-authenticated-roles': 'admin' });
    expect(r.status).toBe(200);
    const seen = await next;
    expect([...seen.headers.keys()].filter((h) => h.startsWith('x-authenticated-'))).toEqual([]);
  });
});

describe('refusals', () => {
  it('no credential: 401 missing_credentials with the RFC 6750 challenge, nothing forwarded', async () => {
    const before = up.received.length;
    const r = await get('/api/applications/1/x');
    expect(r.status).toBe(401);
    expect(r.json?.error?.code).toBe('missing_credentials');
    expect(r.json?.error?.requestId).toBe(r.headers['x-request-id']);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="keygate"');
    expect(r.headers['content-type']).toBe('application/json');
    expect(up.received.length).toBe(before);
  });

  it.each([
    ['unknown key', () => newKey().secret, 'invalid_key'],
    ['expired key', () => expired.secret, 'key_expired'],
    ['disabled principal', () => disabled.secret, 'principal_disabled'],
  ])('%s: 401 %s with error="invalid_token"', async (_name, secret, code) => {
    const before = up.received.length;
    const r = await get('/api/applications/1/x', { authorization: `Bearer ${secret()}` });
    expect(r.status).toBe(401);
    expect(r.json?.error?.code).toBe(code);
    expect(r.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(up.received.length).toBe(before);
  });

  it('a malformed bearer credential is a 401, and the error body never echoes it', async () => {
    const r = await get('/api/applications/1/x', { authorization: 'Bearer abc"def<script>' });
    expect(r.status).toBe(401);
    expect(r.json?.error?.code).toBe('invalid_key');
    expect(r.text).not.toContain('script');
  });

  it('a known key without the route action: 403 naming only the missing action', async () => {
    const before = up.received.length;
    const r = await get('/api/applications/1/x', { authorization: `Bearer ${viewer.secret}` }, 'POST');
    expect(r.status).toBe(403);
    expect(r.json?.error?.code).toBe('forbidden');
    expect(r.json?.error?.message).toBe('Missing permission: application:edit');
    expect(r.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(up.received.length).toBe(before);
  });

  it('prefix wildcards grant matching actions', async () => {
    const r = await get('/api/applications/1/x', { authorization: `Bearer ${editor.secret}` }, 'DELETE');
    expect(r.status).toBe(200);
  });

  it('two Authorization headers: 400 invalid_request and nothing forwarded', async () => {
    const before = up.received.length;
    const { text } = await rawExchange(gw.port,
      `GET /api/applications/1/x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${newKey().secret}\r\nAuthorization: Bearer ${viewer.secret}\r\n\r\n`);
    expect(statuses(text)).toEqual([400]);
    expect(text).toContain('"code":"invalid_request"');
    expect(up.received.length).toBe(before);
  });

  it('no route: 404 route_not_found and nothing forwarded', async () => {
    const before = up.received.length;
    const r = await get('/nope', { authorization: `Bearer ${viewer.secret}` });
    expect(r.status).toBe(404);
    expect(r.json?.error?.code).toBe('route_not_found');
    expect(up.received.length).toBe(before);
  });

  it.each(['/api/%2e%2e/admin', '/api/applications/1%2F2/x', '/../etc/passwd', '/api/applications/1;x/y'])(
    'unsafe path %s: 400 bad_path, nothing forwarded', async (path) => {
      const before = up.received.length;
      const { text } = await rawExchange(gw.port, `GET ${path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${viewer.secret}\r\nConnection: close\r\n\r\n`);
      if (path === '/api/%2e%2e/admin') expect(statuses(text)).toEqual([404]); // resolves to /admin: no such route
      else {
        expect(statuses(text)).toEqual([400]);
        expect(text).toContain('"code":"bad_path"');
      }
      expect(up.received.length).toBe(before);
    });

  it('path spellings that differ only in case still need the route action', async () => {
    const r = await get('/API/Applications/1/x');
    expect(r.status).toBe(401);
  });
});

describe('logs', () => {
  it('one JSON line per request with id, route, status, principal and key — and never a secret', async () => {
    const r = await get('/api/applications/9/logged', { authorization: `Bearer ${viewer.secret}` });
    await get('/api/applications/9/logged', { authorization: `Bearer ${newKey().secret}` });
    const logs = await gw.logs();
    for (const s of [viewer.secret, editor.secret, expired.secret, disabled.secret]) expect(logs).not.toContain(s);
    expect(logs).not.toMatch(/Bearer /);
    const line = logs.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['reqId'] === r.headers['x-request-id']);
    expect(line).toMatchObject({ msg: 'request', route: 'app-read', status: 200, principalId: 'cfg:ci-bot', keyId: 'ci-bot-1', method: 'GET', path: '/api/applications/9/logged' });
    expect(typeof line?.['durationMs']).toBe('number');
  });
});

describe('hideCredentials: false', () => {
  it('forwards the Authorization header untouched', async () => {
    const gw2 = await startTestGateway(yaml(up.url, 'credentials: { bearer: true, hideCredentials: false }'));
    try {
      const next = up.nextRequest();
      const r = await request(`${gw2.url}/api/applications/1/x`, { headers: { authorization: `Bearer ${viewer.secret}` } });
      await r.body.text();
      expect((await next).headers.get('authorization')).toEqual([`Bearer ${viewer.secret}`]);
    } finally {
      await gw2.close();
    }
  });
});
