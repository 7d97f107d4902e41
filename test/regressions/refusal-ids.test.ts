import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { randomBytes } from 'node:crypto';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { adminApi } from '../helpers/admin.ts';
import { createStore } from '../../src/keystore/create-store.ts';
import { createLogger } from '../../src/log/logger.ts';
import { generateSecret } from '../../src/credentials/key-format.ts';
import type { KeyStore } from '../../src/keystore/types.ts';
import type { StoredAuditEvent } from '../../src/audit/event.ts';

/**
 * Issue 10.18: refusals of known keys — expired, revoked, principal disabled, rotated past its
 * grace period, and tokens minted from such keys — carried `keyId: null` and `principalId: null`
 * in the access log and the audit trail, so "who still uses the key I expired" had no answer. The
 * key was found by its hash: recording its ids tells the caller nothing. A malformed credential
 * was counted under `credential="none"`; it is counted under the style the client used.
 */

const TOKEN = 'refusal-ids-regression-admin-token-01';
let redis: TestRedis;
let up: TestUpstream;
let gw: TestGateway;
let call: ReturnType<typeof adminApi>;
/** A second connection to the same Redis: an operator's tool (or another replica) writing. */
let other: KeyStore;

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}" }
audit: { flushInterval: 20ms }
credentials: { apiKey: { enabled: true, scheme: APIKEY }, serviceKey: { enabled: true, orgHeader: API-Key } }
tokens: { enabled: true, ttl: 10m, signingKeys: [{ id: k1, secret: "refusal-ids-regression-signing-secret-01" }] }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view, credentials: [bearer, apikey, service_key, token] }
`);
  call = adminApi(gw.adminUrl, TOKEN);
  other = createStore(gw.current().config.store, createLogger('silent'));
});
afterAll(async () => {
  await other?.close();
  await gw?.close();
  await up?.close();
  await redis?.stop();
});

async function principal(name: string): Promise<string> {
  const r = await call<{ id: string }>('POST', '/v1/principals', { name, kind: 'service', roles: ['viewer'] });
  expect(r.status).toBe(201);
  return r.body.id;
}
async function key(principalName: string, extra: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const r = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: principalName, ...extra });
  expect(r.status).toBe(201);
  return { id: r.body.key.id, secret: r.body.secret };
}

/** A request with a fresh request id; asserts nothing reached the upstream unless it was allowed. */
async function send(authorization: string): Promise<{ status: number; code: string | null; requestId: string }> {
  const requestId = `rid-${randomBytes(6).toString('hex')}`;
  const before = up.received.length;
  const res = await request(`${gw.url}/api/applications/a1/x`, { headers: { authorization, 'x-request-id': requestId } });
  const text = await res.body.text();
  if (res.statusCode !== 200) expect(up.received.length, 'a refused request reached the upstream').toBe(before);
  const code = text.startsWith('{"error"') ? (JSON.parse(text) as { error: { code: string } }).error.code : null;
  return { status: res.statusCode, code, requestId };
}

async function logLine(requestId: string): Promise<Record<string, unknown>> {
  const line = (await gw.logs()).split('\n').find((l) => l.includes(`"reqId":"${requestId}"`));
  expect(line, `log line of ${requestId}`).toBeDefined();
  return JSON.parse(line!) as Record<string, unknown>;
}

async function auditEvent(requestId: string): Promise<StoredAuditEvent> {
  for (let i = 0; i < 200; i++) {
    const r = await call<{ items: StoredAuditEvent[] }>('GET', '/v1/audit?limit=1000');
    const e = r.body.items.find((x) => x.requestId === requestId);
    if (e !== undefined) return e;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`no audit event for ${requestId}`);
}

/** The log line and the audit event both name the key and its principal. */
async function expectRecorded(requestId: string, want: { code: string; keyId: string; principalId: string; principalName: string; credential: string }) {
  expect(await logLine(requestId)).toMatchObject({ status: 401, error: want.code, keyId: want.keyId, principalId: want.principalId, credential: want.credential });
  expect(await auditEvent(requestId)).toMatchObject({
    decision: 'denied', reason: want.code, keyId: want.keyId, principalId: want.principalId, principalName: want.principalName, credential: want.credential,
  });
  // And the question the operator asks is answered by the trail's own filter.
  const byKey = await call<{ items: StoredAuditEvent[] }>('GET', `/v1/audit?key=${want.keyId}&limit=1000`);
  expect(byKey.body.items.map((e) => e.requestId)).toContain(requestId);
}

describe('refusals of known keys record the key and its principal', () => {
  it('expired', async () => {
    const pid = await principal('exp-svc');
    const k = await key('exp-svc');
    expect((await send(`Bearer ${k.secret}`)).status).toBe(200);
    expect((await call('POST', `/v1/keys/${k.id}/expire`)).status).toBe(200);
    const r = await send(`Bearer ${k.secret}`);
    expect(r.code).toBe('key_expired');
    await expectRecorded(r.requestId, { code: 'key_expired', keyId: k.id, principalId: pid, principalName: 'exp-svc', credential: 'bearer' });
  });

  it('revoked (by another writer on the same Redis)', async () => {
    const pid = await principal('rev-svc');
    const k = await key('rev-svc');
    expect((await send(`APIKEY ${k.secret}`)).status).toBe(200);
    await other.updateKey(k.id, { revokedAt: new Date() });
    let r = await send(`APIKEY ${k.secret}`);
    for (let i = 0; i < 100 && r.code !== 'key_revoked'; i++) {
      await new Promise((res) => setTimeout(res, 20)); // the invalidation crosses pub/sub
      r = await send(`APIKEY ${k.secret}`);
    }
    expect(r.code).toBe('key_revoked');
    await expectRecorded(r.requestId, { code: 'key_revoked', keyId: k.id, principalId: pid, principalName: 'rev-svc', credential: 'apikey' });
  });

  it('principal disabled', async () => {
    const pid = await principal('dis-svc');
    const k = await key('dis-svc');
    const basic = `Basic ${Buffer.from(`dis-svc:${k.secret}`).toString('base64')}`;
    expect((await send(basic)).status).toBe(200);
    expect((await call('POST', '/v1/principals/dis-svc/disable')).status).toBe(200);
    const r = await send(basic);
    expect(r.code).toBe('principal_disabled');
    await expectRecorded(r.requestId, { code: 'principal_disabled', keyId: k.id, principalId: pid, principalName: 'dis-svc', credential: 'service_key' });
  });

  it('rotated past its grace period', async () => {
    const pid = await principal('rot-svc');
    const k = await key('rot-svc');
    expect((await call('POST', `/v1/keys/${k.id}/rotate`, { grace: '1s' })).status).toBe(201);
    expect((await send(`Bearer ${k.secret}`)).status, 'inside the grace period').toBe(200);
    await new Promise((res) => setTimeout(res, 1100));
    const r = await send(`Bearer ${k.secret}`);
    expect(r.code).toBe('key_expired');
    await expectRecorded(r.requestId, { code: 'key_expired', keyId: k.id, principalId: pid, principalName: 'rot-svc', credential: 'bearer' });
  });

  it('a token minted from a key pair that was then expired, and the exchange refused for it', async () => {
    const pid = await principal('tok-svc');
    const k = await key('tok-svc', { type: 'key_pair' });
    const exchange = async (requestId: string) => {
      const res = await request(`${gw.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': requestId }, body: JSON.stringify({ key_id: k.id, key_secret: k.secret }) });
      return { status: res.statusCode, body: (await res.body.json()) as { bearer_token?: string; error?: { code: string } } };
    };
    const token = (await exchange(`rid-${randomBytes(6).toString('hex')}`)).body.bearer_token!;
    expect((await send(`Bearer ${token}`)).status).toBe(200);
    expect((await call('POST', `/v1/keys/${k.id}/expire`)).status).toBe(200);
    const r = await send(`Bearer ${token}`);
    expect(r.code).toBe('key_expired');
    await expectRecorded(r.requestId, { code: 'key_expired', keyId: k.id, principalId: pid, principalName: 'tok-svc', credential: 'token' });

    const exId = `rid-${randomBytes(6).toString('hex')}`;
    const ex = await exchange(exId);
    expect([ex.status, ex.body.error?.code]).toEqual([401, 'key_expired']);
    expect(await logLine(exId)).toMatchObject({ status: 401, error: 'key_expired', keyId: k.id, principalId: pid });
    expect(await auditEvent(exId)).toMatchObject({ kind: 'token', decision: 'denied', reason: 'key_expired', keyId: k.id, principalId: pid, principalName: 'tok-svc' });
  });
});

describe('refusals that name no key record none', () => {
  it('an unknown key, and a wrong secret at the exchange, carry null ids', async () => {
    const r = await send(`Bearer ${generateSecret()}`);
    expect(r.code).toBe('invalid_key');
    expect(await logLine(r.requestId)).toMatchObject({ error: 'invalid_key', keyId: null, principalId: null, credential: 'bearer' });
    expect(await auditEvent(r.requestId)).toMatchObject({ reason: 'invalid_key', keyId: null, principalId: null });

    await principal('wrong-secret-svc');
    const k = await key('wrong-secret-svc', { type: 'key_pair' });
    const exId = `rid-${randomBytes(6).toString('hex')}`;
    const res = await request(`${gw.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': exId }, body: JSON.stringify({ key_id: k.id, key_secret: generateSecret() }) });
    await res.body.text();
    expect(res.statusCode).toBe(401);
    // The id alone proves nothing: whoever sent it did not hold the secret.
    expect(await auditEvent(exId)).toMatchObject({ kind: 'token', reason: 'invalid_key', keyId: null, principalId: null });
  });
});

describe('a malformed credential is counted under its style, not "none"', () => {
  async function authCounter(credential: string): Promise<number> {
    const res = await request(`${gw.adminUrl}/metrics`);
    const text = await res.body.text();
    const line = text.split('\n').find((l) => l.startsWith(`keygate_auth_total{route="app",credential="${credential}",result="unauthenticated"}`));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  }

  it.each([
    ['bearer', 'Bearer not@a@token'],
    ['bearer', `Bearer ${generateSecret().slice(0, -1)}x`], // our format, wrong checksum
    ['apikey', 'APIKEY ***'],
    ['service_key', 'Basic !!!'],
  ])('%s: %s', async (style, authorization) => {
    const before = { style: await authCounter(style), none: await authCounter('none') };
    const r = await send(authorization);
    expect([r.status, r.code]).toEqual([401, 'invalid_key']);
    expect(await authCounter(style)).toBe(before.style + 1);
    expect(await authCounter('none')).toBe(before.none);
    expect(await logLine(r.requestId)).toMatchObject({ error: 'invalid_key', credential: style, keyId: null });
    expect(await auditEvent(r.requestId)).toMatchObject({ reason: 'invalid_key', credential: style });
  });
});
