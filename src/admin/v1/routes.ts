import type { Lifecycle, KeyStatus } from '../../lifecycle/service.ts';
import { keyStatus } from '../../lifecycle/service.ts';
import { parseLifetime } from '../../lifecycle/duration.ts';
import { AdminError, type AdminErrorCode } from '../../lifecycle/errors.ts';
import { requestedExpiry } from './expiry-input.ts';
import { encodeCursor, PAGE_QUERY, parsePageQuery } from './pagination.ts';
import type { KeyRecord, PrincipalRecord, GroupRecord } from '../../keystore/types.ts';
import type { IncomingHttpHeaders } from 'node:http';
import type { UsageCounter } from '../../usage/counter.ts';
import type { Actor } from '../../lifecycle/service.ts';
import type { SchemaName } from './schemas.ts';
import { must } from '../../must.ts';
import type { AdminCaller } from '../auth.ts';
import { meRoute } from './me-route.ts';

/** A path parameter the route's template names (the router only calls a handler with all of them). */
function param(c: Call, name: string): string {
  return must(c.params[name], `route template has {${name}}`);
}

/** What a handler gets: path parameters, query, the validated body, and who is calling. */
export interface Call {
  params: Record<string, string>;
  query: URLSearchParams;
  /** Request headers (content negotiation: the audit trail as CSV). */
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  actor: Actor;
  /** The authenticated caller (`GET /v1/me` describes it). */
  caller: AdminCaller;
}

export interface AdminRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** OpenAPI-style template: `/v1/keys/{id}/rotate`. */
  path: string;
  summary: string;
  /**
   * `any-admin`: any authenticated admin caller may call it (`GET /v1/me`), no admin action of
   * its own. Absent: the action derived from method and path (permissions.ts adminActionOf).
   */
  access?: 'any-admin';
  body?: SchemaName;
  /** Status and response schema of success; `null` schema for 204; `page`: `{ items, nextCursor }`. */
  ok: { status: number; schema: SchemaName | { list: SchemaName } | { page: SchemaName } | null };
  /** Query parameters: a description (a string), or a description with its JSON Schema. */
  query?: Record<string, string | QueryParam>;
  /**
   * Refusals beyond those every operation can answer (see openapi.ts `COMMON`): the OpenAPI
   * document lists each with an example, and the conformance test fails on any other.
   */
  refuses?: AdminErrorCode[];
  /** Named examples of the success body (OpenAPI), instead of the one SUCCESS_EXAMPLES has for its schema. */
  okExamples?: Record<string, { summary: string; value: unknown }>;
  /** Media types the success response may have besides application/json (OpenAPI). */
  produces?: string[];
  handle(call: Call): Promise<unknown>;
}

export interface QueryParam {
  description: string;
  schema: object;
}

/** `{ items, nextCursor }` from a lifecycle page. */
function paged<T, V>(page: { items: T[]; last: string | null }, view: (item: T, index: number) => V): { items: V[]; nextCursor: string | null } {
  return { items: page.items.map((item, i) => view(item, i)), nextCursor: page.last === null ? null : encodeCursor(page.last) };
}

function keyView(k: KeyRecord) {
  const { hash: _hash, ...rest } = k; // the hash is as good as a secret for offline guessing: never shown
  return { ...rest, status: keyStatus(k, new Date()) };
}

const principalView = (p: PrincipalRecord) => p;
const groupView = (g: GroupRecord) => g;

function lifetimeOf(value: unknown, field: string): number | undefined {
  return value === undefined ? undefined : parseLifetime(value as string | number, field);
}

/** Each listed key's quota state, its principal read once per principal. */
async function quotaOf(lc: Lifecycle, keys: KeyRecord[], left: NonNullable<Parameters<typeof adminRoutes>[2]>) {
  const principals = new Map<string, Promise<PrincipalRecord | null>>();
  const principal = (id: string) => {
    let p = principals.get(id);
    if (p === undefined) principals.set(id, (p = lc.principals.get(id).catch(() => null)));
    return p;
  };
  return Promise.all(keys.map(async (k) => left(k, await principal(k.principalId))));
}

const ONCE = 'This secret is shown once. keygate stores only its hash; store it now.';

/** The admin API, one entry per operation: dispatch and the OpenAPI document both read this list. */
export function adminRoutes(
  lc: Lifecycle, usage?: Pick<UsageCounter, 'sevenDay'>,
  /** What is left of a key's own quota (src/admin/v1/limit-routes.ts). */
  quotaLeft?: (k: KeyRecord, p: PrincipalRecord | null) => Promise<{ remaining: number; resetsAt: string | null } | null>,
): AdminRoute[] {
  return [
    // Its own principal by id; any failure to read it is answered with what authentication already knows.
    meRoute((id) => lc.principals.get(id)),
    { method: 'GET', path: '/v1/principals', summary: 'List principals, a page at a time (in id order)', ok: { status: 200, schema: { page: 'Principal' } },
      query: PAGE_QUERY,
      handle: async (c) => paged(await lc.principals.page(parsePageQuery(c.query)), principalView) },
    { method: 'POST', path: '/v1/principals', summary: 'Create a principal (human user or service account)', body: 'PrincipalCreate', ok: { status: 201, schema: 'Principal' },
      refuses: ['conflict'],
      handle: async (c) => principalView(await lc.principals.create(c.body as never, c.actor)) },
    { method: 'GET', path: '/v1/principals/{id}', summary: 'Show a principal (by id or name)', ok: { status: 200, schema: 'Principal' },
      handle: async (c) => principalView(await lc.principals.get(param(c, 'id'))) },
    { method: 'PATCH', path: '/v1/principals/{id}', summary: 'Change the display name, roles, groups, org or metadata; applies to existing keys at once', body: 'PrincipalUpdate', ok: { status: 200, schema: 'Principal' },
      refuses: ['read_only'],
      handle: async (c) => principalView(await lc.principals.update(param(c, 'id'), c.body, c.actor)) },
    { method: 'DELETE', path: '/v1/principals/{id}', summary: 'Delete a principal and all its keys', ok: { status: 204, schema: null },
      refuses: ['read_only'],
      handle: async (c) => lc.principals.delete(param(c, 'id'), c.actor) },
    { method: 'POST', path: '/v1/principals/{id}/disable', summary: 'Disable: every key and token of the principal stops working at once', ok: { status: 200, schema: 'Principal' },
      refuses: ['read_only'],
      handle: async (c) => principalView(await lc.principals.setDisabled(param(c, 'id'), true, c.actor)) },
    { method: 'POST', path: '/v1/principals/{id}/enable', summary: 'Enable a disabled principal', ok: { status: 200, schema: 'Principal' },
      refuses: ['read_only'],
      handle: async (c) => principalView(await lc.principals.setDisabled(param(c, 'id'), false, c.actor)) },

    { method: 'GET', path: '/v1/keys', summary: 'List keys (never secrets), a page at a time (in id order)', ok: { status: 200, schema: { page: 'Key' } },
      query: {
        principal: 'Principal id or name',
        status: { description: 'Only keys in this state', schema: { enum: ['active', 'expired', 'revoked', 'rotated'] } },
        unusedFor: { description: 'Only keys not used for this long (30d): last used before then, or never and created before then', schema: { type: 'string', pattern: '^[0-9]+[smhd]?$' } },
        ...PAGE_QUERY,
      },
      refuses: ['not_found'],
      handle: async (c) => {
        const status = c.query.get('status') ?? undefined;
        if (status !== undefined && !['active', 'expired', 'revoked', 'rotated'].includes(status)) {
          throw new AdminError('invalid_input', 'status: one of active, expired, revoked, rotated', 'status');
        }
        const principal = c.query.get('principal') ?? undefined;
        const unused = c.query.get('unusedFor') ?? undefined;
        const unusedForMs = unused === undefined ? undefined : parseLifetime(unused, 'unusedFor');
        const page = await lc.keys.page({
          ...(principal === undefined ? {} : { principal }), ...(status === undefined ? {} : { status: status as KeyStatus }),
          ...(unusedForMs === undefined ? {} : { unusedForMs }),
        }, parsePageQuery(c.query));
        // 7-day request counts: null when unknown (usage store unreachable), never a made-up 0.
        const week = usage === undefined ? new Map<string, number>() : await usage.sevenDay(page.items.map((k) => k.id));
        const left = quotaLeft === undefined ? [] : await quotaOf(lc, page.items, quotaLeft);
        return paged(page, (k, i) => ({ ...keyView(k), requests7d: week.get(k.id) ?? null, ...(quotaLeft === undefined ? {} : { quotaLeft: left[i] ?? null }) }));
      } },
    { method: 'POST', path: '/v1/keys', summary: 'Issue a key; the response carries its secret, once', body: 'KeyCreate', ok: { status: 201, schema: 'KeyWithSecret' },
      refuses: ['not_found', 'read_only', 'key_limit_reached', 'conflict', 'key_lifetime_exceeded', 'key_expiry_required', 'scopes_not_held'],
      handle: async (c) => {
        const b = c.body as { principal: string; name?: string; purpose?: string; expiresIn?: string | number; scopes?: string[]; type?: 'api_key' | 'key_pair' };
        const expiresInMs = lifetimeOf(b.expiresIn, 'expiresIn');
        const { key, secret } = await lc.keys.create({ ...b, ...(expiresInMs === undefined ? {} : { expiresInMs }) }, c.actor);
        return { key: keyView(key), secret, notice: ONCE };
      } },
    { method: 'POST', path: '/v1/keys/import', summary: 'Import an existing secret from a system being migrated', body: 'KeyImport', ok: { status: 201, schema: 'Key' },
      refuses: ['not_found', 'read_only', 'key_limit_reached', 'conflict', 'key_lifetime_exceeded', 'key_expiry_required'],
      handle: async (c) => {
        const { secret, expiresIn, ...b } = c.body as { principal: string; secret: string; name?: string; purpose?: string; expiresIn?: string | number; scopes?: string[] };
        const expiresInMs = lifetimeOf(expiresIn, 'expiresIn');
        return keyView(await lc.keys.import({ ...b, ...(expiresInMs === undefined ? {} : { expiresInMs }) }, secret, c.actor));
      } },
    { method: 'GET', path: '/v1/keys/{id}', summary: 'Show a key', ok: { status: 200, schema: 'Key' },
      handle: async (c) => keyView(await lc.keys.get(param(c, 'id'))) },
    { method: 'PATCH', path: '/v1/keys/{id}', summary: 'Change a key\'s name, purpose or expiry (on every replica at once)', body: 'KeyUpdate', ok: { status: 200, schema: 'Key' },
      refuses: ['conflict', 'key_lifetime_exceeded', 'key_expiry_required'],
      handle: async (c) => {
        const { expiresIn, expiresAt, ...rest } = c.body as { name?: string; purpose?: string; expiresIn?: unknown; expiresAt?: unknown };
        const at = requestedExpiry({ expiresIn, expiresAt }, new Date());
        const field = expiresIn === undefined ? 'expiresAt' : 'expiresIn';
        return keyView(await lc.keys.update(param(c, 'id'), { ...rest, ...(at === undefined ? {} : { expiresAt: at, expiryField: field }) }, c.actor));
      } },
    { method: 'DELETE', path: '/v1/keys/{id}', summary: 'Delete a key', ok: { status: 204, schema: null },
      handle: async (c) => lc.keys.delete(param(c, 'id'), c.actor) },
    { method: 'POST', path: '/v1/keys/{id}/expire', summary: 'Expire a key now, on every replica', ok: { status: 200, schema: 'Key' },
      handle: async (c) => keyView(await lc.keys.expire(param(c, 'id'), c.actor)) },
    { method: 'POST', path: '/v1/keys/{id}/rotate', summary: 'Rotate: a new secret; the old one works for the grace period', body: 'KeyRotate', ok: { status: 201, schema: 'KeyWithSecret' },
      refuses: ['conflict', 'key_lifetime_exceeded', 'key_expiry_required'],
      handle: async (c) => {
        const b = c.body as { grace?: string | number; expiresIn?: string | number };
        const grace = lifetimeOf(b.grace, 'grace') ?? 0;
        const { key, secret } = await lc.keys.rotate(param(c, 'id'), grace, c.actor, lifetimeOf(b.expiresIn, 'expiresIn'));
        return { key: keyView(key), secret, notice: ONCE };
      } },

    { method: 'GET', path: '/v1/groups', summary: 'List groups, a page at a time (in name order)', ok: { status: 200, schema: { page: 'Group' } },
      query: PAGE_QUERY,
      handle: async (c) => paged(await lc.groups.page(parsePageQuery(c.query)), groupView) },
    { method: 'POST', path: '/v1/groups', summary: 'Create a group: roles granted on named resources', body: 'GroupCreate', ok: { status: 201, schema: 'Group' },
      refuses: ['conflict'],
      handle: async (c) => groupView(await lc.groups.create(c.body as never, c.actor)) },
    { method: 'GET', path: '/v1/groups/{name}', summary: 'Show a group', ok: { status: 200, schema: 'Group' },
      handle: async (c) => groupView(await lc.groups.get(param(c, 'name'))) },
    { method: 'PATCH', path: '/v1/groups/{name}', summary: 'Change a group\'s roles or resources', body: 'GroupUpdate', ok: { status: 200, schema: 'Group' },
      handle: async (c) => groupView(await lc.groups.update(param(c, 'name'), c.body, c.actor)) },
    { method: 'DELETE', path: '/v1/groups/{name}', summary: 'Delete a group', ok: { status: 204, schema: null },
      handle: async (c) => lc.groups.delete(param(c, 'name'), c.actor) },
  ];
}
