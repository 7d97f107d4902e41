import { randomBytes, randomUUID } from 'node:crypto';
import type { RoleConfig } from '../config/types.ts';
import { displayPrefix, generateSecret } from '../credentials/key-format.ts';
import {
  StoreConflictError, StoreUnavailableError,
  type GroupRecord, type Invalidation, type KeyPatch, type KeyRecord, type KeyStore, type ListPage, type PrincipalPatch, type PrincipalRecord,
} from '../keystore/types.ts';
import { AdminError } from './errors.ts';
import type { AdminAudit } from './audit.ts';
import { checkExpiryState } from './expiry.ts';
import { NO_POLICY, checkExpiryChange, lifetimeForNewKey, lifetimeForRotation, type LifetimePolicy } from './policy.ts';
import type { EventBus } from '../events/bus.ts';
import { displayNameProblem } from './display-name.ts';

export interface LifecycleDeps {
  store: KeyStore;
  /** Roles of the config generation in force (role names are checked at write time). */
  roles: () => Map<string, RoleConfig>;
  /** Secret → stored hash (SHA-256, or HMAC with the server's pepper). */
  hashSecret: (secret: string) => string;
  keyPrefix: string;
  /** @default 10 (Mend allows up to 10 user keys) */
  maxKeysPerPrincipal: number;
  audit: AdminAudit;
  /**
   * Applies a write's invalidation in this process at once. Other replicas learn through the
   * store's pub/sub; this one must not let its next request race its own write's echo.
   */
  invalidateLocal?: (inv: Invalidation) => void | Promise<void>;
  now?: () => Date;
  /** `keys.maxLifetime` / `defaultLifetime` / `requireExpiry` of the generation in force. @default no policy */
  policy?: () => LifetimePolicy;
  /** Where lifecycle events go (webhooks); emitting never blocks or throws. */
  events?: EventBus;
  /**
   * The latest use of a key this process saw and may not have written to the store yet
   * (keystore/last-used.ts): what the admin API shows when it is newer than the store's.
   */
  lastUsed?: (keyId: string) => Date | undefined;
}

/** Who is making the change, for the audit trail and `createdBy`. */
/** Who makes an admin write: the admin token, or a key's principal (then with its ids, for the audit trail). */
export interface Actor {
  name: string;
  id?: string;
  keyId?: string;
  /** The caller's address. */
  client?: string;
}

export interface NewPrincipal {
  name: string;
  displayName?: string;
  kind: 'user' | 'service';
  roles?: string[];
  groups?: string[];
  org?: string;
  metadata?: Record<string, string>;
}

export interface NewKey {
  principal: string;
  name?: string;
  purpose?: string;
  /** Lifetime in ms from now; absent: no expiry. */
  expiresInMs?: number;
  scopes?: string[];
  type?: 'api_key' | 'key_pair';
}

export type KeyStatus = 'active' | 'expired' | 'revoked' | 'rotated';

/** What an admin may change on a key. `expiresAt: null` clears the expiry. */
export interface KeyChange {
  name?: string;
  purpose?: string;
  expiresAt?: Date | null;
  /** Per-key rate-limit policy and quota overrides (docs/limits.md). */
  limit?: KeyPatch['limit'];
  quota?: KeyPatch['quota'];
  /** The request field the expiry came from, for refusals. @default "expiresAt" */
  expiryField?: 'expiresIn' | 'expiresAt';
}

/** A page of a listing: `last` is the id to continue after, null at the end. */
export interface Page<T> {
  items: T[];
  last: string | null;
}

export function keyStatus(k: KeyRecord, now: Date): KeyStatus {
  if (k.revokedAt !== undefined && k.revokedAt <= now) return 'revoked';
  if (k.expiresAt !== undefined && k.expiresAt <= now) return k.rotatedTo !== undefined ? 'rotated' : 'expired';
  return 'active';
}

/** Read-backs after a write that timed out: about three command timeouts in all. */
const READ_BACK_ATTEMPTS = 3;
const READ_BACK_PAUSE_MS = 250;

/** Whether `rec` carries every field of `patch` (a patch applied twice is the same patch: idempotent). */
function carries(rec: object, patch: object): boolean {
  const r = rec as Record<string, unknown>;
  return Object.entries(patch).every(([k, v]) => same(r[k], v));
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  return JSON.stringify(a) === JSON.stringify(b);
}

function newKeyId(): string {
  return `key_${randomBytes(12).toString('base64url').replace(/[-_]/g, '0')}`;
}

/**
 * The business rules of principals, keys and groups, shared by every admin front end. Store
 * faults become `store_unavailable`, conflicts `conflict`/`key_limit_reached`: an admin write
 * either happened and is acknowledged, or failed with a clear error.
 */
export function createLifecycle(deps: LifecycleDeps) {
  const now = deps.now ?? (() => new Date());
  const { store, audit } = deps;
  const local = async (inv: Invalidation) => { await deps.invalidateLocal?.(inv); };
  const policy = () => deps.policy?.() ?? NO_POLICY;
  const iso = (d: Date | undefined) => d?.toISOString() ?? null;
  const keyRef = (k: KeyRecord) => ({ keyId: k.id, principalId: k.principalId, expiresAt: iso(k.expiresAt) });

  /**
   * Runs a write whose outcome must be known before answering (issue 10, item 14). A write
   * that timed out may still have run (the reply was late, not the command): the record is
   * read back on the same connection, where Redis answers in order, so a read that returns
   * was served after the write ran or failed. `applied` says from that read whether it ran.
   * If even the read-back gets no answer, the caller is told the outcome is unknown and what
   * to look up, never "nothing was changed".
   */
  async function confirmed<T>(
    write: () => Promise<T>,
    applied: () => Promise<{ value: T } | null>,
    resource: { type: 'principal' | 'key' | 'group'; id: string },
  ): Promise<T> {
    try {
      return await write();
    } catch (e) {
      if (!(e instanceof StoreUnavailableError) || !e.sent) throw e;
      for (let attempt = 0; attempt < READ_BACK_ATTEMPTS; attempt++) {
        let result: { value: T } | null;
        try {
          result = await applied();
        } catch (readErr) {
          if (!(readErr instanceof StoreUnavailableError)) throw readErr;
          await new Promise((r) => setTimeout(r, READ_BACK_PAUSE_MS));
          continue;
        }
        if (result !== null) return result.value;
        throw new AdminError('store_unavailable', 'The key store did not answer in time; nothing was changed (checked)');
      }
      throw new AdminError(
        'outcome_unknown',
        `The key store did not confirm the write in time: it may or may not have been applied. Look up ${resource.type} "${resource.id}" before retrying`,
        undefined, resource,
      );
    }
  }

  async function guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (e instanceof StoreUnavailableError) throw new AdminError('store_unavailable', 'The key store is unavailable; nothing was changed');
      if (e instanceof StoreConflictError) {
        throw e.code === 'key_limit_reached'
          ? new AdminError('key_limit_reached', `A principal may hold at most ${deps.maxKeysPerPrincipal} live keys`)
          : new AdminError('conflict', e.message);
      }
      throw e;
    }
  }

  function checkRoles(roles: string[], kind: 'user' | 'service'): void {
    const known = deps.roles();
    for (const r of roles) {
      const role = known.get(r);
      if (role === undefined) throw new AdminError('invalid_input', `roles: unknown role "${r}" (known: ${[...known.keys()].join(', ')})`, 'roles');
      if (role.serviceOnly && kind !== 'service') {
        throw new AdminError('invalid_input', `roles: role "${r}" may only be given to service principals`, 'roles');
      }
    }
  }

  /** `null` (PATCH: remove it) passes; text is checked with a message that says what is wrong. */
  function checkDisplayName(value: string | null | undefined): void {
    if (value === undefined || value === null) return;
    const problem = displayNameProblem(value);
    if (problem !== null) throw new AdminError('invalid_input', `displayName: ${problem}`, 'displayName');
  }

  async function checkGroups(groups: string[]): Promise<void> {
    for (const g of groups) if ((await store.getGroup(g)) === null) throw new AdminError('invalid_input', `groups: unknown group "${g}"`, 'groups');
  }

  /** A principal by id or by unique name. */
  async function principal(ref: string): Promise<PrincipalRecord> {
    const p = (await store.getPrincipal(ref)) ?? (await store.getPrincipalByName(ref));
    if (p === null) throw new AdminError('not_found', `No principal "${ref}"`);
    return p;
  }

  function writable(p: PrincipalRecord): void {
    if (p.source === 'config') throw new AdminError('read_only', `Principal "${p.name}" is declared in the config file; change it there`);
  }

  /** The record with the newest last use known here: the store's, or this process's own if later. */
  function withLastUse(k: KeyRecord): KeyRecord {
    const seen = deps.lastUsed?.(k.id);
    return seen !== undefined && (k.lastUsedAt === undefined || k.lastUsedAt < seen) ? { ...k, lastUsedAt: seen } : k;
  }

  async function key(id: string): Promise<KeyRecord> {
    const k = await store.getKey(id);
    if (k === null) throw new AdminError('not_found', `No key "${id}"`);
    return withLastUse(k);
  }

  /** Read-backs for `confirmed`: the record when the write's fields are in it, else null. */
  async function principalCarries(id: string, patch: PrincipalPatch): Promise<{ value: PrincipalRecord | null } | null> {
    const p = await store.getPrincipal(id);
    if (p === null) return { value: null };
    return carries(p, patch) ? { value: p } : null;
  }
  async function keyCarries(id: string, patch: Partial<KeyRecord>): Promise<{ value: KeyRecord | null } | null> {
    const k = await store.getKey(id);
    if (k === null) return { value: null };
    return carries(k, patch) ? { value: k } : null;
  }
  async function groupIs(g: GroupRecord): Promise<{ value: undefined } | null> {
    const found = await store.getGroup(g.name);
    return found !== null && same(found.roles, g.roles) && same(found.resources, g.resources) && same(found.createdAt, g.createdAt) ? { value: undefined } : null;
  }

  const principals = {
    get: (ref: string) => guard(() => principal(ref)),
    page: (page: ListPage) => guard(async (): Promise<Page<PrincipalRecord>> => {
      const got = await store.listPrincipalsPage(page);
      return { items: got.items, last: got.more ? (got.items.at(-1)?.id ?? null) : null };
    }),
    create: (input: NewPrincipal, actor: Actor) => guard(async () => {
      const roles = input.roles ?? [];
      const groups = input.groups ?? [];
      checkRoles(roles, input.kind);
      checkDisplayName(input.displayName);
      await checkGroups(groups);
      const p: PrincipalRecord = {
        id: `p_${randomUUID()}`, name: input.name, kind: input.kind, roles, groups, disabled: false,
        createdAt: now(), metadata: input.metadata ?? {}, source: 'api', ...(input.org === undefined ? {} : { org: input.org }),
        ...(input.displayName === undefined ? {} : { displayName: input.displayName }),
      };
      await confirmed(() => store.createPrincipal(p), async () => ((await store.getPrincipal(p.id)) === null ? null : { value: undefined }), { type: 'principal', id: p.id });
      audit.record(actor, 'principal.create', p.id, { name: p.name, kind: p.kind, roles, ...(p.displayName === undefined ? {} : { displayName: p.displayName }) });
      return p;
    }),
    /** `displayName: null` removes it (the request's way of saying "clear"). */
    update: (ref: string, change: Omit<PrincipalPatch, 'displayName'> & { displayName?: string | null }, actor: Actor) => guard(async () => {
      const p = await principal(ref);
      writable(p);
      if (change.roles !== undefined) checkRoles(change.roles, p.kind);
      checkDisplayName(change.displayName);
      if (change.groups !== undefined) await checkGroups(change.groups);
      const { displayName, ...rest } = change;
      const patch: PrincipalPatch = displayName === undefined ? rest : { ...rest, displayName: displayName ?? undefined };
      const updated = await confirmed(() => store.updatePrincipal(p.id, patch), () => principalCarries(p.id, patch), { type: 'principal', id: p.id });
      if (updated === null) throw new AdminError('not_found', `No principal "${ref}"`);
      await local({ type: 'principal', id: p.id });
      // The display name is not secret and is what people search the trail for: old and new.
      audit.record(actor, 'principal.update', p.id, {
        fields: Object.keys(patch),
        ...(displayName === undefined ? {} : { displayName: displayName ?? null, previousDisplayName: p.displayName ?? null }),
      });
      return updated;
    }),
    setDisabled: (ref: string, disabled: boolean, actor: Actor) => guard(async () => {
      const p = await principal(ref);
      writable(p);
      const updated = await confirmed(() => store.updatePrincipal(p.id, { disabled }), () => principalCarries(p.id, { disabled }), { type: 'principal', id: p.id });
      if (updated === null) throw new AdminError('not_found', `No principal "${ref}"`);
      await local({ type: 'principal', id: p.id });
      audit.record(actor, disabled ? 'principal.disable' : 'principal.enable', p.id, {});
      if (disabled && !p.disabled) deps.events?.emit('principal.disabled', { principalId: p.id, name: p.name, by: actor.name });
      return updated;
    }),
    delete: (ref: string, actor: Actor) => guard(async () => {
      const p = await principal(ref);
      writable(p);
      await confirmed(() => store.deletePrincipal(p.id), async () => ((await store.getPrincipal(p.id)) === null ? { value: true } : null), { type: 'principal', id: p.id });
      await local({ type: 'principal', id: p.id });
      audit.record(actor, 'principal.delete', p.id, { name: p.name });
    }),
  };

  async function insertKey(input: NewKey, secret: string, actor: Actor): Promise<KeyRecord> {
    const p = await principal(input.principal);
    writable(p);
    const lifetimeMs = lifetimeForNewKey(input.expiresInMs, policy());
    const t = now();
    const k: KeyRecord = {
      id: newKeyId(), principalId: p.id, hash: deps.hashSecret(secret), prefix: displayPrefix(secret, deps.keyPrefix),
      createdAt: t, createdBy: actor.name, type: input.type ?? 'api_key',
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.purpose === undefined ? {} : { purpose: input.purpose }),
      ...(input.scopes === undefined ? {} : { scopes: input.scopes }),
      ...(lifetimeMs === undefined ? {} : { expiresAt: new Date(t.getTime() + lifetimeMs) }),
    };
    await confirmed(
      () => store.createKey(k, { maxLive: deps.maxKeysPerPrincipal, now: t }),
      async () => ((await store.getKey(k.id))?.hash === k.hash ? { value: undefined } : null),
      { type: 'key', id: k.id },
    );
    await local({ type: 'key', hash: k.hash }); // a negative cache entry for this secret must go
    return k;
  }

  const keys = {
    get: (id: string) => guard(() => key(id)),
    /**
     * A page of keys in id order. With a filter the store is read page after page until `limit`
     * keys match or it runs out, so a page is short only at the end. `unusedForMs`: keys idle that
     * long — last used before `now − unusedForMs`, or never used and created before it (a key
     * issued yesterday is not "unused for 30 days"). Last use is recorded at most once a minute
     * per key and flushed every few seconds (keystore/last-used.ts); this process's own unflushed
     * uses count at once.
     */
    page: (filter: { principal?: string; status?: KeyStatus; unusedForMs?: number }, page: ListPage) => guard(async (): Promise<Page<KeyRecord>> => {
      const principalId = filter.principal === undefined ? undefined : (await principal(filter.principal)).id;
      const where = principalId === undefined ? {} : { principalId };
      const t = now();
      const since = filter.unusedForMs === undefined ? null : t.getTime() - filter.unusedForMs;
      const wanted = (k: KeyRecord) => (filter.status === undefined || keyStatus(k, t) === filter.status)
        && (since === null || (k.lastUsedAt ?? k.createdAt).getTime() < since);
      const items: KeyRecord[] = [];
      let after = page.after;
      for (;;) {
        const got = await store.listKeysPage(where, { ...(after === undefined ? {} : { after }), limit: page.limit });
        for (const [i, stored] of got.items.entries()) {
          const k = withLastUse(stored);
          if (!wanted(k)) continue;
          items.push(k);
          if (items.length === page.limit) return { items, last: i < got.items.length - 1 || got.more ? k.id : null };
        }
        const lastSeen = got.items.at(-1)?.id;
        if (!got.more || lastSeen === undefined) return { items, last: null };
        after = lastSeen;
      }
    }),
    /** Returns the secret exactly once; it is not stored and cannot be recovered. */
    create: (input: NewKey, actor: Actor) => guard(async () => {
      const secret = generateSecret(deps.keyPrefix);
      const k = await insertKey(input, secret, actor);
      audit.record(actor, 'key.create', k.id, { principalId: k.principalId, expiresAt: k.expiresAt?.toISOString() ?? null });
      deps.events?.emit('key.created', { ...keyRef(k), imported: false, createdBy: actor.name });
      return { key: k, secret };
    }),
    /** Brings in a secret from a system being migrated; stored as its hash like any other. */
    import: (input: NewKey, secret: string, actor: Actor) => guard(async () => {
      if (secret.length < 16 || secret.length > 512 || /\s/.test(secret)) {
        throw new AdminError('invalid_input', 'secret: 16-512 characters without whitespace', 'secret');
      }
      const k = await insertKey(input, secret, actor);
      audit.record(actor, 'key.import', k.id, { principalId: k.principalId });
      deps.events?.emit('key.created', { ...keyRef(k), imported: true, createdBy: actor.name });
      return k;
    }),
    /**
     * Name, purpose and expiry. The store's write publishes the key's invalidation, so every
     * replica re-reads it (expiry is judged on each request, never cached as a verdict).
     */
    update: (id: string, change: KeyChange, actor: Actor) => guard(async () => {
      const k = await key(id);
      const { expiresAt, expiryField: _field, ...rest } = change;
      const patch: KeyPatch = { ...rest };
      if (expiresAt !== undefined) {
        const t = now();
        checkExpiryState(k, expiresAt, t, keyStatus(k, t));
        checkExpiryChange(k, expiresAt, policy(), change.expiryField); // keys.maxLifetime / requireExpiry (issue 14)
        patch.expiresAt = expiresAt ?? undefined; // undefined in a patch clears the field
      }
      const updated = await confirmed(() => store.updateKey(k.id, patch), () => keyCarries(k.id, patch), { type: 'key', id: k.id });
      if (updated === null) throw new AdminError('not_found', `No key "${id}"`);
      await local({ type: 'key', hash: k.hash });
      audit.record(actor, 'key.update', k.id, {
        fields: Object.keys(patch),
        ...(expiresAt === undefined ? {} : { expiresAt: expiresAt?.toISOString() ?? null, previousExpiresAt: k.expiresAt?.toISOString() ?? null }),
      });
      return withLastUse(updated);
    }),
    /** Expire now: refused on every replica at once, with every token minted from it. */
    expire: (id: string, actor: Actor) => guard(async () => {
      const k = await key(id);
      const at = now();
      const updated = await confirmed(() => store.updateKey(k.id, { expiresAt: at }), () => keyCarries(k.id, { expiresAt: at }), { type: 'key', id: k.id });
      if (updated === null) throw new AdminError('not_found', `No key "${id}"`);
      await local({ type: 'key', hash: k.hash });
      audit.record(actor, 'key.expire', k.id, {});
      deps.events?.emit('key.revoked', { ...keyRef(updated), reason: 'expired_by_admin', by: actor.name });
      return withLastUse(updated);
    }),
    /**
     * New secret for the same principal; the old one works for `graceMs` more (default: not at
     * all). The new key's lifetime obeys the policy (lifetimeForRotation): `expiresInMs` when
     * given, else the old key's own lifetime, counted from now.
     */
    rotate: (id: string, graceMs: number, actor: Actor, expiresInMs?: number) => guard(async () => {
      const old = await key(id);
      const t = now();
      if (keyStatus(old, t) !== 'active') throw new AdminError('conflict', `Key "${id}" is not active and cannot be rotated`);
      // Rotated out but still in its grace (active until then): its successor is what rotates.
      if (old.rotatedTo !== undefined) throw new AdminError('conflict', `Key "${id}" was already rotated (to "${old.rotatedTo}"); rotate that key`);
      // One grace period at a time: a graced rotation of a key whose predecessor still works
      // would add a live key each time, past keys.maxPerPrincipal (which rotation does not
      // count), without end. Without grace the old key ends at once: nothing is added.
      const before = graceMs <= 0 || old.rotatedFrom === undefined ? null : await store.getKey(old.rotatedFrom);
      if (before !== null && keyStatus(before, t) === 'active') {
        throw new AdminError('conflict', `Key "${id}" replaced "${before.id}", which still works (its grace period): rotate without grace, or expire it first (POST /v1/keys/${before.id}/expire)`);
      }
      const lifetimeMs = lifetimeForRotation(old, expiresInMs, policy());
      const secret = generateSecret(deps.keyPrefix);
      const next: KeyRecord = {
        ...old, id: newKeyId(), hash: deps.hashSecret(secret), prefix: displayPrefix(secret, deps.keyPrefix),
        createdAt: t, createdBy: actor.name, rotatedFrom: old.id,
      };
      delete next.rotatedTo;
      delete next.lastUsedAt;
      if (lifetimeMs === undefined) delete next.expiresAt;
      else next.expiresAt = new Date(t.getTime() + lifetimeMs);
      const oldEnd = new Date(t.getTime() + graceMs);
      const previous = await confirmed(
        () => store.rotateKey(old.id, next, old.expiresAt !== undefined && old.expiresAt < oldEnd ? old.expiresAt : oldEnd),
        async () => ((await store.getKey(next.id))?.hash === next.hash ? { value: await store.getKey(old.id) } : null),
        { type: 'key', id: next.id },
      );
      if (previous === null) throw new AdminError('not_found', `No key "${id}"`);
      await local({ type: 'key', hash: old.hash });
      await local({ type: 'key', hash: next.hash });
      audit.record(actor, 'key.rotate', old.id, { newKeyId: next.id, graceMs });
      deps.events?.emit('key.rotated', { ...keyRef(next), previousKeyId: old.id, previousExpiresAt: iso(previous.expiresAt), by: actor.name });
      return { key: next, secret, previous };
    }),
    delete: (id: string, actor: Actor) => guard(async () => {
      const k = await key(id);
      await confirmed(() => store.deleteKey(k.id), async () => ((await store.getKey(k.id)) === null ? { value: true } : null), { type: 'key', id: k.id });
      await local({ type: 'key', hash: k.hash });
      audit.record(actor, 'key.delete', k.id, { principalId: k.principalId });
      deps.events?.emit('key.revoked', { ...keyRef(k), reason: 'deleted', by: actor.name });
    }),
  };

  async function group(name: string): Promise<GroupRecord> {
    const g = await store.getGroup(name);
    if (g === null) throw new AdminError('not_found', `No group "${name}"`);
    return g;
  }

  const groups = {
    get: (name: string) => guard(() => group(name)),
    list: () => guard(() => store.listGroups()),
    /** A page of groups in name order (a group's name is its id). */
    page: (page: ListPage) => guard(async (): Promise<Page<GroupRecord>> => {
      const got = await store.listGroupsPage(page);
      return { items: got.items, last: got.more ? (got.items.at(-1)?.name ?? null) : null };
    }),
    create: (input: { name: string; roles?: string[]; resources?: Record<string, string[]> }, actor: Actor) => guard(async () => {
      checkRoles(input.roles ?? [], 'service');
      const g: GroupRecord = { name: input.name, roles: input.roles ?? [], resources: input.resources ?? {}, createdAt: now() };
      await confirmed(() => store.putGroup(g, { create: true }), () => groupIs(g), { type: 'group', id: g.name });
      await local({ type: 'group', name: g.name });
      audit.record(actor, 'group.create', g.name, { roles: g.roles });
      return g;
    }),
    update: (name: string, patch: { roles?: string[]; resources?: Record<string, string[]> }, actor: Actor) => guard(async () => {
      const g = await group(name);
      if (patch.roles !== undefined) checkRoles(patch.roles, 'service');
      const next: GroupRecord = { ...g, ...patch };
      await confirmed(() => store.putGroup(next, { create: false }), () => groupIs(next), { type: 'group', id: name });
      await local({ type: 'group', name });
      audit.record(actor, 'group.update', name, { fields: Object.keys(patch) });
      return next;
    }),
    delete: (name: string, actor: Actor) => guard(async () => {
      await group(name);
      await confirmed(() => store.deleteGroup(name), async () => ((await store.getGroup(name)) === null ? { value: true } : null), { type: 'group', id: name });
      await local({ type: 'group', name });
      audit.record(actor, 'group.delete', name, {});
    }),
  };

  return { principals, keys, groups };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;
