import { AdminError } from '../../lifecycle/errors.ts';
import type { Lifecycle } from '../../lifecycle/service.ts';
import type { AdminCaller } from '../auth.ts';
import { OWN_KEYS_ACTION } from '../permissions.ts';
import type { AdminRoute, Call } from './routes.ts';

/**
 * `keygate:admin:keys:own` (issue 15): a caller that may not read or write keys in general may
 * still manage the keys of its own principal, and nothing else. Applied by the dispatcher before
 * a key route's handler runs, for every front end alike (console, CLI, scripts):
 *
 * - listing is limited to the caller's principal; asking for another's is the 404 of a
 *   principal that does not exist;
 * - a key route with `{id}` answers another principal's key with the same 404 as a missing
 *   key, so ids cannot be probed (unkey: "not found" and "not yours" are one answer);
 * - creating is for the caller's own principal only, and a new key's scopes must be held by
 *   the caller's credential: a key narrows its owner's actions, it never widens the
 *   credential that issued it (a session opened with a scoped key must give scopes);
 * - importing a secret from another system stays with `keygate:admin:keys:write`.
 */
/**
 * The key routes `keys:own` covers, listed rather than matched by prefix: a key's limits and
 * quota are set by administrators, so its owner may read them but not lift or refill them
 * (`PATCH /v1/keys/{id}/limits`, `POST /v1/keys/{id}/quota/reset`), nor any route added later.
 */
const OWN_ROUTES = new Set([
  'GET /v1/keys', 'POST /v1/keys',
  'GET /v1/keys/{id}', 'PATCH /v1/keys/{id}', 'DELETE /v1/keys/{id}',
  'POST /v1/keys/{id}/expire', 'POST /v1/keys/{id}/rotate',
  'GET /v1/keys/{id}/usage', 'GET /v1/keys/{id}/limits',
]);

export function createOwnKeysGuard(lc: Pick<Lifecycle, 'keys'>) {
  return {
    /** Whether a request the caller's grants do not cover may go ahead as an own-keys request. */
    applies(route: AdminRoute, caller: AdminCaller): boolean {
      return caller.principal !== null && OWN_ROUTES.has(`${route.method} ${route.path}`) && caller.may(OWN_KEYS_ACTION);
    },

    /** Refuses, or narrows `call` to the caller's own keys. Runs after the body was validated. */
    async check(route: AdminRoute, call: Call, caller: AdminCaller): Promise<void> {
      const me = caller.principal;
      if (me === null) throw new AdminError('forbidden', 'No principal');
      const mine = (ref: string) => ref === me.id || ref === me.name;
      if (route.path === '/v1/keys' && route.method === 'GET') {
        const asked = call.query.get('principal');
        if (asked !== null && !mine(asked)) throw new AdminError('not_found', `No principal "${asked}"`);
        call.query.set('principal', me.id);
        return;
      }
      if (route.path === '/v1/keys' && route.method === 'POST') {
        const b = call.body as { principal?: string; scopes?: string[] };
        if (b.principal === undefined || !mine(b.principal)) {
          throw new AdminError('forbidden', `With ${OWN_KEYS_ACTION} a caller issues keys for its own principal only ("${me.name}")`, 'principal');
        }
        if (b.scopes === undefined && caller.keyScopes !== null) {
          throw new AdminError('scopes_not_held', 'This credential is itself scoped: give the new key scopes within its own', 'scopes');
        }
        const beyond = (b.scopes ?? []).filter((s) => !caller.holds(s));
        if (beyond.length > 0) throw new AdminError('scopes_not_held', `scopes: not held by the caller, so a key of its own cannot have them: ${beyond.join(', ')}`, 'scopes');
        b.principal = me.id;
        return;
      }
      const id = call.params['id'];
      if (id !== undefined && route.path.startsWith('/v1/keys/{id}')) {
        const k = await lc.keys.get(id);
        if (k.principalId !== me.id) throw new AdminError('not_found', `No key "${id}"`);
        return;
      }
      throw new AdminError('forbidden', `Missing admin permission for ${route.method} ${route.path} (${OWN_KEYS_ACTION} covers the caller's own keys only)`);
    },
  };
}

export type OwnKeysGuard = ReturnType<typeof createOwnKeysGuard>;
