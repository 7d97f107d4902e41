/**
 * keygate through Redis Sentinel while the master dies: a gateway loaded from YAML (store.sentinel
 * with the node and sentinel passwords from `${VAR}`), a password-protected master and replica,
 * three sentinels (quorum 2, down-after 1 s). The master is SIGKILLed; the sentinels promote the
 * replica; keygate must notice, reconnect by itself, report `keygate_keystore_up 1` again, and
 * read, write, hear invalidations, record audit events and count usage on the new master.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminApi, proxiedStatus } from '../helpers/admin.ts';
import { startSentinel, type TestSentinel } from '../helpers/redis-topologies.ts';
import { createRedisKeyStore } from '../../src/keystore/redis-store.ts';

const TOKEN = 'sentinel-failover-admin-token-0123';
const NODE_PASSWORD = 'node-pw-failover-3d9e';
const SENTINEL_PASSWORD = 'sentinel-pw-failover-7a1c';

let sentinel: TestSentinel;
let up: TestUpstream;

beforeAll(async () => {
  [sentinel, up] = await Promise.all([
    startSentinel({ sentinels: 3, auth: { password: NODE_PASSWORD }, sentinelPassword: SENTINEL_PASSWORD, downAfterMs: 1000, failoverTimeoutMs: 4000 }),
    startUpstream(),
  ]);
});
afterAll(async () => {
  await up?.close();
  await sentinel?.stop();
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function storeUp(gw: TestGateway): Promise<number> {
  const r = await request(`${gw.adminUrl}/metrics`);
  const m = /^keygate_keystore_up (\d+)$/m.exec(await r.body.text());
  if (m === null) throw new Error('no keygate_keystore_up in /metrics');
  return Number(m[1]);
}

async function readyStatus(gw: TestGateway): Promise<number> {
  const r = await request(`${gw.adminUrl}/readyz`);
  await r.body.dump();
  return r.statusCode;
}

describe('Sentinel failover', () => {
  it('the master is killed: keygate follows the promoted replica by itself, and everything works there', async () => {
    const yaml = `
admin: { token: "${TOKEN}" }
store:
  sentinel:
    name: ${sentinel.name}
    nodes:
${sentinel.sentinels.map((s) => `      - { host: ${s.host}, port: ${s.port} }`).join('\n')}
    password: \${KEYGATE_SENTINEL_PASSWORD}
  password: \${KEYGATE_REDIS_PASSWORD}
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
`;
    const gw = await startTestGateway(yaml, { env: { KEYGATE_SENTINEL_PASSWORD: SENTINEL_PASSWORD, KEYGATE_REDIS_PASSWORD: NODE_PASSWORD } });
    // A second keygate-like instance on the same store: its writes reach the gateway only by pub/sub.
    const other = createRedisKeyStore({
      sentinels: sentinel.sentinels, sentinelName: sentinel.name, sentinelPassword: SENTINEL_PASSWORD, password: NODE_PASSWORD,
      prefix: 'kg', logger: { info() {}, warn() {}, error() {} },
    });
    const call = adminApi(gw.adminUrl, TOKEN);
    const url = `${gw.url}/api/x`;
    try {
      await until('the store to be up', async () => (await storeUp(gw)) === 1 && (await readyStatus(gw)) === 200, 10_000);
      expect((await call('POST', '/v1/principals', { name: 'failover-bot', kind: 'service', roles: ['viewer'] })).status).toBe(201);
      const { body: before } = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'failover-bot' });
      expect((await proxiedStatus(url, before.secret)).status).toBe(200);

      // Everything written so far is on the replica before the master goes.
      const old = await sentinel.master();
      expect(old.port).toBe(sentinel.nodes[0].port);
      const m = sentinel.client(old);
      try {
        await m.set('barrier', '1');
        expect(await m.call('WAIT', '1', '2000')).toBe(1);
      } finally {
        m.disconnect();
      }

      const killedAt = Date.now();
      await sentinel.nodes[0].kill();
      await until('keygate_keystore_up 0', async () => (await storeUp(gw)) === 0, 5_000);
      const promoted = await sentinel.awaitFailover(old, 20_000);
      expect(promoted.port).toBe(sentinel.nodes[1].port);
      await until('keygate_keystore_up 1 again', async () => (await storeUp(gw)) === 1 && (await readyStatus(gw)) === 200, 20_000);
      const recoveredMs = Date.now() - killedAt;
      expect(recoveredMs).toBeLessThan(20_000);

      // Reads: the record written before the failover, now served by the promoted replica.
      const principal = await call<{ name: string; id: string }>('GET', '/v1/principals/failover-bot');
      expect([principal.status, principal.body.name]).toEqual([200, 'failover-bot']);
      // A write after the failover succeeds, is on the new master, and authenticates.
      const after = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'failover-bot' });
      expect(after.status).toBe(201);
      const n = sentinel.client(promoted);
      try {
        expect(await n.hget(`{kg}:k:${after.body.key.id}`, 'principalId')).toBe(principal.body.id);
        expect(await n.hget(`{kg}:k:${before.key.id}`, 'principalId')).toBe(principal.body.id);
      } finally {
        n.disconnect();
      }
      for (let i = 0; i < 3; i++) expect((await proxiedStatus(url, after.body.secret)).status).toBe(200);
      expect((await proxiedStatus(url, before.secret)).status).toBe(200);

      // The audit trail's and the usage counter's own connections followed too.
      const usage = await call<{ total: number }>('GET', `/v1/keys/${after.body.key.id}/usage?days=1`);
      expect([usage.status, usage.body.total]).toEqual([200, 3]);
      await until('the audit events written after the failover', async () => {
        const page = await call<{ items: { decision: string }[] }>('GET', `/v1/audit?key=${after.body.key.id}&kind=request`);
        return page.status === 200 && page.body.items.filter((e) => e.decision === 'allowed').length === 3;
      }, 5_000);

      // The gateway is subscribed again, on the new master: a revocation made by another
      // instance reaches its warm cache.
      await other.updateKey(after.body.key.id, { revokedAt: new Date(Date.now() - 1000) });
      await until('the revocation to reach the gateway', async () => (await proxiedStatus(url, after.body.secret)).status === 401, 3_000);

      const logs = await gw.logs();
      expect(logs).toContain('redis store connection lost');
      expect(logs).toContain('redis store reconnected');
      for (const secret of [NODE_PASSWORD, SENTINEL_PASSWORD]) expect(logs).not.toContain(secret);
      console.info(`sentinel failover: keygate up again ${recoveredMs} ms after the master was killed`);
    } finally {
      await other.close();
      await gw.close();
    }
  });
});
