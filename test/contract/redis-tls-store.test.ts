/**
 * `store.tls: true` for real: TLS-only Sentinel (sentinel and data nodes) and TLS-only Cluster
 * (cluster bus included), certificates from a test CA made with openssl. Without the CA trusted
 * the store refuses the nodes (certificates are verified); with it trusted — through
 * tls.setDefaultCACertificates, as NODE_EXTRA_CA_CERTS would in production — the whole KeyStore
 * contract passes over TLS, and plain connections to those nodes fail (TLS is really in use).
 */
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisKeyStore, type RedisKeyStoreOptions } from '../../src/keystore/redis-store.ts';
import type { StoreLogger } from '../../src/keystore/redis/link.ts';
import { StoreUnavailableError, type Invalidation, type KeyStore } from '../../src/keystore/types.ts';
import { createAuditTrail } from '../../src/audit/trail.ts';
import { createUsageCounter } from '../../src/usage/counter.ts';
import { makeTestTls, startCluster, startSentinel, type TestCluster, type TestSentinel, type TestTls } from '../helpers/redis-topologies.ts';
import { describeKeyStoreContract, principal } from './keystore.contract.ts';
import { waitFor } from '../helpers/wait.ts';

const PASSWORD = 'tls-node-pw-6b2e';
const SENTINEL_PASSWORD = 'tls-sentinel-pw-1f8c';

let certs: TestTls;
let sentinel: TestSentinel;
let cluster: TestCluster;
let prefixes = 0;
const opened: KeyStore[] = [];
const quiet: StoreLogger = { info() {}, warn() {}, error() {} };
const systemCAs = getCACertificates('default');

function viaSentinel(over: Partial<RedisKeyStoreOptions> = {}): KeyStore {
  const store = createRedisKeyStore({
    sentinels: sentinel.sentinels, sentinelName: sentinel.name, sentinelPassword: SENTINEL_PASSWORD, password: PASSWORD, tls: true,
    prefix: `t${++prefixes}`, logger: quiet, ...over,
  });
  opened.push(store);
  return store;
}

function onCluster(over: Partial<RedisKeyStoreOptions> = {}): KeyStore {
  // Seeds by name: with TLS the client keeps the name (SNI, certificate check) instead of resolving it first.
  const seeds = cluster.nodes.map((n) => ({ host: 'localhost', port: n.port }));
  const store = createRedisKeyStore({ cluster: seeds, password: PASSWORD, tls: true, prefix: `t${++prefixes}`, logger: quiet, ...over });
  opened.push(store);
  return store;
}

function capture(): { logger: StoreLogger; lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (o: object, m: string) => void lines.push(`${level} ${m} ${JSON.stringify(o)}`);
  return { lines, logger: { info: log('info'), warn: log('warn'), error: log('error') } };
}

beforeAll(async () => {
  certs = makeTestTls();
  [sentinel, cluster] = await Promise.all([
    startSentinel({ tls: certs, auth: { password: PASSWORD }, sentinelPassword: SENTINEL_PASSWORD }),
    startCluster({ tls: certs, auth: { password: PASSWORD } }),
  ]);
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  setDefaultCACertificates(systemCAs);
  await Promise.all([sentinel?.stop(), cluster?.stop()]);
  certs?.remove();
});

describe('store.tls with the test CA not trusted', () => {
  it.each([['Sentinel', viaSentinel], ['Cluster', onCluster]])('%s: the nodes\' certificates are verified, so calls fail and the store reports itself down', async (_what, open) => {
    const { logger, lines } = capture();
    // A shorter first attempt (the store waits for it before failing the call): the test needs no 2.5 s wait.
    const store = open({ logger, connectTimeoutMs: 500 });
    await expect(store.createPrincipal(principal())).rejects.toBeInstanceOf(StoreUnavailableError);
    await waitFor('a log line', () => (lines.length > 0 ? true : undefined));
    // ioredis drops the TLS reason on these paths: what reaches the log is "Connection is closed."
    expect(lines).toEqual([expect.stringMatching(/^warn redis store cannot connect .*Connection is closed/)]);
    expect(store.isReady()).toBe(false);
  });
});

describe('store.tls with the test CA trusted', () => {
  beforeAll(() => {
    setDefaultCACertificates([...systemCAs, certs.ca]);
  });

  describeKeyStoreContract('redis via sentinel over TLS', async () => {
    const store = viaSentinel();
    return { store, cleanup: () => store.close() };
  });

  describeKeyStoreContract('redis cluster over TLS', async () => {
    const store = onCluster();
    return { store, cleanup: () => store.close() };
  });

  it.each([['Sentinel', viaSentinel], ['Cluster', onCluster]])('%s: tls: false cannot talk to the TLS-only nodes', async (_what, open) => {
    const store = open({ tls: false, connectTimeoutMs: 500 });
    await expect(store.getPrincipal('p_x')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(store.isReady()).toBe(false);
  });

  it.each([
    ['Sentinel', viaSentinel, () => ({ redis: '', cluster: null, sentinel: { name: sentinel.name, nodes: sentinel.sentinels, password: SENTINEL_PASSWORD } })],
    ['Cluster', onCluster, () => ({ redis: '', sentinel: null, cluster: cluster.nodes.map((n) => ({ host: 'localhost', port: n.port })) })],
  ] as const)('%s: invalidations between instances, audit trail and usage counter, all over TLS', async (_what, open, where) => {
    const a = open();
    const prefix = `t${prefixes}`;
    const b = open({ prefix });
    const seen: Invalidation[] = [];
    b.onInvalidate((i) => seen.push(i));
    await b.getGroup('warm-up');
    await a.createPrincipal(principal());
    await waitFor('the invalidation', () => (seen.length > 0 ? true : undefined));
    expect(seen).toEqual([{ type: 'principal', id: principal().id }]);

    const store = { ...where(), prefix, password: PASSWORD, tls: true };
    const logger = { info() {}, warn() {} };
    const trail = createAuditTrail({ store, audit: { flushIntervalMs: 20 }, logger, onDrop: () => {} });
    const usage = createUsageCounter({ store, logger, flushIntervalMs: 60_000 });
    try {
      trail.record({
        time: new Date().toISOString(), kind: 'admin', requestId: 'r-tls', principalId: null, principalName: 'admin-token', keyId: null,
        credential: null, route: null, method: 'DELETE', path: '/v1/keys/k_1', status: 204, decision: 'allowed', reason: null, latencyMs: 1,
        client: '127.0.0.1', action: 'key.delete', target: 'k_1', details: null,
      });
      await trail.flush();
      expect((await trail.query({ limit: 5 })).items.map((e) => e.requestId)).toEqual(['r-tls']);
      const now = Date.UTC(2030, 5, 1);
      usage.touch('k_1', now);
      usage.touch('k_1', now);
      await usage.flush();
      expect((await usage.counts('k_1', 1, now)).map((d) => d.count)).toEqual([2]);
    } finally {
      await trail.close();
      await usage.close();
    }
  });
});
