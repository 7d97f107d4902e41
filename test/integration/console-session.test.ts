import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminApi } from '../helpers/admin.ts';
import { exchange, parseSetCookie, signIn, withSession, type ConsoleSession } from '../helpers/console.ts';

/**
 * The console's sessions on a real gateway pair sharing one Redis (issue 15): sign-in with the
 * admin token and with an admin key, cookie flags, CSRF on every cookie-authenticated write,
 * sign-out ending the session on every replica, idle and absolute timeouts.
 */
const TOKEN = 'console-admin-token-0123456789abcdef';
let redis: TestRedis;
let up: TestUpstream;
let a: TestGateway;
let b: TestGateway;
let admin: ReturnType<typeof adminApi>;
let opsSecret: string;
let opsKeyId: string;

const yaml = (extra: string) => `
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}" }
upstreams: { app: { url: "${up.url}" } }
roles:
  operator: { actions: [keygate:admin] }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
${extra}
`;

type SessionBody = { principal: { id: string; name: string; kind: string } | null; permissions: string[]; csrfToken: string; expiresAt: string };

let peek: Redis;
const redisKeys = (pattern: string): Promise<string[]> => peek.keys(pattern);

type AuditEvent = { action: string; target: string; principalName: string; principalId: string | null; keyId: string | null; details: Record<string, unknown> };
/** The trail is written off the request path (audit.flushInterval): poll until the event is there. */
async function auditEvent(match: (e: AuditEvent) => boolean): Promise<AuditEvent | undefined> {
  for (let i = 0; i < 100; i++) {
    const e = (await admin<{ items: AuditEvent[] }>('GET', '/v1/audit?kind=admin&limit=200')).body.items.find(match);
    if (e !== undefined) return e;
    await new Promise((res) => setTimeout(res, 50));
  }
  return undefined;
}

beforeAll(async () => {
  redis = await startRedis();
  peek = new Redis(redis.url);
  up = await startUpstream();
  const assets = mkdtempSync(join(tmpdir(), 'keygate-console-'));
  mkdirSync(join(assets, 'assets'));
  writeFileSync(join(assets, 'index.html'), '<!doctype html><title>keygate</title><script type="module" src="assets/app-ABCD1234.js"></script>');
  writeFileSync(join(assets, 'assets', 'app-ABCD1234.js'), 'console.log(1)');
  a = await startTestGateway(yaml(''), { consoleAssets: assets });
  b = await startTestGateway(yaml('server: { trustedProxies: [127.0.0.1] }'), { consoleAssets: assets });
  admin = adminApi(a.adminUrl, TOKEN);
  const ops = await admin<{ id: string }>('POST', '/v1/principals', { name: 'ops', kind: 'user', roles: ['operator'] });
  const k = await admin<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: ops.body.id, name: 'ops console' });
  opsSecret = k.body.secret;
  opsKeyId = k.body.key.id;
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await up?.close();
  peek?.disconnect();
  await redis?.stop();
});

describe('sign-in', () => {
  it('with the admin token: the body, a Strict HttpOnly cookie, and only a hash of it in Redis', async () => {
    const r = await exchange<SessionBody>(`${a.adminUrl}/console/api/session`, { method: 'POST', json: { token: TOKEN } });
    expect(r.status).toBe(200);
    expect(r.body.principal).toBeNull();
    expect(r.body.permissions).toContain('keygate:admin:keys:write');
    expect(r.body.permissions).toContain('keygate:admin:keys:own');
    expect(r.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(r.body.expiresAt)).toBeGreaterThan(Date.now());
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.setCookies).toHaveLength(1);
    const c = parseSetCookie(r.setCookies[0] as string);
    expect(c.name).toBe('keygate_session');
    expect(c.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(c.attrs.has('httponly')).toBe(true);
    expect(c.attrs.get('samesite')).toBe('Strict');
    expect(c.attrs.get('path')).toBe('/');
    // Plain HTTP from a peer that is not a trusted proxy: no Secure, whatever it claims.
    expect(c.attrs.has('secure')).toBe(false);
    const stored = await redisKeys('*console:session:*');
    expect(stored.some((k) => k.endsWith(createHash('sha256').update(c.value).digest('hex')))).toBe(true);
    expect(stored.some((k) => k.includes(c.value))).toBe(false);
    const raw = await peek.get((stored.find((k) => k.endsWith(createHash('sha256').update(c.value).digest('hex'))) as string));
    expect(raw).not.toContain(c.value);
    expect(raw).not.toContain(TOKEN);
  });

  it('sets Secure only when a trusted proxy says the client came over https', async () => {
    const untrusted = await exchange(`${a.adminUrl}/console/api/session`, { method: 'POST', json: { token: TOKEN }, headers: { 'x-forwarded-proto': 'https' } });
    expect(parseSetCookie(untrusted.setCookies[0] as string).attrs.has('secure')).toBe(false);
    const trusted = await exchange(`${b.adminUrl}/console/api/session`, { method: 'POST', json: { token: TOKEN }, headers: { 'x-forwarded-proto': 'https' } });
    expect(parseSetCookie(trusted.setCookies[0] as string).attrs.has('secure')).toBe(true);
    const plain = await exchange(`${b.adminUrl}/console/api/session`, { method: 'POST', json: { token: TOKEN } });
    expect(parseSetCookie(plain.setCookies[0] as string).attrs.has('secure')).toBe(false);
  });

  it('with an admin key: the principal and its permissions, and the sign-in is audited', async () => {
    const r = await exchange<SessionBody>(`${a.adminUrl}/console/api/session`, { method: 'POST', json: { token: opsSecret } });
    expect(r.status).toBe(200);
    expect(r.body.principal).toEqual({ id: expect.stringMatching(/^p_/), name: 'ops', kind: 'user' });
    expect(r.body.permissions).toContain('keygate:admin:principals:write');
    const e = await auditEvent((x) => x.action === 'console.sign_in' && x.keyId === opsKeyId);
    expect(e).toMatchObject({ principalName: 'ops', target: r.body.principal?.id, details: { method: 'key' } });
    expect(JSON.stringify(e)).not.toContain(opsSecret);
  });

  it('always issues a new cookie value and ends the session the browser held before', async () => {
    const first = await signIn(a.adminUrl, TOKEN);
    const second = await signIn(a.adminUrl, TOKEN, { cookie: first.cookie });
    expect(second.value).not.toBe(first.value);
    expect((await exchange(`${a.adminUrl}/console/api/session`, { headers: { cookie: first.cookie } })).status).toBe(401);
    expect((await exchange(`${a.adminUrl}/console/api/session`, { headers: { cookie: second.cookie } })).status).toBe(200);
    // A value planted in the browser beforehand is never adopted.
    const planted = `keygate_session=${'P'.repeat(43)}`;
    const third = await signIn(a.adminUrl, TOKEN, { cookie: planted });
    expect(third.value).not.toBe('P'.repeat(43));
    expect((await exchange(`${a.adminUrl}/console/api/session`, { headers: { cookie: planted } })).status).toBe(401);
  });

  it('refuses a wrong token with 401 JSON and no cookie', async () => {
    const r = await exchange(`${a.adminUrl}/console/api/session`, { method: 'POST', json: { token: 'kg_not-a-real-key-0000000000000000' } });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: { code: 'unauthorized' } });
    expect(r.setCookies).toEqual([]);
    expect(r.text).not.toContain('kg_not-a-real-key');
  });

  it('refuses a cross-site form post (not JSON) and a cross-site fetch', async () => {
    const form = await exchange(`${a.adminUrl}/console/api/session`, { method: 'POST', body: `token=${TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect(form.setCookies).toEqual([]);
    const xsite = await exchange(`${a.adminUrl}/console/api/session`, { method: 'POST', json: { token: TOKEN }, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(xsite.status).toBe(403);
    expect(xsite.body).toMatchObject({ error: { code: 'csrf_failed' } });
    expect(xsite.setCookies).toEqual([]);
  });
});

describe('the session as a credential', () => {
  let s: ConsoleSession;
  beforeAll(async () => {
    s = await signIn(a.adminUrl, opsSecret);
  });

  it('GET /console/api/session answers the same body; without a cookie 401 session_required', async () => {
    const r = await exchange<SessionBody>(`${a.adminUrl}/console/api/session`, { headers: { cookie: s.cookie } });
    expect(r.status).toBe(200);
    expect(r.body.principal?.name).toBe('ops');
    expect(r.body.csrfToken).toBe(s.csrf);
    const none = await exchange(`${a.adminUrl}/console/api/session`);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ error: { code: 'session_required' } });
    const forged = await exchange(`${a.adminUrl}/console/api/session`, { headers: { cookie: `keygate_session=${'A'.repeat(43)}` } });
    expect(forged.status).toBe(401);
  });

  it('reads /v1 with the cookie alone, on the other replica too (sessions live in Redis)', async () => {
    for (const gw of [a, b]) {
      const r = await exchange<{ items: { name: string }[] }>(`${gw.adminUrl}/v1/principals`, { headers: { cookie: s.cookie } });
      expect(r.status).toBe(200);
      expect(r.body.items.map((p) => p.name)).toContain('ops');
    }
    const me = await exchange(`${b.adminUrl}/v1/me`, { headers: { cookie: s.cookie } });
    expect(me.body).toMatchObject({ principal: { name: 'ops', kind: 'user' }, via: 'session' });
  });

  it('refuses a write without X-CSRF-Token, or with another session\'s, and changes nothing', async () => {
    const other = await signIn(a.adminUrl, TOKEN);
    const attempts: Record<string, string>[] = [{ cookie: s.cookie }, { cookie: s.cookie, 'x-csrf-token': other.csrf }, { cookie: s.cookie, 'x-csrf-token': '' }];
    for (const headers of attempts) {
      const r = await exchange(`${a.adminUrl}/v1/principals`, { method: 'POST', json: { name: 'csrf-victim', kind: 'service' }, headers });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ error: { code: 'csrf_failed' } });
    }
    const del = await exchange(`${a.adminUrl}/v1/keys/${opsKeyId}`, { method: 'DELETE', headers: { cookie: s.cookie } });
    expect(del.status).toBe(403);
    expect((await admin('GET', '/v1/principals/csrf-victim')).status).toBe(404);
    expect((await admin('GET', `/v1/keys/${opsKeyId}`)).status).toBe(200);
  });

  it('a write with the token is made as the session\'s principal, and audited so', async () => {
    const r = await exchange<{ id: string }>(`${a.adminUrl}/v1/principals`, { method: 'POST', json: { name: 'made-in-console', kind: 'service' }, headers: withSession(s) });
    expect(r.status).toBe(201);
    const e = await auditEvent((x) => x.action === 'principal.create' && x.target === r.body.id);
    expect(e).toMatchObject({ principalName: 'ops', keyId: opsKeyId });
  });

  it('Bearer wins over the cookie (scripts need no CSRF token)', async () => {
    const r = await exchange(`${a.adminUrl}/v1/principals`, { method: 'POST', json: { name: 'bearer-made', kind: 'service' }, headers: { cookie: s.cookie, authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(201);
  });
});

describe('sign-out', () => {
  it('needs the CSRF token, then ends the session server-side on every replica', async () => {
    const s = await signIn(a.adminUrl, TOKEN);
    const id = createHash('sha256').update(s.value).digest('hex');
    const refused = await exchange(`${a.adminUrl}/console/api/session`, { method: 'DELETE', headers: { cookie: s.cookie } });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'csrf_failed' } });
    expect((await exchange(`${b.adminUrl}/console/api/session`, { headers: { cookie: s.cookie } })).status).toBe(200);

    const out = await exchange(`${b.adminUrl}/console/api/session`, { method: 'DELETE', headers: withSession(s) });
    expect(out.status).toBe(204);
    const cleared = parseSetCookie(out.setCookies[0] as string);
    expect(cleared).toMatchObject({ name: 'keygate_session', value: '' });
    expect(cleared.attrs.get('max-age')).toBe('0');
    expect((await redisKeys('*console:session:*')).some((k) => k.endsWith(id))).toBe(false);
    expect(await auditEvent((x) => x.action === 'console.sign_out' && x.principalName === 'admin-token')).toBeDefined();
    // The old cookie, replayed (a copy kept by malware, a second tab): refused everywhere.
    for (const gw of [a, b]) {
      expect((await exchange(`${gw.adminUrl}/console/api/session`, { headers: { cookie: s.cookie } })).status).toBe(401);
      const v1 = await exchange(`${gw.adminUrl}/v1/principals`, { headers: { cookie: s.cookie } });
      expect(v1.status).toBe(401);
      expect(v1.body).toMatchObject({ error: { code: 'session_required' } });
    }
  });

  it('a session opened with a key ends when the key is expired', async () => {
    const k = await admin<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'ops', name: 'short-lived' });
    const s = await signIn(a.adminUrl, k.body.secret);
    expect((await exchange(`${a.adminUrl}/v1/principals`, { headers: { cookie: s.cookie } })).status).toBe(200);
    expect((await admin('POST', `/v1/keys/${k.body.key.id}/expire`)).status).toBe(200);
    for (const gw of [b, a]) {
      const r = await exchange(`${gw.adminUrl}/v1/principals`, { headers: { cookie: s.cookie } });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ error: { code: 'session_required' } });
    }
  });
});

describe('timeouts (short ones configured for this test)', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  async function withTimeouts(idleMs: number, maxAgeMs: number, body: () => Promise<void>): Promise<void> {
    const before = a.current().config;
    await a.applyConfig({ ...before, console: { ...before.console, sessionIdleTimeoutMs: idleMs, sessionMaxAgeMs: maxAgeMs } });
    try {
      await body();
    } finally {
      await a.applyConfig(before);
    }
  }
  const alive = async (s: ConsoleSession) => (await exchange(`${a.adminUrl}/console/api/session`, { headers: { cookie: s.cookie } })).status;

  it('idle: unused for longer than sessionIdleTimeout ends it; use keeps it going', async () => {
    await withTimeouts(600, 60_000, async () => {
      const idle = await signIn(a.adminUrl, TOKEN);
      const busy = await signIn(a.adminUrl, TOKEN);
      // Busy is used every 200 ms for 1.2 s, twice the idle timeout.
      for (let i = 0; i < 6; i++) {
        await sleep(200);
        expect(await alive(busy)).toBe(200);
      }
      expect(await alive(idle)).toBe(401);
      // And the store forgot it (its TTL is the idle deadline).
      expect((await redisKeys('*console:session:*')).some((k) => k.endsWith(createHash('sha256').update(idle.value).digest('hex')))).toBe(false);
    });
  });

  it('absolute: sessionMaxAge after sign-in it ends, however busy', async () => {
    await withTimeouts(500, 900, async () => {
      const s = await signIn(a.adminUrl, TOKEN);
      const body = await exchange<SessionBody>(`${a.adminUrl}/console/api/session`, { headers: { cookie: s.cookie } });
      // expiresAt never goes past the absolute deadline.
      expect(Date.parse(body.body.expiresAt) - Date.now()).toBeLessThanOrEqual(900);
      const started = Date.now();
      let last = 200;
      while (Date.now() - started < 1300 && last === 200) {
        await sleep(150);
        last = await alive(s);
      }
      expect(last).toBe(401);
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    });
  });
});

describe('session store outage (last: stops Redis)', () => {
  it('sign-in and cookie requests answer 503 store_unavailable, never a session or a 500', async () => {
    const s = await signIn(a.adminUrl, TOKEN);
    await redis.kill();
    const signInNow = await exchange(`${a.adminUrl}/console/api/session`, { method: 'POST', json: { token: TOKEN } });
    expect(signInNow.status).toBe(503);
    expect(signInNow.body).toMatchObject({ error: { code: 'store_unavailable' } });
    expect(signInNow.setCookies).toEqual([]);
    const v1 = await exchange(`${a.adminUrl}/v1/me`, { headers: { cookie: s.cookie } });
    expect(v1.status).toBe(503);
    expect(v1.body).toMatchObject({ error: { code: 'store_unavailable' } });
    // Bearer callers are not held up by the session store.
    expect((await exchange(`${a.adminUrl}/v1/me`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });
});
