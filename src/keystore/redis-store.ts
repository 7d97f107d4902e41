import {
  decodeGroup, decodeKey, decodePrincipal, encodeGroup, encodeKey, encodeKeyPatch, encodePrincipal,
  encodePrincipalPatch, pairsToObject, type FieldPatch,
} from './redis/codec.ts';
import type { ConnectionTuning, RedisTarget } from './redis/connection.ts';
import { openLink, type StoreLogger } from './redis/link.ts';
import {
  ALL_KEY_IDS, GET_RECORDS, CREATE_KEY, CREATE_PRINCIPAL, DELETE_GROUP, DELETE_KEY, DELETE_PRINCIPAL, FIND_BY_HASH, LIST_ALL_KEYS,
  LIST_MEMBERS, PATCH_RECORD, PRINCIPAL_BY_NAME, PUT_GROUP, ROTATE_KEY, SYNC_DECLARATIVE, TOUCH_KEYS,
  runScript, type LuaScript,
} from './redis/scripts.ts';
import { declaredRecords } from './memory-store.ts';
import {
  StoreConflictError, StoreUnavailableError, type DeclaredPrincipalInput, type GroupRecord, type Invalidation,
  type KeyPatch, type KeyRecord, type KeyStore, type KeyWithPrincipal, type ListPage, type PrincipalPatch, type StorePage,
} from './types.ts';

export interface RedisKeyStoreOptions extends RedisTarget, ConnectionTuning {
  /** Namespace of every key (as the hash tag `{prefix}`) and of the channel `<prefix>:invalidate`. @default "kg" */
  prefix?: string;
  logger: StoreLogger;
}

/**
 * The shared store for several replicas. Layout, all under one hash tag so multi-key scripts
 * work in Cluster (`kg` = prefix):
 *
 *   {kg}:p:<id>      hash  principal          {kg}:k:<id>      hash  key
 *   {kg}:pn:<name>   str   principal id       {kg}:kh:<hash>   str   key id
 *   {kg}:ps          set   principal ids      {kg}:pk:<pid>    set   key ids of a principal
 *   {kg}:g:<name>    hash  group              {kg}:gs          set   group names
 *
 * Writes go through Lua scripts (see redis/scripts.ts) that also PUBLISH the invalidation on
 * `kg:invalidate`; a second connection subscribes to it and feeds `onInvalidate`.
 */
export function createRedisKeyStore(opts: RedisKeyStoreOptions): KeyStore {
  const prefix = opts.prefix ?? 'kg';
  if (prefix === '' || /[{}]/.test(prefix)) throw new TypeError(`redis store: invalid prefix ${JSON.stringify(prefix)}`);
  const root = `{${prefix}}:`;
  const channel = `${prefix}:invalidate`;
  const key = {
    principal: (id: string) => `${root}p:${id}`,
    principalName: (name: string) => `${root}pn:${name}`,
    principals: `${root}ps`,
    key: (id: string) => `${root}k:${id}`,
    keyHash: (hash: string) => `${root}kh:${hash}`,
    principalKeys: (pid: string) => `${root}pk:${pid}`,
    group: (name: string) => `${root}g:${name}`,
    groups: `${root}gs`,
  };
  const invalidationListeners: ((inv: Invalidation) => void)[] = [];
  const stateListeners: ((s: 'up' | 'down') => void)[] = [];

  const link = openLink(opts, opts, channel, opts.logger, {
    message(payload) {
      const inv = parseInvalidation(payload);
      if (inv === null) {
        opts.logger.warn({ store: 'redis', payload: payload.slice(0, 200) }, 'ignoring malformed invalidation');
        return;
      }
      for (const l of invalidationListeners) notify(l, inv);
    },
    state(s) {
      for (const l of stateListeners) notify(l, s);
    },
  });

  function notify<T>(listener: (v: T) => void, v: T): void {
    try {
      listener(v);
    } catch (e) {
      opts.logger.error({ store: 'redis', err: e instanceof Error ? e.message : String(e) }, 'store listener threw');
    }
  }

  /** Every Redis fault becomes StoreUnavailableError; contract conflicts pass through. */
  async function call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const pending = link.firstAttempt();
    if (pending !== null) await pending;
    const sendable = link.cmd.status === 'ready';
    try {
      const v = await fn();
      link.callSucceeded();
      return v;
    } catch (e) {
      if (e instanceof StoreConflictError) throw e;
      link.callFailed();
      throw new StoreUnavailableError(`redis store: ${op} failed: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e, sent: sendable && !notSent(e),
      });
    }
  }

  const run = (s: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> =>
    runScript(link.cmd, s, keys, [root, channel, ...args]);

  function conflict(reply: unknown, what: string): void {
    if (reply === 'duplicate' || reply === 'key_limit_reached' || reply === 'principal_not_found') {
      throw new StoreConflictError(reply, `${what}: ${reply.replaceAll('_', ' ')}`);
    }
  }

  function list<T>(reply: unknown, decode: (h: Record<string, string>) => T): T[] {
    return (reply as unknown[]).map((flat) => decode(pairsToObject(flat)));
  }

  /**
   * A ListPage from the ids of a set: the ids are read whole and sorted here (Lua's string
   * order follows the server's locale; JavaScript's is code-unit order everywhere), then only
   * the page's records are fetched, in one script. O(ids) per page: fine for admin listings of
   * thousands; a sorted-set index would make it O(page) at the cost of a data migration.
   */
  async function pageOfIds<T>(ids: string[], page: ListPage, infix: string, decode: (h: Record<string, string>) => T): Promise<StorePage<T>> {
    const { after } = page;
    const rest = (after === undefined ? ids : ids.filter((id) => id > after)).sort(compare);
    const wanted = rest.slice(0, page.limit);
    const reply = wanted.length === 0 ? [] : (await run(GET_RECORDS, wanted.map((id) => `${root}${infix}${id}`), [])) as unknown[];
    const items = reply.filter((flat) => Array.isArray(flat) && flat.length > 0).map((flat) => decode(pairsToObject(flat)));
    return { items, more: rest.length > page.limit };
  }

  const patchArgs = (p: FieldPatch): string[] => [String(p.set.length), ...p.set, ...p.del];
  const liveLimit = (maxLive: number): number => (Number.isFinite(maxLive) ? maxLive : -1);

  return {
    kind: 'redis',

    findByHash: (hash) => call('findByHash', async () => {
      const reply = await run(FIND_BY_HASH, [key.keyHash(hash)], []);
      if (reply === null) return null;
      const [k, p] = reply as [unknown, unknown];
      return { key: decodeKey(pairsToObject(k)), principal: decodePrincipal(pairsToObject(p)) } satisfies KeyWithPrincipal;
    }),

    syncDeclarative: (declared) => call('syncDeclarative', async () => {
      const reply = await run(SYNC_DECLARATIVE, [key.principals], syncArgs(declared, new Date()));
      if (Array.isArray(reply)) throw new StoreConflictError('duplicate', `declared ${String(reply[1])} collides with an existing record`);
    }),

    createPrincipal: (p) => call('createPrincipal', async () => {
      const reply = await run(CREATE_PRINCIPAL, [key.principal(p.id), key.principalName(p.name), key.principals], [p.id, ...encodePrincipal(p)]);
      conflict(reply, `principal ${p.name}`);
    }),

    getPrincipal: (id) => call('getPrincipal', async () => {
      const h = await link.cmd.hgetall(key.principal(id));
      return Object.keys(h).length === 0 ? null : decodePrincipal(h);
    }),

    getPrincipalByName: (name) => call('getPrincipalByName', async () => {
      const reply = await run(PRINCIPAL_BY_NAME, [key.principalName(name)], []);
      return reply === null ? null : decodePrincipal(pairsToObject(reply));
    }),

    listPrincipals: () => call('listPrincipals', async () => {
      const all = list(await run(LIST_MEMBERS, [key.principals], ['p:']), decodePrincipal);
      return all.sort((a, b) => compare(a.name, b.name));
    }),

    listPrincipalsPage: (page) => call('listPrincipalsPage', async () =>
      pageOfIds(await link.cmd.smembers(key.principals), page, 'p:', decodePrincipal)),

    updatePrincipal: (id, patch: PrincipalPatch) => call('updatePrincipal', async () => {
      const reply = await run(PATCH_RECORD, [key.principal(id)], ['principal', id, ...patchArgs(encodePrincipalPatch(patch))]);
      return reply === null ? null : decodePrincipal(pairsToObject(reply));
    }),

    deletePrincipal: (id) => call('deletePrincipal', async () => (await run(DELETE_PRINCIPAL, [key.principal(id)], [id])) === 1),

    createKey: (k, limits) => call('createKey', async () => {
      const reply = await run(
        CREATE_KEY,
        [key.key(k.id), key.keyHash(k.hash), key.principal(k.principalId), key.principalKeys(k.principalId)],
        [k.id, k.hash, liveLimit(limits.maxLive), limits.now.getTime(), ...encodeKey(k)],
      );
      conflict(reply, `key ${k.id}`);
    }),

    getKey: (id) => call('getKey', async () => {
      const h = await link.cmd.hgetall(key.key(id));
      return Object.keys(h).length === 0 ? null : decodeKey(h);
    }),

    listKeys: (filter) => call('listKeys', async () => {
      const reply = filter.principalId === undefined
        ? await run(LIST_ALL_KEYS, [key.principals], [])
        : await run(LIST_MEMBERS, [key.principalKeys(filter.principalId)], ['k:']);
      return list(reply, decodeKey).sort(byCreation);
    }),

    listKeysPage: (filter, page) => call('listKeysPage', async () => {
      const ids = filter.principalId === undefined
        ? ((await run(ALL_KEY_IDS, [key.principals], [])) as string[])
        : await link.cmd.smembers(key.principalKeys(filter.principalId));
      return pageOfIds(ids, page, 'k:', decodeKey);
    }),

    updateKey: (id, patch: KeyPatch) => call('updateKey', async () => {
      const reply = await run(PATCH_RECORD, [key.key(id)], ['key', id, ...patchArgs(encodeKeyPatch(patch))]);
      return reply === null ? null : decodeKey(pairsToObject(reply));
    }),

    deleteKey: (id) => call('deleteKey', async () => (await run(DELETE_KEY, [key.key(id)], [id])) === 1),

    rotateKey: (oldId, next, oldExpiresAt) => call('rotateKey', async () => {
      const reply = await run(
        ROTATE_KEY,
        [key.key(oldId), key.key(next.id), key.keyHash(next.hash), key.principal(next.principalId), key.principalKeys(next.principalId)],
        [oldId, next.id, next.hash, oldExpiresAt.getTime(), ...encodeKey(next)],
      );
      if (reply === null) return null;
      conflict(reply, `key ${next.id}`);
      return decodeKey(pairsToObject(reply));
    }),

    touchKeys: (lastUsed) => call('touchKeys', async () => {
      const entries = [...lastUsed];
      // Chunks keep each script short (it blocks Redis while it runs); sent together, they pipeline.
      const chunks: Promise<unknown>[] = [];
      for (let i = 0; i < entries.length; i += 500) {
        const chunk = entries.slice(i, i + 500);
        chunks.push(run(TOUCH_KEYS, chunk.map(([id]) => key.key(id)), chunk.map(([, at]) => at.getTime())));
      }
      await Promise.all(chunks);
    }),

    putGroup: (g, o) => call('putGroup', async () => {
      const reply = await run(PUT_GROUP, [key.group(g.name), key.groups], [g.name, o.create ? '1' : '0', ...encodeGroup(g)]);
      conflict(reply, `group ${g.name}`);
    }),

    getGroup: (name) => call('getGroup', async () => {
      const h = await link.cmd.hgetall(key.group(name));
      return Object.keys(h).length === 0 ? null : decodeGroup(h);
    }),

    listGroups: () => call('listGroups', async () => {
      const all: GroupRecord[] = list(await run(LIST_MEMBERS, [key.groups], ['g:']), decodeGroup);
      return all.sort((a, b) => compare(a.name, b.name));
    }),

    // Group names are the ids of the groups set: the same paging as principals and keys.
    listGroupsPage: (page) => call('listGroupsPage', async () =>
      pageOfIds(await link.cmd.smembers(key.groups), page, 'g:', decodeGroup)),

    deleteGroup: (name) => call('deleteGroup', async () => (await run(DELETE_GROUP, [key.group(name), key.groups], [name])) === 1),

    onInvalidate(listener) {
      invalidationListeners.push(listener);
    },
    onConnectionChange(listener) {
      stateListeners.push(listener);
    },
    isReady: () => link.isReady(),
    syncedAt: () => link.syncedAt(),
    close: () => link.close(),
  };
}

/** Flattens the declared set into the argument list SYNC_DECLARATIVE reads. */
function syncArgs(declared: DeclaredPrincipalInput[], now: Date): string[] {
  const args: string[] = [String(declared.length)];
  for (const { principal, keys } of declaredRecords(declared, now)) {
    const pf = encodePrincipal(principal);
    args.push(principal.id, principal.name, String(pf.length), ...pf, String(keys.length));
    for (const k of keys) {
      const kf = encodeKey(k);
      args.push(k.id, k.hash, String(kf.length), ...kf);
    }
  }
  return args;
}

/**
 * ioredis refuses a command it never wrote (no offline queue, socket not writable). Anything
 * else — a timeout above all — may have reached Redis and run there.
 */
function notSent(e: unknown): boolean {
  return e instanceof Error && e.message.startsWith("Stream isn't writeable");
}

function parseInvalidation(payload: string): Invalidation | null {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  switch (o.type) {
    case 'key': return typeof o.hash === 'string' ? { type: 'key', hash: o.hash } : null;
    case 'principal': return typeof o.id === 'string' ? { type: 'principal', id: o.id } : null;
    case 'group': return typeof o.name === 'string' ? { type: 'group', name: o.name } : null;
    case 'all': return { type: 'all' };
    default: return null;
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byCreation = (a: KeyRecord, b: KeyRecord): number =>
  a.createdAt.getTime() - b.createdAt.getTime() || compare(a.id, b.id);
