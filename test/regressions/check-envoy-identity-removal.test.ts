import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';

/**
 * Security review (h-attack), issue 13: on Envoy HTTP ext_authz a client-sent identity header
 * that keygate also sets (X-Authenticated-Org) was listed in `x-envoy-auth-headers-to-remove`.
 * Envoy applies that list *after* setting the `allowed_upstream_headers` from the answer, so
 * the upstream lost keygate's own header.
 *
 * Envoy is not installable here; `envoy()` below is the exchange as Envoy's ext_authz docs
 * (HttpService, AuthorizationResponse) define it, in order: the check request is the original
 * (method, `path_prefix` + path, the `allowed_headers`), then on a 2xx the answer's headers
 * matching `allowed_upstream_headers` are set on the original request ("coexistent headers will
 * be overridden"), then the names in `x-envoy-auth-headers-to-remove` are removed, and the
 * request goes to a real upstream.
 */
const alice = newKey();
const bob = newKey();

let up: TestUpstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
check: { pathPrefix: /envoy }
roles:
  editor: { actions: ["application:*"] }
routes:
  - { name: app, path: "/api/*", action: application:edit }
principals:
  - { name: alice, kind: user, roles: [editor], org: acme, keys: [{ id: alice-1, hash: "${alice.hash}" }] }
  - { name: bob, kind: user, roles: [editor], keys: [{ id: bob-1, hash: "${bob.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

/** The docs' setup: allowed_headers take the credential and x-authenticated*, allowed_upstream_headers prefix x-authenticated-. */
const ALLOWED_HEADERS = (name: string) => name === 'authorization' || name === 'x-request-id' || name.startsWith('x-authenticated');
const ALLOWED_UPSTREAM = (name: string) => name.startsWith('x-authenticated-');

async function envoy(method: string, path: string, client: Record<string, string>): Promise<{ status: number; upstream: Record<string, string> | null }> {
  const asked: Record<string, string> = { host: 'api.example.com', 'content-length': '0' };
  for (const [n, v] of Object.entries(client)) if (ALLOWED_HEADERS(n)) asked[n] = v;
  const check = await request(`${gw.checkUrl}/envoy${path}`, { method: method as 'GET', headers: asked });
  await check.body.dump();
  if (check.statusCode !== 200) return { status: check.statusCode, upstream: null };
  const headers: Record<string, string> = { ...client };
  for (const [n, v] of Object.entries(check.headers)) if (ALLOWED_UPSTREAM(n)) headers[n] = String(v);
  for (const n of String(check.headers['x-envoy-auth-headers-to-remove'] ?? '').split(',')) if (n !== '') delete headers[n.trim().toLowerCase()];
  const before = up.received.length;
  const res = await request(`${up.url}${path}`, { method: method as 'GET', headers });
  await res.body.dump();
  const got = up.received[before];
  if (got === undefined) throw new Error('the upstream received nothing');
  return { status: res.statusCode, upstream: Object.fromEntries([...got.headers].map(([n, v]) => [n, v.join(',')])) };
}

describe('Envoy HTTP: a client-sent identity header keygate also sets', () => {
  it('the upstream gets keygate\'s X-Authenticated-Org, not none and not the client\'s', async () => {
    const r = await envoy('DELETE', '/api/things/1', { authorization: `Bearer ${alice.secret}`, 'x-authenticated-org': 'evil', 'x-authenticated-user': 'root' });
    expect(r.status).toBe(200);
    expect(r.upstream?.['x-authenticated-org']).toBe('acme');
    expect(r.upstream?.['x-authenticated-user']).toBe('alice');
    expect(r.upstream?.['authorization']).toBeUndefined();
  });

  it('a name keygate answers empty (no org) is still removed: the client\'s value never arrives', async () => {
    const r = await envoy('GET', '/api/things/1', { authorization: `Bearer ${bob.secret}`, 'x-authenticated-org': 'evil' });
    expect(r.status).toBe(200);
    expect(r.upstream?.['x-authenticated-user']).toBe('bob');
    expect(r.upstream?.['x-authenticated-org']).toBeUndefined();
  });

  it('a client-sent identity name keygate does not set is removed', async () => {
    const r = await envoy('GET', '/api/things/1', { authorization: `Bearer ${alice.secret}`, 'x-authenticated-admin': 'true' });
    expect(r.upstream?.['x-authenticated-admin']).toBeUndefined();
    expect(r.upstream?.['x-authenticated-org']).toBe('acme');
  });
});
