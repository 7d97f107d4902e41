import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type Received, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { rawExchange, statuses } from '../helpers/raw.ts';

/**
 * A route accepting `body` reads every JSON body so that a `userKey` beside a header key is
 * checked (ambiguous-credentials.test.ts). "JSON" was decided on the Content-Type compared
 * case-sensitively (a precedence slip lower-cased only the fallback ''), so
 * `Content-Type: Application/JSON` — JSON to any upstream, media types being case-insensitive
 * (RFC 9110 §8.3.1) — streamed bob's `userKey` to a Mend-style upstream under alice's identity.
 * And a Content-Type sent twice was judged on the first (Node's `req.headers`) while both were
 * forwarded, so `text/plain` then `application/json` did the same; so did the two joined into one
 * value, which is how the check listener hears a repeated header from Envoy.
 */
const alice = newKey('alice_');
const bob = newKey('bob_');
let up: TestUpstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
log: { level: silent }
# withRequestBody: Envoy buffers the body here (with_request_body), so the check reads it too.
check: { pathPrefix: /envoy, withRequestBody: true }
credentials:
  hideCredentials: true
  body: { enabled: true, field: userKey, orgField: orgToken, maxBytes: 2048 }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: mend, path: /api/v1.4, methods: [POST], upstream: app, action: application:view, credentials: [body, bearer] }
principals:
  - { name: alice, kind: user, roles: [viewer], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
  - { name: bob, kind: user, roles: [viewer], keys: [{ id: bob-1, hash: "${bob.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const body = `{"requestType":"getOrganizationDetails","userKey":"${bob.secret}"}`;

async function send(contentType: string) {
  const before = up.received.length;
  const res = await request(`${gw.url}/api/v1.4`, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${alice.secret}` }, body });
  const text = await res.body.text();
  await new Promise((r) => setTimeout(r, res.statusCode === 200 ? 0 : 50));
  const code = text.startsWith('{"error"') ? (JSON.parse(text) as { error: { code: string } }).error.code : null;
  return { status: res.statusCode, code, seen: up.received.slice(before) };
}

describe('the JSON media type in any letter case is read for a userKey', () => {
  it.each(['Application/JSON', 'APPLICATION/JSON; charset=utf-8', 'application/Vnd.Mend+JSON'])('%s: bob\'s userKey beside alice\'s header key is 400, nothing forwarded', async (type) => {
    const r = await send(type);
    expect([r.status, r.code]).toEqual([400, 'ambiguous_credentials']);
    expect(r.seen).toEqual([]);
  });

  it('a body-only key under Application/JSON authenticates (and is hidden from the upstream)', async () => {
    const before = up.received.length;
    const res = await request(`${gw.url}/api/v1.4`, { method: 'POST', headers: { 'content-type': 'Application/JSON' }, body: `{"userKey":"${alice.secret}","x":1}` });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    const seen = up.received.slice(before) as [Received];
    expect(seen[0].headers.get('x-authenticated-user')).toEqual(['alice']);
    expect(seen[0].body.toString()).not.toContain(alice.secret);
  });
});

describe('Content-Type sent twice', () => {
  it.each(['text/plain,application/json', 'text/plain, application/json'])('joined into one value (%s): 400, nothing forwarded', async (type) => {
    const r = await send(type);
    expect([r.status, r.code]).toEqual([400, 'invalid_request']);
    expect(r.seen).toEqual([]);
  });

  it('on the check listener (Envoy, where a repeated header arrives joined): refused, not allowed as alice', async () => {
    const res = await request(`${gw.checkUrl}/envoy/api/v1.4`, {
      method: 'POST', body,
      headers: { host: 'api.example.com', authorization: `Bearer ${alice.secret}`, 'content-type': 'text/plain,application/json', 'content-length': String(Buffer.byteLength(body)), 'x-envoy-auth-partial-body': 'false' },
    });
    const text = await res.body.text();
    expect(res.statusCode).toBe(400);
    expect(text).toContain('invalid_request');
    expect(res.headers['x-authenticated-user']).toBeUndefined();
  });

  it('text/plain then application/json: 400, nothing forwarded (the upstream may read the second)', async () => {
    const port = Number(new URL(gw.url).port);
    const before = up.received.length;
    const r = await rawExchange(port, `POST /api/v1.4 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.secret}\r\nContent-Type: text/plain\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    expect(statuses(r.text)).toEqual([400]);
    expect(r.text).toContain('invalid_request');
    expect(up.received.slice(before)).toEqual([]);
  });
});
