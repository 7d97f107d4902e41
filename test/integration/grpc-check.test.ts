/**
 * Envoy ext_authz over gRPC against a real `keygate serve` (issue 13). Envoy is not installable
 * here, so a real grpc-js client built from the same vendored protos sends CheckRequests shaped
 * as Envoy's ext_authz filter builds them (attributes.request.http with pseudo-headers in the
 * header map, attributes.source with the downstream address; body/raw_body only with
 * `with_request_body`, raw_body when `pack_as_bytes`). What would reach the upstream is what
 * Envoy does with the answer: set `headers`, then remove `headers_to_remove`; a denial is the
 * local reply Envoy sends instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newKey } from '../helpers/keys.ts';
import { freePort } from '../helpers/ports.ts';
import { startServe, type ServeProcess } from '../helpers/cli.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { checkClient, deniedHeaders, okHeaders, type CheckClient, type DecodedCheckResponse } from '../helpers/grpc-check.ts';

const ADMIN_TOKEN = 'grpc-check-admin-token-0123456789abcdef';
const viewer = newKey();
const editor = newKey();
const mend = newKey();
let dir: string;
let proc: ServeProcess;
let client: CheckClient;
// The routes name a real upstream so the proxy could serve them too; a decision never reaches it.
let upstream: TestUpstream;
let proxyPort: number;
let adminPort: number;
let mainPorts: { port: number; adminPort: number; checkPort: number; grpcPort: number };
let mainFile: string;

function config(ports: { port: number; adminPort: number; checkPort: number; grpcPort: number }, trusted = ''): string {
  return `
server: { port: ${ports.port}, host: 127.0.0.1 }
admin: { port: ${ports.adminPort}, host: 127.0.0.1, token: "${ADMIN_TOKEN}" }
check: { port: ${ports.checkPort}, host: 127.0.0.1, grpcPort: ${ports.grpcPort}, withRequestBody: true${trusted} }
upstreams: { app: { url: "${upstream.url}" } }
credentials:
  body: { enabled: true, field: userKey }
roles:
  viewer: { actions: [application:view] }
  editor: { actions: [application:view, application:edit] }
routes:
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET, HEAD], upstream: app, action: application:view }
  - { name: app-edit, path: "/api/applications/:appId/*", methods: [POST, PUT, DELETE], upstream: app, action: application:edit }
  - { name: mend-api, path: /api/v1.4, methods: [POST], upstream: app, action: application:view, credentials: [body, bearer] }
principals:
  - { name: vera, kind: user, roles: [viewer], keys: [{ id: vera-1, hash: "${viewer.hash}" }] }
  - { name: eddie, kind: user, roles: [editor], keys: [{ id: eddie-1, hash: "${editor.hash}" }] }
  - { name: mend-agent, kind: service, roles: [viewer], keys: [{ id: mend-1, hash: "${mend.hash}" }] }
`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keygate-grpc-check-'));
  upstream = await startUpstream();
  const ports = { port: await freePort(), adminPort: await freePort(), checkPort: await freePort(), grpcPort: await freePort() };
  const file = join(dir, 'keygate.yaml');
  mainPorts = ports;
  mainFile = file;
  proxyPort = ports.port;
  adminPort = ports.adminPort;
  writeFileSync(file, config(ports));
  proc = await startServe(file);
  client = checkClient(`127.0.0.1:${ports.grpcPort}`);
}, 30_000);
afterAll(async () => {
  client?.close();
  await proc?.stop();
  await upstream?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** A CheckRequest as Envoy's ext_authz filter builds it for a downstream HTTP/1.1 request. */
function envoyCheck(method: string, path: string, headers: Record<string, string>, extra: Record<string, unknown> = {}) {
  return {
    attributes: {
      source: { address: { socket_address: { address: '203.0.113.7', port_value: 51234 } } },
      destination: { address: { socket_address: { address: '10.0.0.2', port_value: 8000 } } },
      request: {
        time: { seconds: '1764854400', nanos: 0 },
        http: {
          id: '8a1c7e6f-2f4b-4c8a-9d3e-1f2a3b4c5d6e', method, path, host: 'api.example.com', scheme: 'http', protocol: 'HTTP/1.1',
          headers: { ':authority': 'api.example.com', ':method': method, ':path': path, ':scheme': 'http', 'user-agent': 'curl/8.5.0', 'x-request-id': '8a1c7e6f-2f4b-4c8a-9d3e-1f2a3b4c5d6e', ...headers },
          ...extra,
        },
      },
    },
  };
}

/** envoy.type.v3.StatusCode names, as the decoded DeniedHttpResponse carries them. */
const STATUS_NAMES: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound' };

/** The upstream request Envoy would send on an OK answer: `headers` set (overwrite), then `headers_to_remove`. */
function upstreamHeaders(sent: Record<string, string>, res: DecodedCheckResponse): Record<string, string> {
  const out: Record<string, string> = { ...sent };
  for (const h of res.ok_response?.headers ?? []) {
    expect(h.append?.value ?? false, 'never appended to a client-sent value').toBe(false);
    out[h.header.key.toLowerCase()] = h.header.value;
  }
  for (const name of res.ok_response?.headers_to_remove ?? []) delete out[name.toLowerCase()];
  return out;
}

describe('keygate serve: Envoy gRPC ext_authz (Authorization/Check)', () => {
  it('allows an editor\'s DELETE: identity set, the credential and the client-sent identity removed', async () => {
    const sent = { authorization: `Bearer ${editor.secret}`, 'x-authenticated-user': 'admin', 'x-authenticated-roles': 'admin', accept: 'application/json' };
    const res = await client.check(envoyCheck('DELETE', '/api/applications/42/items/7?force=1', sent));
    expect(res.status?.code ?? 0).toBe(0);
    expect(res.http_response).toBe('ok_response');
    expect(okHeaders(res)).toMatchObject({ 'x-authenticated-user': 'eddie', 'x-authenticated-key-id': 'eddie-1', 'x-authenticated-kind': 'user' });
    for (const h of res.ok_response?.headers ?? []) expect(h.append_action).toBe('OVERWRITE_IF_EXISTS_OR_ADD');
    const upstream = upstreamHeaders(sent, res);
    expect(upstream['authorization']).toBeUndefined();
    expect(upstream['x-authenticated-user']).toBe('eddie');
    expect(upstream['x-authenticated-roles']).toBe('editor');
    expect(upstream['accept']).toBe('application/json');
    expect(JSON.stringify(res)).not.toContain(editor.secret);
  });

  it('removes a client-sent identity header keygate does not set (no org on this principal)', async () => {
    const sent = { authorization: `Bearer ${viewer.secret}`, 'x-authenticated-org': 'acme' };
    const res = await client.check(envoyCheck('GET', '/api/applications/42/items', sent));
    expect(res.http_response).toBe('ok_response');
    expect(res.ok_response?.headers_to_remove).toContain('x-authenticated-org');
    expect(upstreamHeaders(sent, res)['x-authenticated-org']).toBeUndefined();
  });

  it('refuses an unknown key: UNAUTHENTICATED with a 401 JSON DeniedHttpResponse and WWW-Authenticate', async () => {
    const res = await client.check(envoyCheck('GET', '/api/applications/42/items', { authorization: 'Bearer test_not-a-key-anyone-has' }));
    expect(res.status?.code).toBe(16);
    expect(res.http_response).toBe('denied_response');
    expect(res.denied_response?.status?.code).toBe('Unauthorized');
    const body = JSON.parse(res.denied_response?.body ?? '') as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe('invalid_key');
    const headers = deniedHeaders(res);
    expect(headers['www-authenticate']).toMatch(/^Bearer realm="keygate"/);
    expect(headers['content-type']).toBe('application/json');
    expect(res.denied_response?.body).not.toContain('not-a-key-anyone-has');
  });

  it('refuses a missing credential with 401 missing_credentials', async () => {
    const res = await client.check(envoyCheck('GET', '/api/applications/42/items', {}));
    expect(res.status?.code).toBe(16);
    expect(JSON.parse(res.denied_response?.body ?? '')).toMatchObject({ error: { code: 'missing_credentials' } });
  });

  it('refuses a viewer\'s DELETE: PERMISSION_DENIED, 403 forbidden', async () => {
    const res = await client.check(envoyCheck('DELETE', '/api/applications/42/items/7', { authorization: `Bearer ${viewer.secret}` }));
    expect(res.status?.code).toBe(7);
    expect(res.denied_response?.status?.code).toBe('Forbidden');
    expect(JSON.parse(res.denied_response?.body ?? '')).toMatchObject({ error: { code: 'forbidden' } });
    expect(deniedHeaders(res)['www-authenticate']).toContain('insufficient_scope');
  });

  it.each([
    '/api/applications/42/../../admin',
    '/api/applications/42/%2e%2e/%2e%2e/admin',
    '/api/applications/42/items%2f..%2f..%2fadmin',
  ])('refuses the path escape %s with the proxy\'s own answer', async (path) => {
    const res = await client.check(envoyCheck('GET', path, { authorization: `Bearer ${editor.secret}` }));
    expect(res.http_response).toBe('denied_response');
    expect(res.status?.code).not.toBe(0);
    const code = (JSON.parse(res.denied_response?.body ?? '') as { error: { code: string } }).error.code;
    expect(['bad_path', 'route_not_found']).toContain(code);
    // The same request straight to keygate's proxy listener.
    const proxied = await request(`http://127.0.0.1:${proxyPort}${path}`, { headers: { authorization: `Bearer ${editor.secret}`, host: 'api.example.com' } });
    const proxiedBody = (await proxied.body.json()) as { error: { code: string } };
    expect(STATUS_NAMES[proxied.statusCode]).toBe(res.denied_response?.status?.code);
    expect(proxiedBody.error.code).toBe(code);
  });

  it('refuses a check that names no method or path, never deciding about /', async () => {
    const res = await client.check({ attributes: { request: { http: { headers: { authorization: `Bearer ${editor.secret}` } } } } });
    expect(res.http_response).toBe('denied_response');
    expect(JSON.parse(res.denied_response?.body ?? '')).toMatchObject({ error: { code: 'check_original_missing' } });
  });

  describe('body credentials (Envoy with_request_body)', () => {
    const json = (key: string) => JSON.stringify({ requestType: 'getProjectVulnerabilityReport', userKey: key, projectToken: '438629e2da934b4ca68220c' });

    // Envoy adds its mark to the check's headers whenever it buffered the body.
    const whole = { 'x-envoy-auth-partial-body': 'false' };

    it('reads the userKey from body', async () => {
      const body = json(mend.secret);
      const res = await client.check(envoyCheck('POST', '/api/v1.4', { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...whole }, { body, size: String(Buffer.byteLength(body)) }));
      expect(res.http_response).toBe('ok_response');
      expect(okHeaders(res)['x-authenticated-user']).toBe('mend-agent');
    });

    it('reads the userKey from raw_body (pack_as_bytes)', async () => {
      const raw = Buffer.from(json(mend.secret));
      const res = await client.check(envoyCheck('POST', '/api/v1.4', { 'content-type': 'application/json', 'content-length': String(raw.length), ...whole }, { raw_body: raw, size: String(raw.length) }));
      expect(res.http_response).toBe('ok_response');
      expect(okHeaders(res)['x-authenticated-user']).toBe('mend-agent');
    });

    it('refuses an unknown userKey in the body with 401', async () => {
      const body = json('test_unknown-body-key');
      const res = await client.check(envoyCheck('POST', '/api/v1.4', { 'content-type': 'application/json', ...whole }, { body, size: String(body.length) }));
      expect(res.status?.code).toBe(16);
      expect(res.denied_response?.status?.code).toBe('Unauthorized');
    });

    it('refuses a body Envoy cut at max_request_bytes (partial-body true), even with a valid key in it', async () => {
      const body = json(mend.secret);
      const res = await client.check(envoyCheck('POST', '/api/v1.4', { 'content-type': 'application/json', 'x-envoy-auth-partial-body': 'true' }, { body, size: String(body.length + 4096) }));
      expect(res.http_response).toBe('denied_response');
      expect(JSON.parse(res.denied_response?.body ?? '')).toMatchObject({ error: { code: 'check_body_unavailable' } });
    });

    it('refuses a body route when Envoy was not configured to send the body', async () => {
      const res = await client.check(envoyCheck('POST', '/api/v1.4', { 'content-type': 'application/json', 'content-length': '120', authorization: `Bearer ${mend.secret}` }, { size: '120' }));
      expect(res.http_response).toBe('denied_response');
      expect(JSON.parse(res.denied_response?.body ?? '')).toMatchObject({ error: { code: 'check_body_unavailable' } });
    });
  });

  it('never forwarded anything to the upstream', () => {
    expect(upstream.received).toEqual([]);
    expect(upstream.connections.total).toBe(0);
  });

  it('records its decisions in the audit trail, with the method and path Envoy named', async () => {
    type Page = { items: { keyId: string | null; route: string | null; method: string | null; path: string | null; decision: string; reason: string | null; client: string | null }[] };
    const audit = async (query: string): Promise<Page['items']> => {
      for (let i = 0; ; i++) {
        const r = await request(`http://127.0.0.1:${adminPort}/v1/audit?${query}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const page = (await r.body.json()) as Page;
        if (page.items.length > 0 || i === 100) return page.items;
        await new Promise((res) => setTimeout(res, 20)); // the trail is written off the answer's path
      }
    };
    expect(await audit('key=eddie-1&route=app-edit')).toContainEqual(expect.objectContaining({ method: 'DELETE', path: '/api/applications/42/items/7', decision: 'allowed', client: '127.0.0.1' }));
    expect(await audit('key=vera-1&route=app-edit')).toContainEqual(expect.objectContaining({ method: 'DELETE', decision: 'denied', reason: 'forbidden' }));
  });

  it('counts its decisions under mode="envoy-grpc"', async () => {
    const text = await (await request(`http://127.0.0.1:${adminPort}/metrics`)).body.text();
    const series = text.split('\n').filter((l) => l.startsWith('keygate_check_decisions_total{') && l.includes('mode="envoy-grpc"'));
    const count = (result: string) => series.filter((l) => l.includes(`result="${result}"`)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    expect(count('allowed')).toBeGreaterThanOrEqual(4);
    expect(count('forbidden')).toBeGreaterThanOrEqual(1);
    expect(count('unauthenticated')).toBeGreaterThanOrEqual(3);
    for (const secret of [viewer.secret, editor.secret, mend.secret]) expect(text).not.toContain(secret);
  });
  // Last in this block: it changes the config the tests above ran on.
  it('decides on the reloaded config after SIGHUP, on the same gRPC connection', async () => {
    const ask = () => client.check(envoyCheck('DELETE', '/api/applications/42/items/7', { authorization: `Bearer ${viewer.secret}` }));
    expect((await ask()).http_response).toBe('denied_response');
    // vera becomes an editor: her DELETE is allowed once the reload is in.
    // Replaced whole (write, then rename), so a config watcher never reads it half-written.
    writeFileSync(`${mainFile}.new`, config(mainPorts).replace('name: vera, kind: user, roles: [viewer]', 'name: vera, kind: user, roles: [editor]'));
    renameSync(`${mainFile}.new`, mainFile);
    proc.child.kill('SIGHUP');
    await proc.waitForLog('config reloaded');
    const res = await ask();
    expect(res.http_response).toBe('ok_response');
    expect(okHeaders(res)['x-authenticated-user']).toBe('vera');
  });
});

describe('keygate serve: a gRPC peer outside check.trustedClients', () => {
  let other: ServeProcess;
  let otherClient: CheckClient;
  beforeAll(async () => {
    const ports = { port: await freePort(), adminPort: await freePort(), checkPort: await freePort(), grpcPort: await freePort() };
    const file = join(dir, 'untrusted.yaml');
    // Only 10.0.0.0/8 may ask; the test client connects from loopback.
    writeFileSync(file, config(ports, ', trustedClients: ["10.0.0.0/8"]'));
    other = await startServe(file);
    otherClient = checkClient(`127.0.0.1:${ports.grpcPort}`);
  }, 30_000);
  afterAll(async () => {
    otherClient?.close();
    await other?.stop();
  });

  it('is refused even when the CheckRequest claims a trusted source address: the connection\'s peer is what is trusted', async () => {
    const req = envoyCheck('GET', '/api/applications/42/items', { authorization: `Bearer ${editor.secret}` });
    req.attributes.source.address.socket_address.address = '10.1.2.3';
    const res = await otherClient.check(req);
    expect(res.http_response).toBe('denied_response');
    expect(res.status?.code).toBe(7);
    expect(JSON.parse(res.denied_response?.body ?? '')).toMatchObject({ error: { code: 'check_untrusted_client' } });
  });
});
