import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';

const viewer = newKey();
const expired = newKey();
let up: TestUpstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: health, path: /health, upstream: app, public: true }
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET, HEAD], upstream: app, action: application:view }
  - { name: app-edit, path: "/api/applications/:appId/*", methods: [POST, PUT, PATCH, DELETE], upstream: app, action: application:edit }
principals:
  - name: ci-bot
    kind: service
    roles: [viewer]
    keys:
      - { id: ci-bot-1, hash: "${viewer.hash}" }
      - { id: ci-bot-old, hash: "${expired.hash}", expiresAt: "2020-01-01T00:00:00Z" }
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

async function send(method: string, path: string, secret?: string): Promise<number> {
  const r = await request(`${gw.url}${path}`, { method: method as 'GET', headers: secret === undefined ? {} : { authorization: `Bearer ${secret}` } });
  await r.body.dump();
  return r.statusCode;
}

/**
 * The request series of /metrics. Durations vary run to run, so sums and the finite buckets
 * of the time histograms are masked; everything else — names, help, label sets and their
 * order, counts, +Inf buckets — is pinned.
 */
function requestSeries(text: string): string {
  const blocks = text.split(/\n(?=# HELP )/);
  const wanted = ['keygate_requests_total', 'keygate_request_duration_seconds', 'keygate_auth_total', 'keygate_auth_duration_seconds', 'keygate_upstream_duration_seconds'];
  return blocks
    .filter((b) => wanted.includes(/^# HELP (\S+)/.exec(b)?.[1] ?? ''))
    .map((b) => b.replace(/^(\S+_(?:sum|bucket)\{(?!le="\+Inf")[^}]*\}) \S+$/gm, '$1 ~').replace(/^(\S+_sum\{[^}]*\}) \S+$/gm, '$1 ~'))
    .join('\n')
    .trim();
}

describe('/metrics text (issue 12: held series render as labels() did)', () => {
  it('is exactly this after a known sequence of requests', async () => {
    expect(await send('GET', '/api/applications/1/items', viewer.secret)).toBe(200);
    expect(await send('GET', '/api/applications/2/items', viewer.secret)).toBe(200);
    expect(await send('HEAD', '/api/applications/2/items', viewer.secret)).toBe(200);
    expect(await send('GET', '/api/applications/1/items', 'wrong-key')).toBe(401);
    expect(await send('GET', '/api/applications/1/items', expired.secret)).toBe(401);
    expect(await send('GET', '/api/applications/1/items')).toBe(401);
    expect(await send('POST', '/api/applications/1/items', viewer.secret)).toBe(403);
    expect(await send('GET', '/health')).toBe(200);
    expect(await send('GET', '/nowhere')).toBe(404);
    expect(await send('PROPFIND', '/nowhere')).toBe(404);
    const r = await request(`${gw.adminUrl}/metrics`);
    expect(requestSeries(await r.body.text())).toBe(EXPECTED);
  });
});

/** Produced by the landed labels() code (before issue 12) for the sequence above. */
const EXPECTED = `# HELP keygate_requests_total Requests answered, by route (config name or "unmatched"), method and status
# TYPE keygate_requests_total counter
keygate_requests_total{route="app-read",method="GET",status="200"} 2
keygate_requests_total{route="app-read",method="HEAD",status="200"} 1
keygate_requests_total{route="app-read",method="GET",status="401"} 3
keygate_requests_total{route="app-edit",method="POST",status="403"} 1
keygate_requests_total{route="health",method="GET",status="200"} 1
keygate_requests_total{route="unmatched",method="GET",status="404"} 1
keygate_requests_total{route="unmatched",method="OTHER",status="404"} 1

# HELP keygate_request_duration_seconds Time from request arrival to the end of the response
# TYPE keygate_request_duration_seconds histogram
keygate_request_duration_seconds_bucket{le="0.0005",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="0.001",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="0.0025",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="0.005",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="0.01",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="0.025",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="0.05",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="0.1",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="0.25",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="0.5",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="1",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="2.5",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="5",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="10",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="30",route="app-read"} ~
keygate_request_duration_seconds_bucket{le="+Inf",route="app-read"} 6
keygate_request_duration_seconds_sum{route="app-read"} ~
keygate_request_duration_seconds_count{route="app-read"} 6
keygate_request_duration_seconds_bucket{le="0.0005",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="0.001",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="0.0025",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="0.005",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="0.01",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="0.025",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="0.05",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="0.1",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="0.25",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="0.5",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="1",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="2.5",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="5",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="10",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="30",route="app-edit"} ~
keygate_request_duration_seconds_bucket{le="+Inf",route="app-edit"} 1
keygate_request_duration_seconds_sum{route="app-edit"} ~
keygate_request_duration_seconds_count{route="app-edit"} 1
keygate_request_duration_seconds_bucket{le="0.0005",route="health"} ~
keygate_request_duration_seconds_bucket{le="0.001",route="health"} ~
keygate_request_duration_seconds_bucket{le="0.0025",route="health"} ~
keygate_request_duration_seconds_bucket{le="0.005",route="health"} ~
keygate_request_duration_seconds_bucket{le="0.01",route="health"} ~
keygate_request_duration_seconds_bucket{le="0.025",route="health"} ~
keygate_request_duration_seconds_bucket{le="0.05",route="health"} ~
keygate_request_duration_seconds_bucket{le="0.1",route="health"} ~
keygate_request_duration_seconds_bucket{le="0.25",route="health"} ~
keygate_request_duration_seconds_bucket{le="0.5",route="health"} ~
keygate_request_duration_seconds_bucket{le="1",route="health"} ~
keygate_request_duration_seconds_bucket{le="2.5",route="health"} ~
keygate_request_duration_seconds_bucket{le="5",route="health"} ~
keygate_request_duration_seconds_bucket{le="10",route="health"} ~
keygate_request_duration_seconds_bucket{le="30",route="health"} ~
keygate_request_duration_seconds_bucket{le="+Inf",route="health"} 1
keygate_request_duration_seconds_sum{route="health"} ~
keygate_request_duration_seconds_count{route="health"} 1
keygate_request_duration_seconds_bucket{le="0.0005",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="0.001",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="0.0025",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="0.005",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="0.01",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="0.025",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="0.05",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="0.1",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="0.25",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="0.5",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="1",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="2.5",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="5",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="10",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="30",route="unmatched"} ~
keygate_request_duration_seconds_bucket{le="+Inf",route="unmatched"} 2
keygate_request_duration_seconds_sum{route="unmatched"} ~
keygate_request_duration_seconds_count{route="unmatched"} 2

# HELP keygate_auth_total Authentication and authorization decisions on protected routes
# TYPE keygate_auth_total counter
keygate_auth_total{route="app-read",credential="bearer",result="allowed"} 3
keygate_auth_total{route="app-read",credential="bearer",result="unauthenticated"} 2
keygate_auth_total{route="app-read",credential="none",result="unauthenticated"} 1
keygate_auth_total{route="app-edit",credential="bearer",result="forbidden"} 1

# HELP keygate_auth_duration_seconds Time to extract, resolve and authorize a credential
# TYPE keygate_auth_duration_seconds histogram
keygate_auth_duration_seconds_bucket{le="0.00001",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="0.000025",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="0.00005",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="0.0001",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="0.00025",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="0.0005",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="0.001",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="0.0025",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="0.005",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="0.01",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="0.05",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="0.25",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="1",credential="bearer"} ~
keygate_auth_duration_seconds_bucket{le="+Inf",credential="bearer"} 6
keygate_auth_duration_seconds_sum{credential="bearer"} ~
keygate_auth_duration_seconds_count{credential="bearer"} 6
keygate_auth_duration_seconds_bucket{le="0.00001",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="0.000025",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="0.00005",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="0.0001",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="0.00025",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="0.0005",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="0.001",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="0.0025",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="0.005",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="0.01",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="0.05",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="0.25",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="1",credential="none"} ~
keygate_auth_duration_seconds_bucket{le="+Inf",credential="none"} 1
keygate_auth_duration_seconds_sum{credential="none"} ~
keygate_auth_duration_seconds_count{credential="none"} 1

# HELP keygate_upstream_duration_seconds Time from dispatch to the end of the upstream response
# TYPE keygate_upstream_duration_seconds histogram
keygate_upstream_duration_seconds_bucket{le="0.0005",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="0.001",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="0.0025",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="0.005",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="0.01",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="0.025",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="0.05",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="0.1",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="0.25",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="0.5",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="1",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="2.5",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="5",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="10",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="30",upstream="app"} ~
keygate_upstream_duration_seconds_bucket{le="+Inf",upstream="app"} 4
keygate_upstream_duration_seconds_sum{upstream="app"} ~
keygate_upstream_duration_seconds_count{upstream="app"} 4`;
