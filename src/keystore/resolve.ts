import type { KeyRecord, KeyStore, PrincipalRecord } from './types.ts';
import type { MemoryKeyStore } from './memory-store.ts';

/**
 * A bad credential is a value, not an exception (CONVENTIONS §4): the resolver answers with a
 * status, and exceptions are left for faults such as a store that cannot be reached.
 */
export type Resolution =
  | { status: 'valid'; key: KeyRecord; principal: PrincipalRecord }
  | { status: 'not_found' }
  | { status: 'expired'; key: KeyRecord; principal: PrincipalRecord }
  | { status: 'revoked'; key: KeyRecord; principal: PrincipalRecord }
  | { status: 'principal_disabled'; key: KeyRecord; principal: PrincipalRecord };

const NOT_FOUND: Resolution = { status: 'not_found' };

export interface KeyResolver {
  /** Resolves a secret's hash. Synchronous when the answer is in memory, so hits cost no await. */
  resolve(hash: string, now: number): Resolution | Promise<Resolution>;
  /** Resolves a key by its id (tokens name the key they were minted from). */
  resolveId(keyId: string, now: number): Resolution | Promise<Resolution>;
  /** Whether `resolve(hash)` would answer from memory, without asking the store. Absent: always. */
  inMemory?(hash: string): boolean;
}

/** Expiry, revocation and principal state are checked on every lookup, never left to a cache TTL. */
export function judge(found: { key: KeyRecord; principal: PrincipalRecord } | null, now: number): Resolution {
  if (found === null) return NOT_FOUND;
  const { key, principal } = found;
  if (key.revokedAt !== undefined && key.revokedAt.getTime() <= now) return { status: 'revoked', key, principal };
  if (key.expiresAt !== undefined && key.expiresAt.getTime() <= now) return { status: 'expired', key, principal };
  if (principal.disabled) return { status: 'principal_disabled', key, principal };
  return { status: 'valid', key, principal };
}

/** The embedded store answers synchronously; no cache in front of it. */
export function createResolver(store: MemoryKeyStore): KeyResolver {
  return {
    resolve: (hash, now) => judge(store.findByHashSync(hash), now),
    resolveId: (keyId, now) => judge(store.findByIdSync(keyId), now),
    // Known keys only: an unknown one costs nothing here either, but answering it is what a
    // guesser wants (the refused-credential limit refuses it instead).
    inMemory: (hash) => store.findByHashSync(hash) !== null,
  };
}

/** Key by id from any store: two reads, used on cache misses only. */
export async function findById(store: KeyStore, keyId: string): Promise<{ key: KeyRecord; principal: PrincipalRecord } | null> {
  const key = await store.getKey(keyId);
  if (key === null) return null;
  const principal = await store.getPrincipal(key.principalId);
  return principal === null ? null : { key, principal };
}
