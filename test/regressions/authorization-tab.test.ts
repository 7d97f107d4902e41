import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { rawRequest } from '../helpers/sockets.ts';

/**
 * `Authorization: Bearer<TAB><key>` was not a bearer token to keygate (the scheme was split at a
 * space only), so beside a query or body key it was an unknown header and went to the upstream
 * untouched, under the query key's identity. Upstreams split on any whitespace (Go's
 * strings.Fields, Python's str.split) and read it as a bearer token: another principal's key
 * reached the upstream unchecked, as in ambiguous-credentials.test.ts. A tab now separates the
 * scheme as a space does, so a different key there is 400 `ambiguous_credentials`.
 */
const alice = newKey('alice_');
const bob = newKey('bob_');
let up: TestUpstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
log: { level: silent }
credentials: { hideCredentials: true, query: { enabled: true, param: apiKey } }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view, credentials: [bearer, query] }
principals:
  - { name: alice, kind: user, roles: [viewer], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
  - { name: bob, kind: user, roles: [viewer], keys: [{ id: bob-1, hash: "${bob.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

async function send(target: string, authorization: string) {
  const before = up.received.length;
  const r = await rawRequest(gw.port, [`GET ${target} HTTP/1.1`, 'Host: t', `Authorization: ${authorization}`, 'Connection: close', '', ''].join('\r\n'));
  await new Promise((res) => setTimeout(res, r.status === 200 ? 0 : 50));
  return { status: r.status, body: r.body, seen: up.received.slice(before) };
}

describe('a tab after the scheme', () => {
  it.each([`Bearer\t${bob.secret}`, `bearer\t\t${bob.secret}`])('%s beside alice\'s query key: 400, nothing forwarded', async (auth) => {
    const r = await send(`/api/x?apiKey=${alice.secret}`, auth);
    expect(r.status).toBe(400);
    expect(r.body).toContain('ambiguous_credentials');
    expect(r.seen).toEqual([]);
  });

  it('alone, it is alice\'s bearer token, and hidden from the upstream', async () => {
    const r = await send('/api/x', `Bearer\t${alice.secret}`);
    expect(r.status).toBe(200);
    expect(r.seen[0]?.headers.get('x-authenticated-user')).toEqual(['alice']);
    expect(r.seen[0]?.headers.get('authorization')).toBeUndefined();
  });
});
