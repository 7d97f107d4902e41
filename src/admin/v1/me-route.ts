import { permissionsOf } from '../auth.ts';
import type { PrincipalRecord } from '../../keystore/types.ts';
import type { AdminRoute } from './routes.ts';
import { SUCCESS_EXAMPLES } from './success-examples.ts';

/**
 * `GET /v1/me`: who the caller is and which admin actions it may take (the console's "My keys"
 * and its menus start here). Any authenticated admin caller may read itself, whatever it holds:
 * the route has no admin action of its own (`access: 'any-admin'`). The refusals are those of
 * authentication alone: 401 for no or a bad credential, 403 for a principal or key scopes that
 * hold no admin action at all, 503 when the store cannot check an admin key.
 */
export function meRoute(principal: (id: string) => Promise<PrincipalRecord | null>): AdminRoute {
  return {
    method: 'GET', path: '/v1/me', access: 'any-admin',
    summary: 'Who the caller is and the admin actions it may take',
    ok: { status: 200, schema: 'Me' },
    okExamples: {
      key: { summary: 'An admin key', value: SUCCESS_EXAMPLES['Me'] },
      token: { summary: 'The admin token: no principal, every action', value: SUCCESS_EXAMPLES['MeToken'] },
    },
    handle: async (c) => {
      const caller = c.caller;
      // The whole record (roles, groups, org) when it can be read; a principal may always see its own.
      // Store down: the id, name and kind the credential check already has are still the truth.
      const record = caller.principal === null ? null : await principal(caller.principal.id).catch(() => null);
      return {
        principal: record ?? caller.principal, permissions: permissionsOf(caller), via: caller.via,
        ...(caller.actor.keyId === undefined ? {} : { keyId: caller.actor.keyId }),
      };
    },
  };
}
