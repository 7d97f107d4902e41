import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { checkClient, type CheckClient } from '../helpers/grpc-check.ts';
import { newKey } from '../helpers/keys.ts';

/**
 * Security review (h-attack), issue 13: Envoy marks a buffered body with
 * `x-envoy-auth-partial-body: false`, but only when it buffers (`with_request_body`). Where it
 * does not, that header is whatever the client sent, passed on by `allowed_headers` (HTTP) or
 * with every other header (gRPC). keygate believed it: the empty check body became "the whole
 * body", and a route taking body credentials was decided on a header key while the backend
 * received a body whose `userKey` nobody checked. Now the mark is believed only with
 * `check.withRequestBody: true` (the operator says Envoy buffers); otherwise a body route is
 * refused on every shape, `check_body_unavailable`.
 */
const viewer = newKey();
const scanner = newKey();

let up: TestUpstream;
let off: TestGateway;
let on: TestGateway;
let grpcOff: CheckClient;
let grpcOn: CheckClient;

const yaml = (withBody: string) => `
check: { pathPrefix: /envoy, grpcPort: 0${withBody} }
credentials: { body: { enabled: true, field: userKey } }
roles:
  viewer: { actions: [application:view] }
routes:
  - { name: scan, path: /agent/scan, methods: [POST], action: application:view, credentials: [body, bearer] }
principals:
  - { name: vera, kind: user, roles: [viewer], keys: [{ id: vera-1, hash: "${viewer.hash}" }] }
  - { name: scanner, kind: service, roles: [viewer], keys: [{ id: scanner-1, hash: "${scanner.hash}" }] }
`;

beforeAll(async () => {
  up = await startUpstream();
  off = await startTestGateway(yaml(''));
  on = await startTestGateway(yaml(', withRequestBody: true'));
  grpcOff = checkClient(`127.0.0.1:${off.grpcCheckPort}`);
  grpcOn = checkClient(`127.0.0.1:${on.grpcCheckPort}`);
});
afterAll(async () => {
  grpcOff?.close();
  grpcOn?.close();
  await off?.close();
  await on?.close();
  // Decisions only: nothing reached an upstream.
  expect(up?.received).toEqual([]);
  await up?.close();
});

/** Envoy HTTP without with_request_body: no body, Content-Length 0, the client's headers that allowed_headers lets through. */
async function envoyHttp(gw: TestGateway, headers: Record<string, string>, body?: Buffer) {
  const res = await request(`${gw.checkUrl}/envoy/agent/scan`, {
    method: 'POST', headers: { host: 'api.example.com', 'content-type': 'application/json', 'content-length': String(body?.length ?? 0), ...headers }, ...(body === undefined ? {} : { body }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, user: res.headers['x-authenticated-user'], code: text.startsWith('{') ? (JSON.parse(text) as { error: { code: string } }).error.code : null };
}

/** A CheckRequest as Envoy's ext_authz filter builds it; `extra` is body/raw_body when it buffered. */
function grpcCheck(headers: Record<string, string>, extra: Record<string, unknown> = {}) {
  return {
    attributes: {
      request: {
        http: {
          method: 'POST', path: '/agent/scan', host: 'api.example.com', scheme: 'http', protocol: 'HTTP/1.1',
          headers: { ':authority': 'api.example.com', ':method': 'POST', ':path': '/agent/scan', ':scheme': 'http', 'content-type': 'application/json', ...headers },
          ...extra,
        },
      },
    },
  };
}

const forged = { 'x-envoy-auth-partial-body': 'false' };
const bodyOf = (key: string) => JSON.stringify({ requestType: 'scan', userKey: key });

describe('check.withRequestBody off (the default): the partial-body mark is never believed', () => {
  it('Envoy HTTP: a forged mark with a header key is check_body_unavailable, not a decision on the header', async () => {
    const r = await envoyHttp(off, { authorization: `Bearer ${viewer.secret}`, ...forged });
    expect(r.status).toBe(403);
    expect(r.code).toBe('check_body_unavailable');
    expect(r.user).toBeUndefined();
  });

  it('Envoy HTTP: even a real buffered body is not read', async () => {
    const r = await envoyHttp(off, forged, Buffer.from(bodyOf(scanner.secret)));
    expect(r.code).toBe('check_body_unavailable');
  });

  it('gRPC: a forged mark in the header map, no body, a header key: refused', async () => {
    const res = await grpcOff.check(grpcCheck({ authorization: `Bearer ${viewer.secret}`, ...forged }));
    expect(res.http_response).toBe('denied_response');
    expect(JSON.parse(res.denied_response?.body ?? '')).toMatchObject({ error: { code: 'check_body_unavailable' } });
  });
});

describe('check.withRequestBody: true (Envoy buffers): the body is read when Envoy marks it whole', () => {
  it('Envoy HTTP: the buffered body carries the credential', async () => {
    const body = Buffer.from(bodyOf(scanner.secret));
    const r = await envoyHttp(on, forged, body);
    expect(r.status).toBe(200);
    expect(r.user).toBe('scanner');
  });

  it('gRPC: raw_body carries the credential', async () => {
    const raw = Buffer.from(bodyOf(scanner.secret));
    const res = await grpcOn.check(grpcCheck({ 'content-length': String(raw.length), ...forged }, { raw_body: raw, size: String(raw.length) }));
    expect(res.http_response).toBe('ok_response');
  });

  it('no mark (Envoy did not buffer this one) is still refused', async () => {
    const r = await envoyHttp(on, { authorization: `Bearer ${viewer.secret}` });
    expect(r.code).toBe('check_body_unavailable');
  });
});
