import type { StoreConfig } from '../config/types.ts';
import { redisTarget } from '../audit/connection.ts';
import type { Logger } from '../log/logger.ts';
import { MemoryKeyStore } from './memory-store.ts';
import { createRedisKeyStore } from './redis-store.ts';
import type { KeyStore } from './types.ts';

/** The embedded store unless Redis (URL, Sentinel or Cluster) is configured. */
export function createStore(cfg: StoreConfig, logger: Logger): KeyStore {
  if (cfg.redis === '' && cfg.sentinel === null && cfg.cluster === null) return new MemoryKeyStore();
  return createRedisKeyStore({ prefix: cfg.prefix, logger, ...redisTarget(cfg) });
}
