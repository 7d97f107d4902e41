import {
  StoreConflictError,
  type DeclaredPrincipalInput, type GroupRecord, type Invalidation, type KeyPatch, type KeyRecord, type KeyStore,
  type KeyWithPrincipal, type ListPage, type PrincipalPatch, type PrincipalRecord, type StorePage,
} from './types.ts';

/** Patchable fields, and which of them may be cleared (the optional ones). */
const PRINCIPAL_PATCH = { displayName: true, roles: false, groups: false, metadata: false, disabled: false, org: true, limit: true, quota: true } as const satisfies Record<keyof PrincipalPatch, boolean>;
const KEY_PATCH = { name: true, purpose: true, expiresAt: true, revokedAt: true, scopes: true, rotatedTo: true, limit: true, quota: true } as const satisfies Record<keyof KeyPatch, boolean>;

/**
 * The embedded store: everything in process memory, nothing persisted. It is the default when
 * no Redis URL is configured and holds the principals declared in the YAML file.
 *
 * Stored records are never mutated: every change stores a new object. That is what lets
 * `findByHashSync` hand out the stored objects themselves (a cache holding one keeps a
 * consistent snapshot); everything else hands out copies and stores copies of its input.
 */
export class MemoryKeyStore implements KeyStore {
  readonly kind = 'memory' as const;
  private readonly principals = new Map<string, PrincipalRecord>();
  private readonly principalIdByName = new Map<string, string>();
  private readonly keysById = new Map<string, KeyRecord>();
  private readonly keysByHash = new Map<string, KeyRecord>();
  private readonly keyIdsByPrincipal = new Map<string, Set<string>>();
  private readonly groups = new Map<string, GroupRecord>();
  private readonly invalidationListeners: ((inv: Invalidation) => void)[] = [];

  async findByHash(hash: string): Promise<KeyWithPrincipal | null> {
    const found = this.findByHashSync(hash);
    return found === null ? null : { key: copy(found.key), principal: copy(found.principal) };
  }

  /**
   * Synchronous lookup: the embedded store never waits, so the resolver can skip a microtask.
   * Returns the stored objects, not copies (this is the hot path): callers treat them as read-only.
   */
  findByHashSync(hash: string): KeyWithPrincipal | null {
    const key = this.keysByHash.get(hash);
    if (key === undefined) return null;
    const principal = this.principals.get(key.principalId);
    return principal === undefined ? null : { key, principal };
  }

  /** By key id, for tokens (which name the key they were minted from). Same read-only contract. */
  findByIdSync(keyId: string): KeyWithPrincipal | null {
    const key = this.keysById.get(keyId);
    if (key === undefined) return null;
    const principal = this.principals.get(key.principalId);
    return principal === undefined ? null : { key, principal };
  }

  async syncDeclarative(declared: DeclaredPrincipalInput[]): Promise<void> {
    const records = declaredRecords(declared, new Date());
    // Check everything before changing anything: a refused reload leaves the old set in force.
    const names = new Set<string>();
    const keyIds = new Set<string>();
    const hashes = new Set<string>();
    for (const { principal: p, keys } of records) {
      const byName = this.principals.get(this.principalIdByName.get(p.name) ?? '');
      const byId = this.principals.get(p.id);
      if (names.has(p.name) || byName?.source === 'api' || byId?.source === 'api') throw duplicate(`declared principal ${p.name}`);
      names.add(p.name);
      for (const k of keys) {
        const clash = [this.keysById.get(k.id), this.keysByHash.get(k.hash)]
          .some((other) => other !== undefined && this.principals.get(other.principalId)?.source !== 'config');
        if (keyIds.has(k.id) || hashes.has(k.hash) || clash) throw duplicate(`declared key ${k.id} of principal ${p.name}`);
        keyIds.add(k.id);
        hashes.add(k.hash);
      }
    }
    for (const p of [...this.principals.values()]) if (p.source === 'config') this.removePrincipal(p.id);
    for (const { principal, keys } of records) {
      this.principals.set(principal.id, principal);
      this.principalIdByName.set(principal.name, principal.id);
      for (const k of keys) this.putKey(k);
    }
    this.emit({ type: 'all' });
  }

  async createPrincipal(p: PrincipalRecord): Promise<void> {
    if (this.principals.has(p.id) || this.principalIdByName.has(p.name)) throw duplicate(`principal ${p.name}`);
    this.principals.set(p.id, copy(p));
    this.principalIdByName.set(p.name, p.id);
    this.emit({ type: 'principal', id: p.id });
  }

  async getPrincipal(id: string): Promise<PrincipalRecord | null> {
    return copyOrNull(this.principals.get(id));
  }

  async getPrincipalByName(name: string): Promise<PrincipalRecord | null> {
    const id = this.principalIdByName.get(name);
    return id === undefined ? null : copyOrNull(this.principals.get(id));
  }

  async listPrincipals(): Promise<PrincipalRecord[]> {
    return [...this.principals.values()].sort((a, b) => compare(a.name, b.name)).map(copy);
  }

  async listPrincipalsPage(page: ListPage): Promise<StorePage<PrincipalRecord>> {
    return pageOf([...this.principals.values()], page);
  }

  async updatePrincipal(id: string, patch: PrincipalPatch): Promise<PrincipalRecord | null> {
    const current = this.principals.get(id);
    if (current === undefined) return null;
    const next = applyPatch(current, patch, PRINCIPAL_PATCH);
    this.principals.set(id, next);
    this.emit({ type: 'principal', id });
    return copy(next);
  }

  async deletePrincipal(id: string): Promise<boolean> {
    if (!this.principals.has(id)) return false;
    this.removePrincipal(id);
    this.emit({ type: 'principal', id });
    return true;
  }

  async createKey(k: KeyRecord, limits: { maxLive: number; now: Date }): Promise<void> {
    this.checkNewKey(k);
    const now = limits.now.getTime();
    let live = 0;
    for (const id of this.keyIdsByPrincipal.get(k.principalId) ?? []) {
      const other = this.keysById.get(id);
      if (other !== undefined && isLive(other, now)) live++;
    }
    if (live >= limits.maxLive) throw new StoreConflictError('key_limit_reached', `key ${k.id}: key limit reached`);
    this.putKey(copy(k));
    this.emit({ type: 'key', hash: k.hash });
  }

  async getKey(id: string): Promise<KeyRecord | null> {
    return copyOrNull(this.keysById.get(id));
  }

  async listKeys(filter: { principalId?: string }): Promise<KeyRecord[]> {
    const all = filter.principalId === undefined
      ? [...this.keysById.values()]
      : [...(this.keyIdsByPrincipal.get(filter.principalId) ?? [])].flatMap((id) => this.keysById.get(id) ?? []);
    return all.sort(byCreation).map(copy);
  }

  async listKeysPage(filter: { principalId?: string }, page: ListPage): Promise<StorePage<KeyRecord>> {
    const all = filter.principalId === undefined
      ? [...this.keysById.values()]
      : [...(this.keyIdsByPrincipal.get(filter.principalId) ?? [])].flatMap((id) => this.keysById.get(id) ?? []);
    return pageOf(all, page);
  }

  async updateKey(id: string, patch: KeyPatch): Promise<KeyRecord | null> {
    const current = this.keysById.get(id);
    if (current === undefined) return null;
    const next = applyPatch(current, patch, KEY_PATCH);
    this.putKey(next);
    this.emit({ type: 'key', hash: next.hash });
    return copy(next);
  }

  async deleteKey(id: string): Promise<boolean> {
    const k = this.keysById.get(id);
    if (k === undefined) return false;
    this.removeKey(k);
    this.emit({ type: 'key', hash: k.hash });
    return true;
  }

  async rotateKey(oldId: string, next: KeyRecord, oldExpiresAt: Date): Promise<KeyRecord | null> {
    const old = this.keysById.get(oldId);
    if (old === undefined) return null;
    this.checkNewKey(next);
    // The grace period only ever shortens the old key's life, never extends it.
    const expiresAt = old.expiresAt !== undefined && old.expiresAt < oldExpiresAt ? old.expiresAt : oldExpiresAt;
    const rotated: KeyRecord = { ...old, rotatedTo: next.id, expiresAt: new Date(expiresAt) };
    this.putKey(rotated);
    this.putKey(copy(next));
    this.emit({ type: 'key', hash: old.hash });
    this.emit({ type: 'key', hash: next.hash });
    return copy(rotated);
  }

  async touchKeys(lastUsed: Map<string, Date>): Promise<void> {
    for (const [id, at] of lastUsed) {
      const k = this.keysById.get(id);
      // Never backwards: batches from several callers may arrive out of order.
      if (k !== undefined && (k.lastUsedAt === undefined || k.lastUsedAt < at)) this.putKey({ ...k, lastUsedAt: new Date(at) });
    }
  }

  async putGroup(g: GroupRecord, opts: { create: boolean }): Promise<void> {
    if (opts.create && this.groups.has(g.name)) throw duplicate(`group ${g.name}`);
    this.groups.set(g.name, copy(g));
    this.emit({ type: 'group', name: g.name });
  }

  async getGroup(name: string): Promise<GroupRecord | null> {
    return copyOrNull(this.groups.get(name));
  }

  async listGroups(): Promise<GroupRecord[]> {
    return [...this.groups.values()].sort((a, b) => compare(a.name, b.name)).map(copy);
  }

  async listGroupsPage(page: ListPage): Promise<StorePage<GroupRecord>> {
    const { after } = page;
    const rest = [...this.groups.values()].filter((g) => after === undefined || g.name > after).sort((a, b) => compare(a.name, b.name));
    return { items: rest.slice(0, page.limit).map(copy), more: rest.length > page.limit };
  }

  async deleteGroup(name: string): Promise<boolean> {
    if (!this.groups.delete(name)) return false;
    this.emit({ type: 'group', name });
    return true;
  }

  onInvalidate(listener: (inv: Invalidation) => void): void {
    this.invalidationListeners.push(listener);
  }

  /** Never fires: there is no connection to lose. */
  onConnectionChange(_listener: (state: 'up' | 'down') => void): void {}

  isReady(): boolean {
    return true;
  }

  async close(): Promise<void> {}

  /** Delivered after the write's promise settles, in write order, like the Redis store's. */
  private emit(inv: Invalidation): void {
    queueMicrotask(() => {
      for (const l of this.invalidationListeners) {
        try {
          l(inv);
        } catch (e) {
          // One broken listener must not starve the others (or crash the process from a microtask).
          process.emitWarning(`keystore invalidation listener threw: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    });
  }

  private checkNewKey(k: KeyRecord): void {
    if (!this.principals.has(k.principalId)) {
      throw new StoreConflictError('principal_not_found', `key ${k.id}: principal not found`);
    }
    if (this.keysById.has(k.id) || this.keysByHash.has(k.hash)) throw duplicate(`key ${k.id}`);
  }

  private putKey(k: KeyRecord): void {
    this.keysById.set(k.id, k);
    this.keysByHash.set(k.hash, k);
    let ids = this.keyIdsByPrincipal.get(k.principalId);
    if (ids === undefined) this.keyIdsByPrincipal.set(k.principalId, (ids = new Set()));
    ids.add(k.id);
  }

  private removeKey(k: KeyRecord): void {
    this.keysById.delete(k.id);
    if (this.keysByHash.get(k.hash)?.id === k.id) this.keysByHash.delete(k.hash);
    this.keyIdsByPrincipal.get(k.principalId)?.delete(k.id);
  }

  private removePrincipal(id: string): void {
    const p = this.principals.get(id);
    if (p === undefined) return;
    for (const kid of this.keyIdsByPrincipal.get(id) ?? []) {
      const k = this.keysById.get(kid);
      if (k !== undefined) this.removeKey(k);
    }
    this.keyIdsByPrincipal.delete(id);
    this.principals.delete(id);
    if (this.principalIdByName.get(p.name) === id) this.principalIdByName.delete(p.name);
  }
}

/**
 * The records a declared set stands for. Declared principals get a stable id derived from
 * their name, so key ids and audit entries keep pointing at the same principal across reloads.
 * Shared with the Redis store so both hold the very same records.
 */
export function declaredRecords(declared: DeclaredPrincipalInput[], now: Date): { principal: PrincipalRecord; keys: KeyRecord[] }[] {
  return declared.map((d) => {
    const id = `cfg:${d.name}`;
    const principal: PrincipalRecord = {
      id, name: d.name, kind: d.kind, roles: [...d.roles], groups: [], disabled: d.disabled,
      createdAt: new Date(now), metadata: {}, source: 'config',
      ...(d.org === undefined ? {} : { org: d.org }),
      ...(d.displayName === undefined ? {} : { displayName: d.displayName }),
    };
    const keys = d.keys.map((k): KeyRecord => ({
      id: k.id, principalId: id, hash: stripAlgorithm(k.hash), createdAt: new Date(now), type: 'api_key',
      ...(k.name === undefined ? {} : { name: k.name }),
      ...(k.expiresAt === undefined ? {} : { expiresAt: new Date(k.expiresAt) }),
    }));
    return { principal, keys };
  });
}

/** `sha256:<hex>` → `<hex>`: the store is keyed by the bare digest. */
export function stripAlgorithm(hash: string): string {
  const i = hash.indexOf(':');
  return i === -1 ? hash : hash.slice(i + 1);
}

function isLive(k: KeyRecord, now: number): boolean {
  return !(k.revokedAt !== undefined && k.revokedAt.getTime() <= now) && !(k.expiresAt !== undefined && k.expiresAt.getTime() <= now);
}

function duplicate(what: string): StoreConflictError {
  return new StoreConflictError('duplicate', `${what}: duplicate`);
}

/**
 * A deep copy without `undefined`-valued properties, so a record reads back exactly as the
 * Redis store returns it (which cannot store "present but undefined").
 */
function copy<T extends object>(v: T): T {
  const c = structuredClone(v);
  for (const [k, val] of Object.entries(c)) if (val === undefined) delete (c as Record<string, unknown>)[k];
  return c;
}

function copyOrNull<T extends object>(v: T | undefined): T | null {
  return v === undefined ? null : copy(v);
}

/** Only the listed fields change; `undefined` clears an optional one and leaves a required one alone. */
function applyPatch<T extends object>(current: T, patch: object, fields: Record<string, boolean>): T {
  const next: Record<string, unknown> = { ...(current as Record<string, unknown>) };
  for (const [field, clearable] of Object.entries(fields)) {
    if (!Object.hasOwn(patch, field)) continue;
    const v = (patch as Record<string, unknown>)[field];
    if (v !== undefined) next[field] = structuredClone(v);
    else if (clearable) delete next[field];
  }
  // Same shape as `current`: only fields of T were touched, each with a value of its own type.
  return next as T;
}

/** ListPage over records held in memory: sort by id, skip to the cursor, copy the page out. */
function pageOf<T extends { id: string }>(records: T[], page: ListPage): StorePage<T> {
  const { after } = page;
  const rest = (after === undefined ? records : records.filter((r) => r.id > after)).sort((a, b) => compare(a.id, b.id));
  return { items: rest.slice(0, page.limit).map(copy), more: rest.length > page.limit };
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byCreation = (a: KeyRecord, b: KeyRecord): number =>
  a.createdAt.getTime() - b.createdAt.getTime() || compare(a.id, b.id);
