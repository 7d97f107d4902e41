/**
 * The key store contract. Secrets never reach it: keys are found by the SHA-256 (or peppered
 * HMAC) of their secret, computed at the edge by `credentials/`. Two implementations — the
 * embedded in-memory store and Redis — pass one contract test suite.
 */

export type PrincipalKind = 'user' | 'service';

/**
 * A limit set through the admin API on a principal or key: the name of a `limits` policy, or a
 * policy of its own (docs/limits.md, Overrides). It replaces what the config attaches there.
 */
export type LimitOverride = string | { rate: string; burst?: number; per?: 'key' | 'principal' | 'org' };

/** A quota set through the admin API (same shape as `quota:` in the config). */
export interface QuotaOverride {
  requests: number;
  period: 'day' | 'month' | 'none';
}

export interface PrincipalRecord {
  id: string;
  /** Unique, forwarded upstream as the identity. */
  name: string;
  /**
   * A person's full name or a service's description, for screens only (Contrast's and
   * ThreadFix's users carry one): free Unicode text, never forwarded upstream, never an identity.
   */
  displayName?: string;
  kind: PrincipalKind;
  roles: string[];
  /** Names of groups (roles granted on named resources). */
  groups: string[];
  org?: string;
  disabled: boolean;
  createdAt: Date;
  metadata: Record<string, string>;
  /** Admin override of the principal's rate limit (instead of its roles' and the config's). */
  limit?: LimitOverride;
  /** Admin override of the principal's quota. */
  quota?: QuotaOverride;
  /** `config`: declared in the YAML file, replaced on every reload; `api`: created at run time. */
  source: 'config' | 'api';
}

export interface GroupRecord {
  name: string;
  roles: string[];
  /** Resource type → ids, e.g. `{ application: ["app-1", "app-2"] }`. */
  resources: Record<string, string[]>;
  createdAt: Date;
}

export interface KeyRecord {
  id: string;
  principalId: string;
  name?: string;
  purpose?: string;
  /** First characters of the secret, safe to display (e.g. `kg_4fT9`). */
  prefix?: string;
  /** Lower-case hex of the secret's hash. The only form in which a secret is ever stored. */
  hash: string;
  createdAt: Date;
  /** Principal name or `admin-token` that created it. */
  createdBy?: string;
  expiresAt?: Date;
  lastUsedAt?: Date;
  revokedAt?: Date;
  /** When set, narrows the principal's actions for requests made with this key. */
  scopes?: string[];
  type: 'api_key' | 'key_pair';
  /** Rotation: the key this one replaced / the key that replaced this one. */
  rotatedFrom?: string;
  rotatedTo?: string;
  /** Admin override of this key's rate limit. */
  limit?: LimitOverride;
  /** Admin override of this key's quota. */
  quota?: QuotaOverride;
}

export interface KeyWithPrincipal {
  key: KeyRecord;
  principal: PrincipalRecord;
}

/** What changed, so every replica's cache drops exactly what it must. */
export type Invalidation =
  | { type: 'key'; hash: string }
  | { type: 'principal'; id: string }
  | { type: 'group'; name: string }
  | { type: 'all' };

/**
 * Faults the store reports as values the admin API maps to 409s. `principal_not_found`: a key
 * was created or rotated for a principal that does not exist (e.g. deleted meanwhile).
 */
export class StoreConflictError extends Error {
  readonly code: 'duplicate' | 'key_limit_reached' | 'principal_not_found';
  constructor(code: 'duplicate' | 'key_limit_reached' | 'principal_not_found', message: string) {
    super(message);
    this.name = 'StoreConflictError';
    this.code = code;
  }
}

/** The store could not be reached or answered with an error: a fault, not a verdict on a key. */
export class StoreUnavailableError extends Error {
  /**
   * Whether the command may have reached the store (and, for a write, run there): true after a
   * timeout or a connection lost while waiting for the reply, false when it was never sent.
   */
  readonly sent: boolean;
  constructor(message: string, opts?: { cause?: unknown; sent?: boolean }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StoreUnavailableError';
    this.sent = opts?.sent ?? false;
  }
}

/** Only the named fields change; an optional field given as `undefined` is cleared. */
export type PrincipalPatch = Partial<Pick<PrincipalRecord, 'displayName' | 'roles' | 'groups' | 'metadata' | 'disabled' | 'org' | 'limit' | 'quota'>>;
export type KeyPatch = Partial<Pick<KeyRecord, 'name' | 'purpose' | 'expiresAt' | 'revokedAt' | 'scopes' | 'rotatedTo' | 'limit' | 'quota'>>;

/**
 * A page of a listing ordered by id (code-unit order, as `<` on strings): the records whose id
 * sorts after `after`, at most `limit` of them. Ids never change, so a record inserted or deleted
 * while a client pages through never shifts the others: no record that existed throughout is
 * skipped or repeated (one inserted meanwhile shows up if its id sorts after the cursor).
 */
export interface ListPage {
  /** The id of the last record of the previous page; absent: from the start. */
  after?: string;
  limit: number;
}

export interface StorePage<T> {
  items: T[];
  /** Whether records after the last item exist. */
  more: boolean;
}

export interface KeyStore {
  readonly kind: 'memory' | 'redis';

  /** The key whose secret hashes to `hash`, with its principal; null when there is none. One round trip. */
  findByHash(hash: string): Promise<KeyWithPrincipal | null>;

  /**
   * Replace every `source: config` principal and its keys with the declared set (config
   * load/reload). A declared name, key id or hash already used by a `source: api` record is
   * refused with StoreConflictError('duplicate') and nothing changes.
   */
  syncDeclarative(principals: DeclaredPrincipalInput[]): Promise<void>;

  // Principals. Names are unique (StoreConflictError 'duplicate').
  createPrincipal(p: PrincipalRecord): Promise<void>;
  getPrincipal(id: string): Promise<PrincipalRecord | null>;
  getPrincipalByName(name: string): Promise<PrincipalRecord | null>;
  /** Sorted by name. */
  listPrincipals(): Promise<PrincipalRecord[]>;
  /** One page in id order (see ListPage): what the admin API's cursor pagination reads. */
  listPrincipalsPage(page: ListPage): Promise<StorePage<PrincipalRecord>>;
  /** Returns the updated record, or null when there is no such principal. */
  updatePrincipal(id: string, patch: PrincipalPatch): Promise<PrincipalRecord | null>;
  /** Deletes the principal and all its keys in one atomic step. False when absent. */
  deletePrincipal(id: string): Promise<boolean>;

  // Keys.
  /**
   * Atomically: refuse with StoreConflictError('key_limit_reached') when the principal already
   * has `maxLive` live keys (not revoked, not expired at `now`), refuse 'duplicate' on an id or
   * hash that exists, refuse 'principal_not_found' when `k.principalId` does not exist, else
   * insert. Never half-created.
   */
  createKey(k: KeyRecord, limits: { maxLive: number; now: Date }): Promise<void>;
  getKey(id: string): Promise<KeyRecord | null>;
  /** Sorted by createdAt, then id. */
  listKeys(filter: { principalId?: string }): Promise<KeyRecord[]>;
  /** One page in id order (see ListPage). */
  listKeysPage(filter: { principalId?: string }, page: ListPage): Promise<StorePage<KeyRecord>>;
  updateKey(id: string, patch: KeyPatch): Promise<KeyRecord | null>;
  deleteKey(id: string): Promise<boolean>;
  /**
   * Atomically insert `next` and mark `oldId` rotated: its `rotatedTo` = next.id and its
   * `expiresAt` = `oldExpiresAt` (the end of the grace period; now when there is none).
   * Rotation does not count against the live-key limit. Never extends the old key: an earlier
   * `expiresAt` it already had is kept. Returns the old key as updated; null when `oldId` does
   * not exist.
   */
  rotateKey(oldId: string, next: KeyRecord, oldExpiresAt: Date): Promise<KeyRecord | null>;
  /** Records last use, batched by the caller; no invalidation (not security relevant). */
  touchKeys(lastUsed: Map<string, Date>): Promise<void>;

  // Groups.
  /** `create`: refuse an existing name ('duplicate'); otherwise replace the whole record (or insert). */
  putGroup(g: GroupRecord, opts: { create: boolean }): Promise<void>;
  getGroup(name: string): Promise<GroupRecord | null>;
  /** Sorted by name. */
  listGroups(): Promise<GroupRecord[]>;
  /** One page in name order (a group's name is its id; `after` is a name, see ListPage). */
  listGroupsPage(page: ListPage): Promise<StorePage<GroupRecord>>;
  deleteGroup(name: string): Promise<boolean>;

  /**
   * Every write above publishes an Invalidation that reaches the listeners of every store
   * instance on the same backend (all replicas), including the writer's own.
   */
  onInvalidate(listener: (inv: Invalidation) => void): void;
  /**
   * Called when the store's connection state changes. After `up` following a `down`, caches
   * must be flushed: invalidations may have been missed while disconnected.
   */
  onConnectionChange(listener: (state: 'up' | 'down') => void): void;

  /** Whether lookups can currently be answered (for /readyz). */
  isReady(): boolean;
  /**
   * Date.now() up to which every invalidation is known to have been delivered to this instance
   * (the last heartbeat that crossed the invalidation channel). Absent: always in sync (embedded).
   */
  syncedAt?(): number;
  close(): Promise<void>;
}

/** What the config layer hands the store for a declared principal (hashes only). */
export interface DeclaredPrincipalInput {
  name: string;
  displayName?: string;
  kind: PrincipalKind;
  roles: string[];
  org?: string;
  disabled: boolean;
  keys: { id: string; hash: string; name?: string; expiresAt?: Date }[];
}
