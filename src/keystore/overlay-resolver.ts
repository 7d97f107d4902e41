import type { MemoryKeyStore } from './memory-store.ts';
import { judge, type KeyResolver } from './resolve.ts';

/**
 * Keys declared in the YAML file live in process memory on every replica, in front of the shared
 * store: each replica serves exactly the declared set of its own config file, and a rollout with
 * two config versions never makes replicas overwrite each other in Redis.
 */
export function overlayResolver(declared: MemoryKeyStore, shared: KeyResolver): KeyResolver {
  return {
    resolve(hash, now) {
      const found = declared.findByHashSync(hash);
      return found === null ? shared.resolve(hash, now) : judge(found, now);
    },
    inMemory: (hash) => declared.findByHashSync(hash) !== null || shared.inMemory?.(hash) !== false,
    resolveId(keyId, now) {
      const found = declared.findByIdSync(keyId);
      return found === null ? shared.resolveId(keyId, now) : judge(found, now);
    },
  };
}
