import type { StoreConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { MemoryKeyStore } from './memory-store.ts';
import { createRedisKeyStore } from './redis-store.ts';
import type { KeyStore } from './types.ts';

/** The embedded store unless Redis (URL, Sentinel or Cluster) is configured. */
export function createStore(cfg: StoreConfig, logger: Logger): KeyStore {
  if (cfg.redis === '' && cfg.sentinel === null && cfg.cluster === null) return new MemoryKeyStore();
  return createRedisKeyStore({
    prefix: cfg.prefix,
    logger,
    ...(cfg.redis === '' ? {} : { url: cfg.redis }),
    ...(cfg.sentinel === null ? {} : { sentinels: cfg.sentinel.nodes, sentinelName: cfg.sentinel.name }),
    ...(cfg.cluster === null ? {} : { cluster: cfg.cluster }),
  });
}
