/**
 * The Check service's own codec against proto-loader reading the vendored protos: for any
 * CheckRequest proto-loader can write, decodeCheckRequest yields the same HttpRequest (and so
 * the same decision input); for any decision, encodeCheckResponse writes what proto-loader
 * reads back as the same CheckResponse it would have written itself.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { LOADER_OPTIONS } from '../../../../src/check/grpc/protos.ts';
import { decodeCheckRequest, encodeCheckResponse } from '../../../../src/check/grpc/codec.ts';
import { toCheckInput } from '../../../../src/check/grpc/to-check-input.ts';
import { toCheckResponse } from '../../../../src/check/grpc/to-check-response.ts';
import type { CheckDecision } from '../../../../src/check/grpc/contract.ts';
import type { CheckRequest } from '../../../../src/check/grpc/messages.ts';
import { WireError } from '../../../../src/check/grpc/wire.ts';

const def = loadSync('envoy/service/auth/v3/external_auth.proto', LOADER_OPTIONS);
const check = (def['envoy.service.auth.v3.Authorization'] as unknown as Record<string, MethodDefinition<unknown, unknown>>)['Check'] as MethodDefinition<unknown, unknown>;
// proto3 does not tell an explicit 0 or "" from an absent field; read responses back with the
// defaults filled in so "written as 0" and "left out" compare equal, as they are on the wire.
const withDefaults = loadSync('envoy/service/auth/v3/external_auth.proto', { ...LOADER_OPTIONS, defaults: true });
const readBack = (withDefaults['envoy.service.auth.v3.Authorization'] as unknown as Record<string, MethodDefinition<unknown, unknown>>)['Check'] as MethodDefinition<unknown, unknown>;

/** The HttpRequest fields the codec reads (query and fragment are always empty, per the proto). */
const READ = ['id', 'method', 'headers', 'header_map', 'path', 'host', 'scheme', 'size', 'protocol', 'body', 'raw_body'] as const;
function readFields(http: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  return http === undefined ? undefined : Object.fromEntries(READ.filter((k) => k in http).map((k) => [k, http[k]]));
}

const text = fc.string({ unit: 'binary', maxLength: 40 });
const headerName = fc.stringMatching(/^[:a-z0-9-]{1,20}$/);
const header = fc.record({ key: headerName, value: text }, { requiredKeys: ['key'] });
const rawHeader = fc.record({ key: headerName, raw_value: fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)) });
const http = fc.record({
  id: text, method: fc.constantFrom('GET', 'POST', 'DELETE', '', 'PATCH'), path: text, host: text, scheme: fc.constantFrom('http', 'https', ''),
  query: text, fragment: text, protocol: fc.constantFrom('HTTP/1.1', 'HTTP/2'), body: text,
  size: fc.oneof(fc.constant(-1), fc.nat(), fc.maxSafeNat()).map(String),
  raw_body: fc.uint8Array({ maxLength: 50 }).map((a) => Buffer.from(a)),
  headers: fc.dictionary(headerName, text, { maxKeys: 8 }),
  header_map: fc.record({ headers: fc.array(fc.oneof(header, rawHeader), { maxLength: 6 }) }),
}, { requiredKeys: [] });
const peer = fc.record({
  address: fc.record({ socket_address: fc.record({ address: text, port_value: fc.nat(65535) }) }),
  service: text, labels: fc.dictionary(fc.string({ maxLength: 5 }), text, { maxKeys: 3 }), principal: text,
}, { requiredKeys: [] });
const request = fc.record({
  attributes: fc.record({
    source: peer, destination: peer,
    request: fc.record({ time: fc.record({ seconds: fc.nat().map(String), nanos: fc.nat(999_999_999) }), http }, { requiredKeys: [] }),
    context_extensions: fc.dictionary(fc.string({ maxLength: 8 }), text, { maxKeys: 3 }),
    tls_session: fc.record({ sni: text }),
  }, { requiredKeys: [] }),
}, { requiredKeys: [] });

describe('decodeCheckRequest', () => {
  it('reads attributes.request.http exactly as proto-loader does, whatever else the message carries', () => {
    fc.assert(fc.property(request, (msg) => {
      const wire = check.requestSerialize(msg);
      const theirs = check.requestDeserialize(wire) as CheckRequest;
      const ours = decodeCheckRequest(wire);
      expect(readFields(ours.attributes?.request?.http as Record<string, unknown> | undefined)).toEqual(readFields(theirs.attributes?.request?.http as Record<string, unknown> | undefined));
      expect(toCheckInput(ours, '127.0.0.1')).toEqual(toCheckInput(theirs, '127.0.0.1'));
    }), { numRuns: 400 });
  });

  it('merges a repeated HttpRequest as protobuf specifies (later scalars win, maps and lists join)', () => {
    // As the C++ runtime Envoy uses does; protobufjs instead keeps only the last occurrence.
    // Envoy writes the message once, so only a hand-made request can tell the two apart.
    const a = check.requestSerialize({ attributes: { request: { http: { method: 'GET', path: '/a', headers: { x: '1' }, header_map: { headers: [{ key: 'k', value: 'v1' }] } } } } });
    const b = check.requestSerialize({ attributes: { request: { http: { path: '/b', headers: { y: '2' }, header_map: { headers: [{ key: 'k', value: 'v2' }] } } } } });
    expect(decodeCheckRequest(Buffer.concat([a, b])).attributes?.request?.http).toEqual({
      method: 'GET', path: '/b', headers: { x: '1', y: '2' }, header_map: { headers: [{ key: 'k', value: 'v1' }, { key: 'k', value: 'v2' }] },
    });
  });

  it('refuses a truncated message rather than reading past its end', () => {
    const wire = check.requestSerialize({ attributes: { request: { http: { method: 'GET', path: '/api/items', headers: { authorization: 'Bearer x' } } } } });
    for (let n = 1; n < wire.length; n++) {
      let threw = false;
      try { decodeCheckRequest(wire.subarray(0, n)); } catch (e) { threw = e instanceof WireError; }
      // Cutting inside a nested field is always detected: every field here is length-delimited.
      expect(threw, `cut at ${n}`).toBe(true);
    }
  });
});

const identityName = fc.stringMatching(/^X-Authenticated-[A-Za-z-]{1,10}$/);
const decision: fc.Arbitrary<CheckDecision> = fc.oneof(
  fc.record({
    allowed: fc.constant(true as const),
    identity: fc.dictionary(identityName, fc.string({ maxLength: 30 }), { maxKeys: 6 }),
    removeHeaders: fc.array(fc.oneof(identityName.map((s) => s.toLowerCase()), fc.constantFrom('authorization', 'api-key', 'x-api-key')), { maxLength: 6 }),
    requestId: fc.string({ maxLength: 36 }),
  }),
  fc.record({
    allowed: fc.constant(false as const),
    status: fc.constantFrom(400, 401, 403, 404, 413, 429, 431, 500, 502, 503, 504),
    code: fc.constantFrom('invalid_key', 'forbidden', 'bad_path', 'internal_error'),
    body: fc.json(),
    headers: fc.dictionary(fc.constantFrom('www-authenticate', 'retry-after', 'content-type'), fc.string({ maxLength: 40 }), { maxKeys: 3 }),
    requestId: fc.string({ maxLength: 36 }),
  }),
);

describe('encodeCheckResponse', () => {
  it('writes what proto-loader reads back as the response it would have written', () => {
    fc.assert(fc.property(decision, (d) => {
      const res = toCheckResponse(d);
      const ours = readBack.responseDeserialize(encodeCheckResponse(res));
      const theirs = readBack.responseDeserialize(check.responseSerialize(res));
      expect(ours).toEqual(theirs);
    }), { numRuns: 400 });
  });
});
