import { createRequire } from 'node:module';
import type { Cluster, Redis } from 'ioredis';

/**
 * ioredis, loaded on the first connection rather than with the program: a gateway on the
 * embedded store never connects, and loading ioredis costs ≈5 MiB of RSS for nothing (issue 12,
 * idle RSS). Synchronous (`require`, it is CommonJS), so connecting stays synchronous.
 */
let ioredis: typeof import('ioredis') | null = null;
const lib = (): typeof import('ioredis') => (ioredis ??= createRequire(import.meta.url)('ioredis') as typeof import('ioredis'));

export type RedisConn = Redis | Cluster;

export interface RedisTarget {
  /** Standalone Redis, e.g. `redis://:pass@host:6379/0`. */
  url?: string;
  /** Sentinel addresses; requires `sentinelName`. */
  sentinels?: { host: string; port: number }[];
  /** The master name the sentinels monitor. */
  sentinelName?: string;
  /** Cluster startup nodes. */
  cluster?: { host: string; port: number }[];
  /**
   * ACL user and password of the data nodes behind Sentinel and of every Cluster node (a
   * standalone URL carries its own). No username: the `default` user.
   */
  username?: string;
  password?: string;
  /** `requirepass` of the sentinels themselves, when they have one. */
  sentinelPassword?: string;
  /** TLS (system CAs, host name verified) to every node, and to the sentinels. */
  tls?: boolean;
}

export interface ConnectionTuning {
  /** @default 2000 */
  connectTimeoutMs?: number;
  /** Backstop for a server that accepts but never answers (e.g. stopped). @default 1000 */
  commandTimeoutMs?: number;
}

/** Reconnect forever, backing off to one attempt every 2 s. */
const retryStrategy = (attempt: number): number => Math.min(attempt * 100, 2000);

/**
 * The command connection. No offline queue: while Redis is unreachable a call must fail at once
 * (the cache decides whether to serve stale), not wait for a reconnect. `maxRetriesPerRequest: 0`
 * and no resend of unanswered commands: a write whose reply was lost on a dropped connection
 * fails instead of being sent a second time after the reconnect (where a createKey would then
 * report its own first attempt as a duplicate).
 */
export function connectCommand(target: RedisTarget, tuning: ConnectionTuning): RedisConn {
  const connectTimeout = tuning.connectTimeoutMs ?? 2000;
  const commandTimeout = tuning.commandTimeoutMs ?? 1000;
  const perNode = {
    connectTimeout, commandTimeout, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false,
  };
  const modes = [target.url, target.sentinels, target.cluster].filter((m) => m !== undefined).length;
  if (modes !== 1) throw new TypeError('redis store: give exactly one of url, sentinels, cluster');
  if (target.cluster !== undefined) {
    return new (lib().Cluster)(target.cluster, {
      enableOfflineQueue: false, clusterRetryStrategy: retryStrategy, redisOptions: { ...perNode, ...nodeAuth(target) },
      // With TLS, connect to nodes by the names given (seeds) or announced (a cluster with
      // `cluster-preferred-endpoint-type hostname`), not by the addresses ioredis would resolve
      // them to first: the certificate is checked against the name (SNI), as ioredis advises.
      ...(target.tls === true ? { dnsLookup: (address: string, done: (err: null, address: string) => void) => done(null, address) } : {}),
    });
  }
  const common = { ...perNode, enableOfflineQueue: false, retryStrategy };
  if (target.sentinels !== undefined) {
    if (target.sentinelName === undefined) throw new TypeError('redis store: sentinels need sentinelName');
    return new (lib().Redis)({
      ...common, ...nodeAuth(target), sentinels: target.sentinels, name: target.sentinelName,
      ...(nonEmpty(target.sentinelPassword) ? { sentinelPassword: target.sentinelPassword } : {}),
      // ioredis only applies `tls` to the master behind Sentinel with this flag; the sentinels
      // take theirs from `sentinelTLS`.
      ...(target.tls === true ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    });
  }
  if (target.url === undefined) throw new TypeError('redis store: give exactly one of url, sentinels, cluster');
  return new (lib().Redis)(target.url, common);
}

const nonEmpty = (v: string | undefined): v is string => v !== undefined && v !== '';

/** ioredis options for the data nodes' credentials and TLS; empty strings mean "not set". */
function nodeAuth(target: RedisTarget): { username?: string; password?: string; tls?: object } {
  return {
    ...(nonEmpty(target.username) ? { username: target.username } : {}),
    ...(nonEmpty(target.password) ? { password: target.password } : {}),
    ...(target.tls === true ? { tls: {} } : {}),
  };
}

/**
 * The subscriber connection, same target. It subscribes itself on every `ready` (see
 * redis-store), so the built-in resubscription is off for standalone/Sentinel: "up" then means
 * "subscribed again", not merely "connected".
 */
export function connectSubscriber(cmd: RedisConn): RedisConn {
  if (cmd instanceof lib().Cluster) return cmd.duplicate();
  return cmd.duplicate({ autoResubscribe: false });
}
