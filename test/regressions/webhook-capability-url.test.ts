/**
 * A webhook without a `name` was named after its URL's host and path, and the name is shown: in
 * the delivery log (`GET /v1/webhooks/deliveries`), in metrics labels on the unauthenticated
 * /metrics, in the gateway log. For a capability URL (Zapier's `/hooks/catch/<id>/<token>/`,
 * Discord's, Slack's) the path is the receiver's secret. The default name is now the host and a
 * digest of the path. A real receiver, answering 500 so the delivery is retried and logged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startReceiver, type TestReceiver } from '../helpers/webhook-receiver.ts';
import { adminApi } from '../helpers/admin.ts';

const TOKEN = 'webhook-capability-admin-token-012345';
const SECRET = 'webhook-capability-signing-secret-0123';
const PATH_SECRET = 'zK9vQ2capabilityT0ken';
let receiver: TestReceiver;
let gw: TestGateway;

beforeAll(async () => {
  receiver = await startReceiver(SECRET);
  receiver.respond = () => 500;
  const url = new URL(receiver.url);
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
log: { level: info }
upstreams: { app: { url: "http://127.0.0.1:9" } }
routes: [{ name: health, path: /health, upstream: app, public: true }]
webhooks:
  - { url: "${url.origin}/hooks/catch/4711/${PATH_SECRET}/", secret: "${SECRET}", events: [key.created], backoff: 50ms, maxBackoff: 100ms, maxAttempts: 2 }
`);
  const a = adminApi(gw.adminUrl, TOKEN);
  expect((await a('POST', '/v1/principals', { name: 'svc', kind: 'service' })).status).toBe(201);
  expect((await a('POST', '/v1/keys', { principal: 'svc' })).status).toBe(201);
  await receiver.waitFor(2, 10_000);
});
afterAll(async () => {
  await gw?.close();
  await receiver?.close();
});

describe('a capability URL\'s path is shown nowhere', () => {
  it('the delivery log names the receiver by host and digest', async () => {
    let items: { webhook: string; status: string }[] = [];
    for (let i = 0; i < 100 && items[0]?.status !== 'failed'; i++) {
      items = (await adminApi(gw.adminUrl, TOKEN)<{ items: { webhook: string; status: string }[] }>('GET', '/v1/webhooks/deliveries')).body.items;
      if (items[0]?.status !== 'failed') await new Promise((r) => setTimeout(r, 50));
    }
    expect(items[0]?.status).toBe('failed');
    expect(items[0]?.webhook).toMatch(/^127\.0\.0\.1:\d+-[0-9a-f]{8}$/);
    expect(JSON.stringify(items)).not.toContain(PATH_SECRET);
  });

  it('nor in /metrics, nor in the log', async () => {
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/webhook="127\.0\.0\.1:\d+-[0-9a-f]{8}"/);
    expect(metrics).not.toContain(PATH_SECRET);
    expect(await gw.logs()).not.toContain(PATH_SECRET);
  });
});
