/**
 * The Redis store through Sentinel: the whole KeyStore contract, invalidations between
 * instances, the audit trail's and usage counter's own connections, all against a real
 * password-protected master/replica pair behind a password-protected sentinel. Failover is in
 * test/integration/sentinel-failover.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisKeyStore, type RedisKeyStoreOptions } from '../../src/keystore/redis-store.ts';
import type { StoreLogger } from '../../src/keystore/redis/link.ts';
import { StoreUnavailableError, type Invalidation, type KeyStore } from '../../src/keystore/types.ts';
import { createAuditTrail } from '../../src/audit/trail.ts';
import { createUsageCounter } from '../../src/usage/counter.ts';
import type { StoreTarget } from '../../src/audit/connection.ts';
import { startSentinel, type TestSentinel } from '../helpers/redis-topologies.ts';
import { describeKeyStoreContract, principal } from './keystore.contract.ts';
import { waitFor } from '../helpers/wait.ts';

const NODE_PASSWORD = 'node-pw-7f3a9c1e';
const SENTINEL_PASSWORD = 'sentinel-pw-2b8d4e6f';

let sentinel: TestSentinel;
let prefixes = 0;
const opened: KeyStore[] = [];
const quiet: StoreLogger = { info() {}, warn() {}, error() {} };

function open(prefix: string, over: Partial<RedisKeyStoreOptions> = {}): KeyStore {
  const store = createRedisKeyStore({
    sentinels: sentinel.sentinels, sentinelName: sentinel.name, sentinelPassword: SENTINEL_PASSWORD, password: NODE_PASSWORD,
    prefix, logger: quiet, ...over,
  });
  opened.push(store);
  return store;
}

/** The store config as the gateway hands it to the audit trail and usage counter. */
const sideTarget = (prefix: string): StoreTarget => ({
  redis: '', cluster: null, prefix, password: NODE_PASSWORD,
  sentinel: { name: sentinel.name, nodes: sentinel.sentinels, password: SENTINEL_PASSWORD },
});

beforeAll(async () => {
  sentinel = await startSentinel({ sentinels: 1, auth: { password: NODE_PASSWORD }, sentinelPassword: SENTINEL_PASSWORD });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await sentinel?.stop();
});

describeKeyStoreContract('redis via sentinel', async () => {
  const store = open(`s${++prefixes}`);
  return { store, cleanup: () => store.close() };
});

describe('Redis store through Sentinel', () => {
  it('writes to the master the sentinel names (replicated to the replica) and tells every instance', async () => {
    const prefix = `s${++prefixes}`;
    const a = open(prefix);
    const b = open(prefix);
    const seenB: Invalidation[] = [];
    b.onInvalidate((i) => seenB.push(i));
    await b.getGroup('warm-up'); // connected and subscribed
    await a.createPrincipal(principal());
    await waitFor('B to hear of the write', () => (seenB.length > 0 ? true : undefined));
    expect(seenB).toEqual([{ type: 'principal', id: principal().id }]);
    expect(await b.getPrincipal(principal().id)).toStrictEqual(principal());

    const master = await sentinel.master();
    expect(master.port).toBe(sentinel.nodes[0].port);
    const [m, r] = [sentinel.client(master), sentinel.client(sentinel.nodes[1])];
    try {
      expect(await m.hget(`{${prefix}}:p:${principal().id}`, 'name')).toBe('alice');
      expect(await m.get(`{${prefix}}:pn:alice`)).toBe(principal().id);
      expect(await m.call('WAIT', '1', '2000')).toBe(1);
      expect(await r.hget(`{${prefix}}:p:${principal().id}`, 'name')).toBe('alice');
    } finally {
      m.disconnect();
      r.disconnect();
    }
  });

  it('the audit trail and the usage counter write and read back through their own Sentinel connections', async () => {
    const prefix = `s${++prefixes}`;
    const logger = { info() {}, warn() {} };
    const trail = createAuditTrail({ store: sideTarget(prefix), audit: { flushIntervalMs: 20 }, logger, onDrop: () => {} });
    const usage = createUsageCounter({ store: sideTarget(prefix), logger, flushIntervalMs: 60_000 });
    try {
      expect(trail.backend).toBe('redis');
      trail.record({
        time: new Date().toISOString(), kind: 'admin', requestId: 'r-sentinel', principalId: null, principalName: 'admin-token', keyId: null,
        credential: null, route: null, method: 'POST', path: '/v1/keys', status: 201, decision: 'allowed', reason: null, latencyMs: 1,
        client: '127.0.0.1', action: 'key.create', target: 'k_1', details: null,
      });
      await trail.flush();
      const page = await trail.query({ limit: 10 });
      expect(page.items.map((e) => [e.requestId, e.action, e.target])).toEqual([['r-sentinel', 'key.create', 'k_1']]);

      const now = Date.UTC(2030, 0, 15, 12);
      for (let i = 0; i < 3; i++) usage.touch('k_1', now);
      usage.touch('k_2', now);
      await usage.flush();
      expect((await usage.counts('k_1', 2, now)).map((d) => d.count)).toEqual([0, 3]);
      expect([...(await usage.sevenDay(['k_1', 'k_2', 'k_3'], now))]).toEqual([['k_1', 3], ['k_2', 1], ['k_3', 0]]);

      const m = sentinel.client(await sentinel.master());
      try {
        expect(await m.xlen(`{${prefix}}:audit`)).toBe(1);
        expect(await m.hget(`{${prefix}}:usage:k_1`, '2030-01-15')).toBe('3');
      } finally {
        m.disconnect();
      }
    } finally {
      await trail.close();
      await usage.close();
    }
  });

  it.each([
    ['the nodes', { password: 'wrong-node-pw-5c1d' }, /WRONGPASS|NOAUTH/],
    ['the sentinels', { sentinelPassword: 'wrong-sentinel-pw-9e4b' }, /sentinel/i],
  ])('a wrong password for %s: calls fail, the store stays down, and no log line or error shows a password', async (_what, over, expected) => {
    const lines: string[] = [];
    const capture = (level: string) => (o: object, m: string) => void lines.push(`${level} ${m} ${JSON.stringify(o)}`);
    const store = open(`s${++prefixes}`, { ...over, logger: { info: capture('info'), warn: capture('warn'), error: capture('error') } });
    const err = await store.createPrincipal(principal()).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(store.isReady()).toBe(false);
    await waitFor('a log line', () => (lines.length > 0 ? true : undefined));
    const text = [...lines, String(err), String((err as Error).cause)].join('\n');
    expect(text).toMatch(expected);
    for (const secret of [NODE_PASSWORD, SENTINEL_PASSWORD, ...Object.values(over)]) expect(text).not.toContain(secret);
    // Nothing was written with the wrong credentials.
    expect(await open(`s${prefixes}`).getPrincipal(principal().id)).toBeNull();
  });

});
