import type { ActionSet } from '../authz/actions.ts';

/** Every admin permission at once: what the admin token has, and what `*` includes. */
export const ADMIN_ACTION = 'keygate:admin';

/** What the admin API manages; each is read (GET) or written (everything else). */
export const ADMIN_RESOURCES = ['principals', 'keys', 'groups', 'audit', 'webhooks'] as const;
export type AdminResource = (typeof ADMIN_RESOURCES)[number];

/**
 * The action an admin endpoint requires, from its method and the first segment after `/v1/`:
 * `GET /v1/keys/{id}` needs `keygate:admin:keys:read`, `POST /v1/principals` needs
 * `keygate:admin:principals:write`. Derived rather than listed per route, so a new endpoint
 * cannot be added without one; an endpoint outside ADMIN_RESOURCES fails at startup.
 */
export function adminActionOf(method: string, path: string): string {
  const resource = path.split('/')[2] ?? '';
  if (!(ADMIN_RESOURCES as readonly string[]).includes(resource)) throw new Error(`admin route ${path}: no admin resource "${resource}"`);
  return `keygate:admin:${resource}:${method === 'GET' || method === 'HEAD' ? 'read' : 'write'}`;
}

/**
 * Whether a set of grants (a principal's roles, or a key's scopes) covers an admin action. Besides
 * the exact action and the wildcards ActionSet understands (`keygate:admin:*`,
 * `keygate:admin:keys:*`, `*`), `keygate:admin` covers every admin action and
 * `keygate:admin:read` / `keygate:admin:write` cover that verb on every resource.
 */
export function coversAdmin(set: ActionSet, action: string): boolean {
  const verb = action.slice(action.lastIndexOf(':') + 1);
  if (set.has(action) || set.has(ADMIN_ACTION)) return true;
  return (verb === 'read' || verb === 'write') && set.has(`${ADMIN_ACTION}:${verb}`);
}

/**
 * Manage only one's own keys (issue 15, Mend's user keys): list, create, rotate, expire, delete
 * and edit keys whose principal is the caller. Not covered by `keygate:admin:read|write`; granted
 * by `keygate:admin`, `keygate:admin:keys:*`, `keygate:admin:*` or by name. Enforced in
 * v1/own-keys.ts.
 */
export const OWN_KEYS_ACTION = 'keygate:admin:keys:own';

/** Every admin action a caller can hold, in the order `/v1/me` lists them. */
export const ADMIN_ACTIONS: readonly string[] = [
  ...ADMIN_RESOURCES.flatMap((r) => [`${ADMIN_ACTION}:${r}:read`, `${ADMIN_ACTION}:${r}:write`]),
  OWN_KEYS_ACTION,
];

/** Whether the set covers any admin action at all (a principal with none is no admin caller). */
export function anyAdmin(set: ActionSet): boolean {
  return ADMIN_ACTIONS.some((a) => coversAdmin(set, a));
}
