/**
 * Metric labels never carry request-controlled values: a flood of random paths, methods, keys,
 * request ids and headers must not add a single series once each kind of outcome has been seen.
 * Series are counted from the real /metrics exposition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { generateSecret } from '../../src/credentials/key-format.ts';

const viewer = newKey();
let up: TestUpstream;
let gw: TestGateway;
const agent = new Agent({ connections: 16 });

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
log: { level: silent }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: health, path: /health, upstream: app, public: true }
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET, HEAD], upstream: app, action: application:view }
principals:
  - { name: ci-bot, kind: service, roles: [viewer], keys: [{ id: ci-bot-1, hash: "${viewer.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
  await agent.close();
});

const rand = () => randomBytes(6).toString('hex');
const METHODS = ['GET', 'POST', 'DELETE', 'PROPFIND', 'PURGE'];

/** Every sample line of the exposition (one per series), keygate's own metrics only. */
async function series(): Promise<Set<string>> {
  const text = await (await request(`${gw.adminUrl}/metrics`)).body.text();
  return new Set(text.split('\n').filter((l) => l.startsWith('keygate_')).map((l) => l.slice(0, l.lastIndexOf(' '))));
}

/** One request of a random shape: random ids, paths, methods, credentials and headers. */
async function randomRequest(i: number): Promise<number> {
  const id = rand();
  const paths = [`/api/applications/${id}/x/${rand()}`, `/${id}`, `/health?${id}=1`, `/api/${id}`, `/API/applications/${id}/y`];
  const creds = [`Bearer ${viewer.secret}`, `Bearer ${generateSecret()}`, `Bearer test_${id}`, `APIKEY ${id}`, id, `Basic ${Buffer.from(`${id}:${id}`).toString('base64')}`];
  const headers: Record<string, string> = { 'x-request-id': id, [`x-${id}`]: id, 'user-agent': id };
  // i in mixed radix: every combination of path shape, method and credential shape (or none).
  const p = i % paths.length;
  const m = Math.floor(i / paths.length) % METHODS.length;
  const c = Math.floor(i / (paths.length * METHODS.length)) % (creds.length + 1);
  if (c < creds.length) headers['authorization'] = creds[c] as string;
  const res = await request(`${gw.url}${paths[p]}`, { method: METHODS[m] as 'GET', headers, dispatcher: agent });
  await res.body.dump();
  return res.statusCode;
}

async function flood(n: number, offset: number): Promise<Set<number>> {
  const statuses = new Set<number>();
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => randomRequest(offset + i + j)));
    for (const s of batch) statuses.add(s);
  }
  return statuses;
}

describe('metric cardinality under a flood of request-controlled values', () => {
  it('adds no series after every outcome has been seen once', async () => {
    // Warm-up: every (path shape × method × credential shape) combination at least once.
    const seen = await flood(5 * METHODS.length * 7, 0);
    expect([...seen].sort(), 'the flood reaches allowed, refused and unmatched outcomes').toEqual(expect.arrayContaining([200, 401, 404]));
    const before = await series();
    const receivedBefore = up.received.length;

    const again = await flood(2000, 100_000);
    const after = await series();

    expect([...after].filter((s) => !before.has(s))).toEqual([]);
    expect([...again].filter((s) => !seen.has(s))).toEqual([]);
    // The flood did reach the upstream (allowed requests were proxied), so it exercised the whole path.
    expect(up.received.length).toBeGreaterThan(receivedBefore);
    // No label value of any series is one of the random values the clients sent.
    const labels = [...after].join('\n');
    expect(labels).not.toMatch(/[0-9a-f]{12}/);
    expect(labels).not.toContain(viewer.secret);
  }, 60_000);
});
