import { describe, expect, it } from 'vitest';
import type { RequestContext } from '../../../src/context.ts';
import { adminEvent, requestEvent } from '../../../src/audit/event.ts';

const SECRET = 'kg_supersecretvalue0123456789';

/** The fields requestEvent reads, shaped as the gateway leaves them when a request is over. */
function ctx(over: Partial<RequestContext> & { route?: { name: string; public: boolean } | null } = {}): RequestContext {
  const { route = { name: 'app', public: false }, ...rest } = over;
  return {
    id: 'req-1', start: process.hrtime.bigint() - 2_500_000n,
    gen: { config: { tokens: { enabled: true, path: '/auth/token' }, keys: { prefix: 'kg_' } } },
    req: { method: 'GET', socket: { remoteAddress: '10.1.2.3' }, headers: { authorization: `Bearer ${SECRET}` } },
    res: undefined, expectContinue: false, path: '/api/x', query: `?apiKey=${SECRET}`,
    match: route === null ? null : { route, upstream: { name: 'up' }, params: {} },
    credential: { style: 'bearer', hash: 'ab'.repeat(32), source: { kind: 'header', name: 'authorization' } },
    malformedStyle: null, orgKey: null, org: null, body: null, principal: null, key: null, errorCode: null,
    authNs: route === null || route.public ? null : 1000n, upstreamStart: null, forwarded: false, upstreamError: null,
    methodOverride: null, headerDrops: null,
    ...rest,
  } as unknown as RequestContext;
}

const principal = { id: 'p_1', name: 'alice' } as RequestContext['principal'];
const key = { id: 'key_1', hash: 'ab'.repeat(32) } as RequestContext['key'];

describe('requestEvent: which requests are audited, with which decision', () => {
  it.each([
    ['forwarded', { forwarded: true, principal, key }, 200, 'allowed', null],
    ['forwarded, then the upstream timed out', { forwarded: true, principal, key, errorCode: 'upstream_timeout' }, 504, 'allowed', 'upstream_timeout'],
    ['no credential', { credential: null, errorCode: 'missing_credentials' }, 401, 'denied', 'missing_credentials'],
    ['unknown key', { errorCode: 'invalid_key' }, 401, 'denied', 'invalid_key'],
    ['authorized no further', { principal, key, errorCode: 'forbidden' }, 403, 'denied', 'forbidden'],
    ['malformed credential', { errorCode: 'ambiguous_credentials' }, 400, 'denied', 'ambiguous_credentials'],
    ['store down', { errorCode: 'keystore_unavailable' }, 503, 'error', 'keystore_unavailable'],
    ['a bug', { errorCode: 'internal_error' }, 500, 'error', 'internal_error'],
  ] as const)('%s → %s', (_name, over, status, decision, reason) => {
    const e = requestEvent(ctx(over as Partial<RequestContext>), status);
    expect(e).toMatchObject({ kind: 'request', decision, reason, status, route: 'app', method: 'GET', path: '/api/x', requestId: 'req-1', client: '10.1.2.3', credential: (over as { credential?: unknown }).credential === null ? null : 'bearer' });
    expect(e?.latencyMs).toBeGreaterThanOrEqual(2.5);
  });

  it('names the principal and key when known', () => {
    expect(requestEvent(ctx({ forwarded: true, principal, key }), 200)).toMatchObject({ principalId: 'p_1', principalName: 'alice', keyId: 'key_1' });
  });

  it('public routes, unmatched paths and front-stage refusals are not audited', () => {
    expect(requestEvent(ctx({ route: { name: 'health', public: true }, forwarded: true }), 200)).toBeNull();
    expect(requestEvent(ctx({ route: null, errorCode: 'route_not_found' }), 404)).toBeNull();
    expect(requestEvent(ctx({ route: null, path: '', errorCode: 'bad_path' }), 400)).toBeNull();
  });

  it('token exchanges are audited as kind token', () => {
    expect(requestEvent(ctx({ route: null, path: '/auth/token', principal, key }), 200)).toMatchObject({ kind: 'token', decision: 'allowed', keyId: 'key_1' });
    expect(requestEvent(ctx({ route: null, path: '/auth/token', errorCode: 'invalid_key' }), 401)).toMatchObject({ kind: 'token', decision: 'denied' });
  });

  it('never carries a secret, a hash, a header or the query string', () => {
    const text = JSON.stringify(requestEvent(ctx({ forwarded: true, principal, key }), 200));
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('ab'.repeat(32));
    expect(text).not.toContain('apiKey');
  });

  it('caps request-controlled text', () => {
    const e = requestEvent(ctx({ path: `/${'a'.repeat(5000)}` }), 401);
    expect(e?.path).toBe(`/${'a'.repeat(511)}…`);
  });

  it('masks key-shaped text in the path (a key sent as a path segment, or an encoded ?apiKey=)', () => {
    const key = `kg_${'A1b2C3d4'.repeat(6)}x`;
    expect(requestEvent(ctx({ path: `/api/${key}/items` }), 401)?.path).toBe('/api/kg_[redacted]/items');
    expect(requestEvent(ctx({ path: `/api/items%3FapiKey=${key}` }), 401)?.path).toBe('/api/items%3FapiKey=kg_[redacted]');
    // Not key-shaped: kept as sent.
    expect(requestEvent(ctx({ path: '/api/kg_short' }), 401)?.path).toBe('/api/kg_short');
  });
});

describe('adminEvent', () => {
  it('records the actor, action and target as an allowed admin event', () => {
    const e = adminEvent({ name: 'admin-token' }, 'key.create', 'key_9', { principalId: 'p_1' }, { now: Date.parse('2026-05-01T00:00:00Z') });
    expect(e).toMatchObject({ kind: 'admin', principalName: 'admin-token', action: 'key.create', target: 'key_9', decision: 'allowed', time: '2026-05-01T00:00:00.000Z', details: { principalId: 'p_1' } });
    expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
