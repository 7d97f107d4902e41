/**
 * The gRPC transport of the check service (issue 13): what a real grpc-js client's Check call
 * hands the decider, what a decider fault turns into, and shutdown. The decisions themselves
 * are keygate's real ones in grpc-check.test.ts; here the decider is a small recording one so
 * the transport's own behaviour can be driven (a fault, a call that never finishes).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { startGrpcCheck, type RunningGrpcCheck } from '../../src/check/grpc/server.ts';
import type { CheckDecision, CheckInput, Decider } from '../../src/check/grpc/contract.ts';
import { checkClient, deniedHeaders, type CheckClient } from '../helpers/grpc-check.ts';

const ALLOW: CheckDecision = { allowed: true, identity: { 'x-authenticated-user': 'alice' }, removeHeaders: ['authorization'], requestId: 'r1' };

function recording(answer: (input: CheckInput) => Promise<CheckDecision>): Decider & { seen: CheckInput[] } {
  const seen: CheckInput[] = [];
  return { seen, decide: (input) => { seen.push(input); return answer(input); } };
}

let running: RunningGrpcCheck | undefined;
let client: CheckClient | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await running?.stop(0);
  running = undefined;
});

const request = { attributes: { request: { http: { method: 'GET', path: '/api/items?x=1', host: 'api.test', scheme: 'http', headers: { authorization: 'Bearer kg_x' } } } } };

describe('startGrpcCheck', () => {
  it('decodes the Check request into the decider\'s input, with the peer as client address', async () => {
    const decider = recording(async () => ALLOW);
    running = await startGrpcCheck({ decider, host: '127.0.0.1', port: 0 });
    client = checkClient(`127.0.0.1:${running.port}`);
    const res = await client.check(request);
    expect(res.status?.code ?? 0).toBe(0);
    expect(res.http_response).toBe('ok_response');
    expect(decider.seen).toEqual([{ mode: 'envoy-grpc', method: 'GET', uri: '/api/items?x=1', host: 'api.test', proto: 'http', headers: { authorization: 'Bearer kg_x' }, body: null, clientAddress: '127.0.0.1' }]);
  });

  it('gives an IPv6 peer its address without the port', async () => {
    const decider = recording(async () => ALLOW);
    running = await startGrpcCheck({ decider, host: '::1', port: 0 });
    client = checkClient(`[::1]:${running.port}`);
    await client.check(request);
    expect(decider.seen[0]?.clientAddress).toBe('::1');
  });

  it('answers a decider fault with a 500 denial over an OK call, never a failed RPC (failure_mode_allow would allow it)', async () => {
    const faults: unknown[] = [];
    running = await startGrpcCheck({ decider: recording(async () => { throw new Error('bug'); }), host: '127.0.0.1', port: 0, onFault: (e) => faults.push(e) });
    client = checkClient(`127.0.0.1:${running.port}`);
    const res = await client.check(request);
    expect(res.status?.code).toBe(13);
    expect(res.denied_response?.status?.code).toBe('InternalServerError');
    expect(JSON.parse(res.denied_response?.body ?? '')).toMatchObject({ error: { code: 'internal_error' } });
    expect(deniedHeaders(res)['content-type']).toBe('application/json');
    expect(faults).toHaveLength(1);
  });

  it('stop lets an in-flight Check finish, then resolves', async () => {
    let release: (d: CheckDecision) => void = () => {};
    const decider = recording(() => new Promise((r) => (release = r)));
    running = await startGrpcCheck({ decider, host: '127.0.0.1', port: 0 });
    client = checkClient(`127.0.0.1:${running.port}`);
    const call = client.check(request);
    while (decider.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    let stopped = false;
    const stop = running.stop(30_000).then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false);
    release(ALLOW);
    expect((await call).http_response).toBe('ok_response');
    await stop;
    expect(stopped).toBe(true);
    running = undefined;
  });

  it('stop cuts a call still running at the drain deadline', async () => {
    const decider = recording(() => new Promise<CheckDecision>(() => {}));
    running = await startGrpcCheck({ decider, host: '127.0.0.1', port: 0 });
    client = checkClient(`127.0.0.1:${running.port}`);
    const call = client.check(request).then(() => null, (e: ServiceError) => e);
    while (decider.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    await running.stop(100);
    running = undefined;
    const err = await call;
    expect(err?.code).toBeOneOf([GrpcStatus.UNAVAILABLE, GrpcStatus.CANCELLED, GrpcStatus.INTERNAL]);
  });
});
