/**
 * The Redis store on a real 3-master Redis Cluster whose nodes only let in an ACL user with a
 * password: the whole KeyStore contract, every key of a prefix in one slot, invalidations
 * between instances whatever node publishes them, and the audit trail's and usage counter's own
 * connections.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisKeyStore, type RedisKeyStoreOptions } from '../../src/keystore/redis-store.ts';
import type { StoreLogger } from '../../src/keystore/redis/link.ts';
import { StoreUnavailableError, type Invalidation, type KeyStore } from '../../src/keystore/types.ts';
import { createAuditTrail } from '../../src/audit/trail.ts';
import { createUsageCounter } from '../../src/usage/counter.ts';
import type { StoreTarget } from '../../src/audit/connection.ts';
import { startCluster, withAdmin, type TestCluster } from '../helpers/redis-topologies.ts';
import { describeKeyStoreContract, key, principal } from './keystore.contract.ts';
import { waitFor } from '../helpers/wait.ts';

const USER = 'keygate';
const PASSWORD = 'cluster-pw-4e7a1b9d';

let cluster: TestCluster;
let prefixes = 0;
const opened: KeyStore[] = [];
const quiet: StoreLogger = { info() {}, warn() {}, error() {} };

function open(prefix: string, over: Partial<RedisKeyStoreOptions> = {}): KeyStore {
  const store = createRedisKeyStore({ cluster: cluster.nodes, username: USER, password: PASSWORD, prefix, logger: quiet, ...over });
  opened.push(store);
  return store;
}

const sideTarget = (prefix: string): StoreTarget => ({ redis: '', sentinel: null, cluster: cluster.nodes, prefix, username: USER, password: PASSWORD });

/** Port of the master serving the slot of `{prefix}`. */
async function ownerOf(prefix: string): Promise<number> {
  return withAdmin(cluster.nodes[0]!, { username: USER, password: PASSWORD }, async (c) => {
    const slot = (await c.call('CLUSTER', 'KEYSLOT', `{${prefix}}`)) as number;
    const ranges = (await c.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (range === undefined) throw new Error(`slot ${slot} is not served`);
    return range[2][1];
  });
}

beforeAll(async () => {
  cluster = await startCluster({ masters: 3, auth: { username: USER, password: PASSWORD } });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await cluster?.stop();
});

describeKeyStoreContract('redis cluster', async () => {
  const store = open(`c${++prefixes}`);
  return { store, cleanup: () => store.close() };
});

describe('Redis store on Cluster', () => {
  it('keeps every key of a prefix (records, indexes, audit stream, usage) in one slot on one node', async () => {
    const prefix = `c${++prefixes}`;
    const store = open(prefix);
    await store.createPrincipal(principal());
    await store.createKey(key(), { maxLive: 10, now: new Date() });
    await store.rotateKey(key().id, key({ id: 'k_2', hash: 'b'.repeat(64) }), new Date(Date.now() + 60_000));
    await store.putGroup({ name: 'team-a', roles: ['r'], resources: {}, createdAt: new Date() }, { create: true });
    await store.touchKeys(new Map([[key().id, new Date()], ['k_2', new Date()]]));
    const logger = { info() {}, warn() {} };
    const trail = createAuditTrail({ store: sideTarget(prefix), audit: { flushIntervalMs: 20 }, logger, onDrop: () => {} });
    const usage = createUsageCounter({ store: sideTarget(prefix), logger, flushIntervalMs: 60_000 });
    trail.record({
      time: new Date().toISOString(), kind: 'request', requestId: 'r1', principalId: 'p_alice', principalName: 'alice', keyId: 'k_2',
      credential: 'bearer', route: 'app', method: 'GET', path: '/api/x', status: 200, decision: 'allowed', reason: null, latencyMs: 1,
      client: '127.0.0.1', action: null, target: null, details: null,
    });
    usage.touch('k_2', Date.now());
    await trail.close();
    await usage.close();

    const owner = await ownerOf(prefix);
    const byNode = await cluster.keysByNode();
    const ours = new Map([...byNode].map(([port, keys]) => [port, keys.filter((k) => k.startsWith(`{${prefix}}:`))]));
    expect(ours.get(owner)).toEqual([
      `{${prefix}}:audit`, `{${prefix}}:g:team-a`, `{${prefix}}:gs`,
      `{${prefix}}:k:k_1`, `{${prefix}}:k:k_2`, `{${prefix}}:kh:${'a'.repeat(64)}`, `{${prefix}}:kh:${'b'.repeat(64)}`,
      `{${prefix}}:p:p_alice`, `{${prefix}}:pk:p_alice`, `{${prefix}}:pn:alice`, `{${prefix}}:ps`,
      `{${prefix}}:usage:k_2`,
    ]);
    for (const [port, keys] of ours) if (port !== owner) expect(keys, `node ${port}`).toEqual([]);
  });

  it('delivers invalidations to every instance whichever master owns the prefix (publisher and subscriber on different nodes)', async () => {
    // One prefix per master: the subscribers' node is picked at random, so at least two of these
    // are published on a node other than the one a subscriber listens on.
    const wanted = new Set(cluster.nodes.map((n) => n.port));
    const chosen = new Map<number, string>();
    for (let i = 0; chosen.size < wanted.size && i < 1000; i++) {
      const p = `inv${i}`;
      const port = await ownerOf(p);
      if (!chosen.has(port)) chosen.set(port, p);
    }
    expect([...chosen.keys()].sort()).toEqual([...wanted].sort());
    for (const prefix of chosen.values()) {
      const a = open(prefix);
      const b = open(prefix);
      const seenA: Invalidation[] = [];
      const seenB: Invalidation[] = [];
      a.onInvalidate((i) => seenA.push(i));
      b.onInvalidate((i) => seenB.push(i));
      await b.getGroup('warm-up'); // connected and subscribed
      await a.getGroup('warm-up');
      await a.createPrincipal(principal());
      await waitFor(`both instances (prefix ${prefix})`, () => (seenA.length > 0 && seenB.length > 0 ? true : undefined));
      expect(seenA).toEqual([{ type: 'principal', id: principal().id }]);
      expect(seenB).toEqual([{ type: 'principal', id: principal().id }]);
      expect(await b.getPrincipal(principal().id)).toStrictEqual(principal());
    }
  });

  it('the audit trail and the usage counter write and read back through their own Cluster connections', async () => {
    const prefix = `c${++prefixes}`;
    const logger = { info() {}, warn() {} };
    const trail = createAuditTrail({ store: sideTarget(prefix), audit: { flushIntervalMs: 20 }, logger, onDrop: () => {} });
    const usage = createUsageCounter({ store: sideTarget(prefix), logger, flushIntervalMs: 60_000 });
    try {
      for (let i = 0; i < 3; i++) {
        trail.record({
          time: new Date().toISOString(), kind: 'request', requestId: `r${i}`, principalId: 'p_alice', principalName: 'alice', keyId: 'k_1',
          credential: 'bearer', route: 'app', method: 'GET', path: `/api/${i}`, status: 200, decision: 'allowed', reason: null, latencyMs: 1,
          client: '127.0.0.1', action: null, target: null, details: null,
        });
      }
      await trail.flush();
      expect((await trail.query({ limit: 10 })).items.map((e) => e.path)).toEqual(['/api/2', '/api/1', '/api/0']);

      const now = Date.UTC(2030, 0, 15, 12);
      usage.touch('k_1', now - 86_400_000);
      for (let i = 0; i < 4; i++) usage.touch('k_1', now);
      await usage.flush();
      expect((await usage.counts('k_1', 3, now)).map((d) => d.count)).toEqual([0, 1, 4]);
      expect([...(await usage.sevenDay(['k_1', 'k_9'], now))]).toEqual([['k_1', 5], ['k_9', 0]]);

      const owner = await ownerOf(prefix);
      await withAdmin({ host: '127.0.0.1', port: owner }, { username: USER, password: PASSWORD }, async (c) => {
        expect(await c.xlen(`{${prefix}}:audit`)).toBe(3);
        expect(await c.hgetall(`{${prefix}}:usage:k_1`)).toEqual({ '2030-01-14': '1', '2030-01-15': '4' });
      });
    } finally {
      await trail.close();
      await usage.close();
    }
  });

  it('a wrong password: calls fail, the store stays down, and no log line or error shows a password', async () => {
    const wrong = 'wrong-cluster-pw-8a2f';
    const lines: string[] = [];
    const capture = (level: string) => (o: object, m: string) => void lines.push(`${level} ${m} ${JSON.stringify(o)}`);
    const store = open(`c${++prefixes}`, { password: wrong, logger: { info: capture('info'), warn: capture('warn'), error: capture('error') } });
    const err = await store.createPrincipal(principal()).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(store.isReady()).toBe(false);
    await waitFor('a log line', () => (lines.length > 0 ? true : undefined));
    const text = [...lines, String(err), String((err as Error).cause)].join('\n');
    expect(text).toMatch(/cannot connect.*Last node error: WRONGPASS/);
    for (const secret of [PASSWORD, wrong]) expect(text).not.toContain(secret);
    expect(await open(`c${prefixes}`).getPrincipal(principal().id)).toBeNull();
  });
});
