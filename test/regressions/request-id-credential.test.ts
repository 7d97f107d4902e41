import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { rawRequest } from '../helpers/sockets.ts';
import { generateSecret } from '../../src/credentials/key-format.ts';

/**
 * Issue 10 #10: the client's X-Request-Id is adopted as the request's id, which is written to
 * the access log and the audit trail and echoed back. A key pasted there (wrong header, a
 * client library that copies Authorization around) would end up in all of them. An id that
 * looks like a credential — keygate's key format whole, cut short or embedded, a JWT, the
 * base64 `user:key` of service keys, or a `server.headers.credentialPatterns` match — is not
 * adopted: a fresh id is used, everywhere.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const kgSecret = generateSecret('kg_');
const kg = { secret: kgSecret, hash: `sha256:${createHash('sha256').update(kgSecret).digest('hex')}` };
const declared = newKey('test_');
let up: TestUpstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
upstreams: { app: { url: "${up.url}", timeout: 2s, connectTimeout: 1s, bodyTimeout: 2s, connections: 4 } }
server: { headers: { credentialPatterns: ["^test_", "sk_live_[0-9a-zA-Z]+"] } }
log: { level: info }
roles: { editor: { actions: [application:view] } }
routes:
  - { name: health, path: "/health", upstream: app, public: true }
  - { name: app, path: "/api/*", upstream: app, action: application:view }
principals:
  - { name: alice, kind: user, roles: [editor], keys: [{ id: alice-1, hash: "${kg.hash}" }, { id: alice-2, hash: "${declared.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

/** A base64 `user:key` pair the request-id alphabet admits (no +, / or =). */
function serviceKeyPair(): string {
  for (;;) {
    const v = Buffer.from(`alic:${generateSecret('kg_')}`).toString('base64');
    if (/^[A-Za-z0-9]+$/.test(v)) return v;
  }
}

async function withId(path: string, id: string, auth: boolean) {
  const next = auth || path === '/health' ? up.nextRequest() : null;
  const lines = [`GET ${path} HTTP/1.1`, 'Host: t', ...(auth ? [`Authorization: Bearer ${kg.secret}`] : []), `X-Request-Id: ${id}`, 'Connection: close', '', ''];
  const r = await rawRequest(gw.port, lines.join('\r\n'));
  const echoed = r.headers.get('x-request-id')?.[0] ?? '';
  const upstream = next === null ? null : ((await next).headers.get('x-request-id') ?? []);
  return { status: r.status, echoed, upstream, body: r.body };
}

describe('an ordinary client id is adopted (control)', () => {
  it('echoed, forwarded and logged as sent', async () => {
    const r = await withId('/api/x', 'checkout-7f3a.retry:2', true);
    expect(r.echoed).toBe('checkout-7f3a.retry:2');
    expect(r.upstream).toEqual(['checkout-7f3a.retry:2']);
    expect(await gw.logs()).toContain('"reqId":"checkout-7f3a.retry:2"');
  });
});

describe('a credential-shaped id is replaced by a fresh one', () => {
  const cases: [string, () => string][] = [
    ['a keygate key', () => kg.secret],
    ['a keygate key cut short', () => kg.secret.slice(0, 20)],
    ['a keygate key inside other text', () => `trace.${kg.secret}.1`],
    ['a JWT (keygate tokens, most bearer tokens)', () => 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJwXzEiLCJrZ19rZXkiOiJrMSJ9.c2lnbmF0dXJl'],
    ['a base64 user:key service-key pair', serviceKeyPair],
    ['a declared key matching credentialPatterns', () => declared.secret],
    ['an upstream token matching credentialPatterns', () => 'req-sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
  ];
  it.each(cases)('%s: authenticated request', async (_what, make) => {
    const id = make();
    const r = await withId('/api/x', id, true);
    expect(r.status).toBe(200);
    expect(r.echoed).toMatch(UUID);
    expect(r.upstream).toEqual([r.echoed]);
    expect(await gw.logs()).not.toContain(id);
  });

  it.each(cases)('%s: refused request (401)', async (_what, make) => {
    const id = make();
    const r = await withId('/api/x', id, false);
    expect(r.status).toBe(401);
    expect(r.echoed).toMatch(UUID);
    expect(r.body).not.toContain(id);
    expect(await gw.logs()).not.toContain(id);
  });

  it('a public route too', async () => {
    const r = await withId('/health', kg.secret, false);
    expect(r.echoed).toMatch(UUID);
    expect(r.upstream).toEqual([r.echoed]);
  });
});
