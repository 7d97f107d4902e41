/**
 * "Last used" right after a use (issue 15): the admin API of the replica that served the request
 * shows it at once (its recorder's unflushed time), another replica on the same Redis within the
 * recorder's flush interval (10 s), and the same instant on both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi } from '../helpers/admin.ts';

const TOKEN = 'last-used-admin-token-0123456789ab';
/** keystore/last-used.ts flushes every 10 s; the slack is for a loaded machine, not the bound. */
const FLUSH_MS = 10_000;
type Key = { id: string; lastUsedAt?: string; requests7d?: number | null };

let redis: TestRedis;
let up: TestUpstream;
let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  const yaml = `
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}" }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [app:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: app:view }
`;
  a = await startTestGateway(yaml);
  b = await startTestGateway(yaml);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await up?.close();
  await redis?.stop();
});

async function use(gw: TestGateway, secret: string): Promise<void> {
  const res = await request(`${gw.url}/api/x`, { headers: { authorization: `Bearer ${secret}` } });
  await res.body.text();
  expect(res.statusCode).toBe(200);
}

describe('last used, on two replicas of one Redis', () => {
  it('the serving replica shows the use at once, in the key and in lists; the other within the flush interval', async () => {
    const adminA = adminApi(a.adminUrl, TOKEN);
    const adminB = adminApi(b.adminUrl, TOKEN);
    await adminA('POST', '/v1/principals', { name: 'used-bot', kind: 'service', roles: ['viewer'] });
    const made = await adminA<{ key: Key; secret: string }>('POST', '/v1/keys', { principal: 'used-bot' });
    const id = made.body.key.id;
    expect((await adminA<Key>('GET', `/v1/keys/${id}`)).body.lastUsedAt).toBeUndefined();

    const before = Date.now();
    await use(a, made.body.secret);
    const after = Date.now();
    const shown = (await adminA<Key>('GET', `/v1/keys/${id}`)).body.lastUsedAt;
    expect(shown).toBeDefined();
    expect(Date.parse(shown as string)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(shown as string)).toBeLessThanOrEqual(after);
    expect(up.received.at(-1)?.headers.get('x-authenticated-user')).toEqual(['used-bot']);
    // The list the console's key table reads, and the unusedFor filter, agree.
    const listed = (await adminA<{ items: Key[] }>('GET', '/v1/keys?principal=used-bot')).body.items;
    expect(listed.map((k) => k.lastUsedAt)).toEqual([shown]);
    expect((await adminA<{ items: Key[] }>('GET', '/v1/keys?principal=used-bot&unusedFor=1h')).body.items).toEqual([]);

    // B learns it from the store: within the flush interval, the very same instant.
    const deadline = Date.now() + FLUSH_MS * 3;
    let onB: string | undefined;
    while (onB === undefined && Date.now() < deadline) {
      onB = (await adminB<Key>('GET', `/v1/keys/${id}`)).body.lastUsedAt;
      if (onB === undefined) await new Promise((r) => setTimeout(r, 200));
    }
    expect(onB).toBe(shown);

    // A later use within the same minute is not written to the store again, but A shows it.
    await new Promise((r) => setTimeout(r, 20));
    const second = Date.now();
    await use(a, made.body.secret);
    expect(Date.parse((await adminA<Key>('GET', `/v1/keys/${id}`)).body.lastUsedAt as string)).toBeGreaterThanOrEqual(second);
    // And a use on B is B's to show at once, whatever A last wrote.
    const third = Date.now();
    await use(b, made.body.secret);
    expect(Date.parse((await adminB<Key>('GET', `/v1/keys/${id}`)).body.lastUsedAt as string)).toBeGreaterThanOrEqual(third);
  });
});
