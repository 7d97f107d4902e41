/**
 * Behind a trusted proxy the refused-credential limit counts the X-Forwarded-For client. Some
 * proxies and load balancers (Azure Application Gateway among them) write the client as
 * `ip:port`: every new connection then looked like a new client, and a guesser opening one
 * connection per guess was never limited. The port (and IPv6 brackets) are now dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let up: TestUpstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
log: { level: silent }
server: { trustedProxies: ["127.0.0.1"] }
limiter: { refusedCredentials: { rate: 1/h, burst: 2 } }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes: [{ name: app, path: "/api/*", upstream: app, action: application:view }]
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

let n = 0;
async function guess(xff: string): Promise<string> {
  const res = await request(`${gw.url}/api/x`, { headers: { authorization: `Bearer guess-${n++}-${'x'.repeat(24)}`, 'x-forwarded-for': xff } });
  return (JSON.parse(await res.body.text()) as { error: { code: string } }).error.code;
}

describe('X-Forwarded-For with the client\'s port', () => {
  it('ip:port on each new connection is one client', async () => {
    const codes = [];
    for (const port of [40001, 40002, 40003, 40004]) codes.push(await guess(`203.0.113.50:${port}`));
    expect(codes).toEqual(['invalid_key', 'invalid_key', 'too_many_failed_credentials', 'too_many_failed_credentials']);
    // The same client without a port, too.
    expect(await guess('203.0.113.50')).toBe('too_many_failed_credentials');
  });

  it('[ipv6]:port likewise', async () => {
    expect(await guess('[2001:db8:9::1]:50000')).toBe('invalid_key');
    expect(await guess('[2001:db8:9::1]:50001')).toBe('invalid_key');
    expect(await guess('2001:db8:9::1')).toBe('too_many_failed_credentials');
    expect(up.received).toEqual([]);
  });
});
