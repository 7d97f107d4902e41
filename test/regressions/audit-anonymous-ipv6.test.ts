/**
 * Refusals without a valid credential are sampled per client address before they reach the
 * capped audit trail (`audit.anonymousRate`), so a flood cannot push real decisions out. An IPv6
 * client picks any address of its /64 at will: per address, each refusal got a fresh bucket and
 * the sampling never applied. IPv6 clients are now sampled per /64, as the refused-credential
 * limit counts them. Through the check listener, whose client is the original one a trusted
 * proxy names in X-Forwarded-For (loopback here), so many IPv6 clients can be real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi } from '../helpers/admin.ts';

const TOKEN = 'audit-anonymous-ipv6-admin-token-0123';
let up: TestUpstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
log: { level: silent }
check: {}
audit: { anonymousRate: 1, flushInterval: 20ms }
limiter: { refusedCredentials: { rate: "0" } }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes: [{ name: app, path: "/api/*", upstream: app, action: application:view }]
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

async function denied(): Promise<number> {
  const r = await adminApi(gw.adminUrl, TOKEN)<{ items: { decision: string; client: string }[] }>('GET', '/v1/audit?decision=denied&limit=1000');
  return r.body.items.filter((e) => e.client.startsWith('2001:db8:5:6:')).length;
}

describe('anonymous refusals from one IPv6 /64', () => {
  it('are sampled as one client, whatever address of the /64 each comes from', async () => {
    for (let i = 1; i <= 40; i++) {
      const res = await request(`${gw.checkUrl}/check`, {
        headers: { 'x-original-method': 'GET', 'x-original-uri': '/api/x', host: 'api.example.com', 'x-forwarded-for': `2001:db8:5:6:${i.toString(16)}::1`, authorization: `Bearer guess-${i}-${'x'.repeat(24)}` },
      });
      await res.body.dump();
      expect(res.statusCode).toBe(401);
    }
    await gw.logs(); // let the trail flush
    await new Promise((r) => setTimeout(r, 100));
    // A burst of ten (anonymousRate x 10) and what refilled meanwhile (1/s): far from forty.
    const n = await denied();
    expect(n).toBeGreaterThanOrEqual(10);
    expect(n).toBeLessThan(30);
  });
});
