/**
 * Real Redis Sentinel and Redis Cluster set-ups for tests, in the style of ./redis.ts: real
 * `redis-server` processes (Sentinel is `redis-server <file> --sentinel`; Debian ships no
 * separate redis-sentinel binary) on free loopback ports, each in its own temp directory, every
 * wait bounded, every process killed on stop() and, failing that, when the test process exits.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { freePort } from './ports.ts';

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
const REDIS_CLI = process.env.REDIS_CLI ?? 'redis-cli';
const HOST = '127.0.0.1';

export interface Addr {
  host: string;
  port: number;
}

/** Every process still running, killed when the test process exits however it exits. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** One `redis-server` process (a data node or a sentinel). */
export interface RedisProcess extends Addr {
  /** SIGKILL: gone without closing anything gracefully. Resolves once it has exited. */
  kill(): Promise<void>;
  /** SIGTERM, SIGKILL after 2 s. Idempotent. */
  stop(): Promise<void>;
  running(): boolean;
  /** The last 8 kB of its output, for failure messages. */
  log(): string;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, detail: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined;
    try {
      v = await probe();
    } catch {
      // Not there yet.
    }
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function end(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill(signal);
  const forced = setTimeout(() => proc.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(forced);
}

/**
 * Starts `redis-server` with `args(port)` on a free port and waits (5 s at most) for the line
 * that says it accepts connections. A port taken in between (the process exits at once): the
 * next free port, three attempts.
 */
async function spawnServer(args: (port: number) => string[], ready: RegExp): Promise<RedisProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const proc = spawn(REDIS_SERVER, args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    let out = '';
    const keep = (d: Buffer) => {
      out = (out + d.toString('utf8')).slice(-8000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const exited = () => proc.exitCode !== null || proc.signalCode !== null;
    let outcome: 'ready' | 'exited';
    try {
      outcome = await until(`redis-server on port ${port}`, 5000, async () => (exited() ? 'exited' : ready.test(out) ? 'ready' : undefined), () => out);
    } catch (e) {
      proc.kill('SIGKILL');
      throw e;
    }
    if (outcome === 'exited') {
      // Most likely the port was taken in between; anything else fails the same way three times.
      if (attempt >= 3) throw new Error(`redis-server exited at start:\n${out}`);
      continue;
    }
    return {
      host: HOST,
      port,
      kill: () => end(proc, 'SIGKILL'),
      stop: () => end(proc, 'SIGTERM'),
      running: () => !exited(),
      log: () => out,
    };
  }
}

const READY = /Ready to accept connections/;

/** How an admin client gets in: credentials and, for TLS nodes, the CA to trust. */
export interface Access {
  username?: string;
  password?: string;
  /** PEM of the CA that signed the nodes' certificates: connect with TLS. */
  ca?: string;
}

/** A short-lived admin client for one node (no retries, bounded connect). */
function admin(addr: Addr, access: Access = {}): Redis {
  const { ca, ...auth } = access;
  const c = new Redis({
    host: addr.host, port: addr.port, ...auth, lazyConnect: false, retryStrategy: () => null,
    connectTimeout: 1000, commandTimeout: 2000, maxRetriesPerRequest: 0, enableOfflineQueue: true,
    ...(ca === undefined ? {} : { tls: { ca: [ca] } }),
  });
  c.on('error', () => {});
  return c;
}

/** Runs `fn` with an admin client for `addr`, then closes it. */
export async function withAdmin<T>(addr: Addr, access: Access, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = admin(addr, access);
  try {
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

/** `key:value` lines of an INFO section. */
function info(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * Credentials for the data nodes. `username` other than `default`: an ACL user with every
 * permission is created on each node (and used for replication and by the sentinels), so the
 * default user's password, if any, is the same `password` only when `username` is absent.
 */
export interface NodeAuth {
  username?: string;
  password?: string;
}

function authArgs(auth: NodeAuth): string[] {
  if (auth.password === undefined) return [];
  if (auth.username === undefined || auth.username === 'default') {
    return ['--requirepass', auth.password, '--masterauth', auth.password];
  }
  // The default user is switched off: only the named user gets in.
  return [
    '--user', 'default', 'off',
    '--user', auth.username, 'on', `>${auth.password}`, '~*', '&*', '+@all',
    '--masteruser', auth.username, '--masterauth', auth.password,
  ];
}

const clientAuth = (a: NodeAuth, tls: TestTls | undefined): Access => ({
  ...(a.username === undefined ? {} : { username: a.username }),
  ...(a.password === undefined ? {} : { password: a.password }),
  ...(tls === undefined ? {} : { ca: tls.ca }),
});

/**
 * A test CA and a certificate it signed for 127.0.0.1 and localhost (openssl, EC P-256, valid
 * one day), in a temp directory. Clients trust `ca` explicitly (or through
 * tls.setDefaultCACertificates); nothing is installed system-wide.
 */
export interface TestTls {
  ca: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Deletes the files (the servers using them should be stopped first). */
  remove(): void;
}

export function makeTestTls(): TestTls {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-tls-'));
  const f = (n: string) => join(dir, n);
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n');
  const steps = [
    ['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'),
      '-days', '1', '-subj', '/CN=keygate test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('node.key'), '-out', f('node.csr'), '-subj', '/CN=localhost'],
    ['x509', '-req', '-in', f('node.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('node.crt'), '-days', '1', '-extfile', f('san.ext')],
  ];
  for (const args of steps) {
    const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  }
  return {
    ca: readFileSync(f('ca.crt'), 'utf8'), caFile: f('ca.crt'), certFile: f('node.crt'), keyFile: f('node.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Listen on `port` with TLS only (plain port off), replication (and cluster bus) over TLS. */
function listenArgs(port: number, tls: TestTls | undefined): string[] {
  if (tls === undefined) return ['--port', String(port)];
  return [
    '--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile,
    '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no', '--tls-replication', 'yes',
  ];
}

function dataNodeArgs(dir: string, auth: NodeAuth, extra: string[], tls?: TestTls): (port: number) => string[] {
  return (port) => [
    ...listenArgs(port, tls), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir,
    // Diskless sync waits 5 s by default for more replicas to join; a test has one.
    '--repl-diskless-sync-delay', '0',
    ...authArgs(auth), ...extra,
  ];
}

// ---------------------------------------------------------------------------------- Sentinel

export interface SentinelOptions {
  /** Sentinels to start (quorum: a majority of them). @default 1 */
  sentinels?: number;
  /** Master group name. @default "keygate-test" */
  name?: string;
  /** Credentials of the master and replica (`requirepass`/ACL, `masterauth`). */
  auth?: NodeAuth;
  /** `requirepass` of the sentinels themselves (and what they use with each other). */
  sentinelPassword?: string;
  /** `sentinel down-after-milliseconds`. @default 1000 */
  downAfterMs?: number;
  /** `sentinel failover-timeout`. @default 4000 */
  failoverTimeoutMs?: number;
  /** TLS only, for the data nodes and the sentinels alike. */
  tls?: TestTls;
}

export interface TestSentinel {
  name: string;
  /** The sentinels' addresses, as keygate's `store.sentinel.nodes`. */
  sentinels: Addr[];
  /** The data nodes as started: [0] the first master, [1] its replica. */
  nodes: [RedisProcess, RedisProcess];
  sentinelProcesses: RedisProcess[];
  auth: NodeAuth;
  sentinelPassword: string | undefined;
  /** How to reach the data nodes (credentials, CA). */
  access: Access;
  /** The master every running sentinel agrees on (asks them; fails if they disagree). */
  master(): Promise<Addr>;
  /**
   * Waits (bounded) until every running sentinel names a master other than `old` and that node
   * answers as a master. Returns it.
   */
  awaitFailover(old: Addr, timeoutMs?: number): Promise<Addr>;
  /** An admin client to a data node (the caller disconnects it). */
  client(addr: Addr): Redis;
  stop(): Promise<void>;
}

/**
 * One master, one replica (synchronised before the sentinels start), and `sentinels`
 * sentinels monitoring them with quorum = majority. Returns once every sentinel knows the
 * replica and the other sentinels, so a failover can start right away.
 */
export async function startSentinel(opts: SentinelOptions = {}): Promise<TestSentinel> {
  const name = opts.name ?? 'keygate-test';
  const auth = opts.auth ?? {};
  const tls = opts.tls;
  const access = clientAuth(auth, tls);
  const count = opts.sentinels ?? 1;
  const quorum = Math.floor(count / 2) + 1;
  const dir = mkdtempSync(join(tmpdir(), 'keygate-sentinel-'));
  const started: RedisProcess[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const masterDir = mkdtempSync(join(dir, 'master-'));
    const first = await spawnServer(dataNodeArgs(masterDir, auth, [], tls), READY);
    started.push(first);
    const replicaDir = mkdtempSync(join(dir, 'replica-'));
    const replica = await spawnServer(dataNodeArgs(replicaDir, auth, ['--replicaof', HOST, String(first.port)], tls), READY);
    started.push(replica);
    await until('the replica to sync', 10_000, () => withAdmin(replica, access, async (c) =>
      (info(await c.info('replication'))['master_link_status'] === 'up' ? true : undefined)), () => replica.log());

    const sentinelProcesses: RedisProcess[] = [];
    for (let i = 0; i < count; i++) {
      const sdir = mkdtempSync(join(dir, `sentinel-${i}-`));
      const file = join(sdir, 'sentinel.conf');
      const proc = await spawnServer((port) => {
        // Sentinel rewrites its config file (state, discovered peers): a fresh one per attempt.
        writeFileSync(file, [
          ...(tls === undefined ? [`port ${port}`] : [
            'port 0', `tls-port ${port}`, `tls-cert-file ${tls.certFile}`, `tls-key-file ${tls.keyFile}`, `tls-ca-cert-file ${tls.caFile}`,
            'tls-auth-clients no', 'tls-replication yes', // the latter: TLS to the nodes and the other sentinels
          ]),
          `bind ${HOST}`, `dir ${sdir}`,
          `sentinel monitor ${name} ${HOST} ${first.port} ${quorum}`,
          `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${name} ${opts.failoverTimeoutMs ?? 4000}`,
          `sentinel parallel-syncs ${name} 1`,
          ...(auth.username !== undefined && auth.username !== 'default' ? [`sentinel auth-user ${name} ${auth.username}`] : []),
          ...(auth.password === undefined ? [] : [`sentinel auth-pass ${name} ${auth.password}`]),
          ...(opts.sentinelPassword === undefined ? [] : [`requirepass ${opts.sentinelPassword}`, `sentinel sentinel-pass ${opts.sentinelPassword}`]),
          '',
        ].join('\n'));
        return [file, '--sentinel'];
      }, /\+monitor master/);
      started.push(proc);
      sentinelProcesses.push(proc);
    }
    const sentinelAuth: Access = {
      ...(opts.sentinelPassword === undefined ? {} : { password: opts.sentinelPassword }),
      ...(tls === undefined ? {} : { ca: tls.ca }),
    };
    const askSentinel = <T>(s: Addr, fn: (c: Redis) => Promise<T>) => withAdmin(s, sentinelAuth, fn);
    const logs = () => sentinelProcesses.map((p) => `--- sentinel ${p.port}\n${p.log()}`).join('\n');

    // Sentinel INFOs the master every 10 s and learns peers from hello messages every 2 s:
    // wait until each one has the full picture, or a failover could find no replica to promote.
    await until('the sentinels to know the replica and each other', 20_000, async () => {
      for (const s of sentinelProcesses) {
        const ok = await askSentinel(s, async (c) => {
          const replicas = (await c.call('SENTINEL', 'REPLICAS', name)) as string[][];
          const peers = (await c.call('SENTINEL', 'SENTINELS', name)) as string[][];
          const fields = (flat: string[]) => Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : [])));
          const replicaOk = replicas.some((r) => {
            const f = fields(r);
            return f['port'] === String(replica.port) && f['flags'] === 'slave' && f['master-link-status'] === 'ok';
          });
          return replicaOk && peers.length === count - 1;
        });
        if (!ok) return undefined;
      }
      return true;
    }, logs);

    async function master(): Promise<Addr> {
      const seen = new Set<string>();
      for (const s of sentinelProcesses.filter((p) => p.running())) {
        const [host, port] = (await askSentinel(s, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name))) as [string, string];
        seen.add(`${host}:${port}`);
      }
      if (seen.size !== 1) throw new Error(`sentinels disagree on the master: ${[...seen].join(', ')}`);
      const [host, port] = [...seen][0]!.split(':') as [string, string];
      return { host, port: Number(port) };
    }

    return {
      name,
      sentinels: sentinelProcesses.map(({ host, port }) => ({ host, port })),
      nodes: [first, replica],
      sentinelProcesses,
      auth,
      sentinelPassword: opts.sentinelPassword,
      access,
      master,
      awaitFailover: (old, timeoutMs = 20_000) => until('the sentinels to promote a new master', timeoutMs, async () => {
        const m = await master();
        if (m.port === old.port && m.host === old.host) return undefined;
        const role = await withAdmin(m, access, async (c) => info(await c.info('replication'))['role']);
        return role === 'master' ? m : undefined;
      }, logs),
      client: (addr) => admin(addr, access),
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

// ----------------------------------------------------------------------------------- Cluster

export interface ClusterOptions {
  /** Masters (no replicas). @default 3 */
  masters?: number;
  auth?: NodeAuth;
  /** TLS only, cluster bus included. */
  tls?: TestTls;
}

export interface TestCluster {
  /** Every node, as keygate's `store.cluster`. */
  nodes: Addr[];
  processes: RedisProcess[];
  auth: NodeAuth;
  /** How to reach the nodes (credentials, CA). */
  access: Access;
  /** An admin client to one node (the caller disconnects it). */
  client(addr: Addr): Redis;
  /** Every key stored on each node (KEYS *: test data only), by port. */
  keysByNode(): Promise<Map<number, string[]>>;
  stop(): Promise<void>;
}

/**
 * `masters` nodes with `cluster-enabled yes`, slots spread over them by
 * `redis-cli --cluster create … --cluster-yes`; returns once every node reports
 * `cluster_state:ok` and knows all the others.
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<TestCluster> {
  const auth = opts.auth ?? {};
  const tls = opts.tls;
  const access = clientAuth(auth, tls);
  const count = opts.masters ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'keygate-cluster-'));
  const processes: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const ndir = mkdtempSync(join(dir, `node-${i}-`));
      processes.push(await spawnServer(dataNodeArgs(ndir, auth, [
        '--cluster-enabled', 'yes', '--cluster-config-file', join(ndir, 'nodes.conf'), '--cluster-node-timeout', '2000',
        ...(tls === undefined ? [] : ['--tls-cluster', 'yes']),
      ], tls), READY));
    }
    const cliAuth = [
      ...(auth.username === undefined ? [] : ['--user', auth.username]),
      ...(auth.password === undefined ? [] : ['--pass', auth.password]),
      ...(tls === undefined ? [] : ['--tls', '--cacert', tls.caFile]),
    ];
    const created = spawnSync(REDIS_CLI, [
      ...cliAuth, '--no-auth-warning', '--cluster', 'create', ...processes.map((p) => `${p.host}:${p.port}`), '--cluster-yes',
    ], { encoding: 'utf8', timeout: 20_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed (${created.status ?? created.signal}):\n${created.stdout}\n${created.stderr}`);
    const logs = () => processes.map((p) => `--- node ${p.port}\n${p.log()}`).join('\n');
    await until('cluster_state:ok on every node', 20_000, async () => {
      for (const p of processes) {
        const ok = await withAdmin(p, access, async (c) => {
          const ci = info((await c.call('CLUSTER', 'INFO')) as string);
          return ci['cluster_state'] === 'ok' && ci['cluster_known_nodes'] === String(count) && ci['cluster_slots_assigned'] === '16384';
        });
        if (!ok) return undefined;
      }
      return true;
    }, logs);
    return {
      nodes: processes.map(({ host, port }) => ({ host, port })),
      processes,
      auth,
      access,
      client: (addr) => admin(addr, access),
      async keysByNode() {
        const out = new Map<number, string[]>();
        for (const p of processes) out.set(p.port, (await withAdmin(p, access, (c) => c.keys('*'))).sort());
        return out;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
