/**
 * The refused-credential limit (issue 14) counted per exact address. An IPv6 client owns a whole
 * /64 and may use any address in it (privacy addresses, RFC 8981), so a guesser sending each
 * guess from a new address of its /64 got a fresh bucket every time: the limit never applied.
 * IPv6 clients are now counted by /64; IPv4-mapped and NAT64 (64:ff9b::/96) addresses by the
 * IPv4 address they carry. Behind a trusted proxy, as a real deployment on IPv6 would be.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';

const valid = newKey();
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
principals: [{ name: v6-user, kind: user, roles: [viewer], keys: [{ id: v6-1, hash: "${valid.hash}" }] }]
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

describe('refused credentials from IPv6 clients', () => {
  it('a new address of the same /64 per guess is the same bucket', async () => {
    const codes = [];
    for (let i = 1; i <= 4; i++) codes.push(await guess(`2001:db8:7:9:${i.toString(16)}::${i}`));
    expect(codes).toEqual(['invalid_key', 'invalid_key', 'too_many_failed_credentials', 'too_many_failed_credentials']);
    // Nothing was forwarded, and another /64 is another client.
    expect(up.received).toEqual([]);
    expect(await guess('2001:db8:7:a::1')).toBe('invalid_key');
  });

  it('an IPv4 client is the same bucket written plain, IPv4-mapped or through NAT64', async () => {
    expect(await guess('198.51.100.20')).toBe('invalid_key');
    expect(await guess('::ffff:198.51.100.20')).toBe('invalid_key');
    expect(await guess('64:ff9b::c633:6414')).toBe('too_many_failed_credentials');
    expect(await guess('198.51.100.21')).toBe('invalid_key');
  });
});
