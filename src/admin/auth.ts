import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { hashSecret } from '../credentials/hash.ts';
import { AdminError } from '../lifecycle/errors.ts';
import type { Actor } from '../lifecycle/service.ts';
import type { KeyResolver } from '../keystore/resolve.ts';
import type { Authorizer } from '../authz/authorize.ts';
import { ActionSet } from '../authz/actions.ts';
import { ADMIN_ACTION, anyAdmin, coversAdmin } from './permissions.ts';

export { ADMIN_ACTION };

export interface AdminAuthDeps {
  /** The configured admin token ("" disables token auth). */
  token: () => string;
  /** Secret → store key, as for proxied requests (SHA-256, or HMAC with the pepper). */
  hasher: () => (secret: string) => string;
  resolver: KeyResolver;
  authorizer: () => Authorizer;
}

/** An authenticated admin caller: who (for the audit trail) and which admin actions it may take. */
export interface AdminCaller {
  actor: Actor;
  /** Whether the caller may take an admin action (`keygate:admin:keys:write`, …). */
  may(action: string): boolean;
}

function client(req: IncomingMessage): { client?: string } {
  const a = req.socket.remoteAddress;
  return a === undefined ? {} : { client: a };
}

const EVERYTHING = () => true;

/**
 * Admin callers present either the admin token or a keygate key whose principal holds admin
 * actions (see permissions.ts). A key's `scopes` narrow the admin API exactly as they narrow
 * proxied routes: a key scoped to `application:view` can do nothing here, whatever its principal
 * holds. Token comparison is over SHA-256 digests with timingSafeEqual, so neither the content
 * nor the length of the token leaks through timing.
 */
export function createAdminAuth(deps: AdminAuthDeps) {
  return async function authenticateAdmin(req: IncomingMessage): Promise<AdminCaller> {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer[ ]+(\S+)$/i.exec(header);
    if (m === null) throw new AdminError('unauthorized', 'Send Authorization: Bearer <admin token or admin key>');
    const presented = m[1] as string;
    const token = deps.token();
    if (token !== '' && timingSafeEqual(Buffer.from(hashSecret(presented), 'hex'), Buffer.from(hashSecret(token), 'hex'))) {
      return { actor: { name: 'admin-token', ...client(req) }, may: EVERYTHING };
    }
    let r: Awaited<ReturnType<KeyResolver['resolve']>>;
    try {
      r = await deps.resolver.resolve(deps.hasher()(presented), Date.now());
    } catch {
      throw new AdminError('store_unavailable', 'The key store is unavailable');
    }
    // As on the proxy: a key pair's secret is only ever exchanged for a short-lived token.
    if (r.status !== 'not_found' && r.key.type === 'key_pair') {
      throw new AdminError('key_pair_secret_not_credential', 'A key pair secret is not a credential; exchange it for a short-lived token');
    }
    if (r.status !== 'valid') throw new AdminError('unauthorized', 'The admin credential is not valid');
    const granted = deps.authorizer().actionsOf(r.principal);
    if (!anyAdmin(granted)) throw new AdminError('forbidden', `The principal holds no admin action (${ADMIN_ACTION} or ${ADMIN_ACTION}:…)`);
    const scopes = r.key.scopes === undefined ? null : new ActionSet(r.key.scopes);
    if (scopes !== null && !anyAdmin(scopes)) throw new AdminError('forbidden', 'The key\'s scopes include no admin action');
    return {
      actor: { name: r.principal.name, id: r.principal.id, keyId: r.key.id, ...client(req) },
      may: (action) => coversAdmin(granted, action) && (scopes === null || coversAdmin(scopes, action)),
    };
  };
}
