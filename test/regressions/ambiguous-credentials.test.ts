import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type Received, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { rawExchange, statuses } from '../helpers/raw.ts';

/**
 * Issue 10.5: a body credential and a header credential on a route that accepts `body`. Before,
 * the body was only read when no header credential came, so the upstream (Mend-style, acting on
 * the body's `userKey`) could be handed another principal's key that keygate never looked at — a
 * confused deputy. Now every JSON body on such a route is read within maxBytes: a different key
 * (or org token) is 400 `ambiguous_credentials` and nothing reaches the upstream; the same key is
 * removed from the body like any hidden credential.
 */

const alice = newKey('alice_');
const bob = newKey('bob_');
const acme = newKey('org_acme_');
const globex = newKey('org_globex_');
let up: TestUpstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
log: { level: silent }
credentials:
  hideCredentials: true
  apiKey: { enabled: true, scheme: APIKEY }
  serviceKey: { enabled: true, orgHeader: API-Key }
  body: { enabled: true, field: userKey, orgField: orgToken, maxBytes: 2048 }
  query: { enabled: true, param: apiKey }
orgs:
  acme: { keys: [{ id: acme-1, hash: "${acme.hash}" }] }
  globex: { keys: [{ id: globex-1, hash: "${globex.hash}" }] }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: mend, path: /api/v1.4, methods: [POST], upstream: app, action: application:view, credentials: [body, bearer, apikey, query] }
principals:
  - { name: alice, kind: user, roles: [viewer], org: acme, keys: [{ id: alice-1, hash: "${alice.hash}" }] }
  - { name: bob, kind: user, roles: [viewer], org: acme, keys: [{ id: bob-1, hash: "${bob.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const mendBody = (fields: string) => `{\n  "requestType" : "getProjectVulnerabilityReport",${fields}\n  "projectToken" : "438629e2da934b4ca68220c"\n}`;

async function send(headers: Record<string, string>, body: string | Buffer, path = '/api/v1.4') {
  const before = up.received.length;
  const res = await request(`${gw.url}${path}`, { method: 'POST', headers, body });
  const text = await res.body.text();
  // Give a wrongly forwarded request time to show up before counting.
  await new Promise((r) => setTimeout(r, res.statusCode === 200 ? 0 : 50));
  const seen: Received[] = up.received.slice(before);
  const code = text.startsWith('{"error"') ? (JSON.parse(text) as { error: { code: string } }).error.code : null;
  return { status: res.statusCode, code, seen };
}

const JSON_TYPE = { 'content-type': 'application/json' };

describe('a different key in the body than in the header: 400, nothing forwarded', () => {
  it.each([
    ['Bearer', { authorization: `Bearer ${alice.secret}` }, ''],
    ['APIKEY', { authorization: `APIKEY ${alice.secret}` }, ''],
    ['query', {}, `?apiKey=${alice.secret}`],
  ] as const)('%s key for alice, userKey of bob', async (_n, auth, query) => {
    const r = await send({ ...JSON_TYPE, ...auth }, mendBody(`\n  "userKey": "${bob.secret}",`), `/api/v1.4${query}`);
    expect([r.status, r.code]).toEqual([400, 'ambiguous_credentials']);
    expect(r.seen).toEqual([]);
  });

  it('also with a +json media type', async () => {
    const r = await send({ 'content-type': 'application/vnd.mend+json; charset=utf-8', authorization: `Bearer ${alice.secret}` }, mendBody(`"userKey":"${bob.secret}",`));
    expect([r.status, r.code]).toEqual([400, 'ambiguous_credentials']);
    expect(r.seen).toEqual([]);
  });

  it('an Expect: 100-continue upload is read (100) and then refused, over a raw socket', async () => {
    const before = up.received.length;
    const body = mendBody(`"userKey":"${bob.secret}",`);
    const head = `POST /api/v1.4 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.secret}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
    const { text } = await rawExchange(gw.port, head + body);
    expect(statuses(text)).toEqual([100, 400]);
    expect(text).toContain('"code":"ambiguous_credentials"');
    expect(up.received.length).toBe(before);
  });

  it('a body userKey that is no key at all is just as ambiguous (never forwarded for the upstream to judge)', async () => {
    const r = await send({ ...JSON_TYPE, authorization: `Bearer ${alice.secret}` }, mendBody('"userKey":"someone-elses-mend-key",'));
    expect([r.status, r.code]).toEqual([400, 'ambiguous_credentials']);
    expect(r.seen).toEqual([]);
  });

  it('an orgToken in the body other than the API-Key header: 400, nothing forwarded', async () => {
    const r = await send({ ...JSON_TYPE, authorization: `Bearer ${alice.secret}`, 'api-key': acme.secret }, mendBody(`"orgToken":"${globex.secret}",`));
    expect([r.status, r.code]).toEqual([400, 'ambiguous_credentials']);
    expect(r.seen).toEqual([]);
  });
});

describe('the same key in both: accepted, and the body copy is removed like any hidden credential', () => {
  it('the upstream gets the body without userKey, every other byte as sent, and alice\'s identity', async () => {
    const body = mendBody(`\n  "userKey": "${alice.secret}",`);
    const r = await send({ ...JSON_TYPE, authorization: `Bearer ${alice.secret}` }, body);
    expect(r.status).toBe(200);
    expect(r.seen).toHaveLength(1);
    const forwarded = r.seen[0]!.body.toString('utf8');
    expect(forwarded).not.toContain(alice.secret);
    expect(JSON.parse(forwarded)).toEqual({ requestType: 'getProjectVulnerabilityReport', projectToken: '438629e2da934b4ca68220c' });
    expect(r.seen[0]!.headers.get('content-length')).toEqual([String(Buffer.byteLength(forwarded))]);
    expect(r.seen[0]!.headers.get('x-authenticated-user')).toEqual(['alice']);
    expect(r.seen[0]!.headers.has('authorization')).toBe(false);
  });

  it('the same org token in header and body is accepted', async () => {
    const r = await send({ ...JSON_TYPE, authorization: `Bearer ${alice.secret}`, 'api-key': acme.secret }, mendBody(`"orgToken":"${acme.secret}",`));
    expect(r.status).toBe(200);
    expect(r.seen[0]!.headers.get('x-authenticated-org')).toEqual(['acme']);
    // The org key is a secret like the API-Key header it matches: neither reaches the upstream.
    const forwarded = r.seen[0]!.body.toString('utf8');
    expect(forwarded).not.toContain(acme.secret);
    expect(JSON.parse(forwarded)).toEqual({ requestType: 'getProjectVulnerabilityReport', projectToken: '438629e2da934b4ca68220c' });
    expect(r.seen[0]!.headers.has('api-key')).toBe(false);
  });

  it('an orgToken in the body alone is removed before forwarding, every other byte as sent', async () => {
    const r = await send({ ...JSON_TYPE, authorization: `Bearer ${alice.secret}` }, mendBody(`"orgToken":"${acme.secret}",`));
    expect(r.status).toBe(200);
    expect(r.seen[0]!.headers.get('x-authenticated-org')).toEqual(['acme']);
    expect(r.seen[0]!.body.toString('utf8')).toBe(mendBody(''));
  });
});

describe('a header credential with a JSON body is always checked within maxBytes', () => {
  it('a JSON body without userKey reaches the upstream byte for byte', async () => {
    const body = mendBody('');
    const r = await send({ ...JSON_TYPE, authorization: `Bearer ${bob.secret}` }, body);
    expect(r.status).toBe(200);
    expect(r.seen[0]!.body.toString('utf8')).toBe(body);
    expect(r.seen[0]!.headers.get('x-authenticated-user')).toEqual(['bob']);
  });

  it('a JSON body over maxBytes is 413 even with a header key: it could hide a userKey past the limit', async () => {
    const r = await send({ ...JSON_TYPE, authorization: `Bearer ${alice.secret}` }, mendBody(`"pad":"${'x'.repeat(3000)}","userKey":"${bob.secret}",`));
    expect([r.status, r.code]).toEqual([413, 'body_too_large']);
    expect(r.seen).toEqual([]);
  });

  it('a repeated userKey (parsers disagree on which wins) is 400 even beside a header key', async () => {
    const r = await send({ ...JSON_TYPE, authorization: `Bearer ${alice.secret}` }, `{"userKey":"${alice.secret}","userKey":"${bob.secret}"}`);
    expect([r.status, r.code]).toEqual([400, 'invalid_json']);
    expect(r.seen).toEqual([]);
  });

  it('a body that is not JSON by its type still streams untouched (only JSON bodies carry the field)', async () => {
    const body = Buffer.alloc(10_000, 'a');
    const r = await send({ 'content-type': 'application/octet-stream', authorization: `Bearer ${alice.secret}` }, body);
    expect(r.status).toBe(200);
    expect(r.seen[0]!.body.equals(body)).toBe(true);
  });
});
