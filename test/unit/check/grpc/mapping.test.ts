import { describe, expect, it } from 'vitest';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { toCheckInput } from '../../../../src/check/grpc/to-check-input.ts';
import { toCheckResponse } from '../../../../src/check/grpc/to-check-response.ts';
import { RpcCode, rpcCodeForStatus } from '../../../../src/check/grpc/rpc-code.ts';
import { LOADER_OPTIONS } from '../../../../src/check/grpc/protos.ts';
import type { CheckRequest } from '../../../../src/check/grpc/messages.ts';

const PEER = '127.0.0.1';

describe('CheckRequest → CheckInput', () => {
  it('takes method, path (with query, undecoded), host and scheme from attributes.request.http', () => {
    const req: CheckRequest = {
      attributes: {
        source: { address: { socket_address: { address: '203.0.113.9', port_value: 5555 } } },
        request: { http: { method: 'DELETE', path: '/api/items/%2e%2e/x?force=1', host: 'api.example.com', scheme: 'https', headers: { ':method': 'DELETE', ':path': '/api/items/%2e%2e/x?force=1', authorization: 'Bearer kg_x', 'x-authenticated-user': 'mallory' } } },
      },
    };
    const input = toCheckInput(req, PEER);
    expect(input).toEqual({
      mode: 'envoy-grpc',
      method: 'DELETE',
      uri: '/api/items/%2e%2e/x?force=1',
      host: 'api.example.com',
      proto: 'https',
      headers: { authorization: 'Bearer kg_x', 'x-authenticated-user': 'mallory' },
      body: null,
      clientAddress: PEER,
    });
  });

  it('passes a missing method or path on as absent (a refusal), never as "/" or GET', () => {
    const input = toCheckInput({ attributes: { request: { http: { method: '', headers: {} } } } }, PEER);
    expect(input.method).toBeUndefined();
    expect(input.uri).toBeUndefined();
    expect(toCheckInput({}, PEER).uri).toBeUndefined();
  });

  it('reads header_map (encode_raw_headers) and keeps a repeated name repeated', () => {
    const input = toCheckInput({
      attributes: { request: { http: { method: 'GET', path: '/', header_map: { headers: [
        { key: 'Authorization', raw_value: Buffer.from('Bearer a') },
        { key: 'authorization', raw_value: Buffer.from('Bearer b') },
        { key: ':authority', raw_value: Buffer.from('h') },
        { key: 'x-caf\u00e9', value: 'v' },
      ] } } } },
    }, PEER);
    expect(input.headers['authorization']).toEqual(['Bearer a', 'Bearer b']);
    expect(input.headers[':authority']).toBeUndefined();
    expect(input.headers['x-café']).toBe('v');
  });

  it('takes the body only when Envoy marks it whole: raw_body (pack_as_bytes) over body, body as UTF-8', () => {
    const whole = { 'x-envoy-auth-partial-body': 'false' };
    const http = { method: 'POST', path: '/p' };
    const raw = toCheckInput({ attributes: { request: { http: { ...http, headers: whole, raw_body: Buffer.from('{"k":1}'), body: 'ignored' } } } }, PEER);
    expect(raw.body?.toString()).toBe('{"k":1}');
    expect(raw.headers['x-envoy-auth-partial-body'], 'Envoy\'s own mark is not a request header').toBeUndefined();
    expect(toCheckInput({ attributes: { request: { http: { ...http, headers: whole, body: '{"k":"é"}' } } } }, PEER).body).toEqual(Buffer.from('{"k":"é"}', 'utf8'));
    expect(toCheckInput({ attributes: { request: { http: { ...http, headers: whole } } } }, PEER).body).toEqual(Buffer.alloc(0));
  });

  it('a truncated body (partial-body true) or none at all (no mark) is no body', () => {
    const http = { method: 'POST', path: '/p', body: '{"userKey":"x"' };
    expect(toCheckInput({ attributes: { request: { http: { ...http, headers: { 'x-envoy-auth-partial-body': 'true' } } } } }, PEER).body).toBeNull();
    expect(toCheckInput({ attributes: { request: { http: { ...http, headers: {} } } } }, PEER).body).toBeNull();
  });
});

describe('CheckDecision → CheckResponse', () => {
  it('allowed: overwrites identity headers and removes the credential and stale identity headers, but not the ones it sets', () => {
    const res = toCheckResponse({
      allowed: true,
      identity: { 'X-Authenticated-User': 'alice', 'x-authenticated-key-id': 'k1' },
      removeHeaders: ['authorization', 'X-Authenticated-User', 'x-authenticated-org', 'x-authenticated-org', 'x-authenticated-key-id'],
      requestId: 'r1',
    });
    expect(res.status.code).toBe(RpcCode.OK);
    expect(res.denied_response).toBeUndefined();
    expect(res.ok_response?.headers).toEqual([
      { header: { key: 'x-authenticated-user', value: 'alice' }, append: { value: false }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-authenticated-key-id', value: 'k1' }, append: { value: false }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ]);
    // Envoy removes after it sets: listing x-authenticated-user here would strip alice.
    expect(res.ok_response?.headers_to_remove).toEqual(['authorization', 'x-authenticated-org']);
  });

  it('refused: denied_response with the HTTP status, JSON body, WWW-Authenticate and a JSON content type', () => {
    const body = JSON.stringify({ error: { code: 'invalid_key', message: 'm', requestId: 'r' } });
    const res = toCheckResponse({ allowed: false, status: 401, code: 'invalid_key', body, headers: { 'WWW-Authenticate': 'Bearer realm="keygate"' }, requestId: 'r' });
    expect(res.ok_response).toBeUndefined();
    expect(res.status).toEqual({ code: RpcCode.UNAUTHENTICATED, message: 'invalid_key' });
    expect(res.denied_response?.status).toEqual({ code: 401 });
    expect(res.denied_response?.body).toBe(body);
    expect(res.denied_response?.headers.map((h) => [h.header.key, h.header.value])).toEqual([
      ['www-authenticate', 'Bearer realm="keygate"'],
      ['content-type', 'application/json'],
      ['x-request-id', 'r'],
    ]);
  });

  it('keeps the decider\'s own content type', () => {
    const res = toCheckResponse({ allowed: false, status: 403, code: 'forbidden', body: '{}', headers: { 'content-type': 'application/json; charset=utf-8' }, requestId: '' });
    expect(res.status.code).toBe(RpcCode.PERMISSION_DENIED);
    expect(res.denied_response?.headers.filter((h) => h.header.key === 'content-type')).toHaveLength(1);
  });

  it.each([
    [400, RpcCode.INVALID_ARGUMENT], [401, RpcCode.UNAUTHENTICATED], [403, RpcCode.PERMISSION_DENIED], [404, RpcCode.NOT_FOUND],
    [413, RpcCode.INVALID_ARGUMENT], [429, RpcCode.RESOURCE_EXHAUSTED], [500, RpcCode.INTERNAL], [503, RpcCode.UNAVAILABLE], [200, RpcCode.PERMISSION_DENIED],
  ])('a refusal with HTTP %i carries google.rpc code %i, never OK', (status, code) => {
    expect(rpcCodeForStatus(status)).toBe(code);
    expect(code).not.toBe(RpcCode.OK);
  });
});

describe('the vendored protos', () => {
  it('RpcCode matches google.rpc.Code in proto/google/rpc/code.proto', () => {
    const def = loadSync('google/rpc/code.proto', LOADER_OPTIONS)['google.rpc.Code'];
    const values = new Map((def as unknown as { type: { value: { name: string; number: number }[] } }).type.value.map((v) => [v.name, v.number]));
    expect(values.size).toBeGreaterThan(10);
    for (const [name, value] of Object.entries(RpcCode)) expect(values.get(name)).toBe(value);
  });

  it('a mapped CheckResponse survives the wire with every field Envoy reads', () => {
    const def = loadSync('envoy/service/auth/v3/external_auth.proto', LOADER_OPTIONS);
    const check = (def['envoy.service.auth.v3.Authorization'] as unknown as Record<string, MethodDefinition<unknown, unknown>>)['Check'];
    if (check === undefined) throw new Error('Check not loaded');
    const allowed = toCheckResponse({ allowed: true, identity: { 'x-authenticated-user': 'alice' }, removeHeaders: ['authorization'], requestId: 'r' });
    expect(check.responseDeserialize(check.responseSerialize(allowed))).toEqual({
      status: { code: 0 },
      ok_response: {
        headers: [{ header: { key: 'x-authenticated-user', value: 'alice' }, append: { value: false }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
        headers_to_remove: ['authorization'],
      },
      http_response: 'ok_response',
    });
    const denied = toCheckResponse({ allowed: false, status: 403, code: 'forbidden', body: '{"error":{}}', headers: {}, requestId: '' });
    const wire = check.responseDeserialize(check.responseSerialize(denied)) as Record<string, unknown>;
    expect(wire['status']).toEqual({ code: 7, message: 'forbidden' });
    // envoy.type.v3.StatusCode: the enum's name for 403.
    expect(wire['denied_response']).toEqual({ status: { code: 'Forbidden' }, headers: [expect.objectContaining({ header: { key: 'content-type', value: 'application/json' } })], body: '{"error":{}}' });
  });
});
